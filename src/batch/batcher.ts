import type { Span } from '../acknowledge/file-progress.js';

/** Records `from` (inclusive) to `to` (exclusive) of one span, in file order. */
export interface BatchSlice {
  span: Span;
  from: number;
  to: number;
}

/** What one API call sends: at most maxBufferSizeRecords records and maxBufferSizeBytes bytes. */
export interface Batch {
  slices: BatchSlice[];
  count: number;
  /** What the API's request limit counts (data bytes, plus partition-key bytes for Kinesis). */
  bytes: number;
  openedMs: number;
}

export function emptyBatch(openedMs: number): Batch {
  return { slices: [], count: 0, bytes: 0, openedMs };
}

/** Appends one record, extending the last slice when the record follows it in the same span. */
export function addToBatch(batch: Batch, span: Span, index: number, bytes: number): void {
  const last = batch.slices.at(-1);
  if (last !== undefined && last.span === span && last.to === index) last.to++;
  else batch.slices.push({ span, from: index, to: index + 1 });
  batch.count++;
  batch.bytes += bytes;
}

/** Calls `visit` for each record of the batch, in order, with its position in the batch. */
export function forEachRecord(batch: Batch, visit: (span: Span, index: number, position: number) => void): void {
  let position = 0;
  for (const { span, from, to } of batch.slices) {
    for (let index = from; index < to; index++) visit(span, index, position++);
  }
}

export interface BatcherOptions {
  maxRecords: number;
  maxBytes: number;
  maxAgeMs: number;
  /** What one record counts towards the call's payload limit (the destination's dialect decides). */
  recordBytes: (span: Span, index: number) => number;
  onSealed: (batch: Batch) => void;
  now?: () => number;
}

/**
 * Packs a flow's records into batches in arrival order and seals each one when it is full (by
 * count or bytes) or when its first record has waited maxAgeMs.
 */
export class Batcher {
  private open: Batch | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: BatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  add(span: Span): void {
    const { maxRecords, maxBytes, recordBytes } = this.options;
    const count = span.records.count;
    for (let i = 0; i < count; i++) {
      const size = recordBytes(span, i);
      let batch = this.open;
      if (batch !== undefined && batch.bytes + size > maxBytes) {
        this.seal();
        batch = undefined;
      }
      if (batch === undefined) batch = this.start();
      addToBatch(batch, span, i, size);
      if (batch.count >= maxRecords) this.seal();
    }
  }

  private start(): Batch {
    const batch = emptyBatch(this.now());
    this.open = batch;
    this.ageTimer = setTimeout(() => this.seal(), this.options.maxAgeMs);
    this.ageTimer.unref();
    return batch;
  }

  /** Seals the open batch now, if there is one. */
  seal(): void {
    const batch = this.open;
    if (batch === undefined) return;
    this.open = undefined;
    clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    if (batch.count > 0) this.options.onSealed(batch);
  }

  get openRecords(): number {
    return this.open?.count ?? 0;
  }
}
