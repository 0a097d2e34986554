import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { HttpEndpointClient, type HttpEndpointSettings } from '../../src/engine/firehose/delivery/http-endpoint.js';
import { deliverWithRetries, HttpRetryPolicy } from '../../src/engine/firehose/delivery/http-retry.js';
import { uuidFromSeed } from '../../src/engine/firehose/delivery/object-name.js';
import { openSink, SinkError, type ObjectSink } from '../../src/engine/firehose/delivery/object-sink.js';
import { cleanEnv } from '../support/cli-process.js';
import { REPO_ROOT } from '../support/engine-process.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3 } from '../support/s3-server.js';
import { removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

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
  it("keeps the SDK's Node version warning off the engine's stderr, and its switch out of the env", async () => {
    const script = `
      const { openSink } = await import('./src/engine/firehose/delivery/object-sink.ts');
      const sink = await openSink({ kind: 's3', endpoint: 'http://127.0.0.1:9', bucket: 'b', region: 'us-east-1' });
      const failed = await sink.put('k', Buffer.from('x')).catch((error) => error);
      console.log(failed.retryable ? 'retryable' : 'not retryable');
      console.log('setting left:', process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'none');
      await sink.close();`;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: REPO_ROOT, env: cleanEnv(S3RVER_ENV), timeout: 60_000 },
    );
    assert.equal(stdout, 'retryable\nsetting left: none\n');
    assert.doesNotMatch(stderr, /NodeVersionSupportWarning/);
  });
});

