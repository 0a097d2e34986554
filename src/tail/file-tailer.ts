import type { FileHandle } from 'node:fs/promises';
import { FileProgress, type Span } from '../acknowledge/file-progress.js';
import type { LogRecord } from './log-record.js';

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
  /** Bytes read per read(2). */
  chunkSize: number;
  /** Receives the records of each chunk, in file order. */
  onRecords: (records: LogRecord[]) => void;
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
 * the limit, ends with the terminator, and the rest of that line is dropped. Records are views of
 * the read buffer, so no line is copied on the way to the batch.
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
    const wanted = fileSize === undefined ? this.options.chunkSize : Math.min(this.options.chunkSize, fileSize - this.readOffset);
    if (wanted <= 0) return 0;
    if (this.handle === undefined) throw new Error(`${this.path} is not open`);
    const buffer = Buffer.allocUnsafe(wanted);
    const { bytesRead } = await this.handle.read(buffer, 0, wanted, this.readOffset);
    if (bytesRead === 0) return 0;
    this.consume(bytesRead === wanted ? buffer : buffer.subarray(0, bytesRead), wanted);
    return bytesRead;
  }

  private consume(chunk: Buffer, pinnedBytes: number): void {
    const base = this.readOffset;
    const spanStart = this.lineEndOffset;
    const records: Buffer[] = [];
    const ends: number[] = [];
    const max = this.options.maxRecordBytes;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, 0);
    while (newline !== -1) {
      const end = newline + 1;
      let line: Buffer;
      if (this.oversizedHead !== undefined) {
        line = this.finishOversized(this.oversizedBytes + end - start);
      } else if (this.carryBytes > 0) {
        this.carry.push(chunk.subarray(start, end));
        line = Buffer.concat(this.carry, this.carryBytes + end - start);
        this.carry = [];
        this.carryBytes = 0;
      } else {
        line = chunk.subarray(start, end);
      }
      if (this.headerLinesLeft > 0) this.headerLinesLeft--;
      else {
        records.push(line.length > max ? this.truncate(line, line.length) : line);
        ends.push(base + end - spanStart);
      }
      start = end;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    this.readOffset = base + chunk.length;
    if (start > 0) this.lineEndOffset = base + start;
    this.emit(records, spanStart, Uint32Array.from(ends), this.lineEndOffset, pinnedBytes);
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

  private emit(lines: Buffer[], spanStart: number, recordEnds: Uint32Array, endOffset: number, pinnedBytes: number): void {
    this.options.onBytesPinned(pinnedBytes);
    const span = this.progress.openSpan(spanStart, recordEnds, endOffset, pinnedBytes);
    if (lines.length === 0) return;
    const records = new Array<LogRecord>(lines.length);
    let bytes = 0;
    for (let i = 0; i < lines.length; i++) {
      records[i] = { data: lines[i], span, index: i };
      bytes += lines[i].length;
    }
    this.recordsRead += lines.length;
    this.bytesRead += bytes;
    this.options.onRecords(records);
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
    this.emit([record], spanStart, Uint32Array.of(this.readOffset - spanStart), this.lineEndOffset, line.length);
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
