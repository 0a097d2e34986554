import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HttpEndpointClient, type HttpEndpointSettings } from '../../src/engine/firehose/delivery/http-endpoint.js';
import { deliverWithRetries, HttpRetryPolicy } from '../../src/engine/firehose/delivery/http-retry.js';
import { uuidFromSeed } from '../../src/engine/firehose/delivery/object-name.js';
import { answerJson, firehoseRequest, startEndpoint, type RunningEndpoint } from '../support/http-endpoint-server.js';
import { waitFor } from '../support/wait.js';

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
  const endpoints: RunningEndpoint[] = [];
  async function endpointServer(answer: Parameters<typeof startEndpoint>[0]): Promise<RunningEndpoint> {
    const endpoint = await startEndpoint(answer);
    endpoints.push(endpoint);
    return endpoint;
  }
  function client(settings: Partial<HttpEndpointSettings>, responseTimeoutMs?: number): HttpEndpointClient {
    const made = new HttpEndpointClient({ ...SETTINGS, ...settings }, { sourceArn: SOURCE_ARN, responseTimeoutMs });
    clients.push(made);
    return made;
  }
  after(async () => {
    for (const made of clients) await made.close();
    for (const endpoint of endpoints) await endpoint.close();
  });

  const records = [Buffer.from('{"a":1}\n'), Buffer.from([0, 1, 254, 255]), Buffer.alloc(0)];

  it('retries a failing endpoint with the same request id until it answers 200 with it, per the contract', async () => {
    const endpoint = await endpointServer((request, n, response) => {
      const { requestId } = firehoseRequest(request);
      if (n === 1) answerJson(response, 503, { requestId, timestamp: Date.now(), errorMessage: 'warming up' });
      else if (n === 2) answerJson(response, 200, { requestId: 'someone-else', timestamp: Date.now() });
      else answerJson(response, 200, { requestId, timestamp: Date.now() });
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
      const body = firehoseRequest(request);
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
      answerJson(response, 200, { requestId: firehoseRequest(request).requestId, timestamp: Date.now() }),
    );
    const outcome = await client({ url: endpoint.base, contentEncoding: 'GZIP' }).attempt('id-gz', records);
    assert.deepEqual(outcome, { delivered: true });
    const [request] = endpoint.received;
    assert.equal(request.headers['content-encoding'], 'gzip');
    assert.equal(firehoseRequest(request).records.length, 3);
    assert.equal(request.headers['x-amz-firehose-access-key'], undefined);
    assert.equal(request.headers['x-amz-firehose-common-attributes'], undefined);
  });

  it("gives up after RetryOptions.DurationInSeconds with the endpoint's last errorMessage", async () => {
    const endpoint = await endpointServer((request, n, response) =>
      answerJson(response, 500, {
        requestId: firehoseRequest(request).requestId,
        timestamp: Date.now(),
        errorMessage: `no ${n}`,
      }),
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
    await closed.close();
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
