import type { ChunkRecords } from '../tail/records.js';

/**
 * Delivery accounting for one file: which byte offset is safe to checkpoint.
 *
 * Every read chunk becomes a Span of records, each with the file offset just past it. The
 * committed offset is the end of the longest run of records, from the last checkpoint on, that are
 * all acknowledged: spans (and records within them) may be acknowledged in any order, but the
 * checkpoint never runs ahead of delivery, and it moves record by record, so a crash resends only
 * what was in flight.
 */
export class Span {
  /** Records acknowledged from the start of the span with no gap. */
  private prefix = 0;
  private readonly acked: Uint8Array;
  remaining: number;

  constructor(
    readonly progress: FileProgress,
    /** File offset where the span's first record starts. */
    readonly startOffset: number,
    /** End of each record, relative to startOffset. */
    private readonly recordEnds: Uint32Array,
    /** Just past the span's last complete line (lines skipped as headers count too). */
    readonly endOffset: number,
    /** Bytes of memory this span pins (the read buffer and its records' overhead), for the budget. */
    readonly pinnedBytes: number,
    /** The records' bytes, in the same order as recordEnds. */
    readonly records: ChunkRecords,
  ) {
    this.remaining = recordEnds.length;
    this.acked = new Uint8Array(recordEnds.length);
  }

  /** The offset up to which this span is delivered without a gap. */
  get deliveredOffset(): number {
    if (this.remaining === 0) return this.endOffset;
    return this.prefix === 0 ? this.startOffset : this.startOffset + this.recordEnds[this.prefix - 1];
  }

  /** Marks record `index` of this span as delivered. */
  acknowledge(index: number): void {
    if (this.acked[index] === 1) return;
    this.acked[index] = 1;
    this.remaining--;
    const before = this.prefix;
    while (this.prefix < this.acked.length && this.acked[this.prefix] === 1) this.prefix++;
    if (this.remaining === 0 || this.prefix !== before) this.progress.advance();
  }
}

export class FileProgress {
  /** Completed spans are cleared at once (they hold their read buffer) and dropped from the array in bulk. */
  private readonly spans: Array<Span | undefined> = [];
  private head = 0;
  /** True once a newer progress replaced this one (the file was truncated): its offsets no longer apply. */
  superseded = false;
  /** Set when committedOffset moved (or touch() asked for a save) and has not been saved yet. */
  dirty = false;

  constructor(
    public committedOffset: number,
    private readonly onComplete: (span: Span) => void,
  ) {}

  /**
   * A progress for the same file read from `offset` on (truncated, or a copy read on from its
   * original's offset); this one is superseded: its outstanding records are still delivered, but
   * their offsets no longer describe the file. The new offset is saved at the next checkpoint.
   */
  restart(offset: number): FileProgress {
    this.superseded = true;
    const next = new FileProgress(offset, this.onComplete);
    next.dirty = true;
    return next;
  }

  /** Registers the records of one chunk; a chunk with no records completes at once (in order). */
  openSpan(
    startOffset: number,
    recordEnds: Uint32Array,
    endOffset: number,
    pinnedBytes: number,
    records: ChunkRecords,
  ): Span {
    const span = new Span(this, startOffset, recordEnds, endOffset, pinnedBytes, records);
    this.spans.push(span);
    if (recordEnds.length === 0) this.advance();
    return span;
  }

  /** Asks for the checkpoint to be saved again though it did not move: renews its age for the TTL. */
  touch(): void {
    this.dirty = true;
  }

  /** The committed offset is durable now (or another file's checkpoint row stands for it). */
  saved(): void {
    this.dirty = false;
  }

  /** Spans not yet fully acknowledged. */
  get outstanding(): number {
    return this.spans.length - this.head;
  }

  advance(): void {
    while (this.head < this.spans.length && this.spans[this.head]!.remaining === 0) {
      const span = this.spans[this.head]!;
      this.spans[this.head++] = undefined;
      this.commit(span.endOffset);
      this.onComplete(span);
    }
    // The first incomplete span may still have a delivered run of records at its start.
    if (this.head < this.spans.length) this.commit(this.spans[this.head]!.deliveredOffset);
    // Drop completed spans in bulk so the queue does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.spans.length) {
      this.spans.splice(0, this.head);
      this.head = 0;
    }
  }

  private commit(offset: number): void {
    if (!this.superseded && offset > this.committedOffset) {
      this.committedOffset = offset;
      this.dirty = true;
    }
  }
}
