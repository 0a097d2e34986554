import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { openSink, SinkError, type ObjectSink } from '../../src/engine/firehose/delivery/object-sink.js';
import { cleanEnv } from '../support/cli-process.js';
import { REPO_ROOT } from '../support/engine-process.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3 } from '../support/s3-server.js';
import { removeTempDirs } from '../support/tmp.js';

const S3RVER_ENV = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
};

describe('the S3 sink against s3rver', () => {
  let s3: RunningS3;
  let sink: ObjectSink;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

  before(async () => {
    s3 = await startS3rver();
    await s3.client.send(new CreateBucketCommand({ Bucket: 'delivered' }));
    // The sink takes its credentials from the default chain, as the engine does: here, the environment.
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    sink = await openSink(
      { kind: 's3', endpoint: s3.endpoint, bucket: 'delivered', region: 'us-east-1' },
      { multipartThresholdBytes: 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 },
    );
  });
  after(async () => {
    await sink?.close();
    await s3?.close();
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await removeTempDirs();
  });

  async function read(key: string): Promise<Buffer> {
    const object = await s3.client.send(new GetObjectCommand({ Bucket: 'delivered', Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  it('puts small objects with PutObject and multipart ones above the threshold, byte for byte', async () => {
    const small = Buffer.from('{"ticker_symbol":"QXZ"}\n'.repeat(10));
    // 5 MiB parts: 5 + 5 + 2 MiB, the last one short, binary content.
    const large = randomBytes(12 * 1024 * 1024);
    const smallKey = '2024/05/06/07/logs-1-2024-05-06-07-08-09-1b4e28ba-2fa1-41d2-883f-0016d3cca427';
    const largeKey = '2024/05/06/07/logs-1-2024-05-06-07-08-10-2b4e28ba-2fa1-41d2-883f-0016d3cca427.gz';
    const before = s3.requests.length;
    await sink.put(smallKey, small);
    await sink.put(largeKey, large);
    const calls = s3.requests.slice(before).map((call) => call.replace(/uploadId=[^&]+/, 'uploadId=U'));
    assert.deepEqual(calls, [
      `PUT /delivered/${smallKey}?x-id=PutObject`,
      `POST /delivered/${largeKey}?uploads=`,
      `PUT /delivered/${largeKey}?partNumber=1&uploadId=U&x-id=UploadPart`,
      `PUT /delivered/${largeKey}?partNumber=2&uploadId=U&x-id=UploadPart`,
      `PUT /delivered/${largeKey}?partNumber=3&uploadId=U&x-id=UploadPart`,
      `POST /delivered/${largeKey}?uploadId=U`,
    ]);
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'delivered' }));
    assert.deepEqual(
      (listed.Contents ?? []).map(({ Key, Size }) => ({ Key, Size })),
      [
        { Key: smallKey, Size: small.length },
        { Key: largeKey, Size: large.length },
      ],
    );
    assert.deepEqual(await read(smallKey), small);
    assert.ok((await read(largeKey)).equals(large), 'the multipart object reads back as the bytes put');
  });

  it('replaces an object put again under the same key', async () => {
    await sink.put('again', Buffer.from('first'));
    await sink.put('again', Buffer.from('second'));
    assert.equal((await read('again')).toString(), 'second');
  });

  it('fails a put to a missing bucket, naming the bucket, key and endpoint, as not retryable', async () => {
    const missing = await openSink({
      kind: 's3',
      endpoint: s3.endpoint,
      bucket: 'no-such-bucket',
      region: 'us-east-1',
    });
    try {
      await assert.rejects(missing.put('k/1', Buffer.from('x')), (error: unknown) => {
        assert.ok(error instanceof SinkError, String(error));
        assert.equal(error.code, 'NoSuchBucket');
        assert.equal(error.retryable, false);
        assert.match(error.message, /s3:\/\/no-such-bucket\/k\/1/);
        assert.ok(error.message.includes(s3.endpoint), error.message);
        return true;
      });
    } finally {
      await missing.close();
    }
  });

  it('fails a multipart put to a missing bucket the same way', async () => {
    const missing = await openSink(
      { kind: 's3', endpoint: s3.endpoint, bucket: 'no-such-bucket', region: 'us-east-1' },
      { multipartThresholdBytes: 10 },
    );
    try {
      await assert.rejects(
        missing.put('k/2', Buffer.alloc(100)),
        /CreateMultipartUpload of s3:\/\/no-such-bucket\/k\/2/,
      );
    } finally {
      await missing.close();
    }
  });

  it('marks a store that is not there (connection refused) as retryable', async () => {
    const down = await openSink({
      kind: 's3',
      endpoint: 'http://127.0.0.1:9',
      bucket: 'delivered',
      region: 'us-east-1',
    });
    try {
      await assert.rejects(down.put('k', Buffer.from('x')), (error: unknown) => {
        assert.ok(error instanceof SinkError, String(error));
        assert.equal(error.retryable, true, error.message);
        assert.match(error.message, /S3 PutObject of s3:\/\/delivered\/k at http:\/\/127\.0\.0\.1:9 failed/);
        return true;
      });
    } finally {
      await down.close();
    }
  });
});

describe('loading the S3 sink', () => {
  it('loads the SDK only for an S3 target, with no Node version warning on stderr, the env as it was', async () => {
    // The SDK is CommonJS here: what has been loaded of it shows in require's cache.
    const script = `
      const cache = (await import('node:module')).createRequire(import.meta.url).cache;
      const sdkModules = () => Object.keys(cache).filter((path) => path.includes('@aws-sdk/client-s3')).length;
      const { openSink } = await import('./src/engine/firehose/delivery/object-sink.ts');
      console.log('SDK loaded by the import:', sdkModules() > 0);
      const sink = await openSink({ kind: 's3', endpoint: 'http://127.0.0.1:9', bucket: 'b', region: 'us-east-1' });
      const failed = await sink.put('k', Buffer.from('x')).catch((error) => error);
      console.log(failed.retryable ? 'retryable' : 'not retryable');
      console.log('setting left:', process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'none');
      console.log('SDK loaded by an S3 sink:', sdkModules() > 0);
      await sink.close();`;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: REPO_ROOT, env: cleanEnv(S3RVER_ENV), timeout: 60_000 },
    );
    assert.equal(
      stdout,
      'SDK loaded by the import: false\nretryable\nsetting left: none\nSDK loaded by an S3 sink: true\n',
    );
    assert.doesNotMatch(stderr, /NodeVersionSupportWarning/);
  });
});
