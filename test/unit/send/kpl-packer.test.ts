/**
 * `"aggregation": true` on a Kinesis flow: records packed into KPL aggregated records (KplPacker, as
 * KinesisDestination uses it), one partition key per aggregate, counted against PutRecords' limits
 * (1 MiB a record with its key, 500 entries and 5 MiB a call), and a failed aggregate's records, all
 * of them and only them, sent again, with the checkpoint held at the failed aggregate until then.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { FileProgress, type Span } from '../../../src/acknowledge/file-progress.js';
import { addToBatch, Batcher, emptyBatch, type Batch } from '../../../src/batch/batcher.js';
import { KINESIS_LIMITS } from '../../../src/client/api-limits.js';
import type { JsonApiClient } from '../../../src/client/json-api-client.js';
import { deaggregate } from '../../../src/client/kpl-format.js';
import type { Partitioning } from '../../../src/config/agent-config.js';
import { KinesisDestination, type KinesisEntry } from '../../../src/send/kinesis-destination.js';
import { KplPacker } from '../../../src/send/kpl-packer.js';
import { sendToCompletion, spanOf } from '../support.js';

const MIB = 1024 * 1024;
const RANDOM: Partitioning = { option: 'RANDOM' };

function batchOf(...spans: Span[]): Batch {
  const batch = emptyBatch(0);
  for (const span of spans) addToBatch(batch, span, 0, span.records.count);
  return batch;
}

/** An entry as consumers see it: its key, and its user records (itself when it is a plain record). */
function unpack(entry: KinesisEntry): { key: string; lines: string[]; aggregated: boolean } {
  const data = Buffer.from(entry.Data.bytes);
  const result = deaggregate(data);
  if (result.kind === 'corrupt') assert.fail(`a corrupt aggregate: ${result.reason}`);
  if (result.kind === 'plain') return { key: entry.PartitionKey, lines: [data.toString()], aggregated: false };
  for (const user of result.records) assert.equal(user.partitionKey, entry.PartitionKey, 'user key = entry key');
  for (const user of result.records) assert.equal(user.explicitHashKey, undefined);
  return {
    key: entry.PartitionKey,
    lines: result.records.map((r) => Buffer.from(r.data).toString()),
    aggregated: true,
  };
}

/** Bytes Kinesis counts for an entry: data and partition key. */
const entryBytes = (entry: KinesisEntry) => entry.Data.bytes.length + Buffer.byteLength(entry.PartitionKey);

const numbered = (count: number, width = 20) =>
  Array.from({ length: count }, (_, i) => `${String(i).padStart(width - 1, '0')}\n`);

