/**
 * aggregatedRecordSizeBytes: whole lines packed into Firehose records (AggregatingPacker, as
 * FirehoseDestination uses it), counted against PutRecordBatch's limits, and a failed entry's
 * lines, all of them and only them, sent again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Span } from '../../../src/acknowledge/file-progress.js';
import { addToBatch, Batcher, emptyBatch, forEachRecord, type Batch } from '../../../src/batch/batcher.js';
import { FIREHOSE_LIMITS } from '../../../src/client/api-limits.js';
import type { JsonApiClient } from '../../../src/client/json-api-client.js';
import { AggregatingPacker } from '../../../src/send/aggregating-packer.js';
import { FirehoseDestination } from '../../../src/send/firehose-destination.js';
import { sendToCompletion, spanOf } from '../support.js';

const asText = (data: Buffer) => data.toString();

function batchOf(...spans: Span[]): Batch {
  const batch = emptyBatch(0);
  for (const span of spans) for (let i = 0; i < span.records.count; i++) addToBatch(batch, span, i);
  return batch;
}

function lines(batch: Batch): string[] {
  const found: string[] = [];
  forEachRecord(batch, (span, index) => found.push(span.records.data(index).toString()));
  return found;
}

/** A PutRecordBatch client: `answer` says which entries of which call fail; it records every call's entries. */
function firehoseClient(fails: (call: number, entry: number) => boolean): JsonApiClient & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async call(_action: string, input: object) {
      const records = (input as { Records: Array<{ Data: { bytes: Uint8Array } }> }).Records;
      calls.push(records.map((record) => Buffer.from(record.Data.bytes).toString()));
      const call = calls.length;
      return {
        FailedPutCount: 0,
        RequestResponses: records.map((_, entry) =>
          fails(call, entry)
            ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
            : { RecordId: `r${call}-${entry}` },
        ),
      } as never;
    },
    async close() {},
  };
}

describe('AggregatingPacker', () => {
  it('packs consecutive whole lines up to the size; a longer line goes alone, never split', () => {
    const packer = new AggregatingPacker(7, FIREHOSE_LIMITS.maxRecordBytes, asText);
    const span = spanOf(['aaa\n', 'bb\n', 'c\n', 'dddddddddd\n', 'e\n', 'f\n']);
    const packed = packer.pack(batchOf(span));
    assert.deepEqual(packed.entries, ['aaa\nbb\n', 'c\n', 'dddddddddd\n', 'e\nf\n']);
    assert.deepEqual(packed.carried, [2, 1, 1, 2]);
  });

  it("counts the entries its pack makes, and the lines' bytes", () => {
    const packer = new AggregatingPacker(7, FIREHOSE_LIMITS.maxRecordBytes, asText);
    const span = spanOf(['aaa\n', 'bb\n', 'c\n', 'dddddddddd\n', 'e\n', 'f\n']);
    const fill = packer.fill(500, 1_000);
    assert.equal(fill.take(span, 0, 3), 3);
    assert.equal(fill.entries, 2, "'aaa\\nbb\\n' and 'c\\n'");
    assert.equal(fill.take(span, 3, 6), 3);
    assert.equal(fill.entries, packer.pack(batchOf(span)).entries.length);
  });

  it('a batch holds at most maxEntries aggregated entries, and the last one fills up before it is full', () => {
    const packer = new AggregatingPacker(6, FIREHOSE_LIMITS.maxRecordBytes, asText);
    const span = spanOf(['1\n', '2\n', '3\n', '4\n', '5\n', '6\n', '7\n']);
    const fill = packer.fill(2, 1_000);
    assert.equal(fill.take(span, 0, 4), 4, 'two entries: three lines and one');
    assert.equal(fill.full, false, 'the second entry has room for two more lines');
    assert.equal(fill.take(span, 4, 7), 2, 'the seventh line would need a third entry');
    assert.equal(fill.full, true);
    assert.equal(fill.take(span, 6, 7), 0);
  });

  it("counts every line's bytes against the call size (PutRecordBatch's 4 MiB)", () => {
    const packer = new AggregatingPacker(1_000, FIREHOSE_LIMITS.maxRecordBytes, asText);
    const span = spanOf(['12345\n', '12345\n', '12345\n']);
    const fill = packer.fill(500, 12);
    assert.equal(fill.take(span, 0, 3), 2, 'a third line would bring the call to 18 bytes');
    assert.equal(fill.entries, 1);
    assert.equal(fill.full, true, '12 of 12 bytes');
    assert.equal(packer.fill(500, 1).take(span, 0, 3), 1, 'an empty batch takes one line, however big');
  });

  it("keeps every entry of several lines within Firehose's 1,000 KiB record, whatever the setting", () => {
    const packer = new AggregatingPacker(4 * 1024 * 1024, FIREHOSE_LIMITS.maxRecordBytes, (data) => data.length);
    const line = 'x'.repeat(300 * 1024 - 1) + '\n';
    const span = spanOf([line, line, line, line, line]);
    const fill = packer.fill(500, FIREHOSE_LIMITS.maxCallBytes);
    assert.equal(fill.take(span, 0, 5), 5);
    assert.equal(fill.entries, 2);
    const packed = packer.pack(batchOf(span));
    assert.deepEqual(packed.entries, [900 * 1024, 600 * 1024]);
    assert.deepEqual(packed.carried, [3, 2]);
  });

  it('packs across the spans of several files, in batch order', () => {
    const packer = new AggregatingPacker(100, FIREHOSE_LIMITS.maxRecordBytes, asText);
    const packed = packer.pack(batchOf(spanOf(['a1\n', 'a2\n']), spanOf(['b1\n'])));
    assert.deepEqual(packed.entries, ['a1\na2\nb1\n']);
    assert.deepEqual(packed.carried, [3]);
  });

  it('seals batches in the Batcher by aggregated entries, not by lines', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({
      maxEntries: 2,
      maxBytes: 1_000,
      maxAgeMs: 60_000,
      packer: new AggregatingPacker(4, FIREHOSE_LIMITS.maxRecordBytes, asText),
      onSealed: (batch) => sealed.push(batch),
    });
    batcher.add(spanOf(['1\n', '2\n', '3\n', '4\n', '5\n']));
    assert.deepEqual(sealed.map(lines), [['1\n', '2\n', '3\n', '4\n']], 'two entries of two lines: full');
    batcher.seal();
    assert.deepEqual(sealed.map(lines).at(-1), ['5\n']);
  });
});

