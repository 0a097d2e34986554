import type { Span } from '../acknowledge/file-progress.js';
import { FIREHOSE_LIMITS } from '../client/api-limits.js';
import { BlobBytes } from '../client/blob-bytes.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import { AggregatingPacker } from './aggregating-packer.js';
import { entryResults, type Destination, type EntryResult } from './destination.js';
import { RecordPerEntry, type EntryPacker } from './packer.js';

/** Data Firehose: PutRecordBatch; records carry no key. */
/** A PutRecordBatch entry. */
interface FirehoseEntry {
  Data: BlobBytes;
}

const toEntry = (data: Buffer): FirehoseEntry => ({ Data: new BlobBytes(data) });

export class FirehoseDestination implements Destination<FirehoseEntry> {
  readonly service = 'firehose';
  readonly limits = FIREHOSE_LIMITS;
  readonly recordOverheadBytes = 0;
  readonly packer: EntryPacker<FirehoseEntry>;

  /** `aggregatedRecordSizeBytes` > 0 packs whole lines into entries of up to that size; 0: a line each. */
  constructor(
    readonly streamName: string,
    readonly client: JsonApiClient,
    aggregatedRecordSizeBytes = 0,
  ) {
    this.packer =
      aggregatedRecordSizeBytes > 0
        ? new AggregatingPacker(aggregatedRecordSizeBytes, FIREHOSE_LIMITS.maxRecordBytes, toEntry)
        : new RecordPerEntry((span: Span, index: number) => span.records.length(index), toEntry);
  }

  async put(entries: FirehoseEntry[]): Promise<EntryResult[]> {
    const output = await this.client.call<{ RequestResponses?: unknown }>('PutRecordBatch', {
      DeliveryStreamName: this.streamName,
      Records: entries,
    });
    return entryResults('PutRecordBatch', output?.RequestResponses, entries.length, 'RecordId');
  }
}
