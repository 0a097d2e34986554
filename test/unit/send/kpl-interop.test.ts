/**
 * Interop with aws-kinesis-agg (the awslabs Node library, with its own protobufjs and .proto JSON):
 * it de-aggregates what the agent aggregates, byte-exact and with the keys the agent set, and the
 * agent de-aggregates what it aggregates.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as kinesisAgg from 'aws-kinesis-agg';
import { deaggregate, encodeAggregate, type UserRecord } from '../../../src/client/kpl-format.js';
import { KplPacker } from '../../../src/send/kpl-packer.js';
import { KINESIS_LIMITS } from '../../../src/client/api-limits.js';
import { addToBatch, emptyBatch } from '../../../src/batch/batcher.js';
import { spanOf } from '../support.js';

interface TheirUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  sequenceNumber: string;
  subSequenceNumber?: number;
  data: string;
}

/** aws-kinesis-agg's de-aggregation of one Kinesis record (MD5 checked). */
function theirDeaggregation(data: Buffer, partitionKey: string): TheirUserRecord[] {
  let result: TheirUserRecord[] | undefined;
  kinesisAgg.deaggregateSync(
    { data: data.toString('base64'), partitionKey, sequenceNumber: '49000000000000000001' },
    true,
    (error, records) => {
      if (error) throw error;
      result = records;
    },
  );
  assert.ok(result, 'deaggregateSync answered');
  return result;
}

/** aws-kinesis-agg's aggregation of `records` into Kinesis records. */
async function theirAggregation(
  records: Array<{ partitionKey: string; explicitHashKey?: string; data: Buffer }>,
): Promise<Array<{ partitionKey: string; data: Buffer }>> {
  const encoded: Array<{ partitionKey: string; data: Buffer }> = [];
  await new Promise<void>((resolve, reject) =>
    kinesisAgg.aggregate(
      records,
      (record, done) => {
        encoded.push(record);
        done();
      },
      resolve,
      reject,
    ),
  );
  return encoded;
}

// Text, multi-byte UTF-8, bytes that are not UTF-8, an empty line and a long one.
const payloads = [
  Buffer.from('plain log line\n'),
  Buffer.from('ünïcödé ✓ 日本語 🚀\n'),
  Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a]),
  Buffer.alloc(0),
  Buffer.alloc(20_000, 'x'),
];

describe('KPL interop with aws-kinesis-agg', () => {
  it('it de-aggregates what encodeAggregate makes, byte-exact, with our keys and hash keys', () => {
    const records: UserRecord[] = payloads.map((data, i) => ({
      partitionKey: `key-${i % 2}`,
      ...(i === 1 ? { explicitHashKey: '170141183460469231731687303715884105728' } : {}),
      data,
    }));
    const theirs = theirDeaggregation(encodeAggregate(records), 'outer');
    assert.equal(theirs.length, records.length);
    theirs.forEach((user, i) => {
      assert.ok(Buffer.from(user.data, 'base64').equals(payloads[i]), `record ${i} byte-exact`);
      assert.equal(user.partitionKey, `key-${i % 2}`);
      // Only where there is one: aws-kinesis-agg reads the index of an absent optional field as 0, so it
      // gives records without a hash key the table's first one (KCL checks presence; see kpl-format.test.ts).
      if (records[i].explicitHashKey !== undefined) assert.equal(user.explicitPartitionKey, records[i].explicitHashKey);
      assert.equal(user.subSequenceNumber, i);
    });
  });

  it('it de-aggregates what the KplPacker sends, with the entry partition key on every user record', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `{"host":"h${Math.floor(i / 100)}","n":${i}}\n`);
    const packer = new KplPacker({ option: 'FIELD', partitionKeyField: 'host' }, 51_200, KINESIS_LIMITS.maxRecordBytes);
    const batch = emptyBatch(0);
    addToBatch(batch, spanOf(lines), 0, lines.length);
    const { entries } = packer.pack(batch);
    assert.deepEqual(
      entries.map((entry) => entry.PartitionKey),
      ['h0', 'h1', 'h2'],
    );
    const received = entries.flatMap((entry) => {
      const users = theirDeaggregation(Buffer.from(entry.Data.bytes), entry.PartitionKey);
      for (const user of users) assert.equal(user.partitionKey, entry.PartitionKey);
      return users.map((user) => Buffer.from(user.data, 'base64').toString());
    });
    assert.deepEqual(received, lines);
  });

  it('for the same user records both write the same bytes', async () => {
    const records = payloads.map((data, i) => ({ partitionKey: `key-${i % 3}`, data }));
    const [theirs] = await theirAggregation(records);
    assert.equal(encodeAggregate(records).toString('hex'), theirs.data.toString('hex'));
  });

  it('we de-aggregate what it aggregates, keys and hash keys included', async () => {
    const records = payloads.map((data, i) => ({
      partitionKey: `pk-${i}`,
      ...(i % 2 === 0 ? { explicitHashKey: String(1000 + i) } : {}),
      data,
    }));
    const theirs = await theirAggregation(records);
    assert.equal(theirs.length, 1);
    const result = deaggregate(theirs[0].data);
    assert.equal(result.kind, 'aggregate');
    const ours = result.kind === 'aggregate' ? result.records : [];
    assert.equal(ours.length, records.length);
    ours.forEach((user, i) => {
      assert.ok(Buffer.from(user.data).equals(payloads[i]), `record ${i} byte-exact`);
      assert.equal(user.partitionKey, `pk-${i}`);
      assert.equal(user.explicitHashKey, records[i].explicitHashKey);
    });
  });
});
