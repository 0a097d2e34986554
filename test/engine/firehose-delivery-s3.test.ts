/**
 * Delivery to a real S3-compatible store (s3rver) by the engine as a child process, credentials
 * from the engine's environment: what lands is read back with @aws-sdk/client-s3.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { EngineProcess } from '../support/engine-process.js';
import {
  assertExactlyOnce,
  createDeliveryStream,
  numberedRecords,
  objectNamePattern,
  putRecords,
  recordTexts,
  S3RVER_ENGINE_ENV,
  s3Destination,
  startFirehoseEngine,
} from '../support/firehose-delivery.js';
import { startS3rver, type RunningS3 } from '../support/s3-server.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

let s3: RunningS3;
let engine: EngineProcess;

before(async () => {
  s3 = await startS3rver();
  engine = await startFirehoseEngine(makeTempDir('shardtail-fh-s3-'), { env: S3RVER_ENGINE_ENV });
});

after(async () => {
  await engine?.stop();
  await s3?.close();
  await removeTempDirs();
});

/** Every object of the bucket, in key order, with its content. */
async function bucketObjects(bucket: string): Promise<Array<{ key: string; body: string }>> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const objects = [];
  for (const { Key } of listed.Contents ?? []) {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key }));
    objects.push({ key: Key!, body: await object.Body!.transformToString() });
  }
  return objects;
}

async function waitForRecords(bucket: string, count: number, timeoutMs = 20_000) {
  let lines: string[] = [];
  let objects: Array<{ key: string; body: string }> = [];
  await waitFor(
    async () => {
      objects = await bucketObjects(bucket).catch(() => []);
      lines = objects.flatMap(({ body }) => body.split('\n').filter((line) => line.length > 0));
      return lines.length >= count;
    },
    { timeoutMs, intervalMs: 250, message: () => `${count} records in s3://${bucket}; have ${lines.length}` },
  );
  return { lines, objects };
}

describe('the S3 destination against s3rver', () => {
  it('delivers into an existing bucket through ShardtailS3Endpoint, under Firehose key names', async () => {
    await s3.client.send(new CreateBucketCommand({ Bucket: 'landing' }));
    await createDeliveryStream(engine.url, 'to-s3', s3Destination('landing', { ShardtailS3Endpoint: s3.endpoint }));
    const records = numberedRecords('s3', 200);
    await putRecords(engine.url, 'to-s3', records);
    const { lines, objects } = await waitForRecords('landing', records.length);
    for (const { key } of objects) assert.match(key, objectNamePattern('to-s3'));
    assertExactlyOnce(lines, recordTexts(records));
  });

  it('keeps records buffered while the bucket is missing and delivers them once when it appears', async () => {
    await createDeliveryStream(
      engine.url,
      'later',
      s3Destination('later-bucket', { ShardtailS3Endpoint: s3.endpoint }),
    );
    const records = numberedRecords('later', 100);
    await putRecords(engine.url, 'later', records);
    await waitFor(
      () =>
        engine.logs.some((entry) => entry.msg === 'delivery failed; trying again' && entry.deliveryStream === 'later'),
      { timeoutMs: 15_000, message: 'a failed attempt at the missing bucket' },
    );
    await s3.client.send(new CreateBucketCommand({ Bucket: 'later-bucket' }));
    const more = numberedRecords('later', 50, 100);
    await putRecords(engine.url, 'later', more);
    const expected = recordTexts([...records, ...more]);
    const { lines } = await waitForRecords('later-bucket', expected.length, 40_000);
    assertExactlyOnce(lines, expected);
  });
});
