import type { RecordFramer } from './framer.js';
import type { FramedChunk } from './records.js';

/**
 * fileFooterPattern, matched as the Java agent does: compiled with MULTILINE (`^` and `$` at line
 * ends inside the record), and `matches` the whole trimmed record, which the lookarounds force
 * whatever the flags.
 */
export function footerPatternOf(source: string): RegExp {
  return new RegExp(`(?<![^])(?:${source})(?![^])`, 'm');
}

/** Java's String.trim: every character up to U+0020 off both ends, and only those. */
function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}

/**
 * fileFooterPattern on top of another framer, as the Java agent has it: a record whose trimmed
 * text matches the pattern is not shipped, and parsing of the chunk it was read in stops there:
 * the records and bytes after it in that chunk are dropped (and reported), and reading goes on
 * with the next chunk. What is dropped counts as read, so the checkpoint moves past it.
 */
export class FooterFramer implements RecordFramer {
  constructor(
    private readonly inner: RecordFramer,
    private readonly footer: RegExp,
    /** A footer record ended at `offset`; `droppedBytes` were read after it and dropped with it. */
    private readonly onFooter: (offset: number, droppedBytes: number) => void,
  ) {}

  get recordEndOffset(): number {
    return this.inner.recordEndOffset;
  }

  get holding(): boolean {
    return this.inner.holding;
  }

  frame(buffer: Buffer, length: number, base: number): FramedChunk {
    const chunk = this.inner.frame(buffer, length, base);
    const footer = this.firstFooter(chunk);
    if (footer === -1) return chunk;
    const readEnd = base + length;
    const footerEnd = chunk.startOffset + chunk.ends[footer];
    // What the inner framer holds (a partial line, a pending record) was read after the footer too.
    this.inner.restartAt(readEnd);
    this.onFooter(footerEnd, readEnd - footerEnd);
    return recordsBefore(chunk, footer, readEnd);
  }

  release(): FramedChunk | undefined {
    return this.dropFooter(this.inner.release());
  }

  flush(readOffset: number): FramedChunk | undefined {
    return this.dropFooter(this.inner.flush(readOffset));
  }

  restartAt(offset: number): void {
    this.inner.restartAt(offset);
  }

  /** A chunk framed without a read after it: a footer in it is dropped, with nothing else to drop. */
  private dropFooter(chunk: FramedChunk | undefined): FramedChunk | undefined {
    if (chunk === undefined) return undefined;
    const footer = this.firstFooter(chunk);
    if (footer === -1) return chunk;
    this.onFooter(chunk.startOffset + chunk.ends[footer], chunk.endOffset - (chunk.startOffset + chunk.ends[footer]));
    return recordsBefore(chunk, footer, chunk.endOffset);
  }

  private firstFooter(chunk: FramedChunk): number {
    const { records } = chunk;
    for (let i = 0; i < records.count; i++) {
      if (this.footer.test(javaTrim(records.data(i).toString('utf8')))) return i;
    }
    return -1;
  }
}

/** The first `count` records of `chunk`, the rest counted as read up to `endOffset`. */
function recordsBefore(chunk: FramedChunk, count: number, endOffset: number): FramedChunk {
  const records = chunk.records.first(count);
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += records.length(i);
  let cut: Map<number, number> | undefined;
  for (const [index, originalBytes] of chunk.cut ?? [])
    if (index < count) (cut ??= new Map()).set(index, originalBytes);
  return {
    records,
    startOffset: chunk.startOffset,
    ends: chunk.ends.subarray(0, count),
    endOffset,
    bytes,
    heldBytes: chunk.heldBytes,
    cut,
  };
}
