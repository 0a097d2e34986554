import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttemptOutcome } from '../../../../src/engine/firehose/delivery/http-endpoint.js';
import { deliverWithRetries, HttpRetryPolicy } from '../../../../src/engine/firehose/delivery/http-retry.js';

/** A clock that only moves when the code under test sleeps or an attempt takes time. */
function fakeClock() {
  const clock = {
    nowMs: 1_000_000,
    sleeps: [] as number[],
    now: () => clock.nowMs,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.nowMs += ms;
    },
  };
  return clock;
}

const failed: AttemptOutcome = {
  delivered: false,
  permanent: false,
  errorCode: 'HttpEndpoint.DestinationException',
  errorMessage: 'busy',
};

/** An endpoint that fails `failures` times (each answer taking `responseMs`), then delivers. */
function endpoint(clock: ReturnType<typeof fakeClock>, failures: number, responseMs = 0, outcome = failed) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    attempt: async (): Promise<AttemptOutcome> => {
      calls++;
      clock.nowMs += responseMs;
      return calls <= failures ? outcome : { delivered: true };
    },
  };
}

describe('HTTP endpoint retries', () => {
  it('wait 1 s, doubling, capped at 2 min, the last wait ending when RetryOptions.DurationInSeconds does', async () => {
    const clock = fakeClock();
    const target = endpoint(clock, Infinity);
    const outcome = await deliverWithRetries(target.attempt, new HttpRetryPolicy(300_000, () => 0.5), clock);
    assert.deepEqual(clock.sleeps, [1000, 2000, 4000, 8000, 16000, 32000, 64000, 120000, 53000]);
    assert.deepEqual(outcome, {
      delivered: false,
      attemptsMade: 10,
      attemptEndingMs: 1_300_000,
      permanent: false,
      errorCode: 'HttpEndpoint.DestinationException',
      errorMessage: 'busy',
    });
  });

  it('do not count the time spent waiting for answers against the duration', async () => {
    const clock = fakeClock();
    const target = endpoint(clock, Infinity, 170_000);
    const outcome = await deliverWithRetries(target.attempt, new HttpRetryPolicy(300_000, () => 0.5), clock);
    assert.equal(outcome.attemptsMade, 10, 'as many attempts as with instant answers');
    assert.equal(clock.nowMs - 1_000_000, 300_000 + 10 * 170_000);
  });

  it('jitter each wait by at most 15 %', () => {
    const low = new HttpRetryPolicy(3_600_000, () => 0);
    const high = new HttpRetryPolicy(3_600_000, () => 1);
    assert.deepEqual([low.nextDelayMs(), low.nextDelayMs()], [850, 1700]);
    assert.deepEqual([high.nextDelayMs(), high.nextDelayMs()], [1150, 2300]);
    for (let retry = 0; retry < 10; retry++) high.nextDelayMs();
    assert.equal(high.nextDelayMs(), 120_000, 'never more than 2 minutes, jitter included');
  });

  it('stop at the first success, counting every attempt', async () => {
    const clock = fakeClock();
    const target = endpoint(clock, 3);
    const outcome = await deliverWithRetries(target.attempt, new HttpRetryPolicy(300_000, () => 0.5), clock);
    assert.deepEqual(outcome, { delivered: true, attemptsMade: 4 });
    assert.deepEqual(clock.sleeps, [1000, 2000, 4000]);
  });

  it('make one attempt only when the duration is 0, and none more after a permanent failure (413)', async () => {
    const clock = fakeClock();
    const once = endpoint(clock, Infinity);
    assert.equal((await deliverWithRetries(once.attempt, new HttpRetryPolicy(0), clock)).attemptsMade, 1);
    const tooLarge = endpoint(clock, Infinity, 0, { ...failed, permanent: true });
    const outcome = await deliverWithRetries(tooLarge.attempt, new HttpRetryPolicy(300_000), clock);
    assert.equal(outcome.delivered, false);
    assert.equal(tooLarge.calls, 1);
    assert.ok(!outcome.delivered && outcome.permanent);
    assert.deepEqual(clock.sleeps, []);
  });

  it('count a wait that returned early as the whole planned wait, so that the loop ends', async () => {
    const clock = fakeClock();
    const target = endpoint(clock, Infinity);
    const outcome = await deliverWithRetries(target.attempt, new HttpRetryPolicy(10_000, () => 0.5), {
      now: clock.now,
      sleep: async () => undefined,
    });
    assert.equal(outcome.attemptsMade, 5, '1 + 2 + 4 + 3 s of waits, then it gives up');
  });

  it('stop waiting when the signal aborts (engine shutdown)', async () => {
    const stop = new AbortController();
    const target = endpoint(fakeClock(), Infinity);
    const delivery = deliverWithRetries(target.attempt, new HttpRetryPolicy(300_000), {
      signal: stop.signal,
      onFailure: () => setImmediate(() => stop.abort(new Error('engine stopping'))),
    });
    await assert.rejects(delivery, /engine stopping|aborted/);
    assert.equal(target.calls, 1);
  });
});
