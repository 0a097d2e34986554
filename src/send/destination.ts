import { AwsApiError } from '../client/api-error.js';
import { Blob } from '../client/blob.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import type { Span } from '../acknowledge/file-progress.js';
import { forEachRecord, type Batch } from '../batch/batcher.js';
import { maxPartitionKeyBytes, partitionKeyFunction, type PartitionKeyFor } from '../batch/partition-key.js';
import type { Partitioning } from '../config/agent-config.js';

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
  /** What one record counts towards maxBatchBytes. */
  recordBytes(span: Span, index: number): number;
  /** Sends the batch in one call; the results are in the batch's record order. */
  put(batch: Batch): Promise<EntryResult[]>;
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

  private readonly keyFor: PartitionKeyFor;
  /** Bytes of every key when they do not depend on the record (FIELD keys do), for sizing batches. */
  private readonly keyBytes: number | undefined;

  constructor(
    readonly streamName: string,
    readonly client: JsonApiClient,
    partitioning: Partitioning,
  ) {
    this.keyFor = partitionKeyFunction(partitioning);
    this.keyBytes = partitioning.option === 'FIELD' ? undefined : maxPartitionKeyBytes(partitioning);
  }

  recordBytes(span: Span, index: number): number {
    if (this.keyBytes !== undefined) return span.records.length(index) + this.keyBytes;
    const data = span.records.data(index);
    return data.length + Buffer.byteLength(this.keyFor(data), 'utf8');
  }

  // Keys are made here, when the batch is sent, not when it is cut: a flow holding its budget of
  // records during an outage would otherwise hold a key string per record too. A record sent again
  // after a partial failure gets its key again (the same one, but for RANDOM).
  async put(batch: Batch): Promise<EntryResult[]> {
    const records = new Array(batch.count);
    forEachRecord(batch, (span, index, position) => {
      const data = span.records.data(index);
      records[position] = { Data: new Blob(data), PartitionKey: this.keyFor(data) };
    });
    const output = await this.client.call<{ Records?: Array<{ SequenceNumber?: string; ErrorCode?: string; ErrorMessage?: string }> }>('PutRecords', {
      StreamName: this.streamName,
      Records: records,
    });
    const results = output?.Records;
    if (!Array.isArray(results) || results.length !== batch.count) {
      throw invalidResponse(`PutRecords answered ${Array.isArray(results) ? results.length : 'no'} results for ${batch.count} records`);
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

  recordBytes(span: Span, index: number): number {
    return span.records.length(index);
  }

  async put(batch: Batch): Promise<EntryResult[]> {
    const records = new Array(batch.count);
    forEachRecord(batch, (span, index, position) => {
      records[position] = { Data: new Blob(span.records.data(index)) };
    });
    const output = await this.client.call<{ RequestResponses?: Array<{ RecordId?: string; ErrorCode?: string; ErrorMessage?: string }> }>('PutRecordBatch', {
      DeliveryStreamName: this.streamName,
      Records: records,
    });
    const results = output?.RequestResponses;
    if (!Array.isArray(results) || results.length !== batch.count) {
      throw invalidResponse(`PutRecordBatch answered ${Array.isArray(results) ? results.length : 'no'} results for ${batch.count} records`);
    }
    return results.map((result) => {
      if (typeof result?.ErrorCode === 'string') return { code: result.ErrorCode, message: String(result.ErrorMessage ?? '') };
      if (typeof result?.RecordId !== 'string') throw invalidResponse('a PutRecordBatch result with neither RecordId nor ErrorCode');
      return undefined;
    });
  }
}
