import type { Logger } from '../../../log.js';
import type { FunctionInvoker } from '../transform/function-runner.js';
import type { RecordBuffer } from '../record-buffer.js';
import type {
  DeliveryStreamConfig,
  HttpEndpointOutput,
  LambdaProcessor,
  ObjectStoreTarget,
  S3Output,
} from '../types.js';
import { HttpEndpointClient } from './http-endpoint.js';
import { deliverWithRetries, HttpRetryPolicy } from './http-retry.js';
import { uuidFromSeed } from './object-name.js';
import type { ObjectSink } from './object-sink.js';
import { processRecords, type FailedRecord, type ProcessedBatch } from './processing.js';
import { givenUp, planErrorObject, planObjects, writeObjects, type PlannedObject } from './s3-delivery.js';
import type { AttemptOutcome, BatchDeliverer, BatchState, DeliveryBatch, RequestFailure } from './stream-worker.js';

/** At most this many records go in one request to an HTTP endpoint (Firehose's own bound). */
const HTTP_RECORDS_PER_REQUEST = 10_000;

export interface DelivererOptions {
  buffer: RecordBuffer;
  sinkFor: (target: ObjectStoreTarget) => Promise<ObjectSink>;
  runnerFor: (lambda: LambdaProcessor) => FunctionInvoker;
  logger: Logger;
  now: () => number;
}

/**
 * One attempt at one batch, for either kind of destination: the records through processing, then
 * to S3 (objects, and the error output for what failed) or to an HTTP endpoint (requests, then the
 * S3 backup for what failed or, with AllData, for everything). The batch is completed (its records
 * leave the buffer) only once every output it owes has been written.
 */
export class FirehoseBatchDeliverer implements BatchDeliverer {
  private readonly endpoints = new Map<string, HttpEndpointClient>();
  private readonly stopping = new AbortController();

  constructor(private readonly options: DelivererOptions) {}

  async deliver(batch: DeliveryBatch, config: DeliveryStreamConfig): Promise<AttemptOutcome> {
    const { buffer, runnerFor, now } = this.options;
    const processed = await processRecords(buffer.recordsOf(batch), config, runnerFor, now);
    // A transform cut short by the engine stopping failed for no fault of the records: the batch is
    // left as it is, to be delivered at the next start, not sent to the error output.
    if (this.stopping.signal.aborted) return { done: false, retryInMs: 0, error: 'the engine is stopping' };
    const destination = config.destination;
    const outcome =
      destination.kind === 's3'
        ? await this.toS3(batch, config, destination.s3, processed, destination.partitioning.enabled)
        : await this.toHttpEndpoint(batch, config, destination.http, processed);
    if (outcome.done) {
      buffer.complete(batch);
      this.options.logger.debug(
        {
          deliveryStream: config.name,
          records: batch.recordCount,
          delivered: processed.delivered.length,
          failed: processed.failed.length,
          dropped: processed.dropped,
        },
        'batch delivered',
      );
    }
    return outcome;
  }

  private async toS3(
    batch: DeliveryBatch,
    config: DeliveryStreamConfig,
    s3: S3Output,
    processed: ProcessedBatch,
    partitioned: boolean,
  ): Promise<AttemptOutcome> {
    const objects = planObjects(batch, config, s3, processed.delivered, partitioned);
    const errorObject = planErrorObject(batch, config, s3, processed.failed, 'processing-failed');
    return this.write(batch, config, s3, errorObject === undefined ? objects : [...objects, errorObject]);
  }

