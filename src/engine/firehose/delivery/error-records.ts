import type { BufferedRecord } from '../types.js';

/** Why a batch's records go to the error output, and how the attempts ended (spec §7.4, §8.4). */
export interface RecordFailure {
  /** Invocations of the transform, or attempts at the HTTP endpoint. */
  attemptsMade: number;
  /** e.g. `Lambda.FunctionError`, `HttpEndpoint.DestinationException`. */
  errorCode: string;
  errorMessage: string;
  attemptEndingMs: number;
  /** For processing-failed output: the function's ARN. */
  lambdaArn?: string;
}

/**
 * The error output object's content: one JSON document per failed record (each with how it
 * failed), each ending in a newline, in Firehose's field order. `rawData` is the record as it was
 * before the failed step: the input of the transform for processing-failed, what was sent for
 * http-endpoint-failed.
 */
export function errorDocuments(failed: ReadonlyArray<RecordFailure & { record: BufferedRecord }>): Buffer {
  const lines = failed.map((failure) => `${JSON.stringify(errorDocument(failure.record, failure))}\n`);
  return Buffer.from(lines.join(''), 'utf8');
}

function errorDocument(record: BufferedRecord, failure: RecordFailure): Record<string, unknown> {
  const document: Record<string, unknown> = {
    attemptsMade: failure.attemptsMade,
    arrivalTimestamp: record.approximateArrivalMs,
    errorCode: failure.errorCode,
    errorMessage: failure.errorMessage,
    attemptEndingTimestamp: failure.attemptEndingMs,
    rawData: record.data.toString('base64'),
  };
  if (failure.lambdaArn !== undefined) document.lambdaArn = failure.lambdaArn;
  if (record.kinesis !== undefined) {
    const subsequenceNumber = record.kinesis.subsequenceNumber ?? 0;
    document.subsequenceNumber = subsequenceNumber;
    document.dataId = `${record.kinesis.sequenceNumber}.${subsequenceNumber}`;
  }
  return document;
}
