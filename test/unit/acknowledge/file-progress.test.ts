import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileProgress, type Span } from '../../../src/acknowledge/file-progress.js';
import { MemoryBudget } from '../../../src/acknowledge/memory-budget.js';
import { ChunkRecords } from '../../../src/tail/records.js';

/** A span of `count` records of `width` bytes each, starting at `start`. */
function open(progress: FileProgress, start: number, count: number, width = 10): Span {
  const ends = Uint32Array.from({ length: count }, (_, i) => (i + 1) * width);
  const records = new ChunkRecords(
    Buffer.alloc(count * width),
    Uint32Array.from(ends, (end) => end - width),
    ends,
    undefined,
  );
  return progress.openSpan(start, ends, start + count * width, count * width, records);
}

describe('FileProgress: the checkpoint follows delivery', () => {
  it('moves record by record over the acknowledged run from the start, never past a gap', () => {
    const completed: Span[] = [];
    const progress = new FileProgress(100, (span) => completed.push(span));
    const span = open(progress, 100, 4);
    span.acknowledge(1);
    span.acknowledge(3);
    assert.equal(progress.committedOffset, 100, 'record 0 is not delivered: nothing may be checkpointed');
    assert.equal(progress.dirty, false);
    span.acknowledge(0);
    assert.equal(progress.committedOffset, 120, 'records 0 and 1 delivered, record 2 not');
    assert.equal(progress.dirty, true);
    span.acknowledge(2);
    assert.equal(progress.committedOffset, 140);
    assert.deepEqual(completed, [span]);
  });

  it('completes spans in file order whatever order they are acknowledged in', () => {
    const completed: Span[] = [];
    const progress = new FileProgress(0, (span) => completed.push(span));
    const first = open(progress, 0, 2);
    const second = open(progress, 20, 2);
    second.acknowledge(0);
    second.acknowledge(1);
    assert.equal(progress.committedOffset, 0, 'the second span is delivered, the first is not');
    assert.deepEqual(completed, []);
    first.acknowledge(1);
    first.acknowledge(0);
    assert.equal(progress.committedOffset, 40);
    assert.deepEqual(completed, [first, second]);
    assert.equal(progress.outstanding, 0);
  });

  it('counts a repeated acknowledgement once', () => {
    const progress = new FileProgress(0, () => undefined);
    const span = open(progress, 0, 2);
    span.acknowledge(0);
    span.acknowledge(0);
    assert.equal(span.remaining, 1);
    assert.equal(progress.committedOffset, 10);
  });

  it(
    'a chunk without records (skipped headers, a partial line) moves the checkpoint once what is before it ' +
      'is delivered',
    () => {
      const progress = new FileProgress(0, () => undefined);
      const span = open(progress, 0, 1);
      progress.openSpan(
        10,
        new Uint32Array(0),
        25,
        0,
        new ChunkRecords(Buffer.alloc(0), new Uint32Array(0), new Uint32Array(0), undefined),
      );
      assert.equal(progress.committedOffset, 0);
      span.acknowledge(0);
      assert.equal(progress.committedOffset, 25);
    },
  );

  it('after a restart, acknowledgements of the old content no longer move the checkpoint', () => {
    const progress = new FileProgress(0, () => undefined);
    const old = open(progress, 0, 2);
    const next = progress.restart(0);
    assert.equal(next.dirty, true, 'the new start is saved at the next checkpoint');
    old.acknowledge(0);
    old.acknowledge(1);
    assert.equal(progress.superseded, true);
    assert.equal(next.committedOffset, 0);
    const span = open(next, 0, 1);
    span.acknowledge(0);
    assert.equal(next.committedOffset, 10);
  });
});

describe('MemoryBudget', () => {
  it('is exhausted when a flow or the agent above it is full, and wakes waiters on release', async () => {
    const agent = new MemoryBudget(100);
    const flowA = new MemoryBudget(80, agent);
    const flowB = new MemoryBudget(80, agent);
    flowA.take(70);
    assert.equal(flowA.exhausted, false);
    flowB.take(30);
    assert.equal(agent.exhausted, true);
    assert.equal(flowA.exhausted, true, 'the agent budget is full, so every flow waits');
    let woke = false;
    const waiting = flowA.whenRoom().then(() => (woke = true));
    await Promise.resolve();
    assert.equal(woke, false);
    flowB.release(30);
    await waiting;
    assert.equal(woke, true);
    assert.equal(agent.used, 70);
  });
});
