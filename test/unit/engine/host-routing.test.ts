import assert from 'node:assert/strict';
import net from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { AwsApiError } from '../../../src/client/api-error.js';
import { silentLogger } from '../../../src/log.js';
import { startHost, type HostOptions, type RunningHost } from '../../../src/engine/host/http-host.js';
import type { Service } from '../../../src/engine/host/service.js';
import { InProcessClient } from '../../../src/engine/in-process-client.js';
import { KinesisService } from '../../../src/engine/kinesis/service.js';
import { startEngine } from '../../../src/engine/server.js';
import { assertAwsError, expectAwsError, kinesis, kinesisRequest } from '../../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../../support/tmp.js';

const SECOND_PREFIX = 'Firehose_20150804';

/** A second API as the host sees one: it records its calls and answers what `answer` says. */
function fakeService(
  answer: (action: string, input: Record<string, unknown>) => object | undefined = () => ({ ok: true }),
) {
  const calls: Array<{ action: string; input: Record<string, unknown> }> = [];
  let periodicRuns = 0;
  let stops = 0;
  const service: Service = {
    name: 'Firehose',
    targetPrefix: SECOND_PREFIX,
    call(action, input) {
      calls.push({ action, input });
      return answer(action, input);
    },
    serialize: (action, output) => (output === undefined ? '' : JSON.stringify({ servedBy: 'fake', action, output })),
    periodic: [{ intervalMs: 5, run: () => void periodicRuns++ }],
    stop: () => void stops++,
  };
  return { service, calls, periodicRuns: () => periodicRuns, stops: () => stops };
}

function hostOptions(services: Service[], overrides: Partial<HostOptions> = {}): HostOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 1024 * 1024,
    headersTimeoutMs: 5_000,
    requestTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    logger: silentLogger,
    services,
    ...overrides,
  };
}

const asTarget = (target: string | undefined) => ({ headers: { 'x-amz-target': target } });

describe('the host routes by X-Amz-Target prefix to registered services', () => {
  let host: RunningHost | undefined;
  afterEach(async () => {
    await host?.stop();
    host = undefined;
  });
  after(removeTempDirs);

  it('Kinesis and a second service share one port; each gets only its own calls, serialized its own way', async () => {
    const second = fakeService();
    const kinesisService = new KinesisService({ dataDir: makeTempDir('shardtail-unit-host-'), logger: silentLogger });
    host = await startHost(hostOptions([kinesisService, second.service]));

    await kinesis(host.url, 'CreateStream', { StreamName: 'routed', ShardCount: 1 });
    const streams = await kinesis(host.url, 'ListStreams', {});
    assert.deepEqual(streams.StreamNames, ['routed']);

    const response = await kinesisRequest(
      host.url,
      undefined,
      { DeliveryStreamName: 'd', Record: { Data: 'eA==' } },
      asTarget(`${SECOND_PREFIX}.PutRecord`),
    );
    assert.equal(response.status, 200, response.text);
    assert.match(response.headers.get('content-type') ?? '', /application\/x-amz-json-1\.1/);
    assert.ok(response.headers.get('x-amzn-requestid'), 'every answer carries a request id');
    assert.deepEqual(response.json, { servedBy: 'fake', action: 'PutRecord', output: { ok: true } });
    assert.deepEqual(second.calls, [
      { action: 'PutRecord', input: { DeliveryStreamName: 'd', Record: { Data: 'eA==' } } },
    ]);
  });

  it(
    'an unknown prefix, a prefix without an action and a missing target are UnknownOperationException; ' +
      'nothing is called',
    async () => {
      const second = fakeService();
      host = await startHost(hostOptions([second.service]));
      await expectAwsError(
        host.url,
        undefined,
        {},
        { type: 'UnknownOperationException', message: 'Unknown operation Nope_20200101.PutRecord.' },
        asTarget('Nope_20200101.PutRecord'),
      );
      await expectAwsError(
        host.url,
        undefined,
        {},
        { type: 'UnknownOperationException', message: `Unknown operation ${SECOND_PREFIX}..` },
        asTarget(`${SECOND_PREFIX}.`),
      );
      await expectAwsError(
        host.url,
        undefined,
        {},
        { type: 'UnknownOperationException', message: `Unknown operation ${SECOND_PREFIX}.` },
        asTarget(SECOND_PREFIX),
      );
      await expectAwsError(
        host.url,
        undefined,
        {},
        { type: 'UnknownOperationException', message: 'Unknown operation __proto__.valueOf.' },
        asTarget('__proto__.valueOf'),
      );
      await expectAwsError(
        host.url,
        undefined,
        {},
        {
          type: 'UnknownOperationException',
          message: `Missing X-Amz-Target header: expected ${SECOND_PREFIX}.<Operation>.`,
        },
        asTarget(undefined),
      );
      assert.deepEqual(second.calls, []);
    },
  );

  it(
    'with two services, a missing target names both, and an abusive body is refused in the name of the API ' +
      'it was for',
    async () => {
      const second = fakeService();
      const kinesisService = new KinesisService({ dataDir: makeTempDir('shardtail-unit-host-'), logger: silentLogger });
      host = await startHost(hostOptions([kinesisService, second.service]));
      await expectAwsError(
        host.url,
        undefined,
        {},
        {
          type: 'UnknownOperationException',
          message:
            `Missing X-Amz-Target header: expected Kinesis_20131202.<Operation> or ` + `${SECOND_PREFIX}.<Operation>.`,
        },
        asTarget(undefined),
      );
      const deep = '['.repeat(100) + ']'.repeat(100);
      const refusal = (api: string) => `Request body nests deeper than 64 levels; no ${api} request needs that.`;
      await expectAwsError(
        host.url,
        undefined,
        undefined,
        { type: 'SerializationException', message: refusal('Firehose') },
        { rawBody: deep, ...asTarget(`${SECOND_PREFIX}.PutRecord`) },
      );
      await expectAwsError(
        host.url,
        'PutRecords',
        undefined,
        { type: 'SerializationException', message: refusal('Kinesis') },
        { rawBody: deep },
      );
      await expectAwsError(
        host.url,
        undefined,
        undefined,
        { type: 'SerializationException', message: refusal('Kinesis or Firehose') },
        { rawBody: deep, ...asTarget('Nope_1.X') },
      );
      assert.deepEqual(second.calls, []);
    },
  );

  it(
    "a service's AwsApiError is answered in the AWS shape, any other throw as InternalFailure, and the host " +
      'keeps serving',
    async () => {
      const second = fakeService((action) => {
        if (action === 'Missing')
          throw new AwsApiError('ResourceNotFoundException', 'Firehose d under account 000000000000 not found.', 400);
        if (action === 'Broken') throw new Error('disk on fire');
        return undefined;
      });
      host = await startHost(hostOptions([second.service]));
      const target = (action: string) => asTarget(`${SECOND_PREFIX}.${action}`);
      await expectAwsError(
        host.url,
        undefined,
        {},
        { type: 'ResourceNotFoundException', message: 'Firehose d under account 000000000000 not found.' },
        target('Missing'),
      );
      await expectAwsError(
        host.url,
        undefined,
        {},
        { status: 500, type: 'InternalFailure', message: 'Internal error: disk on fire' },
        target('Broken'),
      );
      await expectAwsError(
        host.url,
        undefined,
        undefined,
        { type: 'SerializationException', message: 'Request body must be a JSON object.' },
        { rawBody: '[]', ...target('Fine') },
      );
      const fine = await kinesisRequest(host.url, undefined, {}, target('Fine'));
      assert.equal(fine.status, 200);
      assert.equal(fine.text, '', 'an action without output answers an empty body');
      assert.deepEqual(
        second.calls.map((c) => c.action),
        ['Missing', 'Broken', 'Fine'],
      );
    },
  );

  it("runs each service's periodic work on its timer until stop(), which stops every service once", async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const first = fakeService();
    const second = fakeService();
    host = await startHost(hostOptions([{ ...first.service, targetPrefix: 'First_1' }, second.service]));
    t.mock.timers.tick(5);
    t.mock.timers.tick(5);
    assert.deepEqual([first.periodicRuns(), second.periodicRuns()], [2, 2], 'one run per interval of each service');
    await Promise.all([host.stop(), host.stop()]);
    host = undefined;
    assert.deepEqual([first.stops(), second.stops()], [1, 1]);
    t.mock.timers.tick(100);
    assert.deepEqual([first.periodicRuns(), second.periodicRuns()], [2, 2], 'no periodic work after stop()');
  });

  it(
    'two services under one prefix are refused, and a host that cannot listen stops its services before ' +
      'it rejects',
    async () => {
      const first = fakeService();
      const second = fakeService();
      await assert.rejects(
        startHost(hostOptions([first.service, second.service])),
        /two services registered for target prefix Firehose_20150804/,
      );
      assert.equal(first.stops(), 1);

      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      try {
        const third = fakeService();
        const port = (taken.address() as net.AddressInfo).port;
        await assert.rejects(startHost(hostOptions([third.service], { port })), { code: 'EADDRINUSE' });
        assert.equal(third.stops(), 1);
      } finally {
        taken.close();
      }
    },
  );
});

