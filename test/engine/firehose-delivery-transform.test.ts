/**
 * Transforms that misbehave, run by the engine (a child process): what lands in the objects and in
 * the processing-failed error output is what Firehose would write, and the engine's Kinesis keeps
 * answering meanwhile.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EngineProcess } from '../support/engine-process.js';
import {
  assertExactlyOnce,
  createDeliveryStream,
  errorDocumentsOf,
  lambdaProcessing,
  listObjects,
  numberedRecords,
  putRecords,
  rawDataOf,
  readObjects,
  recordTexts,
  s3Destination,
  startFirehoseEngine,
  waitForLines,
} from '../support/firehose-delivery.js';
import { kinesis, readShardFromStart } from '../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

let engine: EngineProcess;
let dataDir: string;

before(async () => {
  dataDir = makeTempDir('shardtail-fh-transform-');
  engine = await startFirehoseEngine(dataDir);
});

after(async () => {
  await engine?.stop();
  await removeTempDirs();
});

const TRIES = { NumberOfRetries: '1', ShardtailFunctionTimeoutSeconds: '1' };

/** A stream through `fixture`, with the records put; returns its bucket's folder. */
async function streamThrough(name: string, fixture: string, records: Buffer[]): Promise<string> {
  await createDeliveryStream(
    engine.url,
    name,
    s3Destination(`${name}-bucket`, { ProcessingConfiguration: lambdaProcessing(fixture, TRIES) }),
  );
  await putRecords(engine.url, name, records);
  return path.join(dataDir, 's3', `${name}-bucket`);
}

/** The processing-failed documents of `root`, once there are `count` of them. */
async function errorDocuments(root: string, count: number, timeoutMs = 20_000) {
  let documents: Array<Record<string, any>> = [];
  await waitFor(
    () => {
      documents = errorDocumentsOf(
        readObjects(root, (key) => key.startsWith('processing-failed/')).map(({ body }) => body),
      );
      return documents.length >= count;
    },
    { timeoutMs, intervalMs: 100, message: () => `${count} error documents in ${root}; have ${documents.length}` },
  );
  return documents;
}

function assertFailedDocuments(documents: Array<Record<string, any>>, records: Buffer[], errorCode: string): void {
  assertExactlyOnce(rawDataOf(documents), recordTexts(records));
  for (const document of documents) {
    assert.equal(document.errorCode, errorCode, JSON.stringify(document));
    assert.equal(document.attemptsMade, 2, 'the first invocation and NumberOfRetries 1');
    assert.match(document.lambdaArn, /^arn:aws:lambda:us-east-1:\d{12}:function:/);
    assert.equal(typeof document.arrivalTimestamp, 'number');
  }
}

describe('transforms that misbehave', () => {
  it('a function that throws: after the retry, every record in processing-failed/, as it was put', async () => {
    const records = numberedRecords('throws', 30);
    const root = await streamThrough('throws', 'throws.js', records);
    assertFailedDocuments(await errorDocuments(root, records.length), records, 'Lambda.FunctionError');
    assert.deepEqual(
      listObjects(root).filter((key) => !key.startsWith('processing-failed/')),
      [],
    );
  });

  it('a function that never answers: the same after two timeouts, while Kinesis keeps serving', async () => {
    await kinesis(engine.url, 'CreateStream', { StreamName: 'alongside', ShardCount: 1 });
    await waitFor(
      async () =>
        (await kinesis(engine.url, 'DescribeStreamSummary', { StreamName: 'alongside' })).StreamDescriptionSummary
          .StreamStatus === 'ACTIVE',
      { message: 'the Kinesis stream to become ACTIVE' },
    );
    const records = numberedRecords('hangs', 10);
    const startedAt = Date.now();
    const root = await streamThrough('hangs', 'never-answers.js', records);
    await waitFor(() => engine.logs.some((entry) => entry.function === 'never-answers' && entry.msg === 'invoked'), {
      timeoutMs: 10_000,
      message: 'the function to be invoked',
    });
    // During the hanging invocations (2 × 1 s), Kinesis answers at once.
    const putAt = Date.now();
    const put = await kinesis(engine.url, 'PutRecord', {
      StreamName: 'alongside',
      PartitionKey: 'k',
      Data: Buffer.from('still here').toString('base64'),
    });
    const read = await readShardFromStart(engine.url, 'alongside', put.ShardId);
    assert.ok(Date.now() - putAt < 1_000, `Kinesis answered in ${Date.now() - putAt} ms`);
    assert.deepEqual(
      read.map((record) => Buffer.from(record.Data, 'base64').toString()),
      ['still here'],
    );
    assert.deepEqual(listObjects(root), [], 'the Kinesis calls came while the transform was still failing');
    const documents = await errorDocuments(root, records.length);
    assertFailedDocuments(documents, records, 'Lambda.Timeout');
    assert.ok(Date.now() - startedAt >= 2_000, 'two invocations of 1 s each timed out first');
  });

  it('Dropped for half the records: only the other half delivered, nothing in the error output', async () => {
    const records = numberedRecords('drops', 40);
    const root = await streamThrough('drops', 'drops-half.js', records);
    const lines = await waitForLines(root, (found) => found.length >= 20);
    // Kept: the 1st, 3rd, … of each invocation; one invocation here, so the even indexes.
    assertExactlyOnce(lines, recordTexts(records.filter((_, index) => index % 2 === 0)));
    assert.deepEqual(
      listObjects(root).filter((key) => key.startsWith('processing-failed/')),
      [],
    );
  });

  it('ProcessingFailed for every record: every record in the error output, none delivered', async () => {
    const records = numberedRecords('failed', 25);
    const root = await streamThrough('failed', 'processing-failed.js', records);
    const documents = await errorDocuments(root, records.length);
    assertExactlyOnce(rawDataOf(documents), recordTexts(records));
    for (const document of documents) {
      assert.equal(document.errorCode, 'Lambda.ProcessingFailed');
      assert.equal(document.attemptsMade, 1, 'an answer is final: no retry');
    }
    assert.deepEqual(
      listObjects(root).filter((key) => !key.startsWith('processing-failed/')),
      [],
    );
  });
});
