/**
 * The monitoring listener of a real `shardtail start`: /metrics counts exactly what reached the
 * stream, /readyz follows the destination going away and coming back, and `shardtail status`
 * asks the running daemon (and says so when none answers).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  appendLines,
  assertCliBuilt,
  createStream,
  embeddedConfig,
  runCli,
  startAgent,
  stopCleanly,
  StreamCollector,
  writeAgentConfig,
} from '../support/agent-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { freePort } from '../support/free-port.js';
import { parsePrometheusText, sampleValue, type PromSample } from '../support/prometheus-text.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

before(assertCliBuilt);
after(removeTempDirs);

async function scrape(url: string): Promise<PromSample[]> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  return parsePrometheusText(await response.text());
}

/** The first scrape that shows `records` sent and nothing left to read. */
function scrapeCaughtUp(
  url: string,
  flow: { flow: string },
  records: number,
  agent: { tail: () => string },
  timeoutMs: number,
): Promise<PromSample[]> {
  return scrapeUntil(
    url,
    (s) =>
      sampleValue(s, 'shardtail_records_sent_total', flow) === records &&
      sampleValue(s, 'shardtail_bytes_behind', flow) === 0,
    { timeoutMs, message: () => `records_sent ${records} and bytes_behind 0:\n${agent.tail()}` },
  );
}

async function scrapeUntil(
  url: string,
  wanted: (samples: PromSample[]) => boolean,
  options: { timeoutMs: number; message: () => string },
): Promise<PromSample[]> {
  return waitFor(async () => {
    const samples = await scrape(url);
    return wanted(samples) ? samples : undefined;
  }, options);
}

async function readiness(url: string): Promise<{ status: number; body: { ready: boolean; flows: any[] } }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; flows: any[] } };
}

function lines(from: number, count: number, tag: string): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`${tag} line ${from + i}\n`));
}

const bytesOf = (buffers: Buffer[]) => buffers.reduce((n, b) => n + b.length, 0);

/** Everything read was acknowledged: no batch in flight, no budget used, no file with unread bytes. */
function assertCaughtUp(samples: PromSample[], flow: { flow: string }): void {
  assert.equal(sampleValue(samples, 'shardtail_bytes_behind', flow), 0);
  assert.equal(sampleValue(samples, 'shardtail_batches_in_flight', flow), 0);
  assert.equal(sampleValue(samples, 'shardtail_memory_budget_used_bytes', flow), 0);
  assert.ok(sampleValue(samples, 'shardtail_memory_budget_limit_bytes', flow)! > 0);
  assert.equal(sampleValue(samples, 'shardtail_agent_memory_budget_used_bytes'), 0);
  assert.equal(sampleValue(samples, 'shardtail_agent_memory_budget_limit_bytes'), 32 * 1024 * 1024);
  assert.deepEqual(
    samples.filter((sample) => sample.name === 'shardtail_file_bytes_behind'),
    [],
    'a file read to its end has no bytes-behind series',
  );
}

