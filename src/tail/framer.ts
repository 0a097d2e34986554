import { ChunkRecords, type FramedChunk } from './records.js';

/**
 * Cuts a file's bytes into records as they are read. One framer per file: it keeps the part of a
 * record that a chunk ended in the middle of, for the next chunk.
 */
export interface RecordFramer {
  /** Frames the first `length` bytes of `buffer`, read at file offset `base`, just after what was framed before. */
  frame(buffer: Buffer, length: number, base: number): FramedChunk;
  /** The file is let go: its unterminated last record, shipped as it is (undefined if there is none). */
  flush(readOffset: number): FramedChunk | undefined;
  /** Framing starts over at `offset` (a truncated file, a copy read on from its original's offset). */
  restartAt(offset: number): void;
  /** File offset just past the last complete record. */
  readonly recordEndOffset: number;
  /** A whole record is held back for lines that may still belong to it (a multi-line record). */
  readonly holding: boolean;
  /** No more lines are expected for the record held back (its file stayed idle): it is shipped as it is. */
  release(): FramedChunk | undefined;
}

export interface NewlineFramerOptions {
  /** Longest record kept: a longer line keeps its first maxRecordBytes, and the rest is skipped as it is read. */
  maxRecordBytes: number;
  /** Lines dropped whenever the file is framed from offset 0 (skipHeaderLines). */
  skipHeaderLines: number;
  /** Where framing starts. */
  startOffset: number;
}

const NEWLINE = 0x0a;

/**
 * One record per line, the `\n` kept in it (as the Java agent does). A last line without `\n`
 * waits for it. Records are positions in the read buffer, so no line is copied on the way to the
 * batch; a line begun in an earlier chunk, or cut at the limit, is a copy.
 */
export class NewlineFramer implements RecordFramer {
  /** A line is a record once its newline is read: none is held back. */
  readonly holding = false;
  private lineEndOffset: number;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Inside a line already longer than the limit: its head is kept, the rest is skipped. */
  private oversizedHead: Buffer | undefined;
  private oversizedBytes = 0;
  private headerLinesLeft: number;

  constructor(private readonly options: NewlineFramerOptions) {
    this.lineEndOffset = options.startOffset;
    this.headerLinesLeft = options.startOffset === 0 ? options.skipHeaderLines : 0;
  }

  get recordEndOffset(): number {
    return this.lineEndOffset;
  }

  frame(buffer: Buffer, length: number, base: number): FramedChunk {
    const chunk = length === buffer.length ? buffer : buffer.subarray(0, length);
    const spanStart = this.lineEndOffset;
    const starts: number[] = [];
    const stops: number[] = [];
    const ends: number[] = [];
    let copies: Map<number, Buffer> | undefined;
    let cut: Map<number, number> | undefined;
    let heldBytes = buffer.length;
    let recordBytes = 0;
    const max = this.options.maxRecordBytes;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, 0);
    while (newline !== -1) {
      const end = newline + 1;
      let copy: Buffer | undefined;
      let originalBytes = 0;
      if (this.oversizedHead !== undefined) {
        originalBytes = this.oversizedBytes + end - start;
        copy = this.oversizedHead;
        this.oversizedHead = undefined;
        this.oversizedBytes = 0;
      } else if (this.carryBytes > 0) {
        this.carry.push(chunk.subarray(start, end));
        copy = Buffer.concat(this.carry, this.carryBytes + end - start);
        this.carry = [];
        this.carryBytes = 0;
      }
      if (this.headerLinesLeft > 0) this.headerLinesLeft--;
      else {
        const lineBytes = copy?.length ?? end - start;
        if (lineBytes > max) {
          originalBytes = Math.max(originalBytes, lineBytes);
          copy = Buffer.from(
            (copy ?? chunk).subarray(copy === undefined ? start : 0, (copy === undefined ? start : 0) + max),
          );
        }
        if (copy !== undefined) {
          copies ??= new Map();
          copies.set(starts.length, copy);
          heldBytes += copy.length;
        }
        if (originalBytes > 0) (cut ??= new Map()).set(starts.length, originalBytes);
        recordBytes += copy?.length ?? end - start;
        starts.push(start);
        stops.push(end);
        ends.push(base + end - spanStart);
      }
      start = end;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    if (start > 0) this.lineEndOffset = base + start;
    return {
      records: new ChunkRecords(buffer, new Uint32Array(starts), new Uint32Array(stops), copies),
      startOffset: spanStart,
      ends: new Uint32Array(ends),
      endOffset: this.lineEndOffset,
      bytes: recordBytes,
      heldBytes,
      cut,
    };
  }

  /** Keeps the bytes of an unfinished line; a copy, so the chunk is not pinned by one partial line. */
  private hold(partial: Buffer): void {
    if (this.oversizedHead !== undefined) {
      this.oversizedBytes += partial.length;
      return;
    }
    this.carry.push(Buffer.from(partial));
    this.carryBytes += partial.length;
    if (this.carryBytes > this.options.maxRecordBytes) {
      this.oversizedHead = Buffer.concat(this.carry, this.carryBytes).subarray(0, this.options.maxRecordBytes);
      this.oversizedBytes = this.carryBytes;
      this.carry = [];
      this.carryBytes = 0;
    }
  }

  flush(readOffset: number): FramedChunk | undefined {
    let line: Buffer | undefined;
    let originalBytes = 0;
    if (this.oversizedHead !== undefined) {
      line = this.oversizedHead;
      originalBytes = this.oversizedBytes;
    } else if (this.carryBytes > 0) {
      line = Buffer.concat(this.carry, this.carryBytes);
    }
    this.carry = [];
    this.carryBytes = 0;
    this.oversizedHead = undefined;
    this.oversizedBytes = 0;
    if (line === undefined) return undefined;
    const spanStart = this.lineEndOffset;
    this.lineEndOffset = readOffset;
    return {
      records: new ChunkRecords(line, Uint32Array.of(0), Uint32Array.of(line.length), undefined),
      startOffset: spanStart,
      ends: Uint32Array.of(readOffset - spanStart),
      endOffset: readOffset,
      bytes: line.length,
      heldBytes: line.length,
      cut: originalBytes > 0 ? new Map([[0, originalBytes]]) : undefined,
    };
  }

  release(): undefined {
    return undefined;
  }

  restartAt(offset: number): void {
    this.lineEndOffset = offset;
    this.carry = [];
    this.carryBytes = 0;
    this.oversizedHead = undefined;
    this.oversizedBytes = 0;
    this.headerLinesLeft = offset === 0 ? this.options.skipHeaderLines : 0;
  }
}