describe('KplPacker', () => {
  it('packs consecutive records into aggregates of one drawn key; fill counts the entries pack makes', () => {
    const packer = new KplPacker(RANDOM, 1_000, KINESIS_LIMITS.maxRecordBytes);
    const lines = numbered(200);
    const span = spanOf(lines);
    const fill = packer.fill(500, KINESIS_LIMITS.maxCallBytes);
    assert.equal(fill.take(span, 0, 200), 200);
    const packed = packer.pack(batchOf(span));
    assert.equal(fill.entries, packed.entries.length);
    const unpacked = packed.entries.map(unpack);
    assert.deepEqual(
      unpacked.flatMap((u) => u.lines),
      lines,
    );
    assert.ok(packed.entries.every((entry) => entryBytes(entry) <= 1_000));
    // A 20-byte line takes 26 bytes in the body; magic and MD5 (20), the key's table entry and the
    // key itself (26 and 24, counted as RANDOM's longest) leave 930 bytes: 35 lines.
    assert.deepEqual(packed.carried, [35, 35, 35, 35, 35, 25]);
    assert.deepEqual(
      packed.carried,
      unpacked.map((u) => u.lines.length),
    );
    assert.equal(new Set(unpacked.map((u) => u.key)).size, unpacked.length, 'RANDOM: a key per aggregate');
  });

  it('a record alone in its aggregate is sent as the plain record, with its own key', () => {
    const packer = new KplPacker({ option: 'FIXED', partitionKey: 'fixed' }, 100, KINESIS_LIMITS.maxRecordBytes);
    const long = 'L'.repeat(150) + '\n';
    const packed = packer.pack(batchOf(spanOf(['a\n', 'b\n', long, 'c\n'])));
    assert.deepEqual(packed.entries.map(unpack), [
      { key: 'fixed', lines: ['a\n', 'b\n'], aggregated: true },
      { key: 'fixed', lines: [long], aggregated: false },
      { key: 'fixed', lines: ['c\n'], aggregated: false },
    ]);
    assert.equal(packed.entries[1].Data.bytes.length, long.length, 'no envelope around a single record');
  });

  it('FIELD: only consecutive records of the same key share an aggregate; records without the field join any', () => {
    const packer = new KplPacker({ option: 'FIELD', partitionKeyField: 'host' }, 51_200, KINESIS_LIMITS.maxRecordBytes);
    const lines = ['{"host":"a"}\n', 'no json\n', '{"host":"a"}\n', '{"host":"b"}\n', '{"host":"b"}\n', 'x\n'];
    const span = spanOf(lines);
    const fill = packer.fill(500, KINESIS_LIMITS.maxCallBytes);
    fill.take(span, 0, lines.length);
    const packed = packer.pack(batchOf(span));
    assert.equal(fill.entries, 2);
    assert.deepEqual(packed.entries.map(unpack), [
      { key: 'a', lines: lines.slice(0, 3), aggregated: true },
      { key: 'b', lines: lines.slice(3), aggregated: true },
    ]);
  });

  it('DETERMINISTIC: the key of an aggregate is the MD5 of its first record', () => {
    const packer = new KplPacker({ option: 'DETERMINISTIC' }, 51_200, KINESIS_LIMITS.maxRecordBytes);
    const [entry] = packer.pack(batchOf(spanOf(['first\n', 'second\n']))).entries;
    assert.equal(entry.PartitionKey, createHash('md5').update('first\n').digest('hex'));
    assert.deepEqual(unpack(entry).lines, ['first\n', 'second\n']);
  });

  it('keeps an aggregate with its key within the 1 MiB record limit, whatever the setting', () => {
    const key = 'k'.repeat(256);
    const packer = new KplPacker({ option: 'FIXED', partitionKey: key }, 10 * MIB, KINESIS_LIMITS.maxRecordBytes);
    const line = 'x'.repeat(100 * 1024 - 1) + '\n';
    const lines = Array.from({ length: 25 }, () => line);
    const span = spanOf(lines);
    const fill = packer.fill(500, KINESIS_LIMITS.maxCallBytes);
    assert.equal(fill.take(span, 0, 25), 25);
    const packed = packer.pack(batchOf(span));
    assert.equal(fill.entries, packed.entries.length);
    assert.deepEqual(packed.carried, [10, 10, 5], 'ten 100 KiB lines and their framing fit in 1 MiB, eleven do not');
    for (const entry of packed.entries) assert.ok(entryBytes(entry) <= MIB, `${entryBytes(entry)} bytes`);
  });

  it('a batch holds at most maxEntries aggregates, and the last one fills up before it is full', () => {
    // Each aggregate: magic and MD5 (20), key table entry (26) and key (24), and 7 bytes per 1-byte record.
    const packer = new KplPacker(RANDOM, 70 + 4 * 7, KINESIS_LIMITS.maxRecordBytes);
    const span = spanOf(Array.from({ length: 12 }, () => '\n'));
    const fill = packer.fill(2, KINESIS_LIMITS.maxCallBytes);
    assert.equal(fill.take(span, 0, 6), 6, 'two aggregates: four records and two');
    assert.equal(fill.full, false, 'the second has room for two more');
    assert.equal(fill.take(span, 6, 12), 2, 'the ninth record would need a third aggregate');
    assert.equal(fill.full, true);
    assert.deepEqual(packer.pack(batchOf(spanOf(Array.from({ length: 8 }, () => '\n')))).carried, [4, 4]);
  });

  it("counts aggregates' bytes and keys against the call size (PutRecords' 5 MiB)", () => {
    const packer = new KplPacker(RANDOM, KINESIS_LIMITS.maxRecordBytes, KINESIS_LIMITS.maxRecordBytes);
    const line = 'y'.repeat(512 * 1024 - 1) + '\n';
    const span = spanOf(Array.from({ length: 12 }, () => line));
    const fill = packer.fill(500, KINESIS_LIMITS.maxCallBytes);
    const taken = fill.take(span, 0, 12);
    assert.equal(taken, 9, 'a tenth 512 KiB record would pass 5 MiB');
    const packed = packer.pack(batchOf(spanOf(Array.from({ length: taken }, () => line))));
    assert.deepEqual(packed.carried, [1, 1, 1, 1, 1, 1, 1, 1, 1], 'two framed halves of 1 MiB do not fit in 1 MiB');
    assert.ok(packed.entries.reduce((sum, entry) => sum + entryBytes(entry), 0) <= KINESIS_LIMITS.maxCallBytes);
    assert.equal(packer.fill(500, 1).take(span, 0, 3), 1, 'an empty batch takes one record, however big');
  });

  it('seals batches in the Batcher by aggregates, not by records', () => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({
      maxEntries: 2,
      maxBytes: KINESIS_LIMITS.maxCallBytes,
      maxAgeMs: 60_000,
      packer: new KplPacker(RANDOM, 70 + 4 * 7, KINESIS_LIMITS.maxRecordBytes),
      onSealed: (batch) => sealed.push(batch),
    });
    batcher.add(spanOf(Array.from({ length: 10 }, () => '\n')));
    assert.deepEqual(
      sealed.map((batch) => batch.count),
      [8],
      'two aggregates of four records: full',
    );
    batcher.seal();
    assert.deepEqual(
      sealed.map((batch) => batch.count),
      [8, 2],
    );
  });
});

