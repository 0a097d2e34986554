/**
 * A KinesisStreamAsSource delivery stream reading a stream of the same engine (a child process):
 * the records put to the stream after the delivery stream's creation are delivered, each once, across
 * a kill -9 of the engine too.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { EngineProcess } from '../support/engine-process.js';
import {
  assertExactlyOnce,
  createDeliveryStream,
  linesOf,
  numberedRecords,
  readObjects,
  recordTexts,
  ROLE,
  s3Destination,
  startFirehoseEngine,
  updateBufferingHints,
  waitForLines,
} from '../support/firehose-delivery.js';
import { kinesis } from '../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

let engine: EngineProcess | undefined;

after(async () => {
  await engine?.stop();
  await removeTempDirs();
});

/**
 * PutRecords of `records` to the Kinesis stream, spread over its shards by partition key; returns the
 * last sequence number put to each shard.
 */
async function putToStream(endpoint: string, stream: string, records: Buffer[]): Promise<Map<string, string>> {
  const lastOfShard = new Map<string, string>();
  for (let start = 0; start < records.length; start += 500) {
    const Records = records.slice(start, start + 500).map((data, index) => ({
      Data: data.toString('base64'),
      PartitionKey: `key-${start + index}`,
    }));
    const answer = await kinesis(endpoint, 'PutRecords', { StreamName: stream, Records });
    assert.equal(answer.FailedRecordCount, 0);
    for (const { ShardId, SequenceNumber } of answer.Records) lastOfShard.set(ShardId, SequenceNumber);
  }
  return lastOfShard;
}

/** Whether the delivery stream's reader has saved these positions (it saves them with what it buffered). */
function sourceHasRead(dataDir: string, stream: string, lastOfShard: Map<string, string>): boolean {
  const db = new Database(path.join(dataDir, 'firehose.db'), { readonly: true, fileMustExist: true });
  try {
    const saved = db
      .prepare('SELECT shard_id, sequence_number FROM firehose_source_positions WHERE stream = ?')
      .all(stream) as Array<{ shard_id: string; sequence_number: string }>;
    const positions = new Map(saved.map((row) => [row.shard_id, row.sequence_number]));
    return [...lastOfShard].every(([shard, sequenceNumber]) => positions.get(shard) === sequenceNumber);
  } finally {
    db.close();
  }
}

describe('KinesisStreamAsSource', () => {
  it('delivers what is put to the stream after its creation, each record once across a kill -9', async () => {
    const dataDir = makeTempDir('shardtail-fh-source-');
    engine = await startFirehoseEngine(dataDir);
    await kinesis(engine.url, 'CreateStream', { StreamName: 'events', ShardCount: 2 });
    const running = engine;
    const { StreamDescriptionSummary: summary } = await waitFor(
      async () => {
        const described = await kinesis(running.url, 'DescribeStreamSummary', { StreamName: 'events' });
        return described.StreamDescriptionSummary.StreamStatus === 'ACTIVE' && described;
      },
      { message: 'the Kinesis stream to become ACTIVE' },
    );
    const earlier = numberedRecords('earlier', 20);
    await putToStream(engine.url, 'events', earlier);
    await createDeliveryStream(engine.url, 'from-events', s3Destination('events-bucket'), {
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: { KinesisStreamARN: summary.StreamARN, RoleARN: ROLE },
      ExtendedS3DestinationConfiguration: s3Destination('events-bucket'),
    });
    const root = path.join(dataDir, 's3', 'events-bucket');

    const first = numberedRecords('first', 300);
    await putToStream(engine.url, 'events', first);
    await waitForLines(root, (lines) => lines.length >= first.length);
    // Read and buffered, not yet delivered (a long interval), when the engine is killed.
    await updateBufferingHints(engine.url, 'from-events', { SizeInMBs: 5, IntervalInSeconds: 900 });
    const second = numberedRecords('second', 300);
    const secondPut = await putToStream(engine.url, 'events', second);
    await waitFor(() => sourceHasRead(dataDir, 'from-events', secondPut), {
      timeoutMs: 10_000,
      message: 'the reader to have buffered the second records',
    });
    await engine.kill();
    assert.equal(
      linesOf(readObjects(root).map((object) => object.body)).length,
      first.length,
      'the second records were not delivered before the kill',
    );

    engine = await startFirehoseEngine(dataDir);
    await updateBufferingHints(engine.url, 'from-events', { SizeInMBs: 5, IntervalInSeconds: 1 });
    const third = numberedRecords('third', 300);
    await putToStream(engine.url, 'events', third);
    const expected = recordTexts([...first, ...second, ...third]);
    const lines = await waitForLines(root, (found) => found.length >= expected.length, 30_000);
    assertExactlyOnce(lines, expected);
  });
});
