import { crc32 } from 'node:zlib';
import { join } from 'node:path';

/**
 * How a segment sits in a data file: a fixed header, then the payload (the records, laid out by
 * record-codec.ts). The header makes the data files self-describing, so that damage is found
 * (reads check the header and the payload's CRC-32 against the index row) and so that the highest
 * sequence number ever handed out is still known when the SQLite index is lost or older than the
 * data.
 *
 *   offset  bytes  field
 *        0      4  magic "STSG"
 *        4      4  CRC-32 of bytes 8..47 (a header is trusted only whole)
 *        8      4  stream id
 *       12      4  shard index
 *       16      8  first counter
 *       24      8  last counter
 *       32      8  arrival time, ms since the epoch
 *       40      4  payload length
 *       44      4  CRC-32 of the payload
 * All big-endian; the 8-byte fields hold integers below 2^53, written as two 32-bit halves.
 */
export const SEGMENT_HEADER_BYTES = 48;
export const SEGMENT_MAGIC = Buffer.from('STSG', 'latin1');
const MAGIC_VALUE = SEGMENT_MAGIC.readUInt32BE(0);
const TWO_32 = 2 ** 32;

/** Data files are per stream and hour of arrival, so retention frees space by deleting whole files. */
export const HOUR_MS = 3_600_000;

export interface SegmentHeader {
  streamId: number;
  shardIndex: number;
  firstCounter: number;
  lastCounter: number;
  arrivalMs: number;
  length: number;
  crc: number;
}

export function dataFilePath(recordsDir: string, streamId: number, arrivalMs: number): string {
  return join(recordsDir, String(streamId), `${Math.floor(arrivalMs / HOUR_MS)}.log`);
}

export function payloadCrc(payload: Buffer): number {
  return crc32(payload);
}

function writeUInt53(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buffer.writeUInt32BE(value >>> 0, offset + 4);
}

function readUInt53(buffer: Buffer, offset: number): number {
  return buffer.readUInt32BE(offset) * TWO_32 + buffer.readUInt32BE(offset + 4);
}

export function encodeHeader(header: SegmentHeader): Buffer {
  const buffer = Buffer.allocUnsafe(SEGMENT_HEADER_BYTES);
  buffer.writeUInt32BE(MAGIC_VALUE, 0);
  buffer.writeUInt32BE(header.streamId, 8);
  buffer.writeUInt32BE(header.shardIndex, 12);
  writeUInt53(buffer, header.firstCounter, 16);
  writeUInt53(buffer, header.lastCounter, 24);
  writeUInt53(buffer, header.arrivalMs, 32);
  buffer.writeUInt32BE(header.length, 40);
  buffer.writeUInt32BE(header.crc, 44);
  buffer.writeUInt32BE(crc32(buffer.subarray(8, SEGMENT_HEADER_BYTES)), 4);
  return buffer;
}

/** The header at `offset`, or undefined where those bytes are not an intact header. */
export function decodeHeader(buffer: Buffer, offset = 0): SegmentHeader | undefined {
  if (buffer.length - offset < SEGMENT_HEADER_BYTES || buffer.readUInt32BE(offset) !== MAGIC_VALUE) return undefined;
  if (crc32(buffer.subarray(offset + 8, offset + SEGMENT_HEADER_BYTES)) !== buffer.readUInt32BE(offset + 4))
    return undefined;
  return {
    streamId: buffer.readUInt32BE(offset + 8),
    shardIndex: buffer.readUInt32BE(offset + 12),
    firstCounter: readUInt53(buffer, offset + 16),
    lastCounter: readUInt53(buffer, offset + 24),
    arrivalMs: readUInt53(buffer, offset + 32),
    length: buffer.readUInt32BE(offset + 40),
    crc: buffer.readUInt32BE(offset + 44),
  };
}

/** What an index row says is stored at its offset. */
export interface IndexedSegment {
  shard_index: number;
  first_counter: number;
  last_counter: number;
  arrival_ms: number;
  /** Where the segment's header starts; the records follow it. */
  file_offset: number;
  /** Of the records, without the header. */
  length: number;
  crc: number;
}

/**
 * Why `bytes` (header and payload read at the row's offset) are not the row's segment, or
 * undefined when they are. `available` is how many bytes the file had there.
 */
export function segmentDamage(
  bytes: Buffer,
  available: number,
  streamId: number,
  row: IndexedSegment,
): string | undefined {
  const needed = SEGMENT_HEADER_BYTES + row.length;
  if (available < needed) return `the file ends ${available <= 0 ? 'before' : 'inside'} the segment`;
  const header = decodeHeader(bytes);
  if (header === undefined) return 'the segment header is damaged';
  if (
    header.streamId !== streamId ||
    header.shardIndex !== row.shard_index ||
    header.firstCounter !== row.first_counter ||
    header.lastCounter !== row.last_counter ||
    header.arrivalMs !== row.arrival_ms ||
    header.length !== row.length
  ) {
    return 'another segment than the index says is there';
  }
  if (header.crc !== row.crc || crc32(bytes.subarray(SEGMENT_HEADER_BYTES, needed)) !== row.crc)
    return 'the checksum of the records does not match';
  return undefined;
}

/** A segment whose bytes are missing or damaged; GetRecords turns it into an error naming the range. */
export class DamagedSegmentError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'DamagedSegmentError';
  }
}
