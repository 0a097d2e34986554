/**
 * kill -9 of the engine (a child process) while Firehose delivery is under way: with records in the
 * buffer, during a transform, during an S3 upload. After the restart every record is delivered
 * exactly once: not lost, and not doubled under a second object name.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { EngineProcess } from '../support/engine-process.js';
import {
  assertExactlyOnce,
  createDeliveryStream,
  lambdaProcessing,
  listObjects,
  numberedRecords,
  putRecords,
  recordTexts,
  s3Destination,
  S3RVER_ENGINE_ENV,
  startFirehoseEngine,
  updateBufferingHints,
  waitForLines,
} from '../support/firehose-delivery.js';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy.js';
import { startS3rver, type RunningS3 } from '../support/s3-server.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

let engine: EngineProcess | undefined;
let s3: RunningS3 | undefined;
let proxy: HoldingProxy | undefined;

afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

after(async () => {
  await proxy?.close();
  await s3?.close();
  await removeTempDirs();
});

async function killed(running: EngineProcess): Promise<void> {
  const exit = await running.kill();
  assert.equal(exit.signal, 'SIGKILL');
}

/** An engine delivering `count` records of stream `name` through slow-echo.js, once the function is invoked. */
async function transformUnderWay(dataDir: string, name: string, count: number) {
  const running = (engine = await startFirehoseEngine(dataDir));
  await createDeliveryStream(
    running.url,
    name,
    s3Destination(`${name}-bucket`, { ProcessingConfiguration: lambdaProcessing('slow-echo.js') }),
  );
  const records = numberedRecords(name, count);
  await putRecords(running.url, name, records);
  await waitFor(() => running.logs.some((entry) => entry.function === 'slow-echo' && entry.msg === 'invoked'), {
    timeoutMs: 10_000,
    message: 'the transform to be under way',
  });
  return { running, records };
}

describe('kill -9 of the engine during delivery', () => {
  it('with records in the buffer: after the restart, every record once', async () => {
    const dataDir = makeTempDir('shardtail-fh-crash-buffer-');
    engine = await startFirehoseEngine(dataDir);
    await createDeliveryStream(
      engine.url,
      'buffered',
      s3Destination('buffered-bucket', { BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 900 } }),
    );
    const records = numberedRecords('buffered', 500);
    await putRecords(engine.url, 'buffered', records);
    await killed(engine);
    const root = path.join(dataDir, 's3', 'buffered-bucket');
    assert.deepEqual(listObjects(root), [], 'nothing delivered before the kill');

    engine = await startFirehoseEngine(dataDir);
    await updateBufferingHints(engine.url, 'buffered', { SizeInMBs: 5, IntervalInSeconds: 1 });
    const more = numberedRecords('buffered', 10, 500);
    await putRecords(engine.url, 'buffered', more);
    const lines = await waitForLines(root, (found) => found.length >= records.length + more.length);
    assertExactlyOnce(lines, recordTexts([...records, ...more]));
  });

  it('while batches are delivered one after another (interval 0): after the restart, every record once', async () => {
    const dataDir = makeTempDir('shardtail-fh-crash-flow-');
    engine = await startFirehoseEngine(dataDir);
    await createDeliveryStream(
      engine.url,
      'flowing',
      s3Destination('flowing-bucket', { BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } }),
    );
    const root = path.join(dataDir, 's3', 'flowing-bucket');
    const records = numberedRecords('flowing', 20_000);
    await putRecords(engine.url, 'flowing', records.slice(0, 10_000));
    await waitFor(() => listObjects(root).length > 0, { timeoutMs: 10_000, message: 'a first object' });
    void putRecords(engine.url, 'flowing', records.slice(10_000)).catch(() => undefined);
    await killed(engine);

    engine = await startFirehoseEngine(dataDir);
    // Batches go out in order: once a record put after the restart is there, so is everything before it.
    const marker = numberedRecords('after-restart', 1);
    await putRecords(engine.url, 'flowing', marker);
    const lines = await waitForLines(root, (found) => found.includes(recordTexts(marker)[0]));
    const delivered = new Set(lines);
    // Whatever part of the second half the kill let in is delivered too, once; the first half, all of it.
    const expected = [
      ...recordTexts(records).filter((record, index) => index < 10_000 || delivered.has(record)),
      ...recordTexts(marker),
    ];
    assertExactlyOnce(lines, expected);
  });

  it('in the middle of a transform: after the restart, every record once', async () => {
    const dataDir = makeTempDir('shardtail-fh-crash-transform-');
    const { running, records } = await transformUnderWay(dataDir, 'transformed', 200);
    await killed(running);
    const root = path.join(dataDir, 's3', 'transformed-bucket');
    assert.deepEqual(listObjects(root), [], 'killed before the transform answered');

    engine = await startFirehoseEngine(dataDir);
    const lines = await waitForLines(root, (found) => found.length >= records.length);
    assertExactlyOnce(lines, recordTexts(records));
    assert.equal(listObjects(root).length, 1, 'the batch delivered as one object');
  });

  it('stopped (SIGTERM) during a transform: nothing in the error output, the batch once after restart', async () => {
    const dataDir = makeTempDir('shardtail-fh-stop-transform-');
    const { running, records } = await transformUnderWay(dataDir, 'stopping', 50);
    const stopped = await running.stop();
    assert.deepEqual([stopped.code, stopped.forced], [0, false], running.output.join('\n'));
    const root = path.join(dataDir, 's3', 'stopping-bucket');
    assert.deepEqual(listObjects(root), [], 'a transform cut short by the stop fails no record');

    engine = await startFirehoseEngine(dataDir);
    const lines = await waitForLines(root, (found) => found.length >= records.length);
    assertExactlyOnce(lines, recordTexts(records));
    assert.deepEqual(
      listObjects(root).filter((key) => key.startsWith('processing-failed/')),
      [],
    );
  });

  it('in the middle of an S3 upload that still lands: after the restart, overwritten, not doubled', async () => {
    s3 = await startS3rver();
    await s3.client.send(new CreateBucketCommand({ Bucket: 'uploads' }));
    proxy = await startHoldingProxy(s3.endpoint);
    const dataDir = makeTempDir('shardtail-fh-crash-upload-');
    engine = await startFirehoseEngine(dataDir, { env: S3RVER_ENGINE_ENV });
    await createDeliveryStream(
      engine.url,
      'uploads',
      s3Destination('uploads', { ShardtailS3Endpoint: proxy.endpoint }),
    );
    const records = numberedRecords('upload', 300);
    proxy.holdPuts(true);
    await putRecords(engine.url, 'uploads', records);
    const holding = proxy;
    await waitFor(() => holding.held > 0, { timeoutMs: 10_000, message: 'a PUT to be held' });
    await killed(engine);
    // The upload lands after the engine died, which never learned that it did.
    await proxy.release();
    assert.equal(proxy.putsAnswered, 1);

    engine = await startFirehoseEngine(dataDir, { env: S3RVER_ENGINE_ENV });
    // The batch is delivered again by the new engine: wait for its PUT, then read the bucket.
    await waitFor(() => holding.putsAnswered >= 2, { timeoutMs: 20_000, message: 'the redelivery after the restart' });
    const client = s3.client;
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'uploads' }));
    const bodies = await Promise.all(
      (listed.Contents ?? []).map(async ({ Key }) => {
        const object = await client.send(new GetObjectCommand({ Bucket: 'uploads', Key }));
        return object.Body!.transformToString();
      }),
    );
    const lines = bodies.flatMap((body) => body.split('\n').filter((line) => line.length > 0));
    assertExactlyOnce(lines, recordTexts(records));
  });
});
