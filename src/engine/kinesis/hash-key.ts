import { hash } from 'node:crypto';

/** The hash-key space is [0, 2^128 - 1]; BigInt for arithmetic, 32-digit hex for fast comparisons. */
export const MAX_HASH_KEY = (1n << 128n) - 1n;

export function hashKeyToHex(key: bigint): string {
  return key.toString(16).padStart(32, '0');
}

/** MD5 of the UTF-8 partition key, read as a big-endian 128-bit number, as Kinesis routes records. */
export function partitionKeyHashHex(partitionKey: string): string {
  return hash('md5', partitionKey, 'hex');
}

/** Parses an ExplicitHashKey already matched against `0|([1-9]\d{0,38})`; undefined when out of range. */
export function parseExplicitHashKey(text: string): bigint | undefined {
  const value = BigInt(text);
  return value > MAX_HASH_KEY ? undefined : value;
}

/** Even division of the key space among `count` shards; the last shard takes the remainder. */
export function uniformRanges(count: number, start = 0n, end = MAX_HASH_KEY): Array<[bigint, bigint]> {
  const width = (end - start + 1n) / BigInt(count);
  const ranges: Array<[bigint, bigint]> = [];
  for (let i = 0; i < count; i++) {
    const lo = start + BigInt(i) * width;
    const hi = i === count - 1 ? end : lo + width - 1n;
    ranges.push([lo, hi]);
  }
  return ranges;
}
