import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AgentMetrics, type FlowSample } from '../../../src/observe/agent-metrics.js';
import { fanOut } from '../../../src/observe/fan-out.js';
import { LogEvents } from '../../../src/observe/log-events.js';
import { MonitoringServer } from '../../../src/observe/monitoring-server.js';
import { createLogger } from '../../../src/log.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';

const destination = { service: 'kinesis', streamName: 's' };

function sample(overrides: Partial<FlowSample> = {}): FlowSample {
  return {
    flow: 'f1',
    files: 2,
    filesOpen: 1,
    recordsParsed: 10,
    bytesParsed: 100,
    recordsSent: 6,
    bytesBehind: 0,
    batchesInFlight: 0,
    memoryBudgetUsed: 0,
    memoryBudgetLimit: 8192,
    filesBehind: [],
    ...overrides,
  };
}

async function scrape(metrics: AgentMetrics) {
  return parsePrometheusText(await metrics.registry.metrics());
}

describe('AgentMetrics', () => {
  test('counts what the events say, per flow, through the fan-out beside logging', async () => {
    const metrics = new AgentMetrics({ processMetrics: false });
    const logger = createLogger({ level: 'silent' });
    const events = fanOut([new LogEvents(logger), metrics.observer()]).forFlow('f1', destination);
    events.callEnded(20, undefined, 3);
    events.delivered(3, 30);
    events.callEnded(40, undefined, 5);
    events.recordsRejected('ProvisionedThroughputExceededException', 'slow down', 2, 5);
    events.delivered(2, 25);
    events.callEnded(5, 'ServiceUnavailable', 1);
    events.sendRetried('ServiceUnavailable', 'down');
    events.recordsNotConverted('dataProcessingOptions[0] LOGTOJSON', 'skipped', 4, undefined);
    events.recordsNotConverted('dataProcessingOptions[0] LOGTOJSON', 'skipped', 1, undefined);
    events.recordsNotConverted('dataProcessingOptions[1] CSVTOJSON', 'failed', 2, 'bad');
    const samples = await scrape(metrics);
    const flow = { flow: 'f1' };
    assert.equal(sampleValue(samples, 'shardtail_records_sent_total', flow), 5);
    assert.equal(sampleValue(samples, 'shardtail_bytes_sent_total', flow), 55);
    assert.equal(sampleValue(samples, 'shardtail_api_calls_total', { flow: 'f1', outcome: 'ok' }), 2);
    assert.equal(sampleValue(samples, 'shardtail_api_calls_total', { flow: 'f1', outcome: 'ServiceUnavailable' }), 1);
    assert.equal(
      sampleValue(samples, 'shardtail_failed_records_total', {
        flow: 'f1',
        code: 'ProvisionedThroughputExceededException',
      }),
      2,
    );
    assert.equal(sampleValue(samples, 'shardtail_retries_total', flow), 2);
    assert.equal(sampleValue(samples, 'shardtail_throttles_total', flow), 1);
    const notConverted = (option: string, outcome: string) =>
      sampleValue(samples, 'shardtail_records_not_converted_total', { flow: 'f1', option, outcome });
    assert.equal(notConverted('dataProcessingOptions[0] LOGTOJSON', 'skipped'), 5);
    assert.equal(notConverted('dataProcessingOptions[1] CSVTOJSON', 'failed'), 2);
    assert.equal(sampleValue(samples, 'shardtail_send_latency_seconds_count', flow), 3);
    assert.equal(sampleValue(samples, 'shardtail_send_latency_seconds_bucket', { flow: 'f1', le: '0.025' }), 2);
    assert.equal(metrics.flowHealth('f1').lastCallAnswered, false);
    assert.equal(metrics.flowHealth('f1').lastError?.code, 'ServiceUnavailable');
  });

  test('gauges and read counts are sampled at scrape time, the checkpoint age comes from its event', async () => {
    let now = 1_000_000;
    const metrics = new AgentMetrics({ processMetrics: false, now: () => now });
    let flows = [sample(), sample({ flow: 'f2', bytesBehind: 7, recordsParsed: 1 })];
    metrics.sampleFrom(() => flows);
    now += 4000;
    let samples = await scrape(metrics);
    assert.equal(sampleValue(samples, 'shardtail_lines_read_total', { flow: 'f1' }), 10);
    assert.equal(sampleValue(samples, 'shardtail_bytes_read_total', { flow: 'f1' }), 100);
    assert.equal(sampleValue(samples, 'shardtail_bytes_behind', { flow: 'f2' }), 7);
    assert.equal(sampleValue(samples, 'shardtail_files_tracked', { flow: 'f1' }), 2);
    assert.equal(sampleValue(samples, 'shardtail_files_open', { flow: 'f1' }), 1);
    assert.equal(sampleValue(samples, 'shardtail_seconds_since_checkpoint_save'), 4);
    metrics.observer().checkpointsSaved('/c.db', 3);
    now += 1500;
    // A flow a reload removed is gone from the next scrape.
    flows = [sample()];
    samples = await scrape(metrics);
    assert.equal(sampleValue(samples, 'shardtail_seconds_since_checkpoint_save'), 1.5);
    assert.equal(sampleValue(samples, 'shardtail_bytes_behind', { flow: 'f2' }), undefined);
  });

  test('batches in flight, memory budgets (per flow, shared) and the busiest files: sampled each scrape', async () => {
    const metrics = new AgentMetrics({ processMetrics: false });
    const busy = [
      { path: '/logs/a.log', bytesBehind: 900 },
      { path: '/logs/b "quoted".log', bytesBehind: 40 },
    ];
    let flows = [
      sample({ batchesInFlight: 1, memoryBudgetUsed: 5000, bytesBehind: 940, filesBehind: busy }),
      sample({ flow: 'f2', filesBehind: [{ path: '/other/c.log', bytesBehind: 7 }] }),
    ];
    let agentBudget = { used: 5000, limit: 32768 };
    metrics.sampleFrom(
      () => flows,
      () => agentBudget,
    );
    let samples = await scrape(metrics);
    assert.equal(sampleValue(samples, 'shardtail_batches_in_flight', { flow: 'f1' }), 1);
    assert.equal(sampleValue(samples, 'shardtail_batches_in_flight', { flow: 'f2' }), 0);
    assert.equal(sampleValue(samples, 'shardtail_memory_budget_used_bytes', { flow: 'f1' }), 5000);
    assert.equal(sampleValue(samples, 'shardtail_memory_budget_limit_bytes', { flow: 'f1' }), 8192);
    assert.equal(sampleValue(samples, 'shardtail_agent_memory_budget_used_bytes'), 5000);
    assert.equal(sampleValue(samples, 'shardtail_agent_memory_budget_limit_bytes'), 32768);
    assert.equal(sampleValue(samples, 'shardtail_file_bytes_behind', { flow: 'f1', file: '/logs/a.log' }), 900);
    assert.equal(sampleValue(samples, 'shardtail_file_bytes_behind', { flow: 'f1', file: '/logs/b "quoted".log' }), 40);
    assert.equal(sampleValue(samples, 'shardtail_file_bytes_behind', { flow: 'f2', file: '/other/c.log' }), 7);

    // a.log caught up and left the flow's busiest files; f2 was removed by a reload.
    flows = [sample({ batchesInFlight: 0, memoryBudgetUsed: 0, filesBehind: [busy[1]] })];
    agentBudget = { used: 0, limit: 32768 };
    samples = await scrape(metrics);
    assert.equal(sampleValue(samples, 'shardtail_batches_in_flight', { flow: 'f1' }), 0);
    assert.equal(sampleValue(samples, 'shardtail_agent_memory_budget_used_bytes'), 0);
    assert.deepEqual(
      samples.filter((s) => s.name === 'shardtail_file_bytes_behind').map((s) => [s.labels, s.value]),
      [[{ flow: 'f1', file: '/logs/b "quoted".log' }, 40]],
      'only files still behind have a series',
    );
  });

  test('a flow is stalled once unread bytes wait longer than the threshold with nothing read', () => {
    let now = 0;
    const metrics = new AgentMetrics({ processMetrics: false, now: () => now, stallAfterMs: 1000 });
    let current = sample({ bytesBehind: 50 });
    metrics.sampleFrom(() => [current]);
    metrics.sample();
    now = 900;
    metrics.sample();
    assert.equal(metrics.flowHealth('f1').stalledSinceMs, undefined);
    now = 1100;
    metrics.sample();
    assert.equal(metrics.flowHealth('f1').stalledSinceMs, 0);
    current = sample({ bytesBehind: 50, bytesParsed: 150 });
    metrics.sample();
    assert.equal(metrics.flowHealth('f1').stalledSinceMs, undefined, 'reading moved on');
    now = 5000;
    current = sample({ bytesBehind: 0, bytesParsed: 150 });
    metrics.sample();
    assert.equal(metrics.flowHealth('f1').stalledSinceMs, undefined, 'nothing left to read is not a stall');
  });
});

