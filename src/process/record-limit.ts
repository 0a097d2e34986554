import type { FramedChunk } from '../tail/records.js';

/**
 * The destination's record limit, applied after processing: a record longer than the limit (a
 * line the framer cut as it was read, or one a processor made longer) keeps its first bytes and
 * ends with truncatedRecordTerminator, as in the Java agent.
 */
export class RecordLimit {
  constructor(
    /** Largest record the destination takes, after room for the partition key. */
    readonly maxRecordBytes: number,
    private readonly terminator: Buffer,
  ) {}

  /**
   * `mayBeLonger`: records may exceed the limit (processors ran), not only those the framer cut.
   * `onTruncated` is told of each record cut, and how long it was.
   */
  apply(
    chunk: FramedChunk,
    mayBeLonger: boolean,
    onTruncated: (originalBytes: number, limit: number) => void,
  ): FramedChunk {
    if (chunk.cut !== undefined) {
      for (const [index, originalBytes] of chunk.cut) {
        this.truncate(chunk, index);
        onTruncated(originalBytes, this.maxRecordBytes);
      }
    }
    if (mayBeLonger) {
      const count = chunk.records.count;
      for (let i = 0; i < count; i++) {
        const length = chunk.records.length(i);
        if (length <= this.maxRecordBytes || chunk.cut?.has(i)) continue;
        this.truncate(chunk, i);
        onTruncated(length, this.maxRecordBytes);
      }
    }
    chunk.cut = undefined;
    return chunk;
  }

  private truncate(chunk: FramedChunk, index: number): void {
    const max = this.maxRecordBytes;
    const data = chunk.records.data(index);
    const kept = Math.min(data.length, max - this.terminator.length);
    const cut = Buffer.allocUnsafe(kept + this.terminator.length);
    data.copy(cut, 0, 0, kept);
    this.terminator.copy(cut, kept);
    const before = chunk.records.replace(index, cut);
    chunk.heldBytes += cut.length - before;
    chunk.bytes += cut.length - data.length;
  }
}
