/**
 * Sequence numbers are fixed-width decimal strings, so numeric order equals string order and no
 * BigInt is needed on the write path:
 *   "49" | stream id (10 digits) | shard index (8 digits) | per-shard counter (20 digits)
 * The stream id is the store's never-reused row id, so a re-created stream with the same name never
 * repeats a number; the shard index sits above the counter, so children sort after their parents.
 * Counter 0 is a shard's StartingSequenceNumber and the all-nines counter its EndingSequenceNumber;
 * records use 1 .. 10^20 - 2.
 */
export const SEQUENCE_LENGTH = 40;
export const END_OF_SHARD_COUNTER = 99_999_999_999_999_999_999n;

const STREAM_ID_DIGITS = 10;
const SHARD_INDEX_DIGITS = 8;

export function sequencePrefix(streamId: number, shardIndex: number): string {
  return '49' + String(streamId).padStart(STREAM_ID_DIGITS, '0') + String(shardIndex).padStart(SHARD_INDEX_DIGITS, '0');
}

export function formatSequence(prefix: string, counter: number): string {
  return prefix + String(counter).padStart(20, '0');
}

export function endingSequence(prefix: string): string {
  return prefix + END_OF_SHARD_COUNTER.toString();
}

export interface DecodedSequence {
  streamId: number;
  shardIndex: number;
  /** Counters beyond 2^53 only occur as the end-of-shard marker; they are clamped to MAX_SAFE_INTEGER. */
  counter: number;
}

export function decodeSequence(text: string): DecodedSequence | undefined {
  if (text.length !== SEQUENCE_LENGTH || !text.startsWith('49') || !/^\d+$/.test(text)) return undefined;
  const counter = BigInt(text.slice(2 + STREAM_ID_DIGITS + SHARD_INDEX_DIGITS));
  return {
    streamId: Number(text.slice(2, 2 + STREAM_ID_DIGITS)),
    shardIndex: Number(text.slice(2 + STREAM_ID_DIGITS, 2 + STREAM_ID_DIGITS + SHARD_INDEX_DIGITS)),
    counter: counter > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(counter),
  };
}

export function shardIdOf(index: number): string {
  return 'shardId-' + String(index).padStart(12, '0');
}

/** Kinesis accepts `shardId-000000000001`, other zero paddings of it, and the bare number. */
export function parseShardId(text: string): number | undefined {
  const match = /^(?:shardId-)?(\d{1,20})$/.exec(text);
  if (!match) return undefined;
  const index = Number(match[1]);
  return Number.isSafeInteger(index) ? index : undefined;
}
