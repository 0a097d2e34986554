import type Database from 'better-sqlite3';
import { AwsApiError } from '../../../client/api-error.js';
import { deaggregate } from '../../../client/kpl-format.js';
import type { Logger } from '../../../log.js';
import type { Service } from '../../host/service.js';
import type { IncomingRecord, RecordBuffer } from '../record-buffer.js';
import type { DeliveryStreamConfig } from '../types.js';

const POLL_INTERVAL_MS = 1_000;
const RECORDS_PER_READ = 10_000;

interface ShardRecord {
  SequenceNumber: string;
  PartitionKey: string;
  Data: string;
  ApproximateArrivalTimestamp: number;
}

/**
 * A KinesisStreamAsSource delivery stream's reader: every shard of the engine's own stream, from the
 * delivery stream's start time, into the record buffer. A shard's position is saved in the
 * transaction that buffers what was read up to it, so after a crash reading resumes exactly after
 * the last buffered record: nothing read twice, nothing skipped.
 */
export class KinesisStreamSource {
  private readonly iterators = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly statements;
  private lastProblem = '';

  constructor(
    private readonly config: DeliveryStreamConfig & { source: NonNullable<DeliveryStreamConfig['source']> },
    private readonly kinesis: Pick<Service, 'call'>,
    private readonly db: Database.Database,
    private readonly buffer: RecordBuffer,
    private readonly logger: Logger,
    /** Arrival time of what is buffered (the buffer interval counts from it). */
    private readonly now: () => number = Date.now,
  ) {
    db.exec(
      'CREATE TABLE IF NOT EXISTS firehose_source_positions (stream TEXT NOT NULL, shard_id TEXT NOT NULL, ' +
        'sequence_number TEXT, finished INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (stream, shard_id))',
    );
    this.statements = {
      positions: db.prepare(
        'SELECT shard_id, sequence_number, finished FROM firehose_source_positions WHERE stream = ?',
      ),
      save: db.prepare(
        'INSERT INTO firehose_source_positions (stream, shard_id, sequence_number, finished) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (stream, shard_id) DO UPDATE SET sequence_number = excluded.sequence_number, ' +
          'finished = excluded.finished',
      ),
      drop: db.prepare('DELETE FROM firehose_source_positions WHERE stream = ?'),
    };
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** The delivery stream is deleted: its positions go with it. */
  forget(): void {
    this.stop();
    this.statements.drop.run(this.config.name);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.poll(), delayMs);
    this.timer.unref();
  }

  private poll(): void {
    try {
      this.readAll();
      this.lastProblem = '';
    } catch (error) {
      // A missing or deleted source stream is reported once per kind of problem, not once a second.
      const problem = error instanceof AwsApiError ? `${error.name}: ${error.message}` : String(error);
      if (problem !== this.lastProblem) {
        this.logger.warn(
          { deliveryStream: this.config.name, source: this.config.source.streamName, problem },
          'cannot read the source stream',
        );
      }
      this.lastProblem = problem;
    }
    this.schedule(POLL_INTERVAL_MS);
  }

  private readAll(): void {
    const positions = new Map<string, { sequenceNumber: string | null; finished: boolean }>();
    for (const row of this.statements.positions.all(this.config.name) as Array<{
      shard_id: string;
      sequence_number: string | null;
      finished: number;
    }>) {
      positions.set(row.shard_id, { sequenceNumber: row.sequence_number, finished: row.finished === 1 });
    }
    const { Shards } = this.kinesis.call('ListShards', { StreamName: this.config.source.streamName }) as {
      Shards: Array<{ ShardId: string }>;
    };
    for (const { ShardId } of Shards) {
      const position = positions.get(ShardId);
      if (position?.finished === true) continue;
      this.readShard(ShardId, position?.sequenceNumber ?? null);
    }
  }

  private readShard(shardId: string, sequenceNumber: string | null): void {
    for (;;) {
      const iterator = this.iterators.get(shardId) ?? this.iteratorFrom(shardId, sequenceNumber);
      let output: { Records: ShardRecord[]; NextShardIterator?: string; MillisBehindLatest?: number };
      try {
        output = this.kinesis.call('GetRecords', { ShardIterator: iterator, Limit: RECORDS_PER_READ }) as typeof output;
      } catch (error) {
        // An expired iterator is made again from the saved position on the next poll.
        this.iterators.delete(shardId);
        throw error;
      }
      const last = output.Records.at(-1);
      const finished = output.NextShardIterator === undefined;
      if (last !== undefined || finished) {
        const records = output.Records.flatMap((record) => userRecordsOf(shardId, record));
        sequenceNumber = last?.SequenceNumber ?? sequenceNumber;
        this.db.transaction(() => {
          if (records.length > 0) this.buffer.append(this.config.name, records, this.now());
          this.statements.save.run(this.config.name, shardId, sequenceNumber, finished ? 1 : 0);
        })();
      }
      if (finished) {
        this.iterators.delete(shardId);
        return;
      }
      this.iterators.set(shardId, output.NextShardIterator!);
      if (output.Records.length === 0 || (output.MillisBehindLatest ?? 0) === 0) return;
    }
  }

  private iteratorFrom(shardId: string, sequenceNumber: string | null): string {
    const input =
      sequenceNumber === null
        ? { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: this.config.source.startTimestampMs / 1000 }
        : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: sequenceNumber };
    const { ShardIterator } = this.kinesis.call('GetShardIterator', {
      StreamName: this.config.source.streamName,
      ShardId: shardId,
      ...input,
    }) as { ShardIterator: string };
    return ShardIterator;
  }
}

/**
 * What Firehose buffers of one stream record: the record, or, for a KPL aggregate, each of its user
 * records with its own partition key and its place in the aggregate, as Firehose de-aggregates
 * (a corrupt aggregate goes on as the record it is, as KCL passes it).
 */
function userRecordsOf(shardId: string, record: ShardRecord): IncomingRecord[] {
  const data = Buffer.from(record.Data, 'base64');
  const kinesis = {
    shardId,
    partitionKey: record.PartitionKey,
    sequenceNumber: record.SequenceNumber,
    approximateArrivalMs: Math.round(record.ApproximateArrivalTimestamp * 1000),
  };
  const unpacked = deaggregate(data);
  if (unpacked.kind !== 'aggregate') return [{ data, kinesis }];
  return unpacked.records.map((user, subsequenceNumber) => ({
    data: Buffer.from(user.data),
    kinesis: { ...kinesis, partitionKey: user.partitionKey, subsequenceNumber },
  }));
}
