import type { FileHandle } from 'node:fs/promises';
import { FileProgress, type Span } from '../acknowledge/file-progress.js';
import { ChunkRecords, RECORD_OVERHEAD_BYTES } from './log-record.js';
import type { ReadBuffers } from './read-buffers.js';

export interface FileIdentity {
  dev: number;
  ino: number;
}

export interface TailerOptions {
  path: string;
  identity: FileIdentity;
  handle: FileHandle;
  /** Where reading starts: the checkpoint, 0, or the end of the last complete line. */
  startOffset: number;
  /** Largest record the destination takes, after room for the partition key. */
  maxRecordBytes: number;
  /** Written over the end of a record cut to maxRecordBytes. */
  truncatedRecordTerminator: Buffer;
  /** Lines dropped when a file is read from offset 0. */
  skipHeaderLines: number;
  /** Where read buffers come from; their size is the most read per read(2). */
  buffers: ReadBuffers;
  /** Receives the span of records of each chunk that has any, in file order. */
  onRecords: (span: Span) => void;
  /** Memory a new span pins, reported before any of its records can be delivered. */
  onBytesPinned: (bytes: number) => void;
  /** A span's records were all delivered; its pinned bytes are free again. */
  onSpanComplete: (span: Span) => void;
  onTruncated?: (originalBytes: number) => void;
}

const NEWLINE = 0x0a;

/**
 * Reads one file from an offset and cuts it into records at `\n` (kept in the record, as the Java
 * agent does). A last line without `\n` waits for it; one longer than the record limit is cut to
 * the limit, ends with the terminator, and the rest of that line is dropped. Records are kept as
 * positions in the read buffer, so no line is copied on the way to the batch.
 */
export class FileTailer {
  path: string;
  readonly identity: FileIdentity;
  /** Undefined while the file is closed to save descriptors; reopened by identity when it grows. */
  handle: FileHandle | undefined;
  progress: FileProgress;
  /** Next byte to read. */
  readOffset: number;
  /** File offset just past the last complete line read. */
  private lineEndOffset: number;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Inside a line already longer than the limit: its head is kept, the rest is skipped. */
  private oversizedHead: Buffer | undefined;
  private oversizedBytes = 0;
  private headerLinesLeft: number;
  recordsRead = 0;
  bytesRead = 0;
  recordsTruncated = 0;

  constructor(private readonly options: TailerOptions) {
    this.path = options.path;
    this.identity = options.identity;
    this.handle = options.handle;
    this.readOffset = options.startOffset;
    this.lineEndOffset = options.startOffset;
    this.headerLinesLeft = options.startOffset === 0 ? options.skipHeaderLines : 0;
    this.progress = new FileProgress(options.startOffset, options.onSpanComplete);
  }

  /** Bytes read but not yet ended by a newline. */
  get unterminatedBytes(): number {
    return this.readOffset - this.lineEndOffset;
  }

