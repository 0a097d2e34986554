import type { FunctionInvoker } from '../transform/function-runner.js';
import { extractPartitionKeys } from '../transform/metadata-extraction.js';
import { transformRecords, type RecordOutcome } from '../transform/transform-batch.js';
import type { BufferedRecord, DeliveryStreamConfig, LambdaProcessor, ProcessingConfig } from '../types.js';

/** A record ready for its destination, with the partition keys that choose its object. */
export interface ProcessedRecord {
  record: BufferedRecord;
  data: Buffer;
  partitionKeys: Record<string, string> | undefined;
}

/** A record that goes to the error output instead, and why. */
export interface FailedRecord {
  record: BufferedRecord;
  errorCode: string;
  errorMessage: string;
  attemptsMade: number;
  attemptEndingMs: number;
}

export interface ProcessedBatch {
  delivered: ProcessedRecord[];
  failed: FailedRecord[];
  /** Records the function answered Dropped for: a success with nothing to deliver. */
  dropped: number;
}

/**
 * What a delivery stream does to records between its buffer and its destination, in Firehose's
 * order: the Lambda function, then the partition keys of metadata extraction (which read the
 * transformed data), then the delimiter. Function misbehaviour never throws here: its records
 * come back failed, for the error output.
 */
export async function processRecords(
  records: BufferedRecord[],
  config: DeliveryStreamConfig,
  runnerFor: (lambda: LambdaProcessor) => FunctionInvoker,
  now: () => number,
): Promise<ProcessedBatch> {
  const processing: ProcessingConfig = config.destination.processing;
  const outcomes: RecordOutcome[] =
    processing.lambda === undefined
      ? records.map((record) => ({ kind: 'ok', data: record.data }))
      : await transformRecords(
          records,
          {
            deliveryStreamArn: config.arn,
            region: config.region,
            sourceKinesisStreamArn: config.source?.streamArn,
            lambda: processing.lambda,
          },
          runnerFor(processing.lambda),
          now,
        );
  const batch: ProcessedBatch = { delivered: [], failed: [], dropped: 0 };
  outcomes.forEach((outcome, index) => {
    const record = records[index];
    if (outcome.kind === 'dropped') {
      batch.dropped += 1;
      return;
    }
    if (outcome.kind === 'failed') {
      batch.failed.push({ record, ...outcome });
      return;
    }
    let partitionKeys = outcome.partitionKeys;
    if (processing.metadataQueries !== undefined) {
      const extracted = extractPartitionKeys(outcome.data, processing.metadataQueries);
      if (!extracted.ok) {
        batch.failed.push({
          record,
          errorCode: extracted.errorCode,
          errorMessage: extracted.errorMessage,
          attemptsMade: 1,
          attemptEndingMs: now(),
        });
        return;
      }
      partitionKeys = { ...partitionKeys, ...extracted.keys };
    }
    const data = processing.appendDelimiter ? Buffer.concat([outcome.data, NEWLINE]) : outcome.data;
    batch.delivered.push({ record, data, partitionKeys });
  });
  return batch;
}

const NEWLINE = Buffer.from('\n');
