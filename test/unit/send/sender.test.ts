import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Span } from '../../../src/acknowledge/file-progress.js';
import { addToBatch, emptyBatch, forEachRecord, type Batch } from '../../../src/batch/batcher.js';
import { AwsApiError } from '../../../src/client/api-error.js';
import { KINESIS_LIMITS } from '../../../src/client/api-limits.js';
import type { JsonApiClient } from '../../../src/client/json-api-client.js';
import { Backoff } from '../../../src/send/backoff.js';
import type { Destination, EntryResult } from '../../../src/send/destination.js';
import { RecordPerEntry, type EntryPacker } from '../../../src/send/packer.js';
import { sendToCompletion, spanOf } from '../support.js';

/** A destination whose every call is answered by `answer`, recording what each call sent. */
/** The test destinations' entry: a record's bytes (or several records' bytes together). */
type Entry = Buffer;

function destination(
  answer: (entries: Entry[], call: number) => EntryResult[] | Error,
  packer: EntryPacker<Entry> = new RecordPerEntry(
    (span: Span, index: number) => span.records.length(index),
    (data) => data,
  ),
): Destination<Entry> & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    service: 'kinesis',
    streamName: 'unit',
    client: {} as JsonApiClient,
    limits: KINESIS_LIMITS,
    recordOverheadBytes: 0,
    packer,
    calls,
    async put(entries) {
      calls.push(entries.map((entry) => entry.toString()));
      const result = answer(entries, calls.length);
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

function batchOf(span: Span): Batch {
  const batch = emptyBatch(0);
  for (let i = 0; i < span.records.count; i++) addToBatch(batch, span, i);
  return batch;
}

const send = sendToCompletion;

const throttled = { code: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' };

describe('Sender', () => {
  it('after a partial failure resends exactly the failed records, and never an acknowledged one', async () => {
    const target = destination((entries, call) =>
      entries.map((entry) => (call === 1 && entry.toString() === 'b\n' ? throttled : undefined)),
    );
    const { delivered, done, events } = await send(target, batchOf(spanOf(['a\n', 'b\n', 'c\n'])));
    assert.deepEqual(target.calls, [['a\n', 'b\n', 'c\n'], ['b\n']]);
    assert.deepEqual(delivered.sort(), ['a\n', 'b\n', 'c\n']);
    assert.equal(done, 1);
    assert.deepEqual(events.named('recordsRejected'), [[throttled.code, throttled.message, 1, 3]]);
  });

  it('retries a retryable call failure until it succeeds', async () => {
    const target = destination((entries, call) =>
      call < 3 ? new AwsApiError('ServiceUnavailable', 'down', 503) : entries.map(() => undefined),
    );
    const { delivered, events } = await send(target, batchOf(spanOf(['x\n'])));
    assert.equal(target.calls.length, 3);
    assert.deepEqual(delivered, ['x\n']);
    assert.equal(events.named('sendRetried').length, 2);
    assert.equal(events.named('sendFailed').length, 0);
    assert.deepEqual(
      events.named('callEnded').map(([, code, records]) => [code, records]),
      [
        ['ServiceUnavailable', 1],
        ['ServiceUnavailable', 1],
        [undefined, 1],
      ],
    );
  });

  it('reports an error retrying cannot fix soon, and still retries it (at the slowest pace)', async () => {
    const target = destination((entries, call) =>
      call === 1 ? new AwsApiError('ResourceNotFoundException', 'no stream', 400) : entries.map(() => undefined),
    );
    const { delivered, events } = await send(target, batchOf(spanOf(['y\n'])));
    assert.deepEqual(events.named('sendFailed'), [['ResourceNotFoundException', 'no stream', 2]]);
    assert.deepEqual(delivered, ['y\n']);
  });

  it("maps each entry's result to every record it carries (an entry of several records)", async () => {
    // Two records per entry: the result of entry 1 fails both its records, and only those.
    const pairs: EntryPacker<Entry> = {
      fill: () => ({ take: (_span, from, to) => to - from, entries: 0, full: false }),
      pack(batch) {
        const records: Buffer[] = [];
        forEachRecord(batch, (span, index) => records.push(span.records.data(index)));
        const entries: Entry[] = [];
        const carried: number[] = [];
        for (let i = 0; i < records.length; i += 2) {
          entries.push(Buffer.concat(records.slice(i, i + 2)));
          carried.push(Math.min(2, records.length - i));
        }
        return { entries, carried };
      },
    };
    const target = destination(
      (entries, call) => entries.map((_, i) => (call === 1 && i === 1 ? throttled : undefined)),
      pairs,
    );
    const { delivered, events } = await send(target, batchOf(spanOf(['1\n', '2\n', '3\n', '4\n', '5\n'])));
    assert.deepEqual(target.calls, [['1\n2\n', '3\n4\n', '5\n'], ['3\n4\n']]);
    assert.deepEqual(delivered.sort(), ['1\n', '2\n', '3\n', '4\n', '5\n']);
    // Records, not entries: what CloudWatch's RecordSendAttempts counts.
    assert.deepEqual(
      events.named('callEnded').map(([, code, records]) => [code, records]),
      [
        [undefined, 5],
        [undefined, 2],
      ],
    );
  });
});

describe('Backoff', () => {
  it('doubles per failure from the initial delay, within ±30 % jitter, capped at the maximum', () => {
    const low = new Backoff(100, 1_000, () => 0);
    const high = new Backoff(100, 1_000, () => 1);
    assert.equal(low.delayMs(), 0, 'no failure, no wait');
    for (const failures of [1, 2, 3, 4, 5, 6]) {
      low.failed();
      high.failed();
      const base = Math.min(1_000, 100 * 2 ** (failures - 1));
      assert.equal(low.delayMs(), Math.round(base * 0.7));
      assert.equal(high.delayMs(), Math.round(base * 1.3));
    }
  });

  it('recovers tenfold per success, at once from a single failure', () => {
    const backoff = new Backoff(100, 1_000, () => 0.5);
    backoff.failed();
    backoff.succeeded();
    assert.equal(backoff.failing, false);
    for (let i = 0; i < 30; i++) backoff.failed();
    backoff.succeeded();
    assert.equal(backoff.delayMs(), 400, '30 failures become 3: 100 × 2²');
  });
});
