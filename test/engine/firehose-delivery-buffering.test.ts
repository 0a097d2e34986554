/**
 * BufferingHints as the engine (a child process) applies them: the interval holds records back
 * until it has passed, the size hint cuts objects of about that size. The interval test takes a
 * minute, the time the hint says.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EngineProcess } from '../support/engine-process.js';
import {
  assertExactlyOnce,
  createDeliveryStream,
  listObjects,
  putRecords,
  recordTexts,
  readObjects,
  s3Destination,
  startFirehoseEngine,
  updateBufferingHints,
  waitForLines,
} from '../support/firehose-delivery.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const MIB = 1024 * 1024;

let engine: EngineProcess;
let dataDir: string;

before(async () => {
  dataDir = makeTempDir('shardtail-fh-buffering-');
  engine = await startFirehoseEngine(dataDir);
});

after(async () => {
  await engine?.stop();
  await removeTempDirs();
});

/** `<tag>-<n>` padded with dots to `size` bytes in all, ending in a newline. */
function paddedRecord(tag: string, index: number, size: number): Buffer {
  const head = `${tag}-${String(index).padStart(6, '0')}`;
  return Buffer.from(`${head}${'.'.repeat(size - head.length - 1)}\n`);
}

describe('BufferingHints', () => {
  it('holds records for IntervalInSeconds 60: nothing before, everything soon after', async () => {
    await createDeliveryStream(
      engine.url,
      'minute',
      s3Destination('minute-bucket', { BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 } }),
    );
    const root = path.join(dataDir, 's3', 'minute-bucket');
    const records = Array.from({ length: 50 }, (_, index) => paddedRecord('minute', index, 40));
    const putAt = Date.now();
    await putRecords(engine.url, 'minute', records);
    // Watched all along, not looked at once: an early object at any moment fails the test.
    while (Date.now() - putAt < 55_000) {
      assert.deepEqual(listObjects(root), [], `nothing delivered ${Date.now() - putAt} ms after the put`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const lines = await waitForLines(root, (found) => found.length >= records.length, 70_000 - (Date.now() - putAt));
    assertExactlyOnce(lines, recordTexts(records));
    assert.equal(listObjects(root).length, 1, 'one object for one interval');
  });

  it('cuts objects of about SizeInMBs 1 when records come faster than the interval', async () => {
    await createDeliveryStream(
      engine.url,
      'sized',
      s3Destination('sized-bucket', { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 900 } }),
    );
    const root = path.join(dataDir, 's3', 'sized-bucket');
    const recordSize = 10_000;
    const records = Array.from({ length: Math.ceil((3.5 * MIB) / recordSize) }, (_, index) =>
      paddedRecord('sized', index, recordSize),
    );
    await putRecords(engine.url, 'sized', records);
    // Three full objects by size; the half MiB left waits for the 15-minute interval.
    await waitFor(() => listObjects(root).length >= 3, {
      timeoutMs: 20_000,
      message: () => `three 1 MiB objects; have ${listObjects(root).length}`,
    });
    const full = readObjects(root);
    assert.equal(full.length, 3, 'the rest waits for the interval');
    for (const { key, body } of full) {
      assert.ok(body.length <= MIB, `${key}: ${body.length} bytes, at most 1 MiB`);
      assert.ok(body.length >= 0.9 * MIB, `${key}: ${body.length} bytes, about 1 MiB`);
    }
    // A short interval delivers the rest.
    await updateBufferingHints(engine.url, 'sized', { SizeInMBs: 1, IntervalInSeconds: 1 });
    const lines = await waitForLines(root, (found) => found.length >= records.length);
    assertExactlyOnce(lines, recordTexts(records));
    const objects = readObjects(root);
    assert.equal(objects.length, 4);
    assert.ok(objects[3].body.length < 0.9 * MIB, 'the last object holds what was left');
  });
});
