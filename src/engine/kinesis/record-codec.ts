/**
 * The records inside a segment's payload (what follows the header of segment-format.ts), one after
 * another with nothing between them:
 *
 *   bytes  field
 *       2  partition key length K (UTF-8 bytes), big-endian
 *       K  partition key, UTF-8
 *       4  data length D, big-endian
 *       D  data
 *
 * A segment's header says how many records it holds (last counter - first counter + 1), so the
 * payload carries no count; the reader refuses a payload that does not hold exactly that many.
 */

/** The bytes each record adds to its key and data. */
export const RECORD_OVERHEAD_BYTES = 6;

export interface EncodableRecord {
  partitionKey: string;
  /** UTF-8 length of the partition key. */
  keyBytes: number;
  data: Buffer;
}

/** How many bytes encodeRecords writes for `records`. */
export function encodedSize(records: readonly EncodableRecord[]): number {
  let size = 0;
  for (let i = 0; i < records.length; i++) size += RECORD_OVERHEAD_BYTES + records[i].keyBytes + records[i].data.length;
  return size;
}

/**
 * The payload of `records`, in their order: at the start of `space` when it is given (and holds
 * encodedSize(records) bytes), else in a buffer of its own.
 */
export function encodeRecords(records: readonly EncodableRecord[], space?: Buffer): Buffer {
  const size = encodedSize(records);
  const payload = space === undefined ? Buffer.allocUnsafe(size) : space.subarray(0, size);
  let offset = 0;
  for (let i = 0; i < records.length; i++) {
    const { partitionKey, keyBytes, data } = records[i];
    offset = payload.writeUInt16BE(keyBytes, offset);
    if (keyBytes === partitionKey.length && keyBytes <= 64) {
      // Short ASCII keys, the usual case: a plain loop beats a call into the UTF-8 encoder.
      for (let k = 0; k < keyBytes; k++) payload[offset + k] = partitionKey.charCodeAt(k);
      offset += keyBytes;
    } else {
      offset += payload.write(partitionKey, offset, keyBytes, 'utf8');
    }
    offset = payload.writeUInt32BE(data.length, offset);
    offset += data.copy(payload, offset);
  }
  return payload;
}

/** A payload whose bytes are not the records its segment says it holds. */
export class RecordLayoutError extends Error {
  constructor(reason: string) {
    super(`segment payload is not a record list: ${reason}`);
    this.name = 'RecordLayoutError';
  }
}

/**
 * Walks a payload record by record without copying: after each `next()` that returns true, the
 * fields say where the record's key and data are. Throws RecordLayoutError where the payload ends
 * inside a record, or holds more bytes than `count` records.
 */
export class RecordReader {
  keyStart = 0;
  keyLength = 0;
  dataStart = 0;
  dataLength = 0;
  private offset = 0;
  private left: number;

  constructor(
    readonly payload: Buffer,
    count: number,
  ) {
    this.left = count;
  }

  next(): boolean {
    const payload = this.payload;
    const end = payload.length;
    if (this.left === 0) {
      if (this.offset !== end) throw new RecordLayoutError(`${end - this.offset} bytes after the last record`);
      return false;
    }
    const at = this.offset;
    if (at + 2 > end)
      throw new RecordLayoutError(`it ends at byte ${end}, before the ${this.left} records still expected`);
    const keyLength = (payload[at] << 8) | payload[at + 1];
    const lengthAt = at + 2 + keyLength;
    if (lengthAt + 4 > end)
      throw new RecordLayoutError(`a key of ${keyLength} bytes at byte ${at} runs past its end (${end})`);
    const dataLength =
      payload[lengthAt] * 0x1000000 +
      ((payload[lengthAt + 1] << 16) | (payload[lengthAt + 2] << 8) | payload[lengthAt + 3]);
    const dataStart = lengthAt + 4;
    if (dataStart + dataLength > end)
      throw new RecordLayoutError(`data of ${dataLength} bytes at byte ${dataStart} runs past its end (${end})`);
    this.keyStart = at + 2;
    this.keyLength = keyLength;
    this.dataStart = dataStart;
    this.dataLength = dataLength;
    this.offset = dataStart + dataLength;
    this.left--;
    return true;
  }

  partitionKey(): string {
    return this.payload.toString('utf8', this.keyStart, this.keyStart + this.keyLength);
  }

  /** A view of the record's data in the payload, not a copy. */
  data(): Buffer {
    return this.payload.subarray(this.dataStart, this.dataStart + this.dataLength);
  }

  dataBase64(): string {
    return this.payload.toString('base64', this.dataStart, this.dataStart + this.dataLength);
  }
}
