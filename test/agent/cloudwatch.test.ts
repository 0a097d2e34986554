/**
 * CloudWatch metrics from a real `shardtail start` shipping to its embedded engine, with
 * cloudwatch.emitMetrics set to true: a local server receives PutMetricData with the Java agent's
 * namespace, names and Destination dimension, counts that add up to the lines shipped and a SigV4
 * signature for `monitoring` that checks out; and a CloudWatch that hangs or is gone neither slows
 * shipping nor holds up SIGTERM.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/client/http-client.js';
import {
  assertCliBuilt,
  embeddedConfig,
  logsUnder,
  runCli,
  startAgent,
  stopCleanly,
  StreamCollector,
  type AgentProcess,
} from '../support/agent-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import {
  closedPortOrigin,
  LocalServer,
  parseAuthorization,
  type CapturedRequest,
} from '../client/http-test-support.js';

before(assertCliBuilt);
after(removeTempDirs);

const KEYS = { accessKeyId: 'AKIDSHARDTAILCLOUDWATCH', secretAccessKey: 'shardtail-cloudwatch-secret' };
const REGION = 'eu-west-1';
// Below the CloudWatch request timeout (5 s): stop must not wait for a call that is never answered.
const SHUTDOWN_TIMEOUT_MS = 4_000;

interface Datum {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  sum: number;
  min: number;
  max: number;
  sampleCount: number;
}

/** The datums of a PutMetricData form body. */
function datumsOf(request: CapturedRequest): Datum[] {
  const form = new URLSearchParams(request.body.toString('utf8'));
  assert.equal(form.get('Action'), 'PutMetricData');
  assert.equal(form.get('Version'), '2010-08-01');
  const datums: Datum[] = [];
  for (let i = 1; form.has(`MetricData.member.${i}.MetricName`); i++) {
    const field = (name: string) => form.get(`MetricData.member.${i}.${name}`);
    const dimensions: Record<string, string> = {};
    for (let d = 1; field(`Dimensions.member.${d}.Name`) !== null; d++)
      dimensions[field(`Dimensions.member.${d}.Name`)!] = field(`Dimensions.member.${d}.Value`)!;
    datums.push({
      namespace: form.get('Namespace')!,
      name: field('MetricName')!,
      unit: field('Unit')!,
      dimensions,
      sum: Number(field('StatisticValues.Sum')),
      min: Number(field('StatisticValues.Minimum')),
      max: Number(field('StatisticValues.Maximum')),
      sampleCount: Number(field('StatisticValues.SampleCount')),
    });
  }
  return datums;
}

const sumOf = (datums: Datum[], name: string) =>
  datums.filter((datum) => datum.name === name).reduce((total, datum) => total + datum.sum, 0);

