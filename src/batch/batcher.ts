import type { Span } from '../acknowledge/file-progress.js';
import type { BatchFill, EntryPacker } from '../send/packer.js';

/** Records `from` (inclusive) to `to` (exclusive) of one span, in file order. */
export interface BatchSlice {
  span: Span;
  from: number;
  to: number;
}

/** What one API call sends: records, in order, as the destination's packer counts them into entries. */
export interface Batch {
  slices: BatchSlice[];
  /** Records (an entry may carry several). */
  count: number;
  openedMs: number;
}

export function emptyBatch(openedMs: number): Batch {
  return { slices: [], count: 0, openedMs };
}

/** Appends records `from` to `to` (exclusive) of a span, extending the last slice when they follow it. */
export function addToBatch(batch: Batch, span: Span, from: number, to = from + 1): void {
  const last = batch.slices.at(-1);
  if (last !== undefined && last.span === span && last.to === from) last.to = to;
  else batch.slices.push({ span, from, to });
  batch.count += to - from;
}

/** Calls `visit` for each record of the batch, in order, with its position in the batch. */
export function forEachRecord(batch: Batch, visit: (span: Span, index: number, position: number) => void): void {
  let position = 0;
  for (const { span, from, to } of batch.slices) {
    for (let index = from; index < to; index++) visit(span, index, position++);
  }
}

export interface BatcherOptions {
  /** Entries per call (maxBufferSizeRecords, at most the API's). */
  maxEntries: number;
  /** Bytes per call (maxBufferSizeBytes, at most the API's). */
  maxBytes: number;
  maxAgeMs: number;
  /** The destination's: what an entry is, and what it counts. */
  packer: EntryPacker<unknown>;
  onSealed: (batch: Batch) => void;
  now?: () => number;
}

/**
 * Packs a flow's records into batches in arrival order and seals each one when it is full (its
 * entries or bytes, as the destination's packer counts them) or when its first record has waited
 * maxAgeMs.
 */
export class Batcher {
  private open: { batch: Batch; fill: BatchFill } | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: BatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  add(span: Span): void {
    const count = span.records.count;
    let open = this.open;
    let index = 0;
    while (index < count) {
      open ??= this.start();
      const taken = open.fill.take(span, index, count);
      if (taken === 0) {
        this.seal();
        open = undefined;
        continue;
      }
      addToBatch(open.batch, span, index, index + taken);
      index += taken;
      if (open.fill.full) {
        this.seal();
        open = undefined;
      }
    }
  }

  private start(): { batch: Batch; fill: BatchFill } {
    const open = {
      batch: emptyBatch(this.now()),
      fill: this.options.packer.fill(this.options.maxEntries, this.options.maxBytes),
    };
    this.open = open;
    this.ageTimer = setTimeout(() => this.seal(), this.options.maxAgeMs);
    this.ageTimer.unref();
    return open;
  }

  /** Seals the open batch now, if there is one. */
  seal(): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    if (open.batch.count > 0) this.options.onSealed(open.batch);
  }

  get openRecords(): number {
    return this.open?.batch.count ?? 0;
  }
}
