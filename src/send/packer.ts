import type { Span } from '../acknowledge/file-progress.js';
import { forEachRecord, type Batch } from '../batch/batcher.js';

/**
 * One entry of a batch call: its bytes, its partition key (Kinesis), and how many of the batch's records it carries.
 */
export interface Entry {
  data: Buffer;
  partitionKey?: string;
  /** The next `records` records of the batch, in order: what this entry's result acknowledges or fails. */
  records: number;
}

/** How full a batch being filled is, in what the API counts: entries and call bytes. */
export interface BatchFill {
  /** Counts the record in if the call still takes it; false: the batch is full, seal it first. */
  tryAdd(span: Span, index: number): boolean;
  readonly entries: number;
  /** No record fits any more: seal it now rather than wait for the next record. */
  readonly full: boolean;
}

/**
 * Turns the records of a batch into API entries. The destination owns it: an entry may carry one
 * record (today) or many (aggregation), and the sender maps each entry's result back to exactly
 * the records it carries.
 */
export interface EntryPacker {
  /** Accounting for a new batch of at most `maxEntries` entries and `maxCallBytes` bytes. */
  fill(maxEntries: number, maxCallBytes: number): BatchFill;
  /** The batch's entries, in record order. */
  pack(batch: Batch): Entry[];
}

/**
 * One entry per record. `entryBytes` is what a record counts towards the call size (data, plus
 * the partition key for Kinesis); `keyFor` makes partition keys, when the API has them.
 */
export class RecordPerEntry implements EntryPacker {
  constructor(
    private readonly entryBytes: (span: Span, index: number) => number,
    private readonly keyFor?: (data: Buffer) => string,
  ) {}

  fill(maxEntries: number, maxCallBytes: number): BatchFill {
    const entryBytes = this.entryBytes;
    let entries = 0;
    let bytes = 0;
    return {
      tryAdd(span, index) {
        const size = entryBytes(span, index);
        if (entries > 0 && (entries >= maxEntries || bytes + size > maxCallBytes)) return false;
        entries++;
        bytes += size;
        return true;
      },
      get entries() {
        return entries;
      },
      get full() {
        return entries >= maxEntries;
      },
    };
  }

  // Keys are made here, when the batch is sent, not when it is cut: a flow holding its budget of
  // records during an outage would otherwise hold a key string per record too. A record sent again
  // after a partial failure gets its key again (the same one, but for RANDOM).
  pack(batch: Batch): Entry[] {
    const entries = new Array<Entry>(batch.count);
    const keyFor = this.keyFor;
    forEachRecord(batch, (span, index, position) => {
      const data = span.records.data(index);
      entries[position] =
        keyFor === undefined ? { data, records: 1 } : { data, partitionKey: keyFor(data), records: 1 };
    });
    return entries;
  }
}
