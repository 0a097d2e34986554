import { setTimeout as sleepFor } from 'node:timers/promises';
import { Backoff } from '../../../send/backoff.js';
import type { AttemptFailure, AttemptOutcome } from './http-endpoint.js';

const INITIAL_DELAY_MS = 1_000;
const MAX_DELAY_MS = 2 * 60_000;
const JITTER = 0.15;

/**
 * Firehose's HTTP endpoint retries (spec §8.4): 1 s, ×2 per retry, ±15 %, at most 2 minutes, for as
 * long as RetryOptions.DurationInSeconds allows. Only the waits between attempts use that duration up,
 * not the time spent waiting for answers, so an endpoint that takes 3 minutes to fail still gets its
 * retries. The last wait is shortened to what is left, so the last attempt comes when it runs out.
 */
export class HttpRetryPolicy {
  private readonly backoff: Backoff;
  private waitedMs = 0;

  constructor(
    private readonly retryDurationMs: number,
    random: () => number = Math.random,
  ) {
    this.backoff = new Backoff(INITIAL_DELAY_MS, MAX_DELAY_MS, random, JITTER);
  }

  /** After a failed attempt: how long to wait before the next one, or undefined when the duration is used up. */
  nextDelayMs(): number | undefined {
    const leftMs = this.retryDurationMs - this.waitedMs;
    if (leftMs <= 0) return undefined;
    this.backoff.failed();
    return Math.min(leftMs, MAX_DELAY_MS, this.backoff.delayMs());
  }

  /** What a wait really took (a timer fires late, a process is paused): that is what the duration loses. */
  waited(ms: number): void {
    this.waitedMs += Math.max(0, ms);
  }
}

export type HttpDeliveryOutcome =
  | { delivered: true; attemptsMade: number }
  | ({ delivered: false; attemptsMade: number; attemptEndingMs: number } & AttemptFailure);

export interface RetryLoopOptions {
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Stops the waiting (engine shutdown): the loop then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Told of each failed attempt, e.g. to log it. */
  onFailure?: (failure: AttemptFailure, attemptsMade: number) => void;
}

/**
 * Makes attempts until one delivers, one fails permanently (413), or the policy gives up; the caller
 * keeps the request id the same in every attempt, so that the endpoint can drop duplicates.
 */
export async function deliverWithRetries(
  attempt: () => Promise<AttemptOutcome>,
  policy: HttpRetryPolicy,
  options: RetryLoopOptions = {},
): Promise<HttpDeliveryOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
  for (let attemptsMade = 1; ; attemptsMade++) {
    options.signal?.throwIfAborted();
    const outcome = await attempt();
    if (outcome.delivered) return { delivered: true, attemptsMade };
    const { permanent, errorCode, errorMessage } = outcome;
    options.onFailure?.({ permanent, errorCode, errorMessage }, attemptsMade);
    const delayMs = permanent ? undefined : policy.nextDelayMs();
    if (delayMs === undefined) {
      return { delivered: false, attemptsMade, attemptEndingMs: now(), permanent, errorCode, errorMessage };
    }
    const waitStartedMs = now();
    await sleep(delayMs, options.signal);
    // At least the planned wait, so that a sleep returning early cannot make the loop endless.
    policy.waited(Math.max(delayMs, now() - waitStartedMs));
  }
}