  /**
   * Reads up to one chunk (at most `available` bytes, if the caller knows the size) and hands its
   * records on. Returns the number of bytes read; 0 means end of file for now.
   */
  async readChunk(fileSize?: number): Promise<number> {
    const { buffers } = this.options;
    const wanted = fileSize === undefined ? buffers.size : Math.min(buffers.size, fileSize - this.readOffset);
    if (wanted <= 0) return 0;
    if (this.handle === undefined) throw new Error(`${this.path} is not open`);
    const buffer = buffers.take(wanted);
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.handle.read(buffer, 0, wanted, this.readOffset));
    } catch (error) {
      buffers.give(buffer);
      throw error;
    }
    if (bytesRead === 0) {
      buffers.give(buffer);
      return 0;
    }
    this.consume(buffer, bytesRead, wanted);
    return bytesRead;
  }

  /** Cuts records from the first `length` bytes of `buffer`; the records keep the whole buffer. */
  private consume(buffer: Buffer, length: number, pinnedBytes: number): void {
    const chunk = length === buffer.length ? buffer : buffer.subarray(0, length);
    const base = this.readOffset;
    const spanStart = this.lineEndOffset;
    const starts: number[] = [];
    const stops: number[] = [];
    const ends: number[] = [];
    let copies: Map<number, Buffer> | undefined;
    let recordBytes = 0;
    const max = this.options.maxRecordBytes;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, 0);
    while (newline !== -1) {
      const end = newline + 1;
      let copy: Buffer | undefined;
      if (this.oversizedHead !== undefined) {
        copy = this.finishOversized(this.oversizedBytes + end - start);
      } else if (this.carryBytes > 0) {
        this.carry.push(chunk.subarray(start, end));
        copy = Buffer.concat(this.carry, this.carryBytes + end - start);
        this.carry = [];
        this.carryBytes = 0;
      }
      if (this.headerLinesLeft > 0) this.headerLinesLeft--;
      else {
        if (copy === undefined && end - start > max) copy = this.truncate(chunk.subarray(start, end), end - start);
        else if (copy !== undefined && copy.length > max) copy = this.truncate(copy, copy.length);
        if (copy !== undefined) {
          copies ??= new Map();
          copies.set(starts.length, copy);
          pinnedBytes += copy.length;
        }
        recordBytes += copy?.length ?? end - start;
        starts.push(start);
        stops.push(end);
        ends.push(base + end - spanStart);
      }
      start = end;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    this.readOffset = base + chunk.length;
    if (start > 0) this.lineEndOffset = base + start;
    const records = new ChunkRecords(buffer, new Uint32Array(starts), new Uint32Array(stops), copies);
    this.emit(records, recordBytes, spanStart, new Uint32Array(ends), this.lineEndOffset, pinnedBytes);
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

  private finishOversized(totalBytes: number): Buffer {
    const head = this.oversizedHead!;
    this.oversizedHead = undefined;
    this.oversizedBytes = 0;
    return this.truncate(head, totalBytes);
  }

  private truncate(line: Buffer, originalBytes: number): Buffer {
    const terminator = this.options.truncatedRecordTerminator;
    const cut = Buffer.allocUnsafe(this.options.maxRecordBytes);
    line.copy(cut, 0, 0, this.options.maxRecordBytes - terminator.length);
    terminator.copy(cut, this.options.maxRecordBytes - terminator.length);
    this.recordsTruncated++;
    this.options.onTruncated?.(originalBytes);
    return cut;
  }

  /** `recordBytes`: the records' bytes in all, for the tailer's counts. */
  private emit(records: ChunkRecords, recordBytes: number, spanStart: number, recordEnds: Uint32Array, endOffset: number, pinnedBytes: number): void {
    const count = records.count;
    const pinned = pinnedBytes + count * RECORD_OVERHEAD_BYTES;
    this.options.onBytesPinned(pinned);
    const span = this.progress.openSpan(spanStart, recordEnds, endOffset, pinned, records);
    if (count === 0) return;
    this.recordsRead += count;
    this.bytesRead += recordBytes;
    this.options.onRecords(span);
  }

  /**
   * The file is being let go (rotated away, deleted, or the run is over): a last line without its
   * newline is shipped as it is rather than lost.
   */
  flushUnterminated(): void {
    let line: Buffer | undefined;
    if (this.oversizedHead !== undefined) line = this.finishOversized(this.oversizedBytes);
    else if (this.carryBytes > 0) line = Buffer.concat(this.carry, this.carryBytes);
    this.carry = [];
    this.carryBytes = 0;
    if (line === undefined) return;
    const spanStart = this.lineEndOffset;
    this.lineEndOffset = this.readOffset;
    const record = line.length > this.options.maxRecordBytes ? this.truncate(line, line.length) : line;
    const records = new ChunkRecords(record, Uint32Array.of(0), Uint32Array.of(record.length), undefined);
    this.emit(records, record.length, spanStart, Uint32Array.of(this.readOffset - spanStart), this.lineEndOffset, record.length);
  }

  /** Starts a file nothing was read from yet at `offset` instead (a confirmed copytruncate copy is read on from where its original was). */
  skipTo(offset: number): void {
    if (this.readOffset !== 0 || this.recordsRead > 0) throw new Error(`${this.path}: cannot move the start of a file already read from`);
    this.readOffset = offset;
    this.lineEndOffset = offset;
    this.headerLinesLeft = 0;
    this.progress = new FileProgress(offset, this.options.onSpanComplete);
    this.progress.dirty = true;
  }

  /**
   * The file shrank below what was read (copytruncate): read again from 0. Outstanding records of
   * the old content are still delivered, but their offsets no longer describe this file.
   */
  restartFromZero(): void {
    this.progress.superseded = true;
    this.progress = new FileProgress(0, this.options.onSpanComplete);
    this.progress.dirty = true;
    this.readOffset = 0;
    this.lineEndOffset = 0;
    this.carry = [];
    this.carryBytes = 0;
    this.oversizedHead = undefined;
    this.headerLinesLeft = this.options.skipHeaderLines;
  }
}
