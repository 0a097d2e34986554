import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openFirehoseDatabase } from '../../../../src/engine/firehose/database.js';
import { RecordBuffer } from '../../../../src/engine/firehose/record-buffer.js';
import { makeTempDir, removeTempDirs } from '../../../support/tmp.js';

after(removeTempDirs);

const bytes = (text: string) => Buffer.from(text);

function openBuffer(dir: string) {
  const db = openFirehoseDatabase(dir, { fsync: false });
  return { db, buffer: new RecordBuffer(db) };
}

describe('RecordBuffer', () => {
  it('answers unique record ids and counts what waits for a batch', async () => {
    const { db, buffer } = openBuffer(makeTempDir('fh-buffer-'));
    const ids = buffer.append('s', [{ data: bytes('ab') }, { data: bytes('cde') }], 1_000);
    ids.push(...buffer.append('s', [{ data: bytes('f') }], 2_000));
    assert.equal(new Set(ids).size, 3);
    assert.deepEqual(buffer.waitingOf('s'), { recordCount: 3, bytes: 6, oldestArrivalMs: 1_000 });
    assert.deepEqual(buffer.waitingOf('other'), { recordCount: 0, bytes: 0, oldestArrivalMs: undefined });
    db.close();
  });

  it('cuts batches in order, at most maxBytes each but never empty', async () => {
    const { db, buffer } = openBuffer(makeTempDir('fh-buffer-'));
    buffer.append('s', [{ data: bytes('aaaa') }, { data: bytes('bbbbbbbb') }, { data: bytes('cc') }], 5);
    const first = buffer.cut('s', 6, () => ({ attempt: 0 }))!;
    assert.equal(first.recordCount, 1, 'the second record would take the batch past 6 bytes');
    const second = buffer.cut('s', 6, () => ({ attempt: 0 }))!;
    assert.deepEqual(
      buffer.recordsOf(second).map((record) => record.data.toString()),
      ['bbbbbbbb'],
      'a record bigger than maxBytes goes alone',
    );
    const third = buffer.cut('s', 6, () => ({ attempt: 0 }))!;
    assert.deepEqual([third.firstSeq, third.lastSeq, third.bytes], [3, 3, 2]);
    assert.equal(
      buffer.cut('s', 6, () => ({})),
      undefined,
    );
    assert.equal(buffer.waitingOf('s').recordCount, 0);
    db.close();
  });

  it('keeps cut batches, their state and the waiting records across a reopen; completed ones are gone', async () => {
    const dir = makeTempDir('fh-buffer-');
    let { db, buffer } = openBuffer(dir);
    buffer.append('s', [{ data: bytes('one') }, { data: bytes('two') }], 7);
    const batch = buffer.cut('s', 3, () => ({ objectKey: 'k1', attempts: 0 }))!;
    buffer.saveState(batch, { objectKey: 'k1', attempts: 2 });
    buffer.append('s', [{ data: bytes('three') }], 8);
    db.close();

    ({ db, buffer } = openBuffer(dir));
    const [reopened, ...more] = buffer.batchesOf<{ objectKey: string; attempts: number }>('s');
    assert.equal(more.length, 0);
    assert.deepEqual(reopened.state, { objectKey: 'k1', attempts: 2 });
    assert.deepEqual(
      buffer.recordsOf(reopened).map((record) => record.data.toString()),
      ['one'],
    );
    assert.deepEqual(buffer.waitingOf('s'), { recordCount: 2, bytes: 8, oldestArrivalMs: 7 });
    buffer.complete(reopened);
    const next = buffer.cut('s', 100, () => ({}))!;
    assert.deepEqual(
      buffer.recordsOf(next).map((record) => record.data.toString()),
      ['two', 'three'],
    );
    buffer.complete(next);
    db.close();

    ({ db, buffer } = openBuffer(dir));
    assert.deepEqual(buffer.batchesOf('s'), []);
    assert.deepEqual(buffer.waitingOf('s'), { recordCount: 0, bytes: 0, oldestArrivalMs: undefined });
    const later = buffer.append('s', [{ data: bytes('four') }], 9);
    assert.ok(!later[0].endsWith('1'.padStart(16, '0')), 'positions are never reused after delivery');
    db.close();
  });

  it('tells its listener of each append after it committed, and forgets a dropped stream', async () => {
    const { db, buffer } = openBuffer(makeTempDir('fh-buffer-'));
    const told: string[] = [];
    buffer.onAppend = (stream) => told.push(`${stream}:${buffer.waitingOf(stream).recordCount}`);
    buffer.append('s', [{ data: bytes('x') }], 1);
    buffer.append('t', [{ data: bytes('y') }, { data: bytes('z') }], 1);
    assert.deepEqual(told, ['s:1', 't:2']);
    buffer.drop('t');
    assert.equal(buffer.waitingOf('t').recordCount, 0);
    assert.equal(buffer.waitingOf('s').recordCount, 1);
    db.close();
  });
});
