import type { Span } from '../acknowledge/file-progress.js';
import { forEachRecord, type Batch } from '../batch/batcher.js';
import {
  drawnPartitionKeyBytes,
  partitionKeyFunction,
  requiredPartitionKeyFunction,
  type PartitionKeyFor,
} from '../batch/partition-key.js';
import { BlobBytes } from '../client/blob-bytes.js';
import {
  AGGREGATE_OVERHEAD_BYTES,
  delimitedFieldBytes,
  encodeOneKeyAggregate,
  recordFieldBytes,
} from '../client/kpl-format.js';
import type { Partitioning } from '../config/agent-config.js';
import type { KinesisEntry } from './kinesis-destination.js';
import type { BatchFill, EntryPacker, PackedBatch } from './packer.js';

type RequiredKeyFor = ((data: Buffer) => string | undefined) | undefined;

/**
 * The KPL aggregated records of a flow with `"aggregation": true`: consecutive records packed into
 * one Kinesis record of up to `aggregateBytes` (data and partition key, as Kinesis counts a record).
 *
 * Every user record of an aggregate has the aggregate's own partition key, which is also the Kinesis
 * record's, and none has an explicit hash key: each user record hashes to the shard that stores it,
 * so KCL's hash-range check never drops an aggregate, and a record lands on the shard its key
 * chooses as it would without aggregation. A record that must keep its key (FIXED, FIELD) joins an
 * aggregate of that key only; RANDOM and DETERMINISTIC draw one key per aggregate (DETERMINISTIC:
 * the MD5 of its first record). An aggregate of one record is sent as that plain record, as the KPL
 * does: consumers that do not de-aggregate see the line, and a record too big to aggregate (up to
 * the record limit less the longest key) still fits.
 *
 * As with AggregatingPacker, grouping is greedy and the same in `fill` and `pack` (OpenAggregate),
 * so a batch packs into the entries its fill counted, and the records of failed entries, sent
 * again, into no more entries than before.
 */
export class KplPacker implements EntryPacker<KinesisEntry> {
  private readonly aggregateBytes: number;
  private readonly requiredKey: RequiredKeyFor;
  private readonly drawnKeyBytes: number;
  private readonly keyFor: PartitionKeyFor;

  constructor(partitioning: Partitioning, aggregateBytes: number, maxRecordBytes: number) {
    if (!Number.isInteger(aggregateBytes) || aggregateBytes < 1)
      throw new RangeError(`aggregated record size: ${aggregateBytes} is not a whole number >= 1`);
    this.aggregateBytes = Math.min(aggregateBytes, maxRecordBytes);
    this.requiredKey = requiredPartitionKeyFunction(partitioning);
    this.drawnKeyBytes = drawnPartitionKeyBytes(partitioning);
    this.keyFor = partitionKeyFunction(partitioning);
  }

  fill(maxEntries: number, maxCallBytes: number): BatchFill {
    return new KplFill(this.newAggregate(), this.requiredKey, maxEntries, maxCallBytes);
  }

  // Keys are drawn here, when the batch is sent, as RecordPerEntry does.
  pack(batch: Batch): PackedBatch<KinesisEntry> {
    const entries: KinesisEntry[] = [];
    const carried: number[] = [];
    const open = this.newAggregate();
    let group: Buffer[] = [];
    const close = () => {
      const key = open.key ?? this.keyFor(group[0]);
      const data = group.length === 1 ? group[0] : encodeOneKeyAggregate(key, group);
      entries.push({ Data: new BlobBytes(data), PartitionKey: key });
      carried.push(group.length);
      group = [];
    };
    const requiredKey = this.requiredKey;
    forEachRecord(batch, (span, index) => {
      const data = span.records.data(index);
      const key = requiredKey?.(data);
      if (open.records > 0 && open.bytesWith(data.length, key) === undefined) close();
      if (group.length === 0) open.start(data.length, key);
      else open.join(data.length);
      group.push(data);
    });
    if (group.length > 0) close();
    return { entries, carried };
  }

