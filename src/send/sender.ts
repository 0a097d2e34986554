import { setTimeout as sleep } from 'node:timers/promises';
import { AwsApiError } from '../client/api-error.js';
import type { Span } from '../acknowledge/file-progress.js';
import { addToBatch, emptyBatch, forEachRecord, type Batch } from '../batch/batcher.js';
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';
import type { Destination } from './destination.js';

export interface SenderOptions {
  destination: Destination;
  /** Batch calls of this flow in flight at once. */
  maxInFlight: number;
  retryInitialBackoffMillis: number;
  retryMaxBackoffMillis: number;
  logger: Logger;
  /** Called for each record the destination accepted. */
  onDelivered: (span: Span, index: number) => void;
  /** Called when every record of a batch was accepted. */
  onBatchDone: () => void;
}

/** Retryable failures are logged at most this often per error code, so an outage is visible but not noisy. */
const RETRYABLE_LOG_INTERVAL_MS = 30_000;

export interface SenderStats {
  recordsSent: number;
  bytesSent: number;
  callsMade: number;
  callsFailed: number;
  recordsRetried: number;
}

/**
 * Sends a flow's sealed batches with a bounded number of calls in flight. A record is never
 * dropped: after a partial failure only the failed entries are sent again; throttling, server and
 * network errors are retried with jittered exponential backoff, forever; errors that retrying
 * cannot fix (missing stream, access denied, validation) are logged once and retried at the
 * maximum backoff, so the flow resumes by itself once someone fixes the cause.
 */
export class Sender {
  private readonly queue: Batch[] = [];
  private inFlight = 0;
  private readonly backoff: Backoff;
  private readonly reportedErrors = new Set<string>();
  private readonly retryableLoggedMs = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  private abort = new AbortController();
  readonly stats: SenderStats = { recordsSent: 0, bytesSent: 0, callsMade: 0, callsFailed: 0, recordsRetried: 0 };

  constructor(private readonly options: SenderOptions) {
    this.backoff = new Backoff(options.retryInitialBackoffMillis, options.retryMaxBackoffMillis);
  }

  submit(batch: Batch): void {
    this.queue.push(batch);
    this.pump();
  }

  /** Batches waiting or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.inFlight++;
      void this.deliver(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.pending === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Ends backoff waits early and stops retrying: used when shutdown gives up on delivery. */
  abandon(): void {
    this.abort.abort();
  }

  private async wait(ms: number): Promise<boolean> {
    if (ms <= 0) return !this.abort.signal.aborted;
    try {
      await sleep(ms, undefined, { signal: this.abort.signal, ref: false });
      return true;
    } catch {
      return false;
    }
  }

  private async deliver(initial: Batch): Promise<void> {
    const { destination, logger } = this.options;
    let batch = initial;
    while (batch.count > 0) {
      if (this.backoff.failing && !(await this.wait(this.backoff.delayMs()))) return;
      if (this.abort.signal.aborted) return;
      this.stats.callsMade++;
      let results;
      try {
        results = await destination.put(batch);
      } catch (error) {
        this.stats.callsFailed++;
        const apiError =
          error instanceof AwsApiError ? error : new AwsApiError('InternalError', (error as Error)?.message ?? String(error), 0, { retryable: true, cause: error });
        if (apiError.retryable) {
          this.backoff.failed();
          this.logRetryable(apiError.code, apiError.message);
        } else {
          this.reportOnce(apiError);
          // Nothing changes by retrying soon; try again at the slowest pace until someone fixes it.
          if (!(await this.wait(this.backoff.maxDelayMs))) return;
        }
        continue;
      }
      const failed = emptyBatch(batch.openedMs);
      forEachRecord(batch, (span, index, position) => {
        if (results[position] === undefined) {
          this.stats.recordsSent++;
          this.stats.bytesSent += span.records.length(index);
          this.options.onDelivered(span, index);
        } else {
          addToBatch(failed, span, index, destination.recordBytes(span, index));
        }
      });
      if (failed.count === 0) {
        this.backoff.succeeded();
        if (this.reportedErrors.size > 0) {
          logger.info({ stream: destination.streamName }, 'destination accepts records again');
          this.reportedErrors.clear();
        }
      } else {
        this.backoff.failed(failed.count / batch.count);
        this.stats.recordsRetried += failed.count;
        const rejection = results.find((r) => r !== undefined)!;
        logger.debug({ stream: destination.streamName, failed: failed.count, of: batch.count, code: rejection.code }, 'records rejected; resending only those');
        this.logRetryable(rejection.code, rejection.message);
      }
      batch = failed;
    }
    this.options.onBatchDone();
  }

  private logRetryable(code: string, message: string): void {
    const now = Date.now();
    if (now - (this.retryableLoggedMs.get(code) ?? -Infinity) < RETRYABLE_LOG_INTERVAL_MS) return;
    this.retryableLoggedMs.set(code, now);
    this.options.logger.warn(
      { stream: this.options.destination.streamName, code, reason: message },
      `${this.options.destination.service} stream ${this.options.destination.streamName}: ${code}; retrying with backoff`,
    );
  }

  private reportOnce(error: AwsApiError): void {
    if (this.reportedErrors.has(error.code)) return;
    this.reportedErrors.add(error.code);
    this.options.logger.error(
      { stream: this.options.destination.streamName, service: this.options.destination.service, code: error.code, reason: error.message },
      `cannot deliver to ${this.options.destination.service} stream ${this.options.destination.streamName}: ${error.code}; retrying every ${this.backoff.maxDelayMs} ms`,
    );
  }
}
