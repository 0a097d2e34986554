/**
 * The Firehose API of the engine as a child process, driven by real clients: the AWS CLI v2
 * (/usr/bin/aws) and @aws-sdk/client-firehose, on the port that also serves Kinesis.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  InvalidArgumentException,
  PutRecordBatchCommand,
  PutRecordCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-firehose';
import { assertAwsCliInstalled, awsRaw, type AwsCliResult } from '../support/aws-cli.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { firehoseRequest } from '../support/firehose-http.js';
import { assertAwsError, kinesis } from '../support/kinesis-http.js';
import { DUMMY_CREDENTIALS, expectSdkError } from '../support/sdk.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

const ACCOUNT = '000000000000';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/firehose`;
const S3_CONFIG = { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::logs-bucket' };

async function awsFirehose(endpoint: string, ...args: string[]): Promise<any> {
  const result = await awsRaw(endpoint, ['firehose', ...args]);
  assert.equal(
    result.code,
    0,
    `aws ${result.argv.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
  );
  return result.json ?? {};
}

async function awsFirehoseFails(endpoint: string, ...args: string[]): Promise<AwsCliResult> {
  const result = await awsRaw(endpoint, ['firehose', ...args]);
  assert.notEqual(result.code, 0, `aws ${result.argv.join(' ')} should fail:\n${result.stdout}`);
  return result;
}

function firehoseClient(endpoint: string): FirehoseClient {
  return new FirehoseClient({ region: 'us-east-1', endpoint, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
}

let engine: EngineProcess;
let dataDir: string;

before(async () => {
  assertAwsCliInstalled();
  dataDir = makeTempDir('shardtail-firehose-api-');
  engine = await startEngineProcess({ dataDir });
});

after(async () => {
  await engine?.stop();
  await removeTempDirs();
});

describe('the AWS CLI v2', () => {
  it('creates, puts to, describes, lists and deletes a delivery stream', async () => {
    const s3 = JSON.stringify({
      ...S3_CONFIG,
      Prefix: 'cli/',
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
    });
    const created = await awsFirehose(
      engine.url,
      'create-delivery-stream',
      '--delivery-stream-name',
      'cli-logs',
      '--extended-s3-destination-configuration',
      s3,
    );
    assert.equal(created.DeliveryStreamARN, `arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/cli-logs`);
    const put = await awsFirehose(
      engine.url,
      'put-record',
      '--delivery-stream-name',
      'cli-logs',
      '--cli-binary-format',
      'raw-in-base64-out',
      '--record',
      'Data=100',
    );
    assert.match(put.RecordId, /^\S+$/);
    assert.equal(put.Encrypted, false);
    const { DeliveryStreamDescription: d } = await awsFirehose(
      engine.url,
      'describe-delivery-stream',
      '--delivery-stream-name',
      'cli-logs',
    );
    assert.equal(d.DeliveryStreamStatus, 'ACTIVE');
    assert.equal(d.VersionId, '1');
    assert.equal(d.Destinations[0].DestinationId, 'destinationId-000000000001');
    assert.equal(d.Destinations[0].ExtendedS3DestinationDescription.Prefix, 'cli/');
    assert.deepEqual(d.Destinations[0].ExtendedS3DestinationDescription.BufferingHints, {
      SizeInMBs: 1,
      IntervalInSeconds: 60,
    });
    const listed = await awsFirehose(engine.url, 'list-delivery-streams');
    assert.ok(listed.DeliveryStreamNames.includes('cli-logs'), JSON.stringify(listed));
    await awsFirehose(engine.url, 'delete-delivery-stream', '--delivery-stream-name', 'cli-logs');
    const gone = await awsFirehoseFails(engine.url, 'describe-delivery-stream', '--delivery-stream-name', 'cli-logs');
    assert.match(
      gone.stderr,
      /\(ResourceNotFoundException\).*Firehose cli-logs under account 000000000000 not found\./,
    );
  });

  it('refuses our ShardtailDirectory member itself, but passes a ShardtailFunctionFile parameter', async () => {
    const refused = await awsFirehoseFails(
      engine.url,
      'create-delivery-stream',
      '--delivery-stream-name',
      'cli-dir',
      '--extended-s3-destination-configuration',
      JSON.stringify({ ...S3_CONFIG, ShardtailDirectory: dataDir }),
    );
    assert.equal(refused.code, 252, refused.stderr);
    assert.match(refused.stderr, /Unknown parameter in ExtendedS3DestinationConfiguration: "ShardtailDirectory"/);

    const file = join(dataDir, 'upper.mjs');
    writeFileSync(file, 'export const handler = async (event) => ({ records: [] });\n');
    const processing = {
      Enabled: true,
      Processors: [
        {
          Type: 'Lambda',
          Parameters: [
            { ParameterName: 'LambdaArn', ParameterValue: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:upper` },
            { ParameterName: 'ShardtailFunctionFile', ParameterValue: file },
          ],
        },
      ],
    };
    await awsFirehose(
      engine.url,
      'create-delivery-stream',
      '--delivery-stream-name',
      'cli-fn',
      '--extended-s3-destination-configuration',
      JSON.stringify({ ...S3_CONFIG, ProcessingConfiguration: processing }),
    );
    const { DeliveryStreamDescription: d } = await awsFirehose(
      engine.url,
      'describe-delivery-stream',
      '--delivery-stream-name',
      'cli-fn',
    );
    assert.deepEqual(d.Destinations[0].ExtendedS3DestinationDescription.ProcessingConfiguration, processing);
  });
});

describe('@aws-sdk/client-firehose', () => {
  it('PutRecordBatch of 500 binary records: no failures, 500 distinct RecordIds', async () => {
    const client = firehoseClient(engine.url);
    await client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'sdk-batch',
        ExtendedS3DestinationConfiguration: S3_CONFIG,
      }),
    );
    const records = Array.from({ length: 500 }, () => ({ Data: randomBytes(1000) }));
    const answer = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'sdk-batch', Records: records }));
    assert.equal(answer.FailedPutCount, 0);
    assert.equal(answer.RequestResponses?.length, 500);
    assert.equal(new Set(answer.RequestResponses?.map((r) => r.RecordId)).size, 500);
    assert.ok(answer.RequestResponses?.every((r) => r.RecordId && !r.ErrorCode));
    client.destroy();
  });

  it('refuses an oversized record, an oversized batch, and an unknown stream with the right error names', async () => {
    const client = firehoseClient(engine.url);
    await client.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'sdk-limits',
        ExtendedS3DestinationConfiguration: S3_CONFIG,
      }),
    );
    const tooBig = await expectSdkError(
      client.send(
        new PutRecordCommand({ DeliveryStreamName: 'sdk-limits', Record: { Data: Buffer.alloc(1_024_001) } }),
      ),
      Error,
    );
    assert.equal(tooBig.name, 'ValidationException', tooBig.message);
    const full = { Data: Buffer.alloc(1_024_000, 7) };
    const batch = await expectSdkError(
      client.send(
        new PutRecordBatchCommand({ DeliveryStreamName: 'sdk-limits', Records: [full, full, full, full, full] }),
      ),
      InvalidArgumentException,
    );
    assert.equal(batch.message, 'Records size exceeds 4 MB limit');
    await expectSdkError(
      client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'sdk-missing' })),
      ResourceNotFoundException,
    );
    client.destroy();
  });

  it('a KinesisStreamAsSource stream reads a stream of the same engine and refuses direct puts', async () => {
    await kinesis(engine.url, 'CreateStream', { StreamName: 'fh-source', ShardCount: 1 });
    const client = firehoseClient(engine.url);
    const source = (streamName: string) =>
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: `from-${streamName}`,
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: {
          KinesisStreamARN: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${streamName}`,
          RoleARN: ROLE,
        },
        ExtendedS3DestinationConfiguration: S3_CONFIG,
      });
    await expectSdkError(client.send(source('no-such-stream')), InvalidArgumentException);
    await client.send(source('fh-source'));
    const refused = await expectSdkError(
      client.send(new PutRecordCommand({ DeliveryStreamName: 'from-fh-source', Record: { Data: Buffer.from('x') } })),
      InvalidArgumentException,
    );
    assert.equal(refused.message, 'This operation is not permitted on KinesisStreamAsSource delivery stream type.');
    client.destroy();
  });
});

describe('the shared port', () => {
  it('still serves Kinesis, and answers Firehose errors in the AWS shape', async () => {
    await kinesis(engine.url, 'CreateStream', { StreamName: 'still-kinesis', ShardCount: 1 });
    const put = await kinesis(engine.url, 'PutRecord', {
      StreamName: 'still-kinesis',
      PartitionKey: 'k',
      Data: 'eA==',
    });
    assert.match(put.SequenceNumber, /^\d+$/);
    const response = await firehoseRequest(engine.url, 'DescribeDeliveryStream', { DeliveryStreamName: 'nope' });
    assertAwsError(response, {
      type: 'ResourceNotFoundException',
      message: `Firehose nope under account ${ACCOUNT} not found.`,
    });
    const bad = await firehoseRequest(engine.url, 'PutRecord', { DeliveryStreamName: ['x'] });
    assertAwsError(bad, { type: 'SerializationException' });
  });
});
