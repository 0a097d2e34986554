import type { Span } from '../acknowledge/file-progress.js';
import { FIREHOSE_LIMITS } from '../client/api-limits.js';
import { BlobBytes } from '../client/blob-bytes.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import { entryResults, type Destination, type EntryResult } from './destination.js';
import { RecordPerEntry } from './packer.js';

/** Data Firehose: PutRecordBatch; records carry no key. */
/** A PutRecordBatch entry. */
interface FirehoseEntry {
  Data: BlobBytes;
}

export class FirehoseDestination implements Destination<FirehoseEntry> {
  readonly service = 'firehose';
  readonly limits = FIREHOSE_LIMITS;
  readonly recordOverheadBytes = 0;
  readonly packer = new RecordPerEntry(
    (span: Span, index: number) => span.records.length(index),
    (data): FirehoseEntry => ({ Data: new BlobBytes(data) }),
  );

  constructor(
    readonly streamName: string,
    readonly client: JsonApiClient,
  ) {}

  async put(entries: FirehoseEntry[]): Promise<EntryResult[]> {
    const output = await this.client.call<{ RequestResponses?: unknown }>('PutRecordBatch', {
      DeliveryStreamName: this.streamName,
      Records: entries,
    });
    return entryResults('PutRecordBatch', output?.RequestResponses, entries.length, 'RecordId');
  }
}
