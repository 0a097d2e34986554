/**
 * Delivery streams and acknowledged puts survive the engine process: a crash (SIGKILL) and a clean
 * stop, with statuses that carry on where they were (CREATING becomes ACTIVE, DELETING goes away).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { firehose, firehoseRequest } from '../support/firehose-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const S3_CONFIG = { RoleARN: 'arn:aws:iam::000000000000:role/firehose', BucketARN: 'arn:aws:s3:::logs-bucket' };
const STATUS_DELAY_MS = 1500;

let engine: EngineProcess | undefined;
after(async () => {
  await engine?.stop();
  await removeTempDirs();
});

const start = async (dataDir: string) =>
  (engine = await startEngineProcess({ dataDir, statusDelayMs: STATUS_DELAY_MS }));
const describeStream = async (url: string, name: string) =>
  (await firehose(url, 'DescribeDeliveryStream', { DeliveryStreamName: name })).DeliveryStreamDescription;
const waitForStatus = (url: string, name: string, status: string) =>
  waitFor(async () => (await describeStream(url, name)).DeliveryStreamStatus === status, {
    message: `${name} to be ${status}`,
  });

/** Read after the engine is gone, straight from its file: what the buffer holds for a stream. */
function bufferedData(dataDir: string, name: string): string[] {
  const db = new Database(join(dataDir, 'firehose.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT data FROM firehose_records WHERE stream = ? ORDER BY seq').all(name) as Array<{
      data: Buffer;
    }>;
    return rows.map((row) => row.data.toString());
  } finally {
    db.close();
  }
}

it('keeps delivery streams, versions, tags and acknowledged records across a crash and a restart', async () => {
  const dataDir = makeTempDir('shardtail-firehose-restart-');
  let { url } = await start(dataDir);
  await firehose(url, 'CreateDeliveryStream', {
    DeliveryStreamName: 'kept',
    ExtendedS3DestinationConfiguration: S3_CONFIG,
    Tags: [{ Key: 'team', Value: 'ops' }],
  });
  assert.equal((await describeStream(url, 'kept')).DeliveryStreamStatus, 'CREATING');
  await waitForStatus(url, 'kept', 'ACTIVE');
  await firehose(url, 'UpdateDestination', {
    DeliveryStreamName: 'kept',
    CurrentDeliveryStreamVersionId: '1',
    DestinationId: 'destinationId-000000000001',
    ExtendedS3DestinationUpdate: { Prefix: 'after-update/' },
  });
  const records = ['one', 'two', 'three'].map((text) => ({ Data: Buffer.from(text).toString('base64') }));
  const batch = await firehose(url, 'PutRecordBatch', { DeliveryStreamName: 'kept', Records: records });
  assert.equal(batch.FailedPutCount, 0);
  await firehose(url, 'CreateDeliveryStream', {
    DeliveryStreamName: 'young',
    ExtendedS3DestinationConfiguration: S3_CONFIG,
  });
  const before = await describeStream(url, 'kept');

  await engine!.kill();
  assert.deepEqual(bufferedData(dataDir, 'kept'), ['one', 'two', 'three']);
  ({ url } = await start(dataDir));
  const afterCrash = await describeStream(url, 'kept');
  assert.equal(afterCrash.DeliveryStreamStatus, 'ACTIVE');
  assert.equal(afterCrash.VersionId, '2');
  assert.equal(afterCrash.CreateTimestamp, before.CreateTimestamp);
  assert.equal(afterCrash.Destinations[0].ExtendedS3DestinationDescription.Prefix, 'after-update/');
  const tags = await firehose(url, 'ListTagsForDeliveryStream', { DeliveryStreamName: 'kept' });
  assert.deepEqual(tags.Tags, [{ Key: 'team', Value: 'ops' }]);
  // Created just before the crash: its CREATING runs out in the new process.
  await waitForStatus(url, 'young', 'ACTIVE');
  const put = await firehose(url, 'PutRecord', { DeliveryStreamName: 'kept', Record: { Data: 'Zm91cg==' } });
  assert.ok(!batch.RequestResponses.some((r: { RecordId: string }) => r.RecordId === put.RecordId));

  await firehose(url, 'DeleteDeliveryStream', { DeliveryStreamName: 'kept' });
  assert.equal((await describeStream(url, 'kept')).DeliveryStreamStatus, 'DELETING');
  await engine!.stop();
  // DELETING at the stop: it finishes in the next process, and the records go with the stream.
  ({ url } = await start(dataDir));
  await waitFor(
    async () => (await firehoseRequest(url, 'DescribeDeliveryStream', { DeliveryStreamName: 'kept' })).status === 400,
    { message: 'kept to be gone' },
  );
  const listed = await firehose(url, 'ListDeliveryStreams', {});
  assert.deepEqual(listed.DeliveryStreamNames, ['young']);
  await engine!.stop();
  engine = undefined;
  assert.deepEqual(bufferedData(dataDir, 'kept'), []);
});
