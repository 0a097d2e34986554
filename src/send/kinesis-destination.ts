import type { Span } from '../acknowledge/file-progress.js';
import { KINESIS_LIMITS } from '../client/api-limits.js';
import { BlobBytes } from '../client/blob-bytes.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import type { Partitioning } from '../config/agent-config.js';
import { maxPartitionKeyBytes, partitionKeyFunction, type PartitionKeyFor } from '../batch/partition-key.js';
import { entryResults, type Destination, type EntryResult } from './destination.js';
import { RecordPerEntry } from './packer.js';

/** Kinesis Data Streams: PutRecords, each entry with a partition key, which counts towards every size limit. */
/** A PutRecords entry. */
interface KinesisEntry {
  Data: BlobBytes;
  PartitionKey: string;
}

export class KinesisDestination implements Destination<KinesisEntry> {
  readonly service = 'kinesis';
  readonly limits = KINESIS_LIMITS;
  readonly recordOverheadBytes: number;
  readonly packer: RecordPerEntry<KinesisEntry>;

  constructor(
    readonly streamName: string,
    readonly client: JsonApiClient,
    partitioning: Partitioning,
  ) {
    const keyFor: PartitionKeyFor = partitionKeyFunction(partitioning);
    this.recordOverheadBytes = maxPartitionKeyBytes(partitioning);
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
