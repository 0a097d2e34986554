import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addToBatch, emptyBatch } from '../../../src/batch/batcher.js';
import { BlobBytes } from '../../../src/client/blob-bytes.js';
import type { JsonApiClient } from '../../../src/client/json-api-client.js';
import { FirehoseDestination } from '../../../src/send/firehose-destination.js';
import { KinesisDestination } from '../../../src/send/kinesis-destination.js';
import { spanOf } from '../support.js';

/** A client that answers PutRecords / PutRecordBatch with what `answer` gives, recording the input. */
function client(
  answer: (input: { Records: unknown[] }) => unknown,
): JsonApiClient & { inputs: Array<Record<string, unknown>> } {
  const inputs: Array<Record<string, unknown>> = [];
  return {
    inputs,
    async call(_action: string, input: object) {
      inputs.push(input as Record<string, unknown>);
      return answer(input as { Records: unknown[] }) as never;
    },
    async close() {},
  };
}

describe('destinations and their packers', () => {
  it('Kinesis: one entry per record, with its partition key, counted with the key towards the call size', async () => {
    const kinesis = new KinesisDestination(
      's',
      client((input) => ({ Records: input.Records.map(() => ({ SequenceNumber: '1' })) })),
      { option: 'FIXED', partitionKey: 'key' },
    );
    const span = spanOf(['aaaa\n', 'bb\n', 'c\n']);
    const fill = kinesis.packer.fill(500, 12);
    assert.equal(fill.take(span, 0, 3), 1, '5 + 3 bytes fit; 8 + 6 more would pass 12 bytes');
    assert.equal(fill.take(span, 1, 3), 0, 'a batch that has a record takes no record that does not fit');
    assert.equal(kinesis.packer.fill(500, 1).take(span, 0, 3), 1, 'an empty batch takes one record, however big');
    const batch = emptyBatch(0);
    for (let i = 0; i < 3; i++) addToBatch(batch, span, i);
    const packed = kinesis.packer.pack(batch);
    assert.equal(packed.carried, undefined, 'one record per entry');
    assert.deepEqual(
      packed.entries.map((entry) => [Buffer.from(entry.Data.bytes).toString(), entry.PartitionKey]),
      [
        ['aaaa\n', 'key'],
        ['bb\n', 'key'],
        ['c\n', 'key'],
      ],
    );
    assert.equal(JSON.stringify(packed.entries[0]), '{"Data":"YWFhYQo=","PartitionKey":"key"}', 'base64 on the wire');
    assert.deepEqual(await kinesis.put(packed.entries), [undefined, undefined, undefined]);
  });

  it('a batch is full at maxEntries entries', () => {
    const firehose = new FirehoseDestination(
      'd',
      client(() => ({})),
    );
    const span = spanOf(['1\n', '2\n', '3\n']);
    const fill = firehose.packer.fill(2, 1_000);
    assert.equal(fill.take(span, 0, 1), 1);
    assert.equal(fill.full, false);
    assert.equal(fill.take(span, 1, 3), 1, 'only one more entry fits');
    assert.equal(fill.full, true);
    assert.equal(fill.take(span, 2, 3), 0);
  });

  it('maps per-entry errors back in order, and refuses an answer that does not match what was sent', async () => {
    const firehose = new FirehoseDestination(
      'd',
      client((input) => ({
        RequestResponses: input.Records.map((_, i) =>
          i === 1 ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'slow down' } : { RecordId: `r${i}` },
        ),
      })),
    );
    const entries = [1, 2, 3].map((n) => ({ Data: new BlobBytes(Buffer.from(`${n}\n`)) }));
    assert.deepEqual(await firehose.put(entries), [
      undefined,
      { code: 'ServiceUnavailableException', message: 'slow down' },
      undefined,
    ]);
    const short = new FirehoseDestination(
      'd',
      client(() => ({ RequestResponses: [{ RecordId: 'only one' }] })),
    );
    await assert.rejects(short.put(entries), /answered 1 results for 3 records/);
    const garbled = new KinesisDestination(
      's',
      client(() => ({ Records: [{}] })),
      { option: 'RANDOM' },
    );
    await assert.rejects(
      garbled.put([{ Data: new BlobBytes(Buffer.from('x')), PartitionKey: 'k' }]),
      /neither SequenceNumber nor ErrorCode/,
    );
  });
});
