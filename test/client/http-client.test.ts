import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { staticCredentialProvider, type CredentialProvider } from '../../src/client/credentials.js';
import { HttpJsonApiClient, type HttpJsonApiClientOptions } from '../../src/client/http-client.js';
import { closedPortOrigin, LocalServer, sendJson, rejection } from './http-test-support.js';

const KEYS = staticCredentialProvider({ accessKeyId: 'AKIDTESTCLIENT', secretAccessKey: 'client-test-secret' });

describe('HttpJsonApiClient responses and errors', () => {
  let server: LocalServer;
  let client: HttpJsonApiClient;
  const newClient = (overrides: Partial<HttpJsonApiClientOptions> = {}) =>
    new HttpJsonApiClient({
      service: 'kinesis',
      endpoint: server.origin,
      region: 'us-east-1',
      credentials: KEYS,
      ...overrides,
    });

  before(async () => {
    server = await LocalServer.start();
    client = newClient();
  });
  afterEach(() => {
    server.handler = (_request, response) => sendJson(response, 200, {});
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  it('returns the parsed JSON body of a 2xx answer', async () => {
    server.handler = (_request, response) =>
      sendJson(response, 200, {
        FailedRecordCount: 0,
        Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }],
      });
    const result = await client.call<{ FailedRecordCount: number }>('PutRecords', { StreamName: 's', Records: [] });
    assert.deepEqual(result, {
      FailedRecordCount: 0,
      Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }],
    });
  });

  it('returns {} for an empty 2xx body (CreateStream and friends)', async () => {
    server.handler = (_request, response) => {
      response.writeHead(200, { 'content-length': '0' });
      response.end();
    };
    assert.deepEqual(await client.call('CreateStream', { StreamName: 's', ShardCount: 1 }), {});
  });

  it('maps a namespaced __type to the bare code, keeps message and request id, not retryable', async () => {
    server.handler = (_request, response) =>
      sendJson(
        response,
        400,
        { __type: 'com.amazonaws.kinesis.v20131202#ResourceNotFoundException', message: 'x' },
        { 'x-amzn-RequestId': 'req-123' },
      );
    const error = await rejection(client.call('DescribeStream', { StreamName: 'missing' }));
    assert.equal(error.code, 'ResourceNotFoundException');
    assert.equal(error.message, 'x');
    assert.equal(error.status, 400);
    assert.equal(error.retryable, false);
    assert.equal(error.requestId, 'req-123');
  });

  it('prefers the x-amzn-ErrorType header and strips its :suffix', async () => {
    server.handler = (_request, response) =>
      sendJson(
        response,
        400,
        { __type: 'SomethingElse', message: 'busy' },
        { 'x-amzn-ErrorType': 'ResourceInUseException:http://internal.amazon.com/coral/com.amazon.coral.validate/' },
      );
    const error = await rejection(client.call('DeleteStream', { StreamName: 's' }));
    assert.equal(error.code, 'ResourceInUseException');
    assert.equal(error.message, 'busy');
  });

  it('reads the capital-M Message that kinesalite uses for SerializationException', async () => {
    server.handler = (_request, response) =>
      sendJson(response, 400, {
        __type: 'SerializationException',
        Message: 'Start of structure or map found where not expected.',
      });
    const error = await rejection(client.call('PutRecord', { StreamName: 1 }));
    assert.equal(error.code, 'SerializationException');
    assert.equal(error.message, 'Start of structure or map found where not expected.');
    assert.equal(error.retryable, false);
  });

  it('treats ProvisionedThroughputExceededException as retryable', async () => {
    server.handler = (_request, response) =>
      sendJson(response, 400, {
        __type: 'ProvisionedThroughputExceededException',
        message: 'Rate exceeded for shard shardId-000000000000',
      });
    const error = await rejection(client.call('PutRecord', { StreamName: 's', Data: 'aGk=', PartitionKey: 'k' }));
    assert.equal(error.code, 'ProvisionedThroughputExceededException');
    assert.equal(error.retryable, true);
  });

  it('turns a 500 with a non-JSON body into a retryable HttpError naming the status', async () => {
    server.handler = (_request, response) => {
      response.writeHead(500, { 'content-type': 'text/html' });
      response.end('<html><body>Internal proxy error</body></html>');
    };
    const error = await rejection(client.call('PutRecords', { StreamName: 's', Records: [] }));
    assert.equal(error.code, 'HttpError');
    assert.equal(error.status, 500);
    assert.equal(error.retryable, true);
    assert.match(error.message, /HTTP 500/);
    assert.match(error.message, /Internal proxy error/);
    assert.match(error.message, new RegExp(server.origin.replace(/[.]/g, '\\.')));
  });

  it('turns a bare 413 (body too large) into a non-retryable HttpError', async () => {
    server.handler = (_request, response) => {
      response.writeHead(413, { 'content-length': '0' });
      response.end();
    };
    const error = await rejection(client.call('PutRecords', { StreamName: 's', Records: [] }));
    assert.equal(error.code, 'HttpError');
    assert.equal(error.status, 413);
    assert.equal(error.retryable, false);
  });

  it('reports a 2xx answer that is not JSON as a retryable InvalidResponse', async () => {
    server.handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>captive portal</html>');
    };
    const error = await rejection(client.call('ListStreams', {}));
    assert.equal(error.code, 'InvalidResponse');
    assert.equal(error.retryable, true);
  });

  it('turns a destroyed socket into a retryable NetworkError with status 0 naming the endpoint and cause', async () => {
    server.handler = (_request, _response, raw) => raw.socket.destroy();
    const error = await rejection(client.call('PutRecords', { StreamName: 's', Records: [] }));
    assert.equal(error.code, 'NetworkError');
    assert.equal(error.status, 0);
    assert.equal(error.retryable, true);
    assert.ok(error.message.includes(server.origin), error.message);
    assert.match(error.message, /PutRecords/);
    assert.match(error.message, /UND_ERR_SOCKET|other side closed|ECONNRESET/);
    assert.ok(error.cause !== undefined);
  });

  it('turns a refused connection into a retryable NetworkError', async () => {
    const refused = new HttpJsonApiClient({
      service: 'kinesis',
      endpoint: await closedPortOrigin(),
      region: 'us-east-1',
      credentials: KEYS,
    });
    try {
      const error = await rejection(refused.call('ListStreams', {}));
      assert.equal(error.code, 'NetworkError');
      assert.equal(error.retryable, true);
      assert.match(error.message, /ECONNREFUSED/);
    } finally {
      await refused.close();
    }
  });

  it("waits as long as it takes with requestTimeoutMs 0 (the Java agent's socketTimeoutMillis 0)", async () => {
    server.handler = (_request, response) => setTimeout(() => sendJson(response, 200, {}), 300);
    const patient = newClient({ requestTimeoutMs: 0 });
    try {
      assert.deepEqual(await patient.call('ListStreams', {}), {});
    } finally {
      await patient.close();
    }
    assert.throws(
      () => newClient({ requestTimeoutMs: -1 }),
      /requestTimeoutMs must be 0 \(no deadline\) or more, got -1/,
    );
  });

  it('gives up on a server that never answers with a retryable RequestTimeout', async () => {
    server.handler = () => {};
    const impatient = newClient({ requestTimeoutMs: 150 });
    try {
      const started = performance.now();
      const error = await rejection(impatient.call('PutRecords', { StreamName: 's', Records: [] }));
      const elapsed = performance.now() - started;
      assert.equal(error.code, 'RequestTimeout');
      assert.equal(error.status, 0);
      assert.equal(error.retryable, true);
      assert.match(error.message, /150 ms/);
      assert.ok(elapsed >= 140 && elapsed < 2000, `timed out after ${elapsed} ms`);
    } finally {
      await impatient.close();
    }
  });

  it('reports an unavailable credential source as a retryable CredentialsError without sending anything', async () => {
    const failing: CredentialProvider = async () => {
      throw new Error('Could not load credentials from any providers');
    };
    const before = server.requests.length;
    const unsigned = newClient({ credentials: failing });
    try {
      const error = await rejection(unsigned.call('ListStreams', {}));
      assert.equal(error.code, 'CredentialsError');
      assert.equal(error.retryable, true);
      assert.match(error.message, /Could not load credentials from any providers/);
      assert.equal(server.requests.length, before);
    } finally {
      await unsigned.close();
    }
  });

  it('reports a request that cannot be sent (control character in the action) as non-retryable', async () => {
    const sent = server.requests.length;
    const error = await rejection(client.call('Put\r\nX-Injected: 1', {}));
    assert.equal(error.code, 'InvalidRequest');
    assert.equal(error.retryable, false);
    assert.equal(server.requests.length, sent);
  });

  it('rejects calls after close() as non-retryable ClientClosed', async () => {
    const closing = newClient();
    await closing.call('ListStreams', {});
    await closing.close();
    const error = await rejection(closing.call('ListStreams', {}));
    assert.equal(error.code, 'ClientClosed');
    assert.equal(error.retryable, false);
  });

  it('reuses keep-alive connections for sequential calls, including after error answers', async () => {
    const sequential = newClient();
    const connectionsBefore = server.connectionCount;
    try {
      for (let i = 0; i < 10; i++) await sequential.call('ListStreams', {});
      server.handler = (_request, response) =>
        sendJson(response, 400, { __type: 'ResourceNotFoundException', message: 'gone' });
      for (let i = 0; i < 5; i++) await rejection(sequential.call('DescribeStream', { StreamName: 'gone' }));
      server.handler = (_request, response) => sendJson(response, 200, {});
      await sequential.call('ListStreams', {});
    } finally {
      await sequential.close();
    }
    // undici may hand the next call to a second idle connection while the first is still being
    // released; without keep-alive this would be 16.
    assert.ok(
      server.connectionCount - connectionsBefore <= 2,
      `${server.connectionCount - connectionsBefore} connections for 16 calls`,
    );
  });

  it('never opens more than `connections` sockets, however many calls are in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    server.handler = (_request, response) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        sendJson(response, 200, { ok: true });
      }, 10);
    };
    const narrow = newClient({ connections: 2 });
    const connectionsBefore = server.connectionCount;
    try {
      const results = await Promise.all(
        Array.from({ length: 16 }, () => narrow.call('PutRecords', { StreamName: 's', Records: [] })),
      );
      assert.equal(results.length, 16);
    } finally {
      await narrow.close();
    }
    assert.equal(maxInFlight, 2);
    assert.equal(server.connectionCount - connectionsBefore, 2);
  });

  it('rejects endpoints it cannot honour when constructed', () => {
    assert.throws(() => newClient({ endpoint: 'https://user:pass@example.com' }), /user name or password/);
    assert.throws(() => newClient({ endpoint: 'https://example.com/kinesis' }), /path or query/);
    assert.throws(() => newClient({ region: ' ' }), /region/);
    assert.throws(() => newClient({ connections: 0 }), /connections/);
  });
});