describe('startEngine registers Kinesis and Firehose on one port', () => {
  after(removeTempDirs);

  it('routes each target prefix to its service; any other prefix is UnknownOperationException', async () => {
    const engine = await startEngine({ dataDir: makeTempDir('shardtail-unit-engine-'), port: 0 });
    try {
      assert.equal(engine.kinesis.targetPrefix, 'Kinesis_20131202');
      assert.equal(engine.firehose.targetPrefix, 'Firehose_20150804');
      const response = await kinesisRequest(
        engine.url,
        undefined,
        { DeliveryStreamName: 'd', Record: { Data: '' } },
        asTarget('Firehose_20150804.PutRecord'),
      );
      assertAwsError(response, {
        type: 'ResourceNotFoundException',
        message: 'Firehose d under account 000000000000 not found.',
      });
      const other = await kinesisRequest(engine.url, undefined, {}, asTarget('DynamoDB_20120810.GetItem'));
      assertAwsError(other, {
        type: 'UnknownOperationException',
        message: 'Unknown operation DynamoDB_20120810.GetItem.',
      });
      await expectAwsError(
        engine.url,
        undefined,
        {},
        {
          type: 'UnknownOperationException',
          message:
            'Missing X-Amz-Target header: expected Kinesis_20131202.<Operation> or Firehose_20150804.<Operation>.',
        },
      );
    } finally {
      await engine.stop();
    }
  });
});

describe('the in-process client runs the same call as the host', () => {
  it("hands the action and input to the service's call and answers an unexpected throw as the host does", async () => {
    const second = fakeService((action) => {
      if (action === 'Broken') throw new Error('disk on fire');
      return action === 'Empty' ? undefined : { ok: true };
    });
    const client = new InProcessClient(second.service);
    assert.deepEqual(await client.call('PutRecord', { DeliveryStreamName: 'd' }), { ok: true });
    assert.deepEqual(await client.call('Empty', {}), {});
    await assert.rejects(client.call('Broken', {}), {
      code: 'InternalFailure',
      status: 500,
      message: 'Internal error: disk on fire',
    });
    assert.deepEqual(
      second.calls.map((c) => c.action),
      ['PutRecord', 'Empty', 'Broken'],
    );
  });
});
