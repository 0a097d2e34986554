import { AwsApiError } from '../client/api-error.js';
import { Blob } from '../client/blob.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import type { OutgoingRecord } from '../batch/batcher.js';

/** One record's fate in a batch call: undefined when accepted, else the error it got. */
export type EntryResult = undefined | { code: string; message: string };

/**
 * Where a flow's batches go, and the API dialect to use: Kinesis PutRecords or Firehose
 * PutRecordBatch. Both answer per record, in request order.
 */
export interface Destination {
  readonly service: 'kinesis' | 'firehose';
  readonly streamName: string;
  readonly client: JsonApiClient;
  /** API limit of one record (Kinesis counts the partition key too). */
  readonly maxRecordBytes: number;
  /** API limit of one call's payload. */
  readonly maxBatchBytes: number;
  readonly maxBatchRecords: number;
  put(entries: OutgoingRecord[]): Promise<EntryResult[]>;
}

export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;
export const FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024;

function invalidResponse(what: string): AwsApiError {
  return new AwsApiError('InvalidResponse', `unexpected answer to a batch call: ${what}`, 0, { retryable: true });
}

export class KinesisDestination implements Destination {
  readonly service = 'kinesis';
  readonly maxRecordBytes = KINESIS_MAX_RECORD_BYTES;
  readonly maxBatchBytes = 5 * 1024 * 1024;
  readonly maxBatchRecords = 500;

  constructor(readonly streamName: string, readonly client: JsonApiClient) {}

  async put(entries: OutgoingRecord[]): Promise<EntryResult[]> {
    const records = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) records[i] = { Data: new Blob(entries[i].record.data), PartitionKey: entries[i].partitionKey };
    const output = await this.client.call<{ Records?: Array<{ SequenceNumber?: string; ErrorCode?: string; ErrorMessage?: string }> }>('PutRecords', {
      StreamName: this.streamName,
      Records: records,
    });
    const results = output?.Records;
    if (!Array.isArray(results) || results.length !== entries.length) {
      throw invalidResponse(`PutRecords answered ${Array.isArray(results) ? results.length : 'no'} results for ${entries.length} records`);
    }
    return results.map((result) => {
      if (typeof result?.ErrorCode === 'string') return { code: result.ErrorCode, message: String(result.ErrorMessage ?? '') };
      if (typeof result?.SequenceNumber !== 'string') throw invalidResponse('a PutRecords result with neither SequenceNumber nor ErrorCode');
      return undefined;
    });
  }
}

export class FirehoseDestination implements Destination {
  readonly service = 'firehose';
  readonly maxRecordBytes = FIREHOSE_MAX_RECORD_BYTES;
  readonly maxBatchBytes = 4 * 1024 * 1024;
  readonly maxBatchRecords = 500;

  constructor(readonly streamName: string, readonly client: JsonApiClient) {}

  async put(entries: OutgoingRecord[]): Promise<EntryResult[]> {
    const records = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) records[i] = { Data: new Blob(entries[i].record.data) };
    const output = await this.client.call<{ RequestResponses?: Array<{ RecordId?: string; ErrorCode?: string; ErrorMessage?: string }> }>('PutRecordBatch', {
      DeliveryStreamName: this.streamName,
      Records: records,
    });
    const results = output?.RequestResponses;
    if (!Array.isArray(results) || results.length !== entries.length) {
      throw invalidResponse(`PutRecordBatch answered ${Array.isArray(results) ? results.length : 'no'} results for ${entries.length} records`);
    }
    return results.map((result) => {
      if (typeof result?.ErrorCode === 'string') return { code: result.ErrorCode, message: String(result.ErrorMessage ?? '') };
      if (typeof result?.RecordId !== 'string') throw invalidResponse('a PutRecordBatch result with neither RecordId nor ErrorCode');
      return undefined;
    });
  }
}
