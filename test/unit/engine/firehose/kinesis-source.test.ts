/**
 * A KinesisStreamAsSource delivery stream de-aggregates what the stream holds as Firehose does:
 * each user record of a KPL aggregate is buffered on its own, with its own partition key and its
 * place (subsequenceNumber); a plain record, and a corrupt aggregate, are buffered as they are.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { encodeAggregate, KPL_MAGIC } from '../../../../src/client/kpl-format.js';
import { openFirehoseDatabase } from '../../../../src/engine/firehose/database.js';
import { RecordBuffer } from '../../../../src/engine/firehose/record-buffer.js';
import { KinesisStreamSource } from '../../../../src/engine/firehose/source/kinesis-source.js';
import type { DeliveryStreamConfig } from '../../../../src/engine/firehose/types.js';
import { createLogger } from '../../../../src/log.js';
import { makeTempDir, removeTempDirs } from '../../../support/tmp.js';
import { waitFor } from '../../../support/wait.js';

after(removeTempDirs);

/** A one-shard stream that answers GetRecords once with `records` and then says the shard is closed. */
function streamOf(records: Array<{ data: Buffer; partitionKey: string; sequenceNumber: string }>) {
  return {
    call(action: string): object {
      if (action === 'ListShards') return { Shards: [{ ShardId: 'shardId-000000000000' }] };
      if (action === 'GetShardIterator') return { ShardIterator: 'it' };
      if (action === 'GetRecords')
        return {
          Records: records.map((record) => ({
            SequenceNumber: record.sequenceNumber,
            PartitionKey: record.partitionKey,
            Data: record.data.toString('base64'),
            ApproximateArrivalTimestamp: 1_700_000_000,
          })),
        };
      throw new Error(`unexpected ${action}`);
    },
  };
}

describe('KinesisStreamSource', () => {
  it('buffers a KPL aggregate as its user records, plain records and corrupt aggregates as they are', async () => {
    const db = openFirehoseDatabase(makeTempDir('fh-source-'), { fsync: false });
    const buffer = new RecordBuffer(db);
    const aggregate = encodeAggregate([
      { partitionKey: 'a', data: Buffer.from('one\n') },
      { partitionKey: 'b', data: Buffer.from('two\n') },
      { partitionKey: 'a', data: Buffer.from('three\n') },
    ]);
    const corrupt = Buffer.from(aggregate);
    corrupt[corrupt.length - 1] ^= 0xff;
    const config = {
      name: 'fh',
      source: { streamName: 'src', startTimestampMs: 0 },
    } as unknown as DeliveryStreamConfig & { source: NonNullable<DeliveryStreamConfig['source']> };
    const source = new KinesisStreamSource(
      config,
      streamOf([
        { data: Buffer.from('plain\n'), partitionKey: 'p', sequenceNumber: '1' },
        { data: aggregate, partitionKey: 'a', sequenceNumber: '2' },
        { data: corrupt, partitionKey: 'a', sequenceNumber: '3' },
      ]),
      db,
      buffer,
      createLogger({ level: 'silent' }),
    );
    try {
      await waitFor(() => buffer.waitingOf('fh').recordCount === 5, { message: 'five records buffered' });
      const batch = buffer.cut('fh', 1 << 20, () => ({}))!;
      const records = buffer.recordsOf(batch).map((record) => ({
        data: record.data.subarray(0, 4).equals(KPL_MAGIC) ? 'corrupt aggregate' : record.data.toString(),
        partitionKey: record.kinesis?.partitionKey,
        sequenceNumber: record.kinesis?.sequenceNumber,
        subsequenceNumber: record.kinesis?.subsequenceNumber,
      }));
      assert.deepEqual(records, [
        { data: 'plain\n', partitionKey: 'p', sequenceNumber: '1', subsequenceNumber: undefined },
        { data: 'one\n', partitionKey: 'a', sequenceNumber: '2', subsequenceNumber: 0 },
        { data: 'two\n', partitionKey: 'b', sequenceNumber: '2', subsequenceNumber: 1 },
        { data: 'three\n', partitionKey: 'a', sequenceNumber: '2', subsequenceNumber: 2 },
        { data: 'corrupt aggregate', partitionKey: 'a', sequenceNumber: '3', subsequenceNumber: undefined },
      ]);
    } finally {
      source.stop();
      db.close();
    }
  });
});
