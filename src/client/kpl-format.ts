/**
 * The KPL aggregated record (shared/spec/kpl-aggregation.md): magic F3 89 9A C2, a proto2
 * `AggregatedRecord`, and the MD5 of that body. The agent packs user records into it; `stream read`
 * (and later the engine's Firehose-from-Kinesis path) unpacks it the way KCL does.
 *
 * The size math here is plain arithmetic, so that the batcher counts records into aggregates by the
 * same numbers the encoder writes with; protobufjs decodes, loaded on the first decode only.
 */
import { createHash, hash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs/light.js';

export const KPL_MAGIC: Readonly<Buffer> = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;
/** What an aggregate adds to its body: the magic before it and the MD5 after it. */
export const AGGREGATE_OVERHEAD_BYTES = KPL_MAGIC.length + MD5_BYTES;

export interface UserRecord {
  partitionKey: string;
  /** A decimal 128-bit hash key; absent for most records (and for every record the agent packs). */
  explicitHashKey?: string;
  data: Uint8Array;
}

/** Bytes of a protobuf varint of `value` (a non-negative integer). */
export function varintBytes(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    bytes++;
  }
  return bytes;
}

/** Bytes a length-delimited field of `length` bytes takes in its message: tag, length, content. */
export function delimitedFieldBytes(length: number): number {
  return 1 + varintBytes(length) + length;
}

/** Bytes of one user record's Record message: its indexes and its data. */
function recordMessageBytes(dataBytes: number, partitionKeyIndex: number, explicitHashKeyIndex?: number): number {
  return (
    1 +
    varintBytes(partitionKeyIndex) +
    (explicitHashKeyIndex === undefined ? 0 : 1 + varintBytes(explicitHashKeyIndex)) +
    delimitedFieldBytes(dataBytes)
  );
}

/**
 * Bytes the `records` entry of one user record takes in the body (spec §4.2): its indexes and its
 * data inside the length-delimited Record message.
 */
export function recordFieldBytes(dataBytes: number, partitionKeyIndex: number, explicitHashKeyIndex?: number): number {
  return delimitedFieldBytes(recordMessageBytes(dataBytes, partitionKeyIndex, explicitHashKeyIndex));
}

export interface Messages {
  aggregatedRecord: Protobuf.Type;
}

let messages: Messages | undefined;

/** The spec's §3 schema, built with protobufjs's reflection API on first use (the tests write with it too). */
export function kplMessages(): Messages {
  if (messages !== undefined) return messages;
  const protobuf = createRequire(import.meta.url)('protobufjs/light.js') as typeof Protobuf;
  const { Field, Root, Type } = protobuf;
  const tag = new Type('Tag')
    .add(new Field('key', 1, 'string', 'required'))
    .add(new Field('value', 2, 'string', 'optional'));
  const record = new Type('Record')
    .add(new Field('partition_key_index', 1, 'uint64', 'required'))
    // proto2 presence matters: KCL reads an EHK only when the index is there (spec §3).
    .add(new Field('explicit_hash_key_index', 2, 'uint64', 'optional'))
    .add(new Field('data', 3, 'bytes', 'required'))
    .add(new Field('tags', 4, 'Tag', 'repeated'));
  const aggregatedRecord = new Type('AggregatedRecord')
    .add(new Field('partition_key_table', 1, 'string', 'repeated'))
    .add(new Field('explicit_hash_key_table', 2, 'string', 'repeated'))
    .add(new Field('records', 3, 'Record', 'repeated'));
  new Root().add(tag).add(record).add(aggregatedRecord).resolveAll();
  messages = { aggregatedRecord };
  return messages;
}

/** Index of `key` in a table being built, adding it when new. */
function tableIndex(table: string[], indexes: Map<string, number>, key: string): number {
  let index = indexes.get(key);
  if (index === undefined) {
    index = table.length;
    table.push(key);
    indexes.set(key, index);
  }
  return index;
}

/**
 * One Kinesis record's data holding `records`, in order; each distinct key is in the tables once.
 * Written by hand into one buffer, by the same size math the batcher counts with: it is the agent's
 * hot path, and protobufjs's encoder (an object per record, a writer per message, a copy at the
 * end) cost 0.6 µs a line, a quarter of what shipping a line costs in all. Tests check its bytes
 * against the spec's golden ones, protobufjs's encoder and aws-kinesis-agg.
 */
export function encodeAggregate(records: readonly UserRecord[]): Buffer {
  const partitionKeys: string[] = [];
  const partitionKeyIndexes = new Map<string, number>();
  const hashKeys: string[] = [];
  const hashKeyIndexes = new Map<string, number>();
  const keyIndexes = new Array<number>(records.length);
  const hashIndexes = new Array<number | undefined>(records.length);
  for (let i = 0; i < records.length; i++) {
    const { partitionKey, explicitHashKey } = records[i];
    keyIndexes[i] = tableIndex(partitionKeys, partitionKeyIndexes, partitionKey);
    hashIndexes[i] = explicitHashKey === undefined ? undefined : tableIndex(hashKeys, hashKeyIndexes, explicitHashKey);
  }
  return writeAggregate(
    partitionKeys,
    hashKeys,
    records.length,
    (i) => records[i].data,
    (i) => keyIndexes[i],
    (i) => hashIndexes[i],
  );
}

/**
 * encodeAggregate of records that all share one partition key and have no explicit hash key, which
 * is what the agent packs: no tables to build, no object per record.
 */