/** The Authorization header @smithy/signature-v4 computes for the request as received, with the same keys. */
async function recomputedAuthorization(request: CapturedRequest, origin: string): Promise<string> {
  const { signedHeaders, scope } = parseAuthorization(request.headers.authorization);
  const amzDate = request.headers['x-amz-date'];
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T` +
      `${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const url = new URL(origin);
  const signer = new SignatureV4({
    service: scope.service,
    region: scope.region,
    credentials: KEYS,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: request.url,
      query: {},
      headers: Object.fromEntries(signedHeaders.map((name) => [name, request.headers[name]])),
      body: request.body,
    },
    { signingDate },
  );
  return signed.headers.authorization;
}

function shipLines(
  cloudwatchEndpoint: string,
  count: number,
  top: Record<string, unknown> = {},
): { configFile: string; stream: string; bytes: number; logFile: string } {
  const { dir, logDir } = logsUnder(makeTempDir('shardtail-cloudwatch-'));
  const stream = 'metered';
  const configFile = embeddedConfig(
    dir,
    stream,
    {},
    {
      'cloudwatch.emitMetrics': true,
      'cloudwatch.endpoint': cloudwatchEndpoint,
      'cloudwatch.metricsBufferTimeMillis': 200,
      'kinesis.region': REGION,
      awsAccessKeyId: KEYS.accessKeyId,
      awsSecretAccessKey: KEYS.secretAccessKey,
      shutdownTimeoutMillis: SHUTDOWN_TIMEOUT_MS,
      ...top,
    },
  );
  const text = Array.from({ length: count }, (_, i) => `metered line ${i}\n`).join('');
  const logFile = path.join(logDir, 'app.log');
  writeFileSync(logFile, text);
  return { configFile, stream, bytes: Buffer.byteLength(text), logFile };
}

async function allShipped(agent: AgentProcess, stream: string, count: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const collector = new StreamCollector(agent.engineUrl!, stream);
  await collector.until((records) => records.length >= count, { timeoutMs, agent });
  assert.equal(collector.records.length, count);
  return performance.now() - started;
}

describe('CloudWatch metrics', { timeout: 90_000 }, () => {
  test("PutMetricData with the Java agent's names, counts that add up, and a valid SigV4 signature", async (t) => {
    const server = await LocalServer.start();
    t.after(() => server.stop());
    server.handler = (_request, response) =>
      response.writeHead(200, { 'content-type': 'text/xml' }).end('<PutMetricDataResponse/>');
    const lines = 600;
    const { configFile, stream, bytes } = shipLines(server.origin, lines);
    const agent = await startAgent({ configFile });
    t.after(() => agent.kill());
    await allShipped(agent, stream, lines, 20_000);

    const received = () => server.requests.flatMap(datumsOf);
    await waitFor(() => sumOf(received(), 'RecordsSent') === lines, {
      timeoutMs: 10_000,
      message: () => `RecordsSent adding up to ${lines}: ${JSON.stringify(received())}\n${agent.tail()}`,
    });
    await stopCleanly(agent);

    const datums = received();
    assert.deepEqual(new Set(datums.map((datum) => datum.namespace)), new Set(['AWSKinesisAgent']));
    assert.deepEqual(
      new Set(datums.map((datum) => datum.name)),
      new Set(['RecordSendAttempts', 'RecordsSent', 'BytesSent', 'ServiceErrors']),
      'no record was refused, so no RecordSendErrors',
    );
    for (const datum of datums) {
      assert.deepEqual(datum.dimensions, { Destination: `KinesisStream:${stream}` });
      assert.equal(datum.unit, datum.name === 'BytesSent' ? 'Bytes' : 'Count');
      assert.ok(datum.min <= datum.max && datum.sampleCount >= 1, JSON.stringify(datum));
    }
    assert.equal(sumOf(datums, 'RecordsSent'), lines);
    assert.equal(sumOf(datums, 'RecordSendAttempts'), lines);
    assert.equal(sumOf(datums, 'BytesSent'), bytes);
    assert.equal(sumOf(datums, 'ServiceErrors'), 0);
    const calls = datums
      .filter((datum) => datum.name === 'ServiceErrors')
      .reduce((total, datum) => total + datum.sampleCount, 0);
    assert.ok(calls >= Math.ceil(lines / 500), `one ServiceErrors value per PutRecords call (${calls})`);

    assert.ok(server.requests.length >= 1);
    for (const request of server.requests) {
      assert.equal(request.method, 'POST');
      assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded; charset=utf-8');
      assert.ok(datumsOf(request).length <= 20);
      const { accessKeyId, scope } = parseAuthorization(request.headers.authorization);
      assert.equal(accessKeyId, KEYS.accessKeyId);
      assert.deepEqual(
        [scope.region, scope.service],
        [REGION, 'monitoring'],
        'credential scope …/monitoring/aws4_request',
      );
      assert.equal(request.headers.authorization, await recomputedAuthorization(request, server.origin));
    }
  });

  test('backfill: what added up is sent when it stops, however long the buffer time', async (t) => {
    const server = await LocalServer.start();
    t.after(() => server.stop());
    server.handler = (_request, response) => response.writeHead(200).end('<PutMetricDataResponse/>');
    const lines = 1200;
    const { configFile, bytes } = shipLines(server.origin, lines, { 'cloudwatch.metricsBufferTimeMillis': 3_600_000 });
    const backfill = await runCli(['backfill', '-c', configFile]);
    assert.equal(backfill.code, 0, backfill.stderr);
    const datums = server.requests.flatMap(datumsOf);
    assert.equal(sumOf(datums, 'RecordsSent'), lines, JSON.stringify(datums));
    assert.equal(sumOf(datums, 'BytesSent'), bytes);
  });

  test('left out of agent.json, with every flow on the embedded engine: off, and start says so', async (t) => {
    const server = await LocalServer.start();
    t.after(() => server.stop());
    const lines = 10;
    const { configFile, stream } = shipLines(server.origin, lines, { 'cloudwatch.emitMetrics': undefined });
    const agent = await startAgent({ configFile });
    t.after(() => agent.kill());
    await agent.waitForLog(
      (entry) =>
        entry.msg ===
        'cloudwatch.emitMetrics: off — every flow goes to the embedded engine; set it to true to send metrics to ' +
          server.origin,
      5_000,
      'the line saying metrics are off',
    );
    await allShipped(agent, stream, lines, 10_000);
    await stopCleanly(agent);
    assert.equal(server.requests.length, 0);
  });

  for (const variant of ['hangs', 'is gone'] as const) {
    test(`a CloudWatch that ${variant}: shipping completes promptly, SIGTERM exits 0 in time`, async (t) => {
      let endpoint: string;
      let server: LocalServer | undefined;
      if (variant === 'hangs') {
        server = await LocalServer.start();
        t.after(() => server!.stop());
        server.handler = () => undefined; // reads the request, never answers
        endpoint = server.origin;
      } else {
        endpoint = await closedPortOrigin();
      }
      const lines = 3000;
      const { configFile, stream } = shipLines(endpoint, lines);
      const agent = await startAgent({ configFile });
      t.after(() => agent.kill());
      const tookMs = await allShipped(agent, stream, lines, 15_000);
      assert.ok(tookMs < 10_000, `${lines} lines took ${Math.round(tookMs)} ms`);
      if (server !== undefined) {
        await waitFor(() => server.requests.length >= 1, { message: 'a PutMetricData that is never answered' });
      } else {
        await agent.waitForLog(
          (entry) => entry.level === 40 && /^CloudWatch: could not publish \d+ datums to /.test(entry.msg ?? ''),
          10_000,
          'the failed publish, warned about',
        );
      }
      const exit = await agent.stop(20_000);
      assert.deepEqual({ code: exit.code, forced: exit.forced }, { code: 0, forced: false }, agent.tail());
      assert.ok(exit.ms < SHUTDOWN_TIMEOUT_MS, `SIGTERM to exit took ${exit.ms} ms`);
    });
  }
});