  private async toHttpEndpoint(
    batch: DeliveryBatch,
    config: DeliveryStreamConfig,
    http: HttpEndpointOutput,
    processed: ProcessedBatch,
  ): Promise<AttemptOutcome> {
    const { now } = this.options;
    const client = this.endpointFor(config, http);
    const done = new Set(batch.state.requestsDone ?? []);
    const failedRequests: Record<string, RequestFailure> = { ...batch.state.requestsFailed };
    const endpointFailed: FailedRecord[] = [];
    for (let index = 0; index * HTTP_RECORDS_PER_REQUEST < processed.delivered.length; index++) {
      const records = processed.delivered.slice(
        index * HTTP_RECORDS_PER_REQUEST,
        (index + 1) * HTTP_RECORDS_PER_REQUEST,
      );
      if (done.has(index)) {
        // Given up in an earlier attempt whose backup write failed (or was cut by a crash): still owed to it.
        const failure = failedRequests[index];
        if (failure !== undefined) endpointFailed.push(...records.map(({ record }) => ({ record, ...failure })));
        continue;
      }
      // The same id in every attempt, across restarts too: the endpoint may drop what it already has.
      const requestId = uuidFromSeed(`${batch.state.seed}/http/${index}`);
      const data = records.map((record) => record.data);
      // The retry window is counted from the first failure, which is saved: a restart does not reopen it.
      const usedMs = batch.state.firstFailureMs === undefined ? 0 : now() - batch.state.firstFailureMs;
      const outcome = await deliverWithRetries(
        () => client.attempt(requestId, data),
        new HttpRetryPolicy(Math.max(0, http.retryDurationMs - usedMs)),
        {
          now,
          signal: this.stopping.signal,
          onFailure: (failure, attemptsMade) => {
            const firstFailureMs = batch.state.firstFailureMs ?? now();
            const lastError = `${failure.errorCode}: ${failure.errorMessage}`;
            this.save(batch, { ...batch.state, attempts: batch.state.attempts + 1, firstFailureMs, lastError });
            this.options.logger.warn(
              { deliveryStream: config.name, url: http.url, attemptsMade, records: records.length, error: lastError },
              'HTTP endpoint delivery failed',
            );
          },
        },
      );
      if (!outcome.delivered) {
        // Retries used up (or 413): these records go to the backup bucket as http-endpoint-failed.
        const { errorCode, errorMessage, attemptsMade, attemptEndingMs } = outcome;
        const failure = { errorCode, errorMessage, attemptsMade, attemptEndingMs };
        failedRequests[index] = failure;
        endpointFailed.push(...records.map(({ record }) => ({ record, ...failure })));
      }
      done.add(index);
      this.save(batch, { ...batch.state, requestsDone: [...done], requestsFailed: failedRequests });
    }
    const backups: PlannedObject[] = [];
    if (http.backupMode === 'AllData')
      backups.push(...planObjects(batch, config, http.backup, processed.delivered, false));
    const processingFailed = planErrorObject(batch, config, http.backup, processed.failed, 'processing-failed');
    const httpFailed = planErrorObject(batch, config, http.backup, endpointFailed, 'http-endpoint-failed');
    for (const object of [processingFailed, httpFailed]) if (object !== undefined) backups.push(object);
    return this.write(batch, config, http.backup, backups);
  }

  /** Ends the waits between retries and the attempts in flight (engine shutdown). */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the engine is stopping'));
    await Promise.all([...this.endpoints.values()].map((client) => client.close()));
  }

  private endpointFor(config: DeliveryStreamConfig, http: HttpEndpointOutput): HttpEndpointClient {
    const key = JSON.stringify([config.arn, http.url, http.accessKey, http.contentEncoding, http.commonAttributes]);
    let client = this.endpoints.get(key);
    if (client === undefined)
      this.endpoints.set(key, (client = new HttpEndpointClient(http, { sourceArn: config.arn })));
    return client;
  }

  private async write(
    batch: DeliveryBatch,
    config: DeliveryStreamConfig,
    s3: S3Output,
    objects: PlannedObject[],
  ): Promise<AttemptOutcome> {
    try {
      await writeObjects(await this.options.sinkFor(s3.target), s3, objects);
      return { done: true };
    } catch (error) {
      if (givenUp(batch, this.options.now(), this.options.logger, config)) return { done: true };
      return this.retry(batch, batch.state, (error as Error).message);
    }
  }

  private retry(batch: DeliveryBatch, state: BatchState, error: string): AttemptOutcome {
    const attempts = state.attempts + 1;
    this.save(batch, {
      ...state,
      attempts,
      firstFailureMs: state.firstFailureMs ?? this.options.now(),
      lastError: error,
    });
    return { done: false, retryInMs: s3RetryDelayMs(attempts), error };
  }

  private save(batch: DeliveryBatch, state: BatchState): void {
    this.options.buffer.saveState(batch, state);
  }
}

/** S3 retries: 1 s, doubling, at most a minute (Firehose keeps trying for a day; see givenUp). */
function s3RetryDelayMs(attempts: number): number {
  return Math.min(60_000, 1_000 * 2 ** Math.min(attempts - 1, 6));
}
