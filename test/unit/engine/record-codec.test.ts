import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  encodeRecords,
  RecordLayoutError,
  RecordReader,
  RECORD_OVERHEAD_BYTES,
  type EncodableRecord,
} from '../../../src/engine/kinesis/record-codec.js';

function record(partitionKey: string, data: Buffer): EncodableRecord {
  return { partitionKey, keyBytes: Buffer.byteLength(partitionKey, 'utf8'), data };
}

/** Every record of a payload, copied out, through the reader GetRecords uses. */
function decode(payload: Buffer, count: number): Array<{ partitionKey: string; data: Buffer; base64: string }> {
  const reader = new RecordReader(payload, count);
  const out = [];
  while (reader.next())
    out.push({ partitionKey: reader.partitionKey(), data: Buffer.from(reader.data()), base64: reader.dataBase64() });
  return out;
}

function assertRoundTrip(records: EncodableRecord[]): void {
  const payload = encodeRecords(records);
  const expectedBytes = records.reduce((sum, r) => sum + RECORD_OVERHEAD_BYTES + r.keyBytes + r.data.length, 0);
  assert.equal(payload.length, expectedBytes, 'the payload is the records and their lengths, nothing else');
  const decoded = decode(payload, records.length);
  assert.equal(decoded.length, records.length);
  for (let i = 0; i < records.length; i++) {
    assert.equal(decoded[i].partitionKey, records[i].partitionKey, `key of record ${i}`);
    assert.ok(decoded[i].data.equals(records[i].data), `data of record ${i}`);
    assert.equal(decoded[i].base64, records[i].data.toString('base64'), `base64 data of record ${i}`);
  }
}

describe('record codec: the records inside a segment', () => {
  it('round-trips 500 records of random binary data and keys, in order', () => {
    const records = Array.from({ length: 500 }, (_, i) =>
      record(`key-${i}-${randomBytes(6).toString('hex')}`, randomBytes(i % 97 === 0 ? 0 : 1 + ((i * 37) % 2048))),
    );
    assertRoundTrip(records);
  });

  it(
    'round-trips unicode keys (the UTF-8 path, 4-byte characters, the 256-character maximum) next to ASCII ' +
      'ones at the fast path edge',
    () => {
      assertRoundTrip([
        record('é', Buffer.from('one')),
        record('日本語のキー', Buffer.from('two')),
        record('😀'.repeat(256), Buffer.from('keyBytes 1024')),
        record('k'.repeat(64), Buffer.from('ASCII, 64 bytes: the byte loop')),
        record('k'.repeat(65), Buffer.from('ASCII, 65 bytes: the encoder')),
        record('a😀b', Buffer.alloc(0)),
      ]);
    },
  );

  it('round-trips an empty key, 0-byte data, every byte value, and an empty list', () => {
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assertRoundTrip([
      record('', Buffer.alloc(0)),
      record('', everyByte),
      record('k', Buffer.alloc(0)),
      record('\u0000', everyByte.reverse()),
    ]);
    assertRoundTrip([]);
    assert.equal(encodeRecords([]).length, 0);
  });

  it('reads a record without copying it: data() is a view of the payload', () => {
    const payload = encodeRecords([record('k', Buffer.from('abc'))]);
    const reader = new RecordReader(payload, 1);
    assert.equal(reader.next(), true);
    assert.equal(reader.data().buffer, payload.buffer);
    assert.deepEqual([reader.keyStart, reader.keyLength, reader.dataStart, reader.dataLength], [2, 1, 7, 3]);
  });

  it('refuses a payload cut anywhere: every shorter prefix of three records throws RecordLayoutError', () => {
    const payload = encodeRecords([
      record('first', Buffer.from('1111')),
      record('😀', Buffer.alloc(0)),
      record('third', Buffer.from('333')),
    ]);
    for (let length = 0; length < payload.length; length++) {
      assert.throws(
        () => decode(payload.subarray(0, length), 3),
        RecordLayoutError,
        `cut at byte ${length} of ${payload.length}`,
      );
    }
  });

  it(
    'refuses bytes after the last record, a count that does not match, and a length field that points ' +
      'past the end',
    () => {
      const payload = encodeRecords([record('a', Buffer.from('xy')), record('b', Buffer.from('z'))]);
      assert.throws(() => decode(Buffer.concat([payload, Buffer.from([0])]), 2), /1 bytes after the last record/);
      assert.throws(() => decode(payload, 1), RecordLayoutError, 'fewer records than the payload holds');
      assert.throws(() => decode(payload, 3), RecordLayoutError, 'more records than the payload holds');
      const hugeData = Buffer.from(payload);
      hugeData.writeUInt32BE(0xffffffff, 2 + 1);
      assert.throws(() => decode(hugeData, 2), /data of 4294967295 bytes at byte 7 runs past its end/);
      const hugeKey = Buffer.from(payload);
      hugeKey.writeUInt16BE(0xffff, 0);
      assert.throws(() => decode(hugeKey, 2), /a key of 65535 bytes at byte 0 runs past its end/);
    },
  );
});
