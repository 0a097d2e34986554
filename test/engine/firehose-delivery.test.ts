/**
 * Firehose delivery by the engine as a child process, into the directory standing in for a bucket:
 * the course's demo with the AWS CLI, and @aws-sdk/client-firehose putting many records, with
 * custom prefixes, the error output prefix and GZIP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CreateDeliveryStreamCommand, FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { assertAwsCliInstalled, awsRaw } from '../support/aws-cli.js';
import type { EngineProcess } from '../support/engine-process.js';
import {
  assertExactlyOnce,
  createDeliveryStream,
  errorDocumentsOf,
  lambdaProcessing,
  listObjects,
  numberedRecords,
  objectNamePattern,
  putRecords,
  rawDataOf,
  readObjects,
  recordTexts,
  ROLE,
  s3Destination,
  startFirehoseEngine,
  waitForLines,
} from '../support/firehose-delivery.js';
import { firehose, firehoseRequest } from '../support/firehose-http.js';
import { DUMMY_CREDENTIALS } from '../support/sdk.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

let engine: EngineProcess;
let dataDir: string;
let client: FirehoseClient;

before(async () => {
  dataDir = makeTempDir('shardtail-fh-delivery-');
  engine = await startFirehoseEngine(dataDir);
  client = new FirehoseClient({ region: 'us-east-1', endpoint: engine.url, credentials: DUMMY_CREDENTIALS });
});

after(async () => {
  client?.destroy();
  await engine?.stop();
  await removeTempDirs();
});

const bucketDir = (bucket: string) => path.join(dataDir, 's3', bucket);

/** 16 bytes: the index (4 bytes, big-endian) and 12 bytes of its hash, any byte value (newlines and NULs too). */
function binaryRecord(index: number): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(index);
  return Buffer.concat([head, createHash('sha256').update(String(index)).digest().subarray(0, 12)]);
}

describe('the course demo', () => {
  it('delivers `aws firehose put-record --record Data=100` through the course function as `100\\n`', async () => {
    assertAwsCliInstalled();
    await client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'demo-firehose',
        ExtendedS3DestinationConfiguration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::demo-bucket',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
          ProcessingConfiguration: lambdaProcessing('course-demo.js'),
        },
      }),
    );
    await createDeliveryStreamActive('demo-firehose');
    const put = await awsRaw(engine.url, [
      'firehose',
      'put-record',
      '--delivery-stream-name',
      'demo-firehose',
      '--cli-binary-format',
      'raw-in-base64-out',
      '--record',
      'Data=100',
    ]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.json.RecordId, /^[0-9a-f]+$/);
    await waitFor(() => listObjects(bucketDir('demo-bucket')).length > 0, {
      timeoutMs: 15_000,
      message: 'the demo object',
    });
    const objects = readObjects(bucketDir('demo-bucket'));
    assert.equal(objects.length, 1);
    assert.match(objects[0].key, objectNamePattern('demo-firehose'));
    assert.equal(objects[0].body.toString('utf8'), '100\n');
  });
});

async function createDeliveryStreamActive(name: string): Promise<void> {
  // Created by the SDK; only the wait for ACTIVE is shared.
  await waitFor(
    async () =>
      (await awsRaw(engine.url, ['firehose', 'describe-delivery-stream', '--delivery-stream-name', name])).json
        ?.DeliveryStreamDescription?.DeliveryStreamStatus === 'ACTIVE',
    { timeoutMs: 15_000, message: `${name} to become ACTIVE` },
  );
}

