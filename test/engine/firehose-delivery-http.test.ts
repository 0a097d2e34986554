/**
 * The HTTP endpoint destination of the engine (a child process) against a local endpoint: retried
 * until it answers, and once the retry duration is used up, the records in the S3 backup's error output.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EngineProcess } from '../support/engine-process.js';
import {
  assertExactlyOnce,
  createDeliveryStream,
  errorDocumentsOf,
  listObjects,
  numberedRecords,
  putRecords,
  rawDataOf,
  readObjects,
  recordTexts,
  ROLE,
  startFirehoseEngine,
} from '../support/firehose-delivery.js';
import {
  answerJson,
  firehoseRequest,
  startEndpoint,
  type ReceivedRequest,
  type RunningEndpoint,
} from '../support/http-endpoint-server.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

let engine: EngineProcess;
let dataDir: string;
const endpoints: RunningEndpoint[] = [];

before(async () => {
  dataDir = makeTempDir('shardtail-fh-http-');
  engine = await startFirehoseEngine(dataDir);
});

after(async () => {
  await engine?.stop();
  for (const endpoint of endpoints) await endpoint.close();
  await removeTempDirs();
});

async function endpointAnswering(status: (n: number) => number): Promise<RunningEndpoint> {
  const endpoint = await startEndpoint((request, n, response) => {
    const { requestId } = firehoseRequest(request);
    answerJson(response, status(n), { requestId, timestamp: Date.now(), errorMessage: `attempt ${n}` });
  });
  endpoints.push(endpoint);
  return endpoint;
}

function httpDestination(url: string, backupBucket: string, retrySeconds: number): Record<string, unknown> {
  return {
    HttpEndpointDestinationConfiguration: {
      EndpointConfiguration: { Url: url, Name: 'local' },
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
      RetryOptions: { DurationInSeconds: retrySeconds },
      S3BackupMode: 'FailedDataOnly',
      S3Configuration: { RoleARN: ROLE, BucketARN: `arn:aws:s3:::${backupBucket}` },
    },
  };
}

const dataOf = (request: ReceivedRequest) =>
  firehoseRequest(request).records.map((record) => Buffer.from(record.data, 'base64').toString().trimEnd());

describe('the HTTP endpoint destination', () => {
  it('retries an endpoint failing twice with the same requestId, then delivers everything once', async () => {
    const endpoint = await endpointAnswering((n) => (n <= 2 ? 500 : 200));
    await createDeliveryStream(engine.url, 'web', {}, httpDestination(`${endpoint.base}/ingest`, 'web-backup', 60));
    const records = numberedRecords('web', 40);
    await putRecords(engine.url, 'web', records);
    await waitFor(() => endpoint.received.length >= 3, { timeoutMs: 20_000, message: 'three attempts' });
    const requestIds = endpoint.received.slice(0, 3).map((request) => firehoseRequest(request).requestId);
    assert.equal(new Set(requestIds).size, 1, `one requestId for the retries of one request: ${requestIds}`);
    // What the endpoint accepted (the 3rd request on): every record once, nothing to the backup.
    const accepted = () => endpoint.received.slice(2).flatMap(dataOf);
    await waitFor(() => accepted().length >= records.length, { message: 'every record accepted' });
    assertExactlyOnce(accepted(), recordTexts(records));
    assert.deepEqual(dataOf(endpoint.received[0]), dataOf(endpoint.received[2]), 'the retry sends the same records');
    assert.deepEqual(listObjects(path.join(dataDir, 's3', 'web-backup')), []);
  });

  it('backs up the records of an endpoint that always fails as http-endpoint-failed after the retries', async () => {
    const endpoint = await endpointAnswering(() => 500);
    await createDeliveryStream(engine.url, 'down', {}, httpDestination(`${endpoint.base}/ingest`, 'down-backup', 3));
    const records = numberedRecords('down', 10);
    const putAt = Date.now();
    await putRecords(engine.url, 'down', records);
    const root = path.join(dataDir, 's3', 'down-backup');
    await waitFor(() => listObjects(root).length > 0, { timeoutMs: 20_000, message: 'the error output object' });
    const elapsedMs = Date.now() - putAt;
    assert.ok(elapsedMs >= 3_000, `the error output came after the 3 s retry duration, not ${elapsedMs} ms`);
    assert.ok(endpoint.received.length >= 2, `retried: ${endpoint.received.length} attempts`);
    const objects = readObjects(root);
    for (const { key } of objects) assert.match(key, /^http-endpoint-failed\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/down-1-/);
    const documents = errorDocumentsOf(objects.map(({ body }) => body));
    assertExactlyOnce(rawDataOf(documents), recordTexts(records));
    for (const document of documents) {
      assert.equal(document.errorCode, 'HttpEndpoint.DestinationException');
      assert.equal(document.attemptsMade, endpoint.received.length);
    }
  });

  it('keeps the requestId of a batch across a kill -9 during its retries, and delivers it once after', async () => {
    let failing = true;
    const endpoint = await endpointAnswering(() => (failing ? 503 : 200));
    const crashDir = makeTempDir('shardtail-fh-http-crash-');
    let crashing = await startFirehoseEngine(crashDir);
    try {
      const destination = httpDestination(`${endpoint.base}/ingest`, 'crash-backup', 300);
      await createDeliveryStream(crashing.url, 'crash', {}, destination);
      const records = numberedRecords('crash', 30);
      await putRecords(crashing.url, 'crash', records);
      await waitFor(() => endpoint.received.length >= 1, { timeoutMs: 10_000, message: 'a first, failed attempt' });
      await crashing.kill();
      const { requestId } = firehoseRequest(endpoint.received[0]);
      failing = false;
      const attemptsBefore = endpoint.received.length;

      crashing = await startFirehoseEngine(crashDir);
      await waitFor(() => endpoint.received.length > attemptsBefore, { timeoutMs: 20_000, message: 'the retry' });
      const accepted = endpoint.received.slice(attemptsBefore);
      assert.deepEqual(
        accepted.map((request) => firehoseRequest(request).requestId),
        [requestId],
      );
      assertExactlyOnce(accepted.flatMap(dataOf), recordTexts(records));
    } finally {
      await crashing.stop();
    }
  });

  it('stops at once (SIGTERM) while an endpoint never answers; after restart, the same requestId, once', async () => {
    let answering = false;
    const endpoint = await startEndpoint((request, n, response) => {
      // Until told otherwise, a request is never answered.
      if (answering)
        answerJson(response, 200, { requestId: firehoseRequest(request).requestId, timestamp: Date.now() });
    });
    endpoints.push(endpoint);
    const stopDir = makeTempDir('shardtail-fh-http-stop-');
    let stopping = await startFirehoseEngine(stopDir);
    try {
      await createDeliveryStream(
        stopping.url,
        'silent',
        {},
        httpDestination(`${endpoint.base}/in`, 'silent-backup', 60),
      );
      const records = numberedRecords('silent', 20);
      await putRecords(stopping.url, 'silent', records);
      await waitFor(() => endpoint.received.length >= 1, { timeoutMs: 10_000, message: 'a request in flight' });
      const stoppedAt = Date.now();
      const stopped = await stopping.stop();
      assert.deepEqual([stopped.code, stopped.forced], [0, false], stopping.output.join('\n'));
      assert.ok(Date.now() - stoppedAt < 5_000, `stopped in ${Date.now() - stoppedAt} ms`);
      const { requestId } = firehoseRequest(endpoint.received[0]);
      answering = true;
      const before = endpoint.received.length;

      stopping = await startFirehoseEngine(stopDir);
      await waitFor(() => endpoint.received.length > before, { timeoutMs: 20_000, message: 'the request sent again' });
      const sentAgain = endpoint.received[before];
      assert.equal(firehoseRequest(sentAgain).requestId, requestId);
      assertExactlyOnce(dataOf(sentAgain), recordTexts(records));
      assert.deepEqual(listObjects(path.join(stopDir, 's3', 'silent-backup')), []);
    } finally {
      await stopping.stop();
    }
  });

  it('keeps the records of a given-up request for the backup until the backup is written', async () => {
    const endpoint = await endpointAnswering(() => 500);
    // The backup folder cannot be made at first: a file stands where its parent should be.
    const blocker = path.join(makeTempDir('shardtail-fh-http-blocked-'), 'blocker');
    writeFileSync(blocker, 'not a folder');
    const destination = httpDestination(`${endpoint.base}/ingest`, 'blocked-backup', 1);
    const config = destination.HttpEndpointDestinationConfiguration as Record<string, any>;
    config.S3Configuration.ShardtailDirectory = path.join(blocker, 'backup');
    await createDeliveryStream(engine.url, 'blocked', {}, destination);
    const records = numberedRecords('blocked', 10);
    await putRecords(engine.url, 'blocked', records);
    await waitFor(
      () =>
        engine.logs.some(
          (entry) => entry.msg === 'delivery failed; trying again' && entry.deliveryStream === 'blocked',
        ),
      { timeoutMs: 15_000, message: 'a failed write of the backup' },
    );
    rmSync(blocker);
    mkdirSync(blocker);
    const root = path.join(blocker, 'backup');
    await waitFor(() => listObjects(root).length > 0, {
      timeoutMs: 15_000,
      message: 'the error output, once writable',
    });
    const documents = errorDocumentsOf(readObjects(root).map(({ body }) => body));
    assertExactlyOnce(rawDataOf(documents), recordTexts(records));
    assert.equal(documents[0].errorCode, 'HttpEndpoint.DestinationException');
  });
});
