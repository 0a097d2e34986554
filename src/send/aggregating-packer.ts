import type { Span } from '../acknowledge/file-progress.js';
import { forEachRecord, type Batch } from '../batch/batcher.js';
import type { BatchFill, EntryPacker, PackedBatch } from './packer.js';

/**
 * The Java agent's `aggregatedRecordSizeBytes`: consecutive whole lines packed into one entry of
 * up to `aggregateBytes` (a line is never split; a longer one goes alone), so that a Firehose
 * record, billed in 5 KB steps, carries many small lines. `maxEntryBytes` is the API's record
 * limit, which no entry of several lines may pass whatever the setting.
 *
 * Grouping is greedy and the same in `fill` and `pack`: a batch packs into exactly the entries its
 * fill counted, and the records of failed entries, sent again, pack into no more entries than
 * before (a greedy group of a subsequence ends no earlier than the group it came from).
 */
export class AggregatingPacker<E> implements EntryPacker<E> {
  private readonly groupBytes: number;

  constructor(
    aggregateBytes: number,
    maxEntryBytes: number,
    private readonly toEntry: (data: Buffer) => E,
  ) {
    if (!Number.isInteger(aggregateBytes) || aggregateBytes < 1)
      throw new RangeError(`aggregated record size: ${aggregateBytes} is not a whole number >= 1`);
    this.groupBytes = Math.min(aggregateBytes, maxEntryBytes);
  }

  fill(maxEntries: number, maxCallBytes: number): BatchFill {
    return new AggregatingFill(this.groupBytes, maxEntries, maxCallBytes);
  }

  pack(batch: Batch): PackedBatch<E> {
    const entries: E[] = [];
    const carried: number[] = [];
    let group: Buffer[] = [];
    let groupBytes = 0;
    const close = () => {
      entries.push(this.toEntry(group.length === 1 ? group[0] : Buffer.concat(group, groupBytes)));
      carried.push(group.length);
      group = [];
      groupBytes = 0;
    };
    forEachRecord(batch, (span, index) => {
      const data = span.records.data(index);
      if (group.length > 0 && groupBytes + data.length > this.groupBytes) close();
      group.push(data);
      groupBytes += data.length;
    });
    if (group.length > 0) close();
    return { entries, carried };
  }
}

/** AggregatingPacker's accounting: entries are groups, and the call's bytes are every line's. */
class AggregatingFill implements BatchFill {
  entries = 0;
  private bytes = 0;
  /** Bytes of the last entry, which the next line may still join. */
  private openGroupBytes = 0;

  constructor(
    private readonly groupBytes: number,
    private readonly maxEntries: number,
    private readonly maxCallBytes: number,
  ) {}

  take(span: Span, from: number, to: number): number {
    let index = from;
    for (; index < to; index++) {
      const size = span.records.length(index);
      if (this.entries > 0 && this.bytes + size > this.maxCallBytes) break;
      if (this.entries > 0 && this.openGroupBytes + size <= this.groupBytes) {
        this.openGroupBytes += size;
      } else {
        if (this.entries >= this.maxEntries) break;
        this.entries++;
        this.openGroupBytes = size;
      }
      this.bytes += size;
    }
    return index - from;
  }

  // Not full while the last entry has room: the next line may still join it without a new entry.
  get full(): boolean {
    return (
      this.bytes >= this.maxCallBytes || (this.entries >= this.maxEntries && this.openGroupBytes >= this.groupBytes)
    );
  }
}
