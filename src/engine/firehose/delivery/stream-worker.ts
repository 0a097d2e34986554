import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../log.js';
import type { Batch, RecordBuffer } from '../record-buffer.js';
import type { BufferingHints, DeliveryStreamConfig } from '../types.js';

/** What delivery writes down about a batch (in the buffer, durably) as it goes. */
export interface BatchState {
  /** The delivery stream's VersionId when the batch was cut: it is in the object names. */
  versionId: number;
  /** When the batch was cut: the time in the object names, so that a redelivery names them the same. */
  cutAtMs: number;
  /**
   * Random, drawn when the batch is cut: what its object names' random parts and its HTTP request
   * ids are made of. Kept with the batch, so a redelivery uses the same ones; drawn, so that another
   * engine (or a data dir started afresh) writing to the same bucket or endpoint never repeats them.
   */
  seed: string;
  attempts: number;
  /** When the first failed attempt ended; retry windows are counted from it. */
  firstFailureMs?: number;
  lastError?: string;
  /** HTTP endpoint delivery: the requests (by index) already answered 200 or given up, not to be sent again. */
  requestsDone?: number[];
  /**
   * HTTP endpoint delivery: how the requests given up (by index) failed; their records are owed to the
   * backup's error output until it is written, by this attempt or by a later one after a failed write.
   */
  requestsFailed?: Record<string, RequestFailure>;
}

export interface RequestFailure {
  errorCode: string;
  errorMessage: string;
  attemptsMade: number;
  attemptEndingMs: number;
}

export type DeliveryBatch = Batch<BatchState>;

/** The outcome of one attempt at a batch: done (delivered, or sent to the error output), or try again later. */
export type AttemptOutcome = { done: true } | { done: false; retryInMs: number; error: string };

export interface BatchDeliverer {
  deliver(batch: DeliveryBatch, config: DeliveryStreamConfig): Promise<AttemptOutcome>;
}

export function bufferingHintsOf(config: DeliveryStreamConfig): BufferingHints {
  const destination = config.destination;
  return destination.kind === 's3' ? destination.s3.bufferingHints : destination.http.bufferingHints;
}

/**
 * Delivery of one delivery stream: cuts a batch when the waiting records reach the size hint or the
 * oldest of them has waited the interval, whichever comes first, and delivers batches one at a time
 * in order (a failed one is tried again before any later one), so objects follow arrival order.
 * Batches cut before a restart are delivered first.
 */
export class DeliveryStreamWorker {
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  private running: Promise<void> | undefined;
  private runAgain = false;
  private stopped = false;
  /** A failed batch waits for its retry: new records must not cut the wait short. */
  private retrying = false;

  constructor(
    private config: DeliveryStreamConfig,
    private readonly buffer: RecordBuffer,
    private readonly deliverer: BatchDeliverer,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.wake();
  }

  get name(): string {
    return this.config.name;
  }

  /** The configuration changed (UpdateDestination): later batches follow it. */
  update(config: DeliveryStreamConfig): void {
    this.config = config;
    this.wake();
  }

  /** Records were appended: deliver now if the size hint is reached, else make sure a timer is set. */
  appended(): void {
    if (this.stopped || this.retrying) return;
    const waiting = this.buffer.waitingOf(this.name);
    const hints = bufferingHintsOf(this.config);
    if (waiting.bytes >= hints.sizeBytes || hints.intervalMs === 0) this.wake();
    else if (waiting.oldestArrivalMs !== undefined) this.schedule(waiting.oldestArrivalMs + hints.intervalMs);
  }

  /** Stops cutting and retrying; resolves when the attempt under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.running;
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.runAgain = true;
      return;
    }
    this.clearTimer();
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.runAgain) {
        this.runAgain = false;
        this.wake();
      }
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const batch = this.buffer.batchesOf<BatchState>(this.name)[0] ?? this.cutIfDue();
      if (batch === undefined) break;
      let outcome: AttemptOutcome;
      try {
        outcome = await this.deliverer.deliver(batch, this.config);
      } catch (error) {
        // A deliverer reports failures as outcomes; a throw is a bug of ours, and must not lose the batch.
        outcome = { done: false, retryInMs: 5_000, error: (error as Error).stack ?? String(error) };
      }
      if (outcome.done) continue;
      this.logger.warn(
        { deliveryStream: this.name, batch: batch.batchId, records: batch.recordCount, error: outcome.error },
        'delivery failed; trying again',
      );
      this.retrying = true;
      this.schedule(this.now() + outcome.retryInMs, true);
      return;
    }
    if (this.stopped) return;
    const waiting = this.buffer.waitingOf(this.name);
    if (waiting.oldestArrivalMs !== undefined) {
      this.schedule(waiting.oldestArrivalMs + bufferingHintsOf(this.config).intervalMs);
    }
  }

  private cutIfDue(): DeliveryBatch | undefined {
    const waiting = this.buffer.waitingOf(this.name);
    if (waiting.oldestArrivalMs === undefined) return undefined;
    const hints = bufferingHintsOf(this.config);
    const now = this.now();
    if (waiting.bytes < hints.sizeBytes && now - waiting.oldestArrivalMs < hints.intervalMs) return undefined;
    return this.buffer.cut<BatchState>(this.name, hints.sizeBytes, () => ({
      versionId: this.config.versionId,
      cutAtMs: now,
      seed: randomUUID(),
      attempts: 0,
    }));
  }

  /** Runs at `dueMs` (a retry replaces any timer; otherwise the earliest due time wins). */
  private schedule(dueMs: number, replace = false): void {
    if (this.stopped || (!replace && this.timer !== undefined && this.timerDueMs <= dueMs)) return;
    this.clearTimer();
    this.timerDueMs = dueMs;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerDueMs = Infinity;
        this.retrying = false;
        this.wake();
      },
      Math.max(0, dueMs - this.now()),
    );
    // The engine's server keeps the process alive; a pending delivery must not keep a test's alive.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = Infinity;
  }
}