interface Received {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A local endpoint that answers the n-th request (from 1) as `answer` says, recording every request. */
async function endpointServer(answer: (request: Received, n: number, response: http.ServerResponse) => void) {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const got = { url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) };
      received.push(got);
      answer(got, received.length, response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { base: `http://127.0.0.1:${port}`, received, server };
}

const servers: http.Server[] = [];

function json(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** The request as the endpoint decodes it: the JSON body, gunzipped when the request says so. */
function decoded(request: Received): { requestId: string; timestamp: number; records: { data: string }[] } {
  const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(request.body) : request.body;
  return JSON.parse(body.toString('utf8'));
}

const SOURCE_ARN = 'arn:aws:firehose:us-east-1:000000000000:deliverystream/web';
const SETTINGS: HttpEndpointSettings = {
  url: '',
  accessKey: undefined,
  contentEncoding: 'NONE',
  commonAttributes: {},
};
/** Retries without real waits: the policy still counts the planned ones against the duration. */
const NO_WAITS = { sleep: async () => undefined };

describe('the HTTP endpoint delivery against local servers', () => {
  const clients: HttpEndpointClient[] = [];
  function client(settings: Partial<HttpEndpointSettings>, responseTimeoutMs?: number): HttpEndpointClient {
    const made = new HttpEndpointClient({ ...SETTINGS, ...settings }, { sourceArn: SOURCE_ARN, responseTimeoutMs });
    clients.push(made);
    return made;
  }
  after(async () => {
    for (const made of clients) await made.close();
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });

  const records = [Buffer.from('{"a":1}\n'), Buffer.from([0, 1, 254, 255]), Buffer.alloc(0)];

  it('retries a failing endpoint with the same request id until it answers 200 with it, per the contract', async () => {
    const endpoint = await endpointServer((request, n, response) => {
      const { requestId } = decoded(request);
      if (n === 1) json(response, 503, { requestId, timestamp: Date.now(), errorMessage: 'warming up' });
      else if (n === 2) json(response, 200, { requestId: 'someone-else', timestamp: Date.now() });
      else json(response, 200, { requestId, timestamp: Date.now() });
    });
    const target = client({
      url: `${endpoint.base}/ingest/v1?token=a%20b&x=1`,
      accessKey: 'my-key==',
      commonAttributes: { env: 'prod', team: 'logs' },
    });
    const failures: string[] = [];
    const requestId = uuidFromSeed('web/batch/1');
    const before = Date.now();
    const outcome = await deliverWithRetries(() => target.attempt(requestId, records), new HttpRetryPolicy(60_000), {
      ...NO_WAITS,
      onFailure: (failure) => failures.push(`${failure.errorCode}: ${failure.errorMessage}`),
    });
    assert.deepEqual(outcome, { delivered: true, attemptsMade: 3 });
    assert.equal(failures[0], 'HttpEndpoint.DestinationException: warming up');
    assert.match(failures[1], /^HttpEndpoint\.InvalidResponseFromDestination: .*"someone-else"/);
    assert.equal(endpoint.received.length, 3);
    for (const request of endpoint.received) {
      assert.equal(request.url, '/ingest/v1?token=a%20b&x=1');
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['content-encoding'], undefined);
      assert.equal(request.headers['x-amz-firehose-protocol-version'], '1.0');
      assert.equal(request.headers['x-amz-firehose-request-id'], requestId);
      assert.equal(request.headers['x-amz-firehose-source-arn'], SOURCE_ARN);
      assert.equal(request.headers['x-amz-firehose-access-key'], 'my-key==');
      assert.deepEqual(JSON.parse(request.headers['x-amz-firehose-common-attributes'] as string), {
        commonAttributes: { env: 'prod', team: 'logs' },
      });
      const body = decoded(request);
      assert.deepEqual(Object.keys(body), ['requestId', 'timestamp', 'records']);
      assert.equal(body.requestId, requestId);
      assert.ok(Number.isInteger(body.timestamp) && body.timestamp >= before, `timestamp ${body.timestamp}`);
      assert.deepEqual(
        body.records.map((record) => Buffer.from(record.data, 'base64')),
        records,
      );
    }
  });

  it('gzips the body for ContentEncoding GZIP, and sends no access key or attributes when none are set', async () => {
    const endpoint = await endpointServer((request, _n, response) =>
      json(response, 200, { requestId: decoded(request).requestId, timestamp: Date.now() }),
    );
    const outcome = await client({ url: endpoint.base, contentEncoding: 'GZIP' }).attempt('id-gz', records);
    assert.deepEqual(outcome, { delivered: true });
    const [request] = endpoint.received;
    assert.equal(request.headers['content-encoding'], 'gzip');
    assert.equal(decoded(request).records.length, 3);
    assert.equal(request.headers['x-amz-firehose-access-key'], undefined);
    assert.equal(request.headers['x-amz-firehose-common-attributes'], undefined);
  });

  it("gives up after RetryOptions.DurationInSeconds with the endpoint's last errorMessage", async () => {
    const endpoint = await endpointServer((request, n, response) =>
      json(response, 500, { requestId: decoded(request).requestId, timestamp: Date.now(), errorMessage: `no ${n}` }),
    );
    const target = client({ url: endpoint.base });
    const outcome = await deliverWithRetries(
      () => target.attempt('id-500', records),
      new HttpRetryPolicy(3_000, () => 0.5),
      NO_WAITS,
    );
    // Waits of 1 s and 2 s (no jitter) use the 3 s up: three attempts.
    assert.deepEqual(
      { ...outcome, attemptEndingMs: 0 },
      {
        delivered: false,
        attemptsMade: 3,
        attemptEndingMs: 0,
        permanent: false,
        errorCode: 'HttpEndpoint.DestinationException',
        errorMessage: 'no 3',
      },
    );
    assert.equal(endpoint.received.length, 3);
  });

  it('treats 413 as permanent: one attempt, no retries', async () => {
    const endpoint = await endpointServer((_request, _n, response) => {
      response.writeHead(413);
      response.end();
    });
    const target = client({ url: endpoint.base });
    const outcome = await deliverWithRetries(
      () => target.attempt('id-413', records),
      new HttpRetryPolicy(60_000),
      NO_WAITS,
    );
    assert.equal(outcome.delivered, false);
    assert.ok(!outcome.delivered && outcome.permanent, JSON.stringify(outcome));
    assert.equal(outcome.errorCode, 'HttpEndpoint.DestinationException');
    assert.match(outcome.errorMessage, /413/);
    assert.equal(endpoint.received.length, 1);
  });

  it('fails an attempt that gets no answer within the response timeout as RequestTimeout', async () => {
    const endpoint = await endpointServer(() => undefined);
    const started = Date.now();
    const outcome = await client({ url: endpoint.base }, 300).attempt('id-silent', records);
    assert.deepEqual(outcome, {
      delivered: false,
      permanent: false,
      errorCode: 'HttpEndpoint.RequestTimeout',
      errorMessage: 'no complete response within 300 ms',
    });
    assert.ok(Date.now() - started < 10_000);
  });

  it('ends an attempt in flight at once when the client closes (engine shutdown)', async () => {
    const endpoint = await endpointServer(() => undefined);
    const target = new HttpEndpointClient({ ...SETTINGS, url: endpoint.base }, { sourceArn: SOURCE_ARN });
    const attempt = target.attempt('id-shutdown', records);
    await waitFor(() => endpoint.received.length === 1, { message: 'the request to arrive' });
    const started = Date.now();
    await target.close();
    const outcome = await attempt;
    assert.equal(outcome.delivered, false);
    assert.ok(Date.now() - started < 5_000, 'not the 3-minute response timeout');
  });

  it('fails an attempt whose connection the endpoint closes as ConnectionReset', async () => {
    const endpoint = await endpointServer((request, _n, response) => response.socket?.destroy());
    const outcome = await client({ url: endpoint.base }).attempt('id-reset', records);
    assert.equal(outcome.delivered, false);
    assert.equal(!outcome.delivered && outcome.errorCode, 'HttpEndpoint.ConnectionReset', JSON.stringify(outcome));
  });

  it('fails an attempt at a port nobody listens on as ConnectionFailed', async () => {
    const closed = await endpointServer(() => undefined);
    closed.server.close();
    await once(closed.server, 'close');
    const outcome = await client({ url: closed.base }).attempt('id-refused', records);
    assert.equal(!outcome.delivered && outcome.errorCode, 'HttpEndpoint.ConnectionFailed', JSON.stringify(outcome));
  });

  it('fails an answer over 1 MiB as ResponseTooLarge, declared or streamed', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 'x');
    const endpoint = await endpointServer((_request, n, response) => {
      response.writeHead(200, n === 1 ? { 'content-length': big.length } : {});
      response.end(big);
    });
    const target = client({ url: endpoint.base });
    for (const id of ['id-declared', 'id-chunked']) {
      const outcome = await target.attempt(id, records);
      assert.equal(!outcome.delivered && outcome.errorCode, 'HttpEndpoint.ResponseTooLarge', JSON.stringify(outcome));
    }
  });
});
