import type { FileHandle } from 'node:fs/promises';
import type { RecordFramer } from './framer.js';
import type { ReadBuffers } from './read-buffers.js';
import type { FramedChunk } from './records.js';

/**
 * How a tracked file is read: offsets are those of the records it yields (in the decompressed
 * stream for a compressed file), which is what its checkpoint stores.
 */
export interface FileReader {
  readonly readOffset: number;
  readonly recordEndOffset: number;
  readonly recordsRead: number;
  readonly bytesRead: number;
  /** A finished file that never changes (a compressed one): no truncation, copy or growth to look for. */
  readonly compressed: boolean;
  /** Whether anything is left to read in a file of `fileSize` bytes (as stat gives it). */
  hasMore(fileSize: number): boolean;
  readChunk(handle: FileHandle, fileSize: number): Promise<FramedChunk | undefined>;
  flushUnterminated(): FramedChunk | undefined;
  /** A multi-line record is held back, waiting for more of its lines. */
  readonly holding: boolean;
  /** The record held back, shipped as it is: its file stayed idle too long for more of it to come. */
  releaseHeld(): FramedChunk | undefined;
  skipTo(offset: number): void;
  restartFromZero(): void;
}

/**
 * What every reader shares: the offset, the framer that cuts records, the counts, and what
 * letting a file go or starting it elsewhere means for them.
 */
export abstract class FramedReader {
  /** Next byte to read (of the decompressed stream, for a compressed file). */
  protected offset: number;
  recordsRead = 0;
  bytesRead = 0;

  constructor(
    protected readonly framer: RecordFramer,
    startOffset: number,
  ) {
    this.offset = startOffset;
  }

  get readOffset(): number {
    return this.offset;
  }

  /** Just past the last complete record read: where a copy of the file is read on from, whole lines only. */
  get recordEndOffset(): number {
    return this.framer.recordEndOffset;
  }

  /** Frames `length` bytes of `buffer`, read at the current offset, and moves past them. */
  protected frame(buffer: Buffer, length: number): FramedChunk {
    const chunk = this.framer.frame(buffer, length, this.offset);
    this.offset += length;
    this.count(chunk);
    return chunk;
  }

  private count(chunk: FramedChunk): void {
    this.recordsRead += chunk.records.count;
    this.bytesRead += chunk.bytes;
  }

  /**
   * The file is being let go (rotated away, deleted, or the run is over): a last record without
   * its end is shipped as it is rather than lost.
   */
  flushUnterminated(): FramedChunk | undefined {
    const chunk = this.framer.flush(this.offset);
    if (chunk !== undefined) this.count(chunk);
    return chunk;
  }

  get holding(): boolean {
    return this.framer.holding;
  }

  releaseHeld(): FramedChunk | undefined {
    const chunk = this.framer.release();
    if (chunk !== undefined) this.count(chunk);
    return chunk;
  }

  /**
   * Starts a file nothing was read from yet at `offset` instead (a confirmed copytruncate copy is read on from where
   * its original was).
   */
  skipTo(offset: number): void {
    if (this.offset !== 0 || this.recordsRead > 0) throw new Error('cannot move the start of a file already read from');
    this.offset = offset;
    this.framer.restartAt(offset);
  }

  /** The file shrank below what was read (copytruncate): read it again from 0. */
  restartFromZero(): void {
    this.offset = 0;
    this.framer.restartAt(0);
  }
}

/**
 * Reads one file from an offset, chunk by chunk, and hands each chunk's records on as the framer
 * cuts them. It knows nothing of delivery: what becomes of the records, and how far the file is
 * acknowledged, is decided outside it.
 */
export class FileTailer extends FramedReader implements FileReader {
  readonly compressed = false;

  constructor(
    framer: RecordFramer,
    /** Where read buffers come from; their size is the most read per read(2). */
    private readonly buffers: ReadBuffers,
    startOffset: number,
  ) {
    super(framer, startOffset);
  }

  hasMore(fileSize: number): boolean {
    return fileSize > this.offset;
  }

  /**
   * Reads up to one chunk (at most to `fileSize`) from `handle` and returns its records (undefined
   * at the end of the file for now). A chunk that ends inside a record returns the records before it.
   */
  async readChunk(handle: FileHandle, fileSize: number): Promise<FramedChunk | undefined> {
    const wanted = Math.min(this.buffers.size, fileSize - this.offset);
    if (wanted <= 0) return undefined;
    const buffer = this.buffers.take(wanted);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, wanted, this.offset));
    } catch (error) {
      this.buffers.give(buffer);
      throw error;
    }
    if (bytesRead === 0) {
      this.buffers.give(buffer);
      return undefined;
    }
    return this.frame(buffer, bytesRead);
  }
}