describe('FirehoseDestination with aggregatedRecordSizeBytes', () => {
  it('sends one record per group, base64 of the lines concatenated', () => {
    const destination = new FirehoseDestination(
      'd',
      firehoseClient(() => false),
      1_000,
    );
    const packed = destination.packer.pack(batchOf(spanOf(['a\n', 'b\n'])));
    assert.equal(JSON.stringify(packed.entries), JSON.stringify([{ Data: Buffer.from('a\nb\n').toString('base64') }]));
    assert.deepEqual(packed.carried, [2]);
    const plain = new FirehoseDestination(
      'd',
      firehoseClient(() => false),
    );
    assert.equal(plain.packer.pack(batchOf(spanOf(['a\n', 'b\n']))).entries.length, 2, 'without it: a line each');
  });

  it('a failed entry fails all its lines and only those: they are sent again, the others acknowledged', async () => {
    const client = firehoseClient((call, entry) => call === 1 && entry === 1);
    const destination = new FirehoseDestination('d', client, 6);
    const acknowledged: string[] = [];
    let deliveredAfterFirstCall: string[] = [];
    const { delivered, events } = await sendToCompletion(
      destination,
      batchOf(spanOf(['1\n', '2\n', '3\n', '4\n', '5\n', '6\n', '7\n'])),
      (span, index) => {
        acknowledged.push(span.records.data(index).toString());
        if (client.calls.length === 1) deliveredAfterFirstCall = [...acknowledged];
      },
    );
    assert.deepEqual(client.calls, [['1\n2\n3\n', '4\n5\n6\n', '7\n'], ['4\n5\n6\n']]);
    assert.deepEqual(deliveredAfterFirstCall, ['1\n', '2\n', '3\n', '7\n'], 'acknowledged after the first call');
    assert.deepEqual(delivered, ['1\n', '2\n', '3\n', '7\n', '4\n', '5\n', '6\n'], 'each line once');
    assert.deepEqual(events.named('recordsRejected'), [['ServiceUnavailableException', 'Slow down.', 3, 7]]);
  });
});
