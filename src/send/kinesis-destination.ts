import type { Span } from '../acknowledge/file-progress.js';
import { KINESIS_LIMITS } from '../client/api-limits.js';
import { BlobBytes } from '../client/blob-bytes.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import type { Partitioning } from '../config/agent-config.js';
import { maxPartitionKeyBytes, partitionKeyFunction, type PartitionKeyFor } from '../batch/partition-key.js';
import { entryResults, type Destination, type EntryResult } from './destination.js';
import { KplPacker } from './kpl-packer.js';
import { RecordPerEntry, type EntryPacker } from './packer.js';

/** Kinesis Data Streams: PutRecords, each entry with a partition key, which counts towards every size limit. */
/** A PutRecords entry. */
export interface KinesisEntry {
  Data: BlobBytes;
  PartitionKey: string;
}

export class KinesisDestination implements Destination<KinesisEntry> {
  readonly service = 'kinesis';
  readonly limits = KINESIS_LIMITS;
  readonly recordOverheadBytes: number;
  readonly packer: EntryPacker<KinesisEntry>;

  /** `aggregatedRecordSizeBytes` > 0 packs records into KPL aggregated records of up to that size; 0: a record each. */
  constructor(
    readonly streamName: string,
    readonly client: JsonApiClient,
    partitioning: Partitioning,
    aggregatedRecordSizeBytes = 0,
  ) {
    this.recordOverheadBytes = maxPartitionKeyBytes(partitioning);
    if (aggregatedRecordSizeBytes > 0) {
      this.packer = new KplPacker(partitioning, aggregatedRecordSizeBytes, KINESIS_LIMITS.maxRecordBytes);
      return;
    }
    const keyFor: PartitionKeyFor = partitionKeyFunction(partitioning);
    // Every key's length is known in advance but for FIELD keys, which depend on the record.
    const keyBytes = partitioning.option === 'FIELD' ? undefined : this.recordOverheadBytes;
    const entryBytes =
      keyBytes === undefined
        ? (span: Span, index: number) => {
            const data = span.records.data(index);
            return data.length + Buffer.byteLength(keyFor(data), 'utf8');
          }
        : (span: Span, index: number) => span.records.length(index) + keyBytes;
    this.packer = new RecordPerEntry(entryBytes, (data) => ({ Data: new BlobBytes(data), PartitionKey: keyFor(data) }));
  }

  async put(entries: KinesisEntry[]): Promise<EntryResult[]> {
    const output = await this.client.call<{ Records?: unknown }>('PutRecords', {
      StreamName: this.streamName,
      Records: entries,
    });
    return entryResults('PutRecords', output?.Records, entries.length, 'SequenceNumber');
  }
}