/** A PutRecords client: `fails` says which entries of which call fail; it records every call's entries. */
function kinesisClient(
  fails: (call: number, entry: number) => boolean,
  onCall: () => void = () => undefined,
): JsonApiClient & { calls: KinesisEntry[][] } {
  const calls: KinesisEntry[][] = [];
  return {
    calls,
    async call(_action: string, input: object) {
      onCall();
      const records = (input as { Records: KinesisEntry[] }).Records;
      calls.push(records);
      const call = calls.length;
      return {
        FailedRecordCount: 0,
        Records: records.map((_, entry) =>
          fails(call, entry)
            ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded.' }
            : { SequenceNumber: `${call}${entry}`, ShardId: 'shardId-000000000000' },
        ),
      } as never;
    },
    async close() {},
  };
}

describe('KinesisDestination with aggregation', () => {
  it('a failed aggregate fails all its records and only those; the checkpoint waits for them', async () => {
    const progress = new FileProgress(0, () => undefined);
    const lines = numbered(12, 10);
    const span = spanOf(lines, 0, progress);
    const committedAtCall: number[] = [];
    const client = kinesisClient(
      (call, entry) => call === 1 && entry === 1,
      () => committedAtCall.push(progress.committedOffset),
    );
    // 10-byte lines take 16 body bytes each: 4 records per aggregate of up to 70 + 64 bytes.
    const destination = new KinesisDestination('s', client, RANDOM, 70 + 4 * 16);
    const { delivered, events } = await sendToCompletion(destination, batchOf(span), (delivery, index) =>
      delivery.acknowledge(index),
    );
    const calls = client.calls.map((entries) => entries.map((entry) => unpack(entry).lines));
    assert.deepEqual(calls, [[lines.slice(0, 4), lines.slice(4, 8), lines.slice(8, 12)], [lines.slice(4, 8)]]);
    assert.deepEqual(committedAtCall, [0, 40], 'before the resend: past the first aggregate only');
    assert.equal(progress.committedOffset, 120, 'every record acknowledged: the whole span');
    assert.deepEqual(delivered, [...lines.slice(0, 4), ...lines.slice(8), ...lines.slice(4, 8)], 'each record once');
    assert.deepEqual(events.named('recordsRejected'), [
      ['ProvisionedThroughputExceededException', 'Rate exceeded.', 4, 12],
    ]);
    assert.notEqual(client.calls[1][0].PartitionKey, client.calls[0][1].PartitionKey, 'RANDOM: a new key');
  });

  it('without aggregation: a record per entry, as before', () => {
    const destination = new KinesisDestination(
      's',
      kinesisClient(() => false),
      RANDOM,
    );
    const packed = destination.packer.pack(batchOf(spanOf(['a\n', 'b\n'])));
    assert.equal(packed.entries.length, 2);
    assert.equal(packed.carried, undefined);
  });
});