describe('shardtail start with monitoring', { timeout: 60_000 }, () => {
  test('/metrics counts exactly what was shipped, bytes behind reaches 0; status asks the daemon', async (t) => {
    const dir = makeTempDir('shardtail-monitoring-');
    mkdirSync(path.join(dir, 'logs'));
    const stream = 'monitored';
    // A fixed port, so that `status -c` finds the daemon from the config as an operator's would.
    const port = await freePort();
    const configFile = embeddedConfig(dir, stream, {}, { monitoring: { listen: String(port) } });
    const written = lines(0, 700, 'first');
    writeFileSync(path.join(dir, 'logs', 'app.log'), Buffer.concat(written));
    const agent = await startAgent({ configFile });
    t.after(() => agent.kill());
    const url = agent.monitoringUrl;
    assert.ok(url, `the agent logs where monitoring listens:\n${agent.tail()}`);
    assert.equal(url, `http://127.0.0.1:${port}`, 'a bare port listens on 127.0.0.1');
    const flow = { flow: `kinesis:${stream}:${path.join(dir, 'logs/*.log')}` };

    const more = lines(700, 300, 'appended');
    appendLines(path.join(dir, 'logs', 'app.log'), more);
    const collector = new StreamCollector(agent.engineUrl!, stream);
    await collector.until((records) => records.length >= 1000, { timeoutMs: 20_000, agent });
    const samples = await scrapeCaughtUp(url, flow, 1000, agent, 10_000);
    const totalBytes = bytesOf(written) + bytesOf(more);
    await collector.poll();
    assert.equal(collector.records.length, 1000, 'the stream holds each line once');
    assert.equal(sampleValue(samples, 'shardtail_lines_read_total', flow), 1000);
    assert.equal(sampleValue(samples, 'shardtail_bytes_read_total', flow), totalBytes);
    assert.equal(sampleValue(samples, 'shardtail_bytes_sent_total', flow), totalBytes);
    assert.equal(sampleValue(samples, 'shardtail_files_tracked', flow), 1);
    // A labelled counter has no sample until it counts something.
    assert.equal(sampleValue(samples, 'shardtail_retries_total', flow), undefined, 'nothing was retried');
    const calls = sampleValue(samples, 'shardtail_api_calls_total', { ...flow, outcome: 'ok' });
    assert.ok(calls !== undefined && calls >= 1);
    assert.equal(sampleValue(samples, 'shardtail_send_latency_seconds_count', flow), calls);
    assert.ok(sampleValue(samples, 'process_resident_memory_bytes')! > 0, 'process metrics are there');
    assertCaughtUp(samples, flow);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await readiness(url)).status, 200);

    const status = await runCli(['status', '-c', configFile]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /: ready\n/);
    assert.match(status.stdout, /files tracked {2}1 \(\d+ open\)/);
    assert.match(status.stdout, /bytes behind {3}0\n/);
    assert.match(status.stdout, /records sent {3}1000\n/);
    assert.match(status.stdout, /last error {5}none/);
    const json = await runCli(['status', '--listen', String(port), '--json']);
    assert.equal(json.code, 0, json.stderr);
    const body = JSON.parse(json.stdout);
    assert.deepEqual(
      { ready: body.ready, flow: body.flows[0].flow, recordsSent: body.flows[0].recordsSent },
      { ready: true, flow: flow.flow, recordsSent: 1000 },
    );

    await stopCleanly(agent);
    const none = await runCli(['status', '-c', configFile]);
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      new RegExp(`no shardtail daemon answers at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
  });

  test('status without monitoring configured says so and exits 1; a bad --monitoring-listen stops start', async () => {
    const dir = makeTempDir('shardtail-monitoring-');
    const configFile = embeddedConfig(dir, 'unmonitored');
    const result = await runCli(['status', '-c', configFile]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /monitoring is not configured in .*agent\.json/);
    const portZero = embeddedConfig(dir, 'unmonitored', {}, { monitoring: { listen: '127.0.0.1:0' } });
    const chosenAtStart = await runCli(['status', '-c', portZero]);
    assert.equal(chosenAtStart.code, 1);
    assert.match(chosenAtStart.stderr, /has port 0: pass --listen/);
    const badFlag = await runCli(['start', '-c', portZero, '--monitoring-listen', 'localhost']);
    assert.equal(badFlag.code, 1, 'as the engine command refuses a bad --port');
    assert.match(
      badFlag.stderr,
      /^shardtail: --monitoring-listen: 'localhost' is not an address such as 127\.0\.0\.1:9464/,
    );
  });

  test('/readyz turns 503 while the destination is down and 200 when it is back; the gauges follow', async (t) => {
    const engineDir = makeTempDir('shardtail-monitoring-engine-');
    let engine = await startEngineProcess({ dataDir: engineDir });
    t.after(() => engine.stop(5_000));
    const stream = 'readiness';
    await createStream(engine.url, stream, 1);
    const dir = makeTempDir('shardtail-monitoring-');
    mkdirSync(path.join(dir, 'logs'));
    const file = path.join(dir, 'logs', 'app.log');
    writeFileSync(file, Buffer.concat(lines(0, 100, 'before')));
    const configFile = writeAgentConfig(dir, {
      'kinesis.endpoint': engine.url,
      'kinesis.region': 'us-east-1',
      awsAccessKeyId: 'AKIDSHARDTAILTEST',
      awsSecretAccessKey: 'shardtail-test-secret',
      checkpointFile: 'state/checkpoints.db',
      'cloudwatch.emitMetrics': false,
      retryMaxBackoffMillis: 500,
      // The flag below wins: nothing may listen on this port.
      monitoring: { listen: '127.0.0.1:1' },
      flows: [
        {
          filePattern: 'logs/*.log',
          kinesisStream: stream,
          initialPosition: 'START_OF_FILE',
          maxBufferAgeMillis: 50,
          // A 64 KiB budget: what is appended while the destination is down is read a chunk (1 MiB)
          // at most, and the rest of it waits in the file.
          maxBufferSizeBytes: 65536,
          publishQueueCapacity: 1,
        },
      ],
    });
    const agent = await startAgent({ configFile, args: ['--monitoring-listen', '127.0.0.1:0'] });
    t.after(() => agent.kill());
    const url = agent.monitoringUrl!;
    assert.notEqual(new URL(url).port, '1', '--monitoring-listen overrides monitoring.listen');
    const flow = { flow: `kinesis:${stream}:${path.join(dir, 'logs/*.log')}` };
    const sent = async () => sampleValue(await scrape(url), 'shardtail_records_sent_total', flow);
    await waitFor(async () => (await sent()) === 100, { timeoutMs: 15_000, message: () => agent.tail() });
    assert.equal((await readiness(url)).status, 200);

    const { port } = engine;
    await engine.stop(5_000);
    const during = lines(100, 100_000, 'during');
    appendLines(file, during);
    const down = await waitFor(
      async () => {
        const answer = await readiness(url);
        return answer.status === 503 ? answer : undefined;
      },
      { timeoutMs: 15_000, message: () => `/readyz 503 with the engine stopped:\n${agent.tail()}` },
    );
    assert.equal(down.body.ready, false);
    assert.match(down.body.flows[0].reasons[0], /the destination did not answer the last call: /);
    const status = await runCli(['status', '--listen', url.replace('http://', '')]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /NOT READY/);
    const behind = await scrapeUntil(
      url,
      (s) =>
        sampleValue(s, 'shardtail_batches_in_flight', flow) === 1 &&
        sampleValue(s, 'shardtail_file_bytes_behind', { ...flow, file }) !== undefined,
      { timeoutMs: 15_000, message: () => `a batch in flight and ${file} behind:\n${agent.tail()}` },
    );
    const fileBehind = sampleValue(behind, 'shardtail_file_bytes_behind', { ...flow, file })!;
    assert.ok(fileBehind > 0 && fileBehind < bytesOf(during), `${fileBehind} bytes of app.log behind`);
    assert.equal(sampleValue(behind, 'shardtail_bytes_behind', flow), fileBehind, 'the one file is all of it');
    const used = sampleValue(behind, 'shardtail_memory_budget_used_bytes', flow)!;
    assert.ok(used >= 65536, `the read chunk holds the budget: ${used} bytes used`);
    assert.equal(sampleValue(behind, 'shardtail_memory_budget_limit_bytes', flow), 65536);
    assert.equal(sampleValue(behind, 'shardtail_agent_memory_budget_used_bytes'), used, 'one flow: all of it');

    engine = await startEngineProcess({ dataDir: engineDir, port });
    await waitFor(async () => (await readiness(url)).status === 200, {
      timeoutMs: 15_000,
      message: () => `/readyz 200 once the engine is back:\n${agent.tail()}`,
    });
    assertCaughtUp(await scrapeCaughtUp(url, flow, 100_100, agent, 30_000), flow);
    await stopCleanly(agent);
  });

  test('reading stopped with unread bytes is reported stalled after monitoring.stallAfterSeconds', async (t) => {
    const dir = makeTempDir('shardtail-monitoring-');
    mkdirSync(path.join(dir, 'logs'));
    // 3 MiB of lines against a destination nobody listens on, with a 4 KiB budget: the first
    // chunk read fills the budget, and reading waits, with the rest of the file unread.
    writeFileSync(path.join(dir, 'logs', 'app.log'), Buffer.concat(lines(0, 150_000, 'stuck')));
    const configFile = writeAgentConfig(dir, {
      'kinesis.endpoint': `http://127.0.0.1:${await freePort()}`,
      'kinesis.region': 'us-east-1',
      awsAccessKeyId: 'AKIDSHARDTAILTEST',
      awsSecretAccessKey: 'shardtail-test-secret',
      checkpointFile: 'state/checkpoints.db',
      'cloudwatch.emitMetrics': false,
      shutdownTimeoutMillis: 200,
      monitoring: { listen: '127.0.0.1:0', stallAfterSeconds: 1 },
      flows: [
        {
          filePattern: 'logs/*.log',
          kinesisStream: 'nowhere',
          initialPosition: 'START_OF_FILE',
          publishQueueCapacity: 1,
          maxBufferSizeBytes: 4096,
        },
      ],
    });
    const agent = await startAgent({ configFile });
    t.after(() => agent.kill());
    const url = agent.monitoringUrl!;
    const stalled = await waitFor(
      async () => {
        const answer = await readiness(url);
        return answer.body.flows[0]?.stalled === true ? answer : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, message: () => `a stalled flow in /readyz:\n${agent.tail()}` },
    );
    assert.equal(stalled.status, 503);
    assert.ok(
      stalled.body.flows[0].reasons.some((reason: string) =>
        /^reading stalled since \S+ with \d+ bytes unread$/.test(reason),
      ),
      JSON.stringify(stalled.body),
    );
    const behind = sampleValue(await scrape(url), 'shardtail_bytes_behind', {
      flow: `kinesis:nowhere:${path.join(dir, 'logs/*.log')}`,
    });
    assert.ok(behind !== undefined && behind > 1024 * 1024, `bytes behind while stalled: ${behind}`);
  });
});
