import { AwsApiError } from '../client/api-error.js';
import type { ApiLimits } from '../client/api-limits.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import type { EntryPacker } from './packer.js';

/** One entry's fate in a batch call: undefined when accepted, else the error it got. */
export type EntryResult = undefined | { code: string; message: string };

/**
 * Where a flow's batches go, and the API dialect to use: Kinesis PutRecords or Firehose
 * PutRecordBatch. Both answer per entry, in request order.
 */
export interface Destination<E = unknown> {
  readonly service: 'kinesis' | 'firehose';
  readonly streamName: string;
  readonly client: JsonApiClient;
  readonly limits: ApiLimits;
  /** Room each record must leave within maxRecordBytes (Kinesis: the longest partition key). */
  readonly recordOverheadBytes: number;
  readonly packer: EntryPacker<E>;
  /** Sends the entries in one call; the results are in the entries' order. */
  put(entries: E[]): Promise<EntryResult[]>;
}

function invalidResponse(what: string): AwsApiError {
  return new AwsApiError('InvalidResponse', `unexpected answer to a batch call: ${what}`, 0, { retryable: true });
}

interface ApiResult {
  ErrorCode?: string;
  ErrorMessage?: string;
}

/**
 * Per-entry results of a batch call, checked: as many as were sent, each either an error or
 * carrying `successField` (a sequence number, a record id). A malformed answer is retried whole.
 */
export function entryResults(action: string, results: unknown, sent: number, successField: string): EntryResult[] {
  if (!Array.isArray(results) || results.length !== sent) {
    throw invalidResponse(
      `${action} answered ${Array.isArray(results) ? results.length : 'no'} results for ${sent} records`,
    );
  }
  return results.map((result: ApiResult & Record<string, unknown>) => {
    if (typeof result?.ErrorCode === 'string')
      return { code: result.ErrorCode, message: String(result.ErrorMessage ?? '') };
    if (typeof result?.[successField] !== 'string')
      throw invalidResponse(`a ${action} result with neither ${successField} nor ErrorCode`);
    return undefined;
  });
}
