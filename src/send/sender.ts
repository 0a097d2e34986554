import { setTimeout as sleep } from 'node:timers/promises';
import { AwsApiError } from '../client/api-error.js';
import type { Span } from '../acknowledge/file-progress.js';
import { addToBatch, emptyBatch, forEachRecord, type Batch } from '../batch/batcher.js';
import type { AgentEvents } from '../observe/events.js';
import { Backoff } from './backoff.js';
import type { Destination, EntryResult } from './destination.js';
import type { SendSlots } from './send-slots.js';

export interface SenderOptions {
  destination: Destination;
  /** Batch calls of this flow in flight at once. */
  maxInFlight: number;
  /** The agent's calls in flight at once, across flows (maxSendingThreads). */
  slots: SendSlots;
  retryInitialBackoffMillis: number;
  retryMaxBackoffMillis: number;
  events: AgentEvents;
  /** Called for each record the destination accepted. */
  onDelivered: (span: Span, index: number) => void;
  /** Called when every record of a batch was accepted. */
  onBatchDone: () => void;
  random?: () => number;
}

/**
 * Sends a flow's sealed batches with a bounded number of calls in flight. A record is never
 * dropped: after a partial failure only the records of the failed entries are sent again;
 * throttling, server and network errors are retried with jittered exponential backoff, forever;
 * errors that retrying cannot fix (missing stream, access denied, validation) are reported and
 * retried at the maximum backoff, so the flow resumes by itself once someone fixes the cause.
 */
export class Sender {
  private readonly queue: Batch[] = [];
  private inFlight = 0;
  private readonly backoff: Backoff;
  private idleWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();
  readonly stats = { recordsSent: 0, bytesSent: 0 };

  constructor(private readonly options: SenderOptions) {
    this.backoff = new Backoff(options.retryInitialBackoffMillis, options.retryMaxBackoffMillis, options.random);
  }

  submit(batch: Batch): void {
    this.queue.push(batch);
    this.pump();
  }

  /** Batches being delivered now (sent, or waiting to be sent again). */
  get batchesInFlight(): number {
    return this.inFlight;
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
    const { destination, events } = this.options;
    let batch = initial;
    while (batch.count > 0) {
      if (this.backoff.failing && !(await this.wait(this.backoff.delayMs()))) return;
      if (this.abort.signal.aborted) return;
      const packed = destination.packer.pack(batch);
      let results: EntryResult[];
      try {
        results = await this.options.slots.run(() => this.timedPut(packed.entries, batch.count));
      } catch (error) {
        const apiError =
          error instanceof AwsApiError
            ? error
            : new AwsApiError('InternalError', (error as Error)?.message ?? String(error), 0, {
                retryable: true,
                cause: error,
              });
        if (apiError.retryable) {
          this.backoff.failed();
          events.sendRetried(apiError.code, apiError.message);
        } else {
          events.sendFailed(apiError.code, apiError.message, this.backoff.maxDelayMs);
          // Nothing changes by retrying soon; try again at the slowest pace until someone fixes it.
          if (!(await this.wait(this.backoff.maxDelayMs))) return;
        }
        continue;
      }
      const failed = this.settle(batch, packed.carried, results);
      if (failed.batch.count === 0) {
        this.backoff.succeeded();
      } else {
        this.backoff.failed(failed.batch.count / batch.count);
        events.recordsRejected(failed.first!.code, failed.first!.message, failed.batch.count, batch.count);
      }
      batch = failed.batch;
    }
    this.options.onBatchDone();
  }

  /** A batch call, timed from when it got its slot (waiting for one is not the destination's latency). */
  private async timedPut(entries: unknown[], records: number): Promise<EntryResult[]> {
    const started = performance.now();
    try {
      const results = await this.options.destination.put(entries);
      this.options.events.callEnded(performance.now() - started, undefined, records);
      return results;
    } catch (error) {
      const code = error instanceof AwsApiError ? error.code : 'InternalError';
      this.options.events.callEnded(performance.now() - started, code, records);
      throw error;
    }
  }

  /**
   * Acknowledges the records of the accepted entries (`carried[e]` records each, in order; one
   * each when undefined) and returns those of the failed ones, to send again, with the first error.
   */
  private settle(
    batch: Batch,
    carried: number[] | undefined,
    results: EntryResult[],
  ): { batch: Batch; first: EntryResult } {
    const failed = emptyBatch(batch.openedMs);
    let first: EntryResult;
    let entry = 0;
    let leftInEntry = carried?.[0] ?? 1;
    let records = 0;
    let bytes = 0;
    forEachRecord(batch, (span, index, position) => {
      let result: EntryResult;
      if (carried === undefined) result = results[position];
      else {
        while (leftInEntry === 0) leftInEntry = carried[++entry];
        leftInEntry--;
        result = results[entry];
      }
      if (result === undefined) {
        records++;
        bytes += span.records.length(index);
        this.options.onDelivered(span, index);
      } else {
        first ??= result;
        addToBatch(failed, span, index);
      }
    });
    this.stats.recordsSent += records;
    this.stats.bytesSent += bytes;
    if (records > 0) this.options.events.delivered(records, bytes);
    return { batch: failed, first };
  }
}
