/**
 * The KPL aggregated record format (src/client/kpl-format.ts) against the spec's worked example
 * (shared/spec/kpl-aggregation.md §3.1), its bytes and size math against what protobufjs writes, and KCL's
 * fall-back rules for records that are not (valid) aggregates.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { hash } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import {
  AGGREGATE_OVERHEAD_BYTES,
  deaggregate,
  delimitedFieldBytes,
  encodeAggregate,
  kplMessages,
  recordFieldBytes,
  varintBytes,
  type UserRecord,
} from '../../../src/client/kpl-format.js';

const GOLDEN_HEX =
  'f3899ac2' + '0a01610a01621a0908001a0568656c6c6f1a0908011a05776f726c64' + '7cf45228cd79941b056e6743990bf8ab';
const GOLDEN_BASE64 = '84mawgoBYQoBYhoJCAAaBWhlbGxvGgkIARoFd29ybGR89FIozXmUGwVuZ0OZC/ir';
const helloWorld: UserRecord[] = [
  { partitionKey: 'a', data: Buffer.from('hello') },
  { partitionKey: 'b', data: Buffer.from('world') },
];

const plainRecords = (records: UserRecord[]) => records.map((r) => ({ ...r, data: Buffer.from(r.data).toString() }));

describe('KPL aggregated record format', () => {
  it("encodes the spec's worked example byte for byte", () => {
    const encoded = encodeAggregate(helloWorld);
    assert.equal(encoded.toString('hex'), GOLDEN_HEX);
    assert.equal(encoded.toString('base64'), GOLDEN_BASE64);
    assert.equal(encoded.length, 48);
  });

  it('the trailer is the MD5 of the body alone, not of the magic', () => {
    const encoded = encodeAggregate(helloWorld);
    const body = encoded.subarray(4, encoded.length - 16);
    assert.equal(hash('md5', body), '7cf45228cd79941b056e6743990bf8ab');
    assert.notEqual(hash('md5', encoded.subarray(0, encoded.length - 16)), '7cf45228cd79941b056e6743990bf8ab');
  });

  it("decodes the spec's worked example into its user records", () => {
    const result = deaggregate(Buffer.from(GOLDEN_BASE64, 'base64'));
    assert.equal(result.kind, 'aggregate');
    assert.deepEqual(plainRecords(result.kind === 'aggregate' ? result.records : []), [
      { partitionKey: 'a', data: 'hello' },
      { partitionKey: 'b', data: 'world' },
    ]);
  });

  it('writes each distinct key once in the tables, and an explicit hash key index only where there is one', () => {
    const records: UserRecord[] = [
      { partitionKey: 'k1', data: Buffer.from('one') },
      { partitionKey: 'k2', explicitHashKey: '42', data: Buffer.from('two') },
      { partitionKey: 'k1', explicitHashKey: '42', data: Buffer.from('three') },
      { partitionKey: 'k1', data: Buffer.alloc(0) },
    ];
    const encoded = encodeAggregate(records);
    const body = encoded.subarray(4, encoded.length - 16).toString('hex');
    // Tables: "k1", "k2", then "42"; record 0 has no 0x10 field at all.
    assert.ok(body.startsWith('0a026b310a026b3212023432' + '1a07' + '0800' + '1a036f6e65'), body);
    const result = deaggregate(encoded);
    assert.equal(result.kind, 'aggregate');
    assert.deepEqual(plainRecords(result.kind === 'aggregate' ? result.records : []), [
      { partitionKey: 'k1', data: 'one' },
      { partitionKey: 'k2', explicitHashKey: '42', data: 'two' },
      { partitionKey: 'k1', explicitHashKey: '42', data: 'three' },
      { partitionKey: 'k1', data: '' },
    ]);
  });

  it('writes what protobufjs writes, and the size math agrees, across varint boundaries', () => {
    assert.deepEqual([0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152].map(varintBytes), [1, 1, 1, 2, 2, 3, 3, 4]);
    // protobufjs writes with the schema the decoder reads with (checked against the golden bytes above).
    const { aggregatedRecord } = kplMessages();
    for (const dataBytes of [0, 1, 100, 117, 118, 124, 125, 126, 127, 128, 16_370, 16_380, 16_400, 300_000]) {
      const key = 'p'.repeat(dataBytes % 200 || 1);
      const records: UserRecord[] = [
        { partitionKey: key, data: Buffer.alloc(dataBytes, 1) },
        { partitionKey: `${key}é`, explicitHashKey: String(dataBytes), data: Buffer.alloc(3, 2) },
        ...Array.from({ length: 130 }, (_, i) => ({ partitionKey: `k${i}`, data: Buffer.from([i]) })),
      ];
      const body = aggregatedRecord
        .encode({
          partition_key_table: [key, `${key}é`, ...records.slice(2).map((r) => r.partitionKey)],
          explicit_hash_key_table: [String(dataBytes)],
          records: records.map((r, i) => ({
            partition_key_index: i,
            ...(r.explicitHashKey === undefined ? {} : { explicit_hash_key_index: 0 }),
            data: r.data,
          })),
        })
        .finish();
      const encoded = encodeAggregate(records);
      assert.equal(encoded.subarray(4, encoded.length - 16).toString('hex'), Buffer.from(body).toString('hex'));
      const expected =
        AGGREGATE_OVERHEAD_BYTES +
        records.reduce((n, r) => n + delimitedFieldBytes(Buffer.byteLength(r.partitionKey)), 0) +
        delimitedFieldBytes(Buffer.byteLength(String(dataBytes))) +
        records.reduce(
          (n, r, i) => n + recordFieldBytes(r.data.length, i, r.explicitHashKey === undefined ? undefined : 0),
          0,
        );
      assert.equal(encoded.length, expected, `${dataBytes} bytes of data`);
    }
    assert.equal(recordFieldBytes(5, 1, 200), 2 + 2 + 3 + 7);
  });

  it('protobufjs is loaded by the first decode, not when an aggregating flow is set up or encodes', async () => {
    const source = (file: string) => JSON.stringify(new URL(`../../../src/${file}`, import.meta.url).href);
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/protobufjs/'));
      const { KinesisDestination } = await import(${source('send/kinesis-destination.js')});
      new KinesisDestination('s', {}, { option: 'RANDOM' }, 51200);
      const before = loaded();
      const { encodeAggregate } = await import(${source('client/kpl-format.js')});
      const encoded = encodeAggregate([{ partitionKey: 'a', data: Buffer.from('x') }]);
      const afterEncode = loaded();
      const { deaggregate } = await import(${source('client/kpl-format.js')});
      deaggregate(encoded);
      console.log(JSON.stringify({ before, afterEncode, afterDecode: loaded() }));`;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ]);
    assert.deepEqual(JSON.parse(stdout), { before: false, afterEncode: false, afterDecode: true });
  });

  describe('what is not a valid aggregate is a plain record (KCL)', () => {
    const magic = Buffer.from('f3899ac2', 'hex');
    it('no magic, too short, or nothing but the MD5 after the magic: plain', () => {
      assert.deepEqual(deaggregate(Buffer.from('just a log line\n')), { kind: 'plain' });
      assert.deepEqual(deaggregate(Buffer.alloc(0)), { kind: 'plain' });
      assert.deepEqual(deaggregate(magic), { kind: 'plain' });
      assert.deepEqual(deaggregate(Buffer.concat([magic, hash('md5', Buffer.alloc(0), 'buffer')])), {
        kind: 'plain',
      });
    });

    it('a flipped byte in the body: corrupt, for its MD5', () => {
      const encoded = encodeAggregate(helloWorld);
      encoded[12] ^= 0x01;
      const result = deaggregate(encoded);
      assert.equal(result.kind, 'corrupt');
      assert.match(result.kind === 'corrupt' ? result.reason : '', /MD5/);
    });

    it('a body that is not an AggregatedRecord, with a matching MD5: corrupt', () => {
      for (const bodyHex of ['1a0208', '1a021a00', '0a05616263']) {
        const body = Buffer.from(bodyHex, 'hex');
        const result = deaggregate(Buffer.concat([magic, body, hash('md5', body, 'buffer')]));
        assert.equal(result.kind, 'corrupt', bodyHex);
        assert.match(result.kind === 'corrupt' ? result.reason : '', /not an AggregatedRecord/);
      }
    });

    it('a key index outside its table: corrupt', () => {
      const body = Buffer.from('0a01611a0708051a03616263', 'hex'); // table ["a"], record with index 5
      const result = deaggregate(Buffer.concat([magic, body, hash('md5', body, 'buffer')]));
      assert.deepEqual(result, {
        kind: 'corrupt',
        reason: 'user record 0 has a partition key index outside the table',
      });
    });
  });
});
