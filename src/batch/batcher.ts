import type { LogRecord } from '../tail/log-record.js';
import type { PartitionKeyFor } from './partition-key.js';

/** A record on its way out, with the partition key it was given (Kinesis only). */
export interface OutgoingRecord {
  record: LogRecord;
  partitionKey: string;
}

/** What one API call sends: at most maxBufferSizeRecords records and maxBufferSizeBytes bytes. */
export interface Batch {
  entries: OutgoingRecord[];
  /** Data bytes plus, for Kinesis, partition-key bytes: what the API's request limit counts. */
  bytes: number;
  openedMs: number;
}

export interface BatcherOptions {
  maxRecords: number;
  maxBytes: number;
  maxAgeMs: number;
  /** Kinesis flows key every record; Firehose flows have no keys. */
  partitionKeyFor: PartitionKeyFor | undefined;
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

  add(records: LogRecord[]): void {
    const { maxRecords, maxBytes, partitionKeyFor } = this.options;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const partitionKey = partitionKeyFor === undefined ? '' : partitionKeyFor(record.data);
      const size = record.data.length + (partitionKey.length === 0 ? 0 : Buffer.byteLength(partitionKey, 'utf8'));
      let batch = this.open;
      if (batch !== undefined && batch.bytes + size > maxBytes) {
        this.seal();
        batch = undefined;
      }
      if (batch === undefined) batch = this.start();
      batch.entries.push({ record, partitionKey });
      batch.bytes += size;
      if (batch.entries.length >= maxRecords) this.seal();
    }
  }

  private start(): Batch {
    const batch: Batch = { entries: [], bytes: 0, openedMs: this.now() };
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
    if (batch.entries.length > 0) this.options.onSealed(batch);
  }

  get openRecords(): number {
    return this.open?.entries.length ?? 0;
  }
}