  private newAggregate(): OpenAggregate {
    return new OpenAggregate(this.aggregateBytes, this.drawnKeyBytes);
  }
}

/**
 * The last aggregate of a batch being cut or packed, in the bytes Kinesis will count for it: a
 * plain record (data and key) while it holds one record, the magic, body and MD5 plus the key once
 * it holds more. A drawn key counts as the longest one its option draws.
 */
class OpenAggregate {
  records = 0;
  /** The key its records must share; undefined while any key will do. */
  key: string | undefined;
  private keyBytes = 0;
  private firstDataBytes = 0;
  /** The protobuf body: the partition key table's one entry and every record's entry. */
  private bodyBytes = 0;

  constructor(
    private readonly aggregateBytes: number,
    private readonly drawnKeyBytes: number,
  ) {}

  /** What a record counts as the first of a new aggregate: a plain record. */
  aloneBytes(dataBytes: number, key: string | undefined): number {
    return dataBytes + this.keyBytesOf(key);
  }

  start(dataBytes: number, key: string | undefined): void {
    this.records = 1;
    this.key = key;
    this.keyBytes = this.keyBytesOf(key);
    this.firstDataBytes = dataBytes;
    this.bodyBytes = delimitedFieldBytes(this.keyBytes) + recordFieldBytes(dataBytes, 0);
  }

  /** What the aggregate would count with one more record, or undefined when the record cannot join it. */
  bytesWith(dataBytes: number, key: string | undefined): number | undefined {
    if (key !== undefined && key !== this.key) return undefined;
    const bytes = AGGREGATE_OVERHEAD_BYTES + this.bodyBytes + recordFieldBytes(dataBytes, 0) + this.keyBytes;
    return bytes <= this.aggregateBytes ? bytes : undefined;
  }

  join(dataBytes: number): void {
    this.records++;
    this.bodyBytes += recordFieldBytes(dataBytes, 0);
  }

  private keyBytesOf(key: string | undefined): number {
    return key === undefined ? this.drawnKeyBytes : Buffer.byteLength(key, 'utf8');
  }

  get bytes(): number {
    if (this.records === 0) return 0;
    return this.records === 1
      ? this.firstDataBytes + this.keyBytes
      : AGGREGATE_OVERHEAD_BYTES + this.bodyBytes + this.keyBytes;
  }
}

/** KplPacker's accounting: entries are aggregates, and the call's bytes are theirs with their keys. */
class KplFill implements BatchFill {
  entries = 0;
  /** Bytes of the entries before the open aggregate. */
  private closedBytes = 0;

  constructor(
    private readonly open: OpenAggregate,
    private readonly requiredKey: RequiredKeyFor,
    private readonly maxEntries: number,
    private readonly maxCallBytes: number,
  ) {}

  take(span: Span, from: number, to: number): number {
    const open = this.open;
    let index = from;
    for (; index < to; index++) {
      const dataBytes = span.records.length(index);
      const key = this.requiredKey?.(span.records.data(index));
      const joined = open.records > 0 ? open.bytesWith(dataBytes, key) : undefined;
      if (joined !== undefined) {
        if (this.closedBytes + joined > this.maxCallBytes) break;
        open.join(dataBytes);
        continue;
      }
      if (this.entries >= this.maxEntries) break;
      const closedBytes = this.closedBytes + open.bytes;
      if (this.entries > 0 && closedBytes + open.aloneBytes(dataBytes, key) > this.maxCallBytes) break;
      this.closedBytes = closedBytes;
      open.start(dataBytes, key);
      this.entries++;
    }
    return index - from;
  }

  // Not full while the open aggregate may still take an empty record of any key it accepts.
  get full(): boolean {
    const bytes = this.closedBytes + this.open.bytes;
    return (
      bytes >= this.maxCallBytes || (this.entries >= this.maxEntries && this.open.bytesWith(0, undefined) === undefined)
    );
  }
}
