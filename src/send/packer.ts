import type { Span } from '../acknowledge/file-progress.js';
import { forEachRecord, type Batch } from '../batch/batcher.js';

/**
 * A batch as the API call's entries (in the destination's own shape, ready to send), and how many
 * of the batch's records each entry carries, in order: what its result acknowledges or fails.
 * `carried` is undefined when every entry carries one record.
 */
export interface PackedBatch<E> {
  entries: E[];
  carried: number[] | undefined;
}

/** How full a batch being filled is, in what the API counts: entries and call bytes. */
export interface BatchFill {
  /**
   * Counts in as many of records `from` to `to` (exclusive) of `span` as the call still takes, in
   * order, and returns how many (0: the batch is full, seal it first; an empty batch takes at
   * least one record, however big).
   */
  take(span: Span, from: number, to: number): number;
  readonly entries: number;
  /** No record fits any more: seal it now rather than wait for the next record. */
  readonly full: boolean;
}

/**
 * Turns the records of a batch into API entries. The destination owns it: an entry may carry one
 * record (today) or many (aggregation), and the sender maps each entry's result back to exactly
 * the records it carries.
 */
export interface EntryPacker<E> {
  /** Accounting for a new batch of at most `maxEntries` entries and `maxCallBytes` bytes. */
  fill(maxEntries: number, maxCallBytes: number): BatchFill;
  /** The batch's entries, in record order. */
  pack(batch: Batch): PackedBatch<E>;
}

/**
 * One entry per record. `entryBytes` is what a record counts towards the call size (data, plus
 * the partition key for Kinesis); `toEntry` makes the API's entry of a record's bytes.
 */
export class RecordPerEntry<E> implements EntryPacker<E> {
  constructor(
    private readonly entryBytes: (span: Span, index: number) => number,
    private readonly toEntry: (data: Buffer) => E,
  ) {}

  fill(maxEntries: number, maxCallBytes: number): BatchFill {
    return new OneEntryEachFill(this.entryBytes, maxEntries, maxCallBytes);
  }

  // Entries (partition keys among them) are made here, when the batch is sent, not when it is cut:
  // a flow holding its budget of records during an outage would otherwise hold them all too. A
  // record sent again after a partial failure gets its key again (the same one, but for RANDOM).
  pack(batch: Batch): PackedBatch<E> {
    const entries = new Array<E>(batch.count);
    const toEntry = this.toEntry;
    forEachRecord(batch, (span, index, position) => {
      entries[position] = toEntry(span.records.data(index));
    });
    return { entries, carried: undefined };
  }
}

/** RecordPerEntry's accounting: a class, not closures, since it runs once per record read. */
class OneEntryEachFill implements BatchFill {
  entries = 0;
  private bytes = 0;

  constructor(
    private readonly entryBytes: (span: Span, index: number) => number,
    private readonly maxEntries: number,
    private readonly maxCallBytes: number,
  ) {}

  take(span: Span, from: number, to: number): number {
    let index = from;
    for (; index < to && this.entries < this.maxEntries; index++) {
      const size = this.entryBytes(span, index);
      if (this.entries > 0 && this.bytes + size > this.maxCallBytes) break;
      this.entries++;
      this.bytes += size;
    }
    return index - from;
  }

  get full(): boolean {
    return this.entries >= this.maxEntries;
  }
}
