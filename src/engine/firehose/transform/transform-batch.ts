import { randomUUID } from 'node:crypto';
import type { BufferedRecord, LambdaProcessor } from '../types.js';
import { INVOKE_ERROR, type FunctionInvoker, type InvokeOutcome } from './function-runner.js';
import { LAMBDA_PAYLOAD_LIMIT_BYTES } from './protocol.js';
import { checkResponse, type RecordResult } from './transform-response.js';

/**
 * Firehose's data transformation (../../../../../shared/spec/firehose.md §7): buffered records go to
 * the Lambda processor's function in invocations of at most BufferSizeInMBs of data, each answer is
 * checked, a failed invocation is tried again NumberOfRetries times, and every record ends up
 * transformed, dropped, or failed with what Firehose writes to the error output about it.
 */

export type RecordOutcome =
  | { kind: 'ok'; data: Buffer; partitionKeys?: Record<string, string> }
  | { kind: 'dropped' }
  | { kind: 'failed'; errorCode: string; errorMessage: string; attemptsMade: number; attemptEndingMs: number };

export interface TransformContext {
  deliveryStreamArn: string;
  region: string;
  /** For a KinesisStreamAsSource stream: the source, named in every event. */
  sourceKinesisStreamArn?: string;
  lambda: LambdaProcessor;
}

/** Our code for a record the function answered ProcessingFailed for (Firehose names the outcome, not a code). */
export const PROCESSING_FAILED = {
  errorCode: 'Lambda.ProcessingFailed',
  errorMessage: 'The Lambda function returned ProcessingFailed for this record.',
} as const;

/** The event's entry for one record, field names as aws-lambda-go's KinesisFirehoseEventRecord. */
interface EventRecord {
  recordId: string;
  approximateArrivalTimestamp: number;
  data: string;
  kinesisRecordMetadata?: {
    shardId: string;
    partitionKey: string;
    approximateArrivalTimestamp: number;
    sequenceNumber: string;
    subsequenceNumber: number;
  };
}

function eventRecordOf(record: BufferedRecord): EventRecord {
  const entry: EventRecord = {
    recordId: record.recordId,
    approximateArrivalTimestamp: record.approximateArrivalMs,
    data: record.data.toString('base64'),
  };
  if (record.kinesis)
    entry.kinesisRecordMetadata = {
      shardId: record.kinesis.shardId,
      partitionKey: record.kinesis.partitionKey,
      approximateArrivalTimestamp: record.kinesis.approximateArrivalMs,
      sequenceNumber: record.kinesis.sequenceNumber,
      // A user record of a KPL aggregate keeps its place in it; a record that was not aggregated is 0.
      subsequenceNumber: record.kinesis.subsequenceNumber ?? 0,
    };
  return entry;
}

function eventOf(ctx: TransformContext, invocationId: string, records: EventRecord[]) {
  return {
    invocationId,
    deliveryStreamArn: ctx.deliveryStreamArn,
    ...(ctx.sourceKinesisStreamArn === undefined ? {} : { sourceKinesisStreamArn: ctx.sourceKinesisStreamArn }),
    region: ctx.region,
    records,
  };
}

interface Invocation {
  /** Indexes into the records given to transformRecords. */
  indexes: number[];
  records: EventRecord[];
}

/**
 * Consecutive runs of records, each at most `bufferSizeBytes` of data (but at least one record) and
 * with an event under Lambda's request limit once the data is base64 (4/3 of its size).
 */
export function splitIntoInvocations(records: readonly BufferedRecord[], ctx: TransformContext): Invocation[] {
  const envelopeBytes = Buffer.byteLength(JSON.stringify(eventOf(ctx, randomUUID(), [])));
  const invocations: Invocation[] = [];
  let current: Invocation | undefined;
  let dataBytes = 0;
  let requestBytes = 0;
  records.forEach((record, index) => {
    const entry = eventRecordOf(record);
    // The entry and the comma before it.
    const entryBytes = Buffer.byteLength(JSON.stringify(entry)) + 1;
    const fits =
      current !== undefined &&
      dataBytes + record.data.length <= ctx.lambda.bufferSizeBytes &&
      requestBytes + entryBytes <= LAMBDA_PAYLOAD_LIMIT_BYTES;
    if (!fits || current === undefined) {
      current = { indexes: [], records: [] };
      invocations.push(current);
      dataBytes = 0;
      requestBytes = envelopeBytes;
    }
    current.indexes.push(index);
    current.records.push(entry);
    dataBytes += record.data.length;
    requestBytes += entryBytes;
  });
  return invocations;
}

async function invokeSafely(runner: FunctionInvoker, event: unknown, requestId: string, timeoutMs: number) {
  try {
    return await runner.invoke(event, { timeoutMs, requestId });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, errorCode: INVOKE_ERROR.functionError, errorMessage: message } satisfies InvokeOutcome;
  }
}

function outcomeOf(result: RecordResult, attemptsMade: number, now: () => number): RecordOutcome {
  if (result.result === 'Dropped') return { kind: 'dropped' };
  if (result.result === 'ProcessingFailed')
    return { kind: 'failed', ...PROCESSING_FAILED, attemptsMade, attemptEndingMs: now() };
  return result.partitionKeys
    ? { kind: 'ok', data: result.data, partitionKeys: result.partitionKeys }
    : { kind: 'ok', data: result.data };
}

/**
 * One invocation's records, tried until the function answers. An answer, even a wrong one, is final
 * (the function ran and would answer the same again); only a failed invocation (error, timeout,
 * crash) is tried again.
 */
async function transformInvocation(
  invocation: Invocation,
  ctx: TransformContext,
  runner: FunctionInvoker,
  now: () => number,
): Promise<RecordOutcome[]> {
  const recordIds = invocation.records.map((record) => record.recordId);
  const attemptsAllowed = 1 + Math.max(0, ctx.lambda.numberOfRetries);
  let failure: { errorCode: string; errorMessage: string } = { errorCode: '', errorMessage: '' };
  let attemptsMade = 0;
  while (attemptsMade < attemptsAllowed) {
    attemptsMade++;
    const invocationId = randomUUID();
    const outcome = await invokeSafely(
      runner,
      eventOf(ctx, invocationId, invocation.records),
      invocationId,
      ctx.lambda.timeoutMs,
    );
    if (!outcome.ok) {
      failure = { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage };
      continue;
    }
    const checked = checkResponse(outcome.payload, recordIds);
    if (!checked.ok) {
      failure = { errorCode: checked.errorCode, errorMessage: checked.errorMessage };
      break;
    }
    return recordIds.map((id) => outcomeOf(checked.results.get(id)!, attemptsMade, now));
  }
  const attemptEndingMs = now();
  return recordIds.map(() => ({ kind: 'failed', ...failure, attemptsMade, attemptEndingMs }));
}

/** The outcome of every record, in the order given. Never throws for what the function does. */
export async function transformRecords(
  records: readonly BufferedRecord[],
  ctx: TransformContext,
  runner: FunctionInvoker,
  now: () => number = Date.now,
): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = new Array<RecordOutcome>(records.length);
  for (const invocation of splitIntoInvocations(records, ctx)) {
    const results = await transformInvocation(invocation, ctx, runner, now);
    invocation.indexes.forEach((recordIndex, i) => (outcomes[recordIndex] = results[i]));
  }
  return outcomes;
}
