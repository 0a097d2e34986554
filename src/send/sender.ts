import { setTimeout as sleep } from 'node:timers/promises';
import { AwsApiError } from '../client/api-error.js';
import type { Batch, OutgoingRecord } from '../batch/batcher.js';
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
  onDelivered: (entry: OutgoingRecord) => void;
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
      void this.deliver(batch.entries).finally(() => {
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

  private async deliver(initial: OutgoingRecord[]): Promise<void> {
    const { destination, logger } = this.options;
    let entries = initial;
    while (entries.length > 0) {
      if (this.backoff.failing && !(await this.wait(this.backoff.delayMs()))) return;
      if (this.abort.signal.aborted) return;
      this.stats.callsMade++;
      let results;
      try {
        results = await destination.put(entries);
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
      const failed: OutgoingRecord[] = [];
      for (let i = 0; i < entries.length; i++) {
        if (results[i] === undefined) {
          this.stats.recordsSent++;
          this.stats.bytesSent += entries[i].record.data.length;
          this.options.onDelivered(entries[i]);
        } else {
          failed.push(entries[i]);
        }
      }
      if (failed.length === 0) {
        this.backoff.succeeded();
        if (this.reportedErrors.size > 0) {
          logger.info({ stream: destination.streamName }, 'destination accepts records again');
          this.reportedErrors.clear();
        }
      } else {
        this.backoff.failed(failed.length / entries.length);
        this.stats.recordsRetried += failed.length;
        const rejection = results.find((r) => r !== undefined)!;
        logger.debug({ stream: destination.streamName, failed: failed.length, of: entries.length, code: rejection.code }, 'records rejected; resending only those');
        this.logRetryable(rejection.code, rejection.message);
      }
      entries = failed;
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
