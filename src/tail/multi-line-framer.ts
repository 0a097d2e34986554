import { NewlineFramer, type NewlineFramerOptions, type RecordFramer } from './framer.js';
import { FramedChunkWriter, type FramedChunk } from './records.js';

/**
 * How long a file must stay idle before the multi-line record it holds back is shipped without
 * waiting for the next start line. The Java agent closes a record at the end of every read, so a
 * record whose last lines are written a moment after its first is split in two (its #92, #97):
 * writers flush a stack trace within milliseconds, or within a second or two when they buffer
 * it, so 5 s keeps such records whole and still ships the last record of a quiet file soon.
 * Longer than the slowest poll of an idle file (MAX_IDLE_POLL_MS), so one poll finds it due.
 */
export const MULTI_LINE_FLUSH_MS = 5000;

export interface MultiLineFramerOptions extends NewlineFramerOptions {
  /** multiLineStartPattern, as startPatternOf compiles it. */
  recordStart: RegExp;
}

/** multiLineStartPattern, matched as Java's `lookingAt` does: at the start of the line, a prefix of it. */
export function startPatternOf(source: string): RegExp {
  return new RegExp(source, 'y');
}

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/**
 * Records of several lines: a record begins at a line that multiLineStartPattern matches and takes
 * every following line up to the next such line; lines before the first start line are a record
 * of their own, since the Java agent takes the first line it reads as a record's start whatever it
 * is. Lines are cut by a NewlineFramer (which also skips header lines and bounds a long line).
 *
 * The last record read is held back until the next start line comes, the file stays idle for
 * MULTI_LINE_FLUSH_MS (the file set calls release()), or the file is let go (flush()); its start
 * is the framer's recordEndOffset, so the checkpoint never passes it and a crash resends it whole.
 * A record longer than maxRecordBytes keeps its first maxRecordBytes; the rest is dropped as it is
 * read, and the record is marked cut for the record limit to truncate and count.
 */
export class MultiLineFramer implements RecordFramer {
  private readonly lines: NewlineFramer;
  private pending: PendingRecord | undefined;

  constructor(private readonly options: MultiLineFramerOptions) {
    this.lines = new NewlineFramer(options);
  }

  get recordEndOffset(): number {
    return this.pending?.startOffset ?? this.lines.recordEndOffset;
  }

  get holding(): boolean {
    return this.pending !== undefined;
  }

  frame(buffer: Buffer, length: number, base: number): FramedChunk {
    const completed = new CompletedRecords(buffer, this.recordEndOffset);
    this.group(this.lines.frame(buffer, length, base), buffer, completed);
    this.pending?.settle(buffer);
    return completed.chunk(this.recordEndOffset);
  }

  release(): FramedChunk | undefined {
    const record = this.pending;
    if (record === undefined) return undefined;
    this.pending = undefined;
    const completed = new CompletedRecords(EMPTY, record.startOffset);
    completed.add(record);
    return completed.chunk(record.endOffset);
  }

  flush(readOffset: number): FramedChunk | undefined {
    const completed = new CompletedRecords(EMPTY, this.recordEndOffset);
    const unterminated = this.lines.flush(readOffset);
    if (unterminated !== undefined) this.group(unterminated, EMPTY, completed);
    if (this.pending !== undefined) completed.add(this.pending);
    this.pending = undefined;
    return completed.count === 0 ? undefined : completed.chunk(readOffset);
  }

  restartAt(offset: number): void {
    this.pending = undefined;
    this.lines.restartAt(offset);
  }

  /** Adds the lines of `lines` (read into `buffer`) to the pending record, completing it at each start line. */
  private group(lines: FramedChunk, buffer: Buffer, completed: CompletedRecords): void {
    const { records, ends, cut } = lines;
    for (let i = 0; i < records.count; i++) {
      const line = records.data(i);
      const end = lines.startOffset + ends[i];
      if (this.pending === undefined || this.startsRecord(line)) {
        if (this.pending !== undefined) completed.add(this.pending);
        this.pending = new PendingRecord(end - (cut?.get(i) ?? line.length), this.options.maxRecordBytes);
      }
      this.pending.add(line, records.positionOf(i), end, buffer);
    }
  }

  private startsRecord(line: Buffer): boolean {
    // Without its line terminator, so that `$` means the end of the line as in Java.
    let end = line.length;
    if (end > 0 && line[end - 1] === LF) end--;
    if (end > 0 && line[end - 1] === CR) end--;
    const pattern = this.options.recordStart;
    pattern.lastIndex = 0;
    return pattern.test(line.toString('utf8', 0, end));
  }
}

/** The record being put together: its lines so far (up to the limit), and where it lies in the file. */
class PendingRecord {
  /** Copies: lines read in earlier chunks, lines the newline framer copied, heads of cut lines. */
  private readonly held: Buffer[] = [];
  /** Then its lines in the current read buffer, one run of it: no copy unless the chunk ends first. */
  runStart = -1;
  runStop = -1;
  /** Bytes kept, at most maxBytes. */
  kept = 0;
  /** Just past its last line. */
  endOffset: number;

  constructor(
    readonly startOffset: number,
    private readonly maxBytes: number,
  ) {
    this.endOffset = startOffset;
  }

  get inRun(): boolean {
    return this.held.length === 0 && this.runStart !== -1;
  }

  /** Longer on disk than what is kept: cut at the limit. */
  get cut(): boolean {
    return this.endOffset - this.startOffset > this.kept;
  }

  add(line: Buffer, position: { buffer: Buffer; start: number } | undefined, endOffset: number, buffer: Buffer): void {
    this.endOffset = endOffset;
    const take = Math.min(this.maxBytes - this.kept, line.length);
    if (take <= 0) return;
    if (
      position?.buffer === buffer &&
      take === line.length &&
      (this.runStart === -1 || this.runStop === position.start)
    ) {
      if (this.runStart === -1) this.runStart = position.start;
      this.runStop = position.start + take;
    } else {
      this.settle(buffer);
      const head = line.subarray(0, take);
      this.held.push(position === undefined ? head : Buffer.from(head));
    }
    this.kept += take;
  }

  /** Copies its run out of `buffer`, which is reused once the records read into it are delivered. */
  settle(buffer: Buffer): void {
    if (this.runStart === -1) return;
    this.held.push(Buffer.from(buffer.subarray(this.runStart, this.runStop)));
    this.runStart = -1;
    this.runStop = -1;
  }

  /** Its bytes, a copy (it is not a run of `buffer` only). */
  copy(buffer: Buffer): Buffer {
    this.settle(buffer);
    return this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.kept);
  }
}

/** The records completed in one frame (or release, or flush), as the chunk they make. */
class CompletedRecords {
  private readonly out: FramedChunkWriter;

  constructor(
    private readonly buffer: Buffer,
    /** The end of the last record completed before. */
    private readonly spanStart: number,
  ) {
    this.out = new FramedChunkWriter(buffer, spanStart);
  }

  get count(): number {
    return this.out.count;
  }

  add(record: PendingRecord): void {
    const end = record.endOffset - this.spanStart;
    if (record.inRun) this.out.view(record.runStart, record.runStop, end);
    else this.out.copy(record.copy(this.buffer), end);
    if (record.cut) this.out.markCut(record.endOffset - record.startOffset);
  }

  chunk(endOffset: number): FramedChunk {
    return this.out.build(endOffset);
  }
}
