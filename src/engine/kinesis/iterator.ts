import { createHmac, timingSafeEqual } from 'node:crypto';
import { expiredIterator, invalidShardIterator } from './errors.js';

/**
 * Shard iterators are opaque to clients but must be checkable by us: the position is signed with a
 * secret kept in the data dir (HMAC-SHA256, 16 bytes), so forged or tampered iterators are
 * rejected and valid ones survive an engine restart. The 8-byte header and a version byte below
 * 0x40 make every iterator start with `AAAAAAAAAAE`, like real ones.
 */
export const ITERATOR_LIFETIME_MS = 300_000;
const HEADER = Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 1]);
const MAC_BYTES = 16;

export interface IteratorPosition {
  streamId: number;
  streamName: string;
  shardIndex: number;
  /** The next counter to return; records with a smaller counter are behind the iterator. */
  counter: number;
  issuedMs: number;
}

export class IteratorCodec {
  constructor(private readonly secret: Buffer) {}

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, MAC_BYTES);
  }

  encode(position: IteratorPosition): string {
    const body = Buffer.from(
      `${position.streamId}/${position.shardIndex}/${position.counter}/${position.issuedMs}/${position.streamName}`,
      'utf8',
    );
    return Buffer.concat([HEADER, body, this.mac(body)]).toString('base64');
  }

  /** Throws InvalidArgumentException for anything we did not issue, ExpiredIteratorException when too old. */
  decode(text: string, nowMs: number): IteratorPosition {
    const raw = Buffer.from(text, 'base64');
    if (
      raw.toString('base64') !== text ||
      raw.length < HEADER.length + MAC_BYTES + 9 ||
      !raw.subarray(0, HEADER.length).equals(HEADER)
    )
      throw invalidShardIterator();
    const body = raw.subarray(HEADER.length, raw.length - MAC_BYTES);
    if (!timingSafeEqual(this.mac(body), raw.subarray(raw.length - MAC_BYTES))) throw invalidShardIterator();
    const [streamId, shardIndex, counter, issuedMs, ...name] = body.toString('utf8').split('/');
    const position: IteratorPosition = {
      streamId: Number(streamId),
      shardIndex: Number(shardIndex),
      counter: Number(counter),
      issuedMs: Number(issuedMs),
      streamName: name.join('/'),
    };
    if (position.issuedMs > nowMs + 1000) throw invalidShardIterator();
    if (nowMs - position.issuedMs > ITERATOR_LIFETIME_MS) {
      throw expiredIterator(javaDate(position.issuedMs), javaDate(nowMs), ITERATOR_LIFETIME_MS);
    }
    return position;
  }
}

/** Java's `EEE MMM dd HH:mm:ss UTC yyyy`, the format of Kinesis's iterator-expiry message. */
function javaDate(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${two(d.getUTCDate())} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`
  );
}
