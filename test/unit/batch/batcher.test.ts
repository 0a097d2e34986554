import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { Span } from '../../../src/acknowledge/file-progress.js';
import { Batcher, forEachRecord, type Batch } from '../../../src/batch/batcher.js';
import { RecordPerEntry } from '../../../src/send/packer.js';
import { spanOf } from '../support.js';

const byLength = new RecordPerEntry(
  (span: Span, index: number) => span.records.length(index),
  (data) => data,
);

function batcher(options: { maxEntries?: number; maxBytes?: number; maxAgeMs?: number } = {}): {
  batcher: Batcher;
  sealed: Batch[];
} {
  const sealed: Batch[] = [];
  const instance = new Batcher({
    maxEntries: options.maxEntries ?? 500,
    maxBytes: options.maxBytes ?? 1_000_000,
    maxAgeMs: options.maxAgeMs ?? 1_000,
    packer: byLength,
    onSealed: (batch) => sealed.push(batch),
  });
  return { batcher: instance, sealed };
}

function contents(batch: Batch): string[] {
  const lines: string[] = [];
  forEachRecord(batch, (span, index) => lines.push(span.records.data(index).toString()));
  return lines;
}

describe('Batcher', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('seals a batch as soon as it holds maxEntries entries, not at the next record', () => {
    const { batcher: b, sealed } = batcher({ maxEntries: 3 });
    b.add(spanOf(['a\n', 'b\n', 'c\n']));
    assert.deepEqual(sealed.map(contents), [['a\n', 'b\n', 'c\n']]);
    assert.equal(b.openRecords, 0);
    b.add(spanOf(['d\n']));
    assert.equal(b.openRecords, 1);
  });

  it('starts a new batch before the call would pass maxBytes', () => {
    const { batcher: b, sealed } = batcher({ maxBytes: 10 });
    b.add(spanOf(['aaaa\n', 'bbbb\n', 'cccc\n']));
    assert.deepEqual(sealed.map(contents), [['aaaa\n', 'bbbb\n']]);
    b.seal();
    assert.deepEqual(sealed.map(contents), [['aaaa\n', 'bbbb\n'], ['cccc\n']]);
  });

  it('sends a record bigger than maxBytes alone rather than never', () => {
    const { batcher: b, sealed } = batcher({ maxBytes: 4 });
    b.add(spanOf(['x\n', 'too long\n', 'y\n']));
    b.seal();
    assert.deepEqual(sealed.map(contents), [['x\n'], ['too long\n'], ['y\n']]);
  });

  it('seals a batch maxAgeMs after its first record, not after its last', () => {
    const { batcher: b, sealed } = batcher({ maxAgeMs: 100 });
    b.add(spanOf(['a\n']));
    mock.timers.tick(60);
    b.add(spanOf(['b\n']));
    mock.timers.tick(39);
    assert.equal(sealed.length, 0);
    mock.timers.tick(1);
    assert.deepEqual(sealed.map(contents), [['a\n', 'b\n']]);
  });

  it('keeps records in arrival order across spans, and consecutive records of a span in one slice', () => {
    const { batcher: b, sealed } = batcher();
    const first = spanOf(['1\n', '2\n']);
    const second = spanOf(['3\n']);
    b.add(first);
    b.add(second);
    b.seal();
    assert.deepEqual(contents(sealed[0]), ['1\n', '2\n', '3\n']);
    assert.deepEqual(
      sealed[0].slices.map((slice) => [slice.from, slice.to]),
      [
        [0, 2],
        [0, 1],
      ],
    );
    assert.equal(sealed[0].count, 3);
  });

  it('seals nothing when there is nothing open', () => {
    const { batcher: b, sealed } = batcher();
    b.seal();
    assert.equal(sealed.length, 0);
  });
});