export function encodeOneKeyAggregate(partitionKey: string, data: readonly Uint8Array[]): Buffer {
  return writeAggregate(
    [partitionKey],
    [],
    data.length,
    (i) => data[i],
    () => 0,
    () => undefined,
  );
}

function writeAggregate(
  partitionKeys: readonly string[],
  hashKeys: readonly string[],
  count: number,
  dataOf: (i: number) => Uint8Array,
  keyIndexOf: (i: number) => number,
  hashIndexOf: (i: number) => number | undefined,
): Buffer {
  let bodyBytes = 0;
  for (const key of partitionKeys) bodyBytes += delimitedFieldBytes(Buffer.byteLength(key));
  for (const key of hashKeys) bodyBytes += delimitedFieldBytes(Buffer.byteLength(key));
  for (let i = 0; i < count; i++) bodyBytes += recordFieldBytes(dataOf(i).length, keyIndexOf(i), hashIndexOf(i));
  const out = Buffer.allocUnsafe(KPL_MAGIC.length + bodyBytes + MD5_BYTES);
  let at = KPL_MAGIC.copy(out, 0);
  for (const key of partitionKeys) at = writeString(out, at, PARTITION_KEY_TABLE_TAG, key);
  for (const key of hashKeys) at = writeString(out, at, HASH_KEY_TABLE_TAG, key);
  for (let i = 0; i < count; i++) {
    const data = dataOf(i);
    const keyIndex = keyIndexOf(i);
    const hashIndex = hashIndexOf(i);
    out[at++] = RECORDS_TAG;
    at = writeVarint(out, at, recordMessageBytes(data.length, keyIndex, hashIndex));
    out[at++] = PARTITION_KEY_INDEX_TAG;
    at = writeVarint(out, at, keyIndex);
    if (hashIndex !== undefined) {
      out[at++] = HASH_KEY_INDEX_TAG;
      at = writeVarint(out, at, hashIndex);
    }
    out[at++] = DATA_TAG;
    at = writeVarint(out, at, data.length);
    out.set(data, at);
    at += data.length;
  }
  createHash('md5').update(out.subarray(KPL_MAGIC.length, at)).digest().copy(out, at);
  return out;
}

/** Field tags (field number << 3 | wire type 2 or 0) of the spec's §3 messages. */
const PARTITION_KEY_TABLE_TAG = (1 << 3) | 2;
const HASH_KEY_TABLE_TAG = (2 << 3) | 2;
const RECORDS_TAG = (3 << 3) | 2;
const PARTITION_KEY_INDEX_TAG = (1 << 3) | 0;
const HASH_KEY_INDEX_TAG = (2 << 3) | 0;
const DATA_TAG = (3 << 3) | 2;

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}

function writeString(out: Buffer, at: number, tag: number, value: string): number {
  out[at++] = tag;
  at = writeVarint(out, at, Buffer.byteLength(value));
  return at + out.write(value, at, 'utf8');
}

/**
 * What a Kinesis record's data is, by KCL's rules (spec §5.1): `plain` unless it starts with the
 * magic and has more than the MD5 after it; then the user records it holds, or why it is `corrupt`
 * (KCL passes a corrupt one on as a plain record too, and so should the caller).
 */
export type Deaggregated =
  { kind: 'plain' } | { kind: 'aggregate'; records: UserRecord[] } | { kind: 'corrupt'; reason: string };

interface DecodedRecord {
  partition_key_index: { toNumber(): number } | number;
  explicit_hash_key_index?: { toNumber(): number } | number;
  data: Uint8Array;
}

const toIndex = (value: { toNumber(): number } | number): number =>
  typeof value === 'number' ? value : value.toNumber();

export function deaggregate(data: Uint8Array): Deaggregated {
  if (data.length <= AGGREGATE_OVERHEAD_BYTES || !KPL_MAGIC.equals(data.subarray(0, KPL_MAGIC.length)))
    return { kind: 'plain' };
  const body = data.subarray(KPL_MAGIC.length, data.length - MD5_BYTES);
  if (!hash('md5', body, 'buffer').equals(data.subarray(data.length - MD5_BYTES)))
    return { kind: 'corrupt', reason: 'its MD5 does not match its body' };
  let decoded: { partition_key_table: string[]; explicit_hash_key_table: string[]; records: DecodedRecord[] };
  try {
    decoded = kplMessages().aggregatedRecord.decode(body) as unknown as typeof decoded;
  } catch (error) {
    return { kind: 'corrupt', reason: `its body is not an AggregatedRecord (${(error as Error).message})` };
  }
  const { partition_key_table: partitionKeys, explicit_hash_key_table: hashKeys } = decoded;
  const records: UserRecord[] = [];
  for (const [position, record] of decoded.records.entries()) {
    const partitionKey = partitionKeys[toIndex(record.partition_key_index)];
    if (partitionKey === undefined)
      return { kind: 'corrupt', reason: `user record ${position} has a partition key index outside the table` };
    const user: UserRecord = { partitionKey, data: record.data };
    // Presence, not value: protobufjs puts the default on the prototype for an absent optional field.
    if (Object.hasOwn(record, 'explicit_hash_key_index')) {
      const explicitHashKey = hashKeys[toIndex(record.explicit_hash_key_index!)];
      if (explicitHashKey === undefined)
        return { kind: 'corrupt', reason: `user record ${position} has a hash key index outside the table` };
      user.explicitHashKey = explicitHashKey;
    }
    records.push(user);
  }
  return { kind: 'aggregate', records };
}
