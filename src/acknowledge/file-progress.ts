/**
 * Delivery accounting for one file: which byte offset is safe to checkpoint.
 *
 * Every read chunk becomes a Span: the offset just past its last complete record, and how many of
 * its records are not yet acknowledged. Spans complete in any order (batches succeed out of order),
 * but the committed offset only moves past a span when it and every span before it are complete:
 * the checkpoint never runs ahead of delivery.
 */
export class Span {
  constructor(
    readonly progress: FileProgress,
    readonly endOffset: number,
    public remaining: number,
    /** Bytes of memory this span pins (the read buffer its records are views of), for the budget. */
    readonly pinnedBytes: number,
  ) {}

  /** Marks `count` of this span's records as delivered. */
  acknowledge(count = 1): void {
    this.remaining -= count;
    if (this.remaining === 0) this.progress.advance();
  }
}

export class FileProgress {
  private readonly spans: Span[] = [];
  private head = 0;
  /** True once a newer progress replaced this one (the file was truncated): its offsets no longer apply. */
  superseded = false;
  /** Set when committedOffset moved and has not been saved yet. */
  dirty = false;

  constructor(
    public committedOffset: number,
    private readonly onComplete: (span: Span) => void,
  ) {}

  /** Registers the records of one chunk; a chunk with no records completes at once (in order). */
  openSpan(endOffset: number, records: number, pinnedBytes: number): Span {
    const span = new Span(this, endOffset, records, pinnedBytes);
    this.spans.push(span);
    if (records === 0) this.advance();
    return span;
  }

  /** Spans not yet fully acknowledged. */
  get outstanding(): number {
    return this.spans.length - this.head;
  }

  advance(): void {
    while (this.head < this.spans.length && this.spans[this.head].remaining === 0) {
      const span = this.spans[this.head++];
      if (!this.superseded && span.endOffset > this.committedOffset) {
        this.committedOffset = span.endOffset;
        this.dirty = true;
      }
      this.onComplete(span);
    }
    // Drop completed spans in bulk so the queue does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.spans.length) {
      this.spans.splice(0, this.head);
      this.head = 0;
    }
  }
}