describe('MonitoringServer', () => {
  const servers: MonitoringServer[] = [];
  after(() => Promise.all(servers.map((server) => server.stop())));

  test('healthz always, readyz only while an agent runs and every destination answers; status per flow', async () => {
    const metrics = new AgentMetrics({ processMetrics: false });
    metrics.sampleFrom(() => [sample()]);
    const server = await MonitoringServer.start({ host: '127.0.0.1', port: 0 }, metrics);
    servers.push(server);
    const get = async (path: string) => {
      const response = await fetch(`${server.url}${path}`);
      return { status: response.status, body: await response.text() };
    };
    assert.equal((await get('/healthz')).status, 200);
    const starting = await get('/readyz');
    assert.equal(starting.status, 503);
    assert.match(JSON.parse(starting.body).reason, /not running/);
    server.agentRunning = true;
    assert.equal((await get('/readyz')).status, 200);

    const events = metrics.observer().forFlow('f1', destination);
    events.callEnded(3, 'ResourceNotFoundException', 1);
    events.sendFailed('ResourceNotFoundException', 'Stream s not found', 5000);
    const down = await get('/readyz');
    assert.equal(down.status, 503);
    const [flow] = JSON.parse(down.body).flows;
    assert.deepEqual(flow.reasons, [
      'the destination did not answer the last call: ResourceNotFoundException: Stream s not found',
    ]);
    assert.equal(flow.lastError.code, 'ResourceNotFoundException');
    assert.equal(flow.files, 2);
    assert.equal(flow.recordsSent, 6);

    events.callEnded(3, undefined, 1);
    assert.equal((await get('/readyz')).status, 200);
    const status = JSON.parse((await get('/status')).body);
    assert.equal(status.ready, true);
    assert.equal(status.flows[0].lastError.message, 'Stream s not found', 'the last error stays for status');
    assert.equal((await get('/nope')).status, 404);
    assert.match((await get('/metrics')).body, /shardtail_files_tracked\{flow="f1"\} 2/);
  });
});