describe('@aws-sdk/client-firehose as the client', () => {
  it('delivers 10,000 binary records put with PutRecordBatch exactly once, in order within each object', async () => {
    await client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'many',
        ExtendedS3DestinationConfiguration: {
          RoleARN: ROLE,
          BucketARN: 'arn:aws:s3:::many-bucket',
          BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 },
        },
      }),
    );
    await createDeliveryStreamActive('many');
    const count = 10_000;
    for (let start = 0; start < count; start += 500) {
      const Records = Array.from({ length: 500 }, (_, offset) => ({ Data: binaryRecord(start + offset) }));
      const answer = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'many', Records }));
      assert.equal(answer.FailedPutCount, 0);
    }
    const root = bucketDir('many-bucket');
    let indexes: number[][] = [];
    await waitFor(
      () => {
        indexes = readObjects(root).map(({ key, body }) => {
          assert.match(key, objectNamePattern('many'));
          assert.equal(body.length % 16, 0, `${key} holds whole records`);
          const found: number[] = [];
          for (let offset = 0; offset < body.length; offset += 16) {
            const index = body.readUInt32BE(offset);
            assert.deepEqual(body.subarray(offset, offset + 16), binaryRecord(index), `record ${index} intact`);
            found.push(index);
          }
          return found;
        });
        return indexes.flat().length >= count;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: () => `${count} records; have ${indexes.flat().length}` },
    );
    for (const object of indexes) {
      assert.ok(
        object.every((index, position) => position === 0 || index > object[position - 1]),
        'in order within an object',
      );
    }
    assertExactlyOnce(
      indexes.flat().map(String),
      Array.from({ length: count }, (_, index) => String(index)),
    );
  });

  it('names objects by a custom Prefix, failed records by ErrorOutputPrefix with the error output type', async () => {
    await createDeliveryStream(
      engine.url,
      'prefixed',
      s3Destination('prefixed-bucket', {
        Prefix: 'custom/!{timestamp:yyyy}/!{firehose:random-string}/',
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
        ProcessingConfiguration: lambdaProcessing('fails-marked.js'),
      }),
    );
    const good = numberedRecords('good', 20);
    const bad = numberedRecords('bad', 5);
    await putRecords(engine.url, 'prefixed', [...good, ...bad]);
    const root = bucketDir('prefixed-bucket');
    await waitForLines(
      root,
      (lines) => lines.length >= good.length,
      15_000,
      (key) => key.startsWith('custom/'),
    );
    await waitFor(() => listObjects(root).some((key) => key.startsWith('errors/')), { message: 'the error object' });
    const year = new Date().getUTCFullYear();
    const suffix = '/prefixed-1-\\d{4}(-\\d{2}){5}-[0-9a-f-]{36}$';
    const keys = listObjects(root);
    for (const key of keys)
      assert.match(key, new RegExp(`^(custom/${year}/[a-z0-9]{11}|errors/processing-failed)${suffix}`));
    const errorObjects = readObjects(root, (key) => key.startsWith('errors/'));
    const documents = errorDocumentsOf(errorObjects.map(({ body }) => body));
    assert.deepEqual(rawDataOf(documents).sort(), recordTexts(bad).sort());
    for (const document of documents) assert.equal(document.errorCode, 'Lambda.ProcessingFailed');
    const delivered = readObjects(root, (key) => key.startsWith('custom/')).map(({ body }) => body.toString());
    assertExactlyOnce(delivered.join('').trim().split('\n'), recordTexts(good));
  });

  it('partitions by MetadataExtraction keys: objects per partition, partitionKeyFromQuery prefixes', async () => {
    await createDeliveryStream(
      engine.url,
      'partitioned',
      s3Destination('partitioned-bucket', {
        Prefix: 'customer=!{partitionKeyFromQuery:customer}/level=!{partitionKeyFromQuery:level}/',
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/',
        DynamicPartitioningConfiguration: { Enabled: true },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'MetadataExtraction',
              Parameters: [
                { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{customer:.customer.id,level:.level}' },
                { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
              ],
            },
            { Type: 'AppendDelimiterToRecord', Parameters: [] },
          ],
        },
      }),
    );
    const records = Array.from({ length: 30 }, (_, index) =>
      Buffer.from(JSON.stringify({ n: index, customer: { id: `c${index % 3}` }, level: index % 2 ? 'warn' : 'info' })),
    );
    const unkeyed = Buffer.from(JSON.stringify({ n: 99, level: 'info' }));
    await putRecords(engine.url, 'partitioned', [...records, unkeyed]);
    const root = bucketDir('partitioned-bucket');
    await waitForLines(
      root,
      (lines) => lines.length >= records.length,
      15_000,
      (key) => key.startsWith('customer='),
    );
    await waitFor(() => listObjects(root).some((key) => key.startsWith('errors/')), { message: 'the error object' });
    const objects = readObjects(root, (key) => key.startsWith('customer='));
    assert.equal(objects.length, 6, 'three customers × two levels');
    for (const { key, body } of objects) {
      const [, customer, level] = /^customer=(c\d)\/level=(info|warn)\//.exec(key) ?? [];
      assert.ok(customer && level, `key ${key} is under its partition`);
      for (const line of body.toString().trim().split('\n')) {
        const record = JSON.parse(line) as { customer: { id: string }; level: string };
        assert.deepEqual([record.customer.id, record.level], [customer, level], `${line} in ${key}`);
      }
    }
    const delivered = objects.flatMap(({ body }) => body.toString().trim().split('\n'));
    assertExactlyOnce(
      delivered,
      records.map((record) => record.toString()),
    );
    const documents = errorDocumentsOf(readObjects(root, (key) => key.startsWith('errors/')).map(({ body }) => body));
    assert.deepEqual(rawDataOf(documents), [unkeyed.toString()], 'a record without the key goes to the error output');
  });

  it('compresses objects with GZIP: names end in .gz and gunzip to the records', async () => {
    await createDeliveryStream(engine.url, 'zipped', s3Destination('zipped-bucket', { CompressionFormat: 'GZIP' }));
    const records = numberedRecords('zip', 300);
    await putRecords(engine.url, 'zipped', records);
    const root = bucketDir('zipped-bucket');
    let lines: string[] = [];
    await waitFor(
      () => {
        const objects = readObjects(root);
        for (const { key } of objects) assert.match(key, objectNamePattern('zipped', '.gz'));
        lines = objects.flatMap(({ body }) => gunzipSync(body).toString().trim().split('\n'));
        return lines.length >= records.length;
      },
      { timeoutMs: 15_000, intervalMs: 100, message: () => `300 gzipped records; have ${lines.length}` },
    );
    assertExactlyOnce(lines, recordTexts(records));
  });

  it('forgets the buffered records of a deleted stream: one made again under the name delivers its own', async () => {
    await createDeliveryStream(
      engine.url,
      'reborn',
      s3Destination('reborn-bucket', { BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 900 } }),
    );
    await putRecords(engine.url, 'reborn', numberedRecords('old', 20));
    await firehose(engine.url, 'DeleteDeliveryStream', { DeliveryStreamName: 'reborn' });
    await waitFor(
      async () =>
        (await firehoseRequest(engine.url, 'DescribeDeliveryStream', { DeliveryStreamName: 'reborn' })).status === 400,
      { message: 'the deleted stream to be gone' },
    );
    await createDeliveryStream(engine.url, 'reborn', s3Destination('reborn-bucket'));
    const records = numberedRecords('new', 20);
    await putRecords(engine.url, 'reborn', records);
    const lines = await waitForLines(bucketDir('reborn-bucket'), (found) => found.length >= records.length);
    assertExactlyOnce(lines, recordTexts(records));
  });
});
