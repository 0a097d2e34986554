/**
 * `shardtail start` shipping to a remote Kinesis endpoint over HTTP (kinesis.endpoint,
 * kinesis.region, static keys): kinesalite, which resets some keep-alive connections under load,
 * and a standalone `shardtail engine --enforce-limits`, which throttles a 1-shard stream so that
 * most calls come back partly failed. Either way every line arrives exactly once.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  appendLines,
  assertCliBuilt,
  createStream,
  describeReport,
  Ledger,
  seqId,
  startAgent,
  stopCleanly,
  startKinesalite,
  StreamCollector,
  writeAgentConfig,
  type AgentProcess,
  type KinesaliteProcess,
} from '../support/agent-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

function remoteConfig(dir: string, endpoint: string, stream: string, flow: Record<string, unknown> = {}): string {
  mkdirSync(path.join(dir, 'logs'));
  return writeAgentConfig(dir, {
    'kinesis.endpoint': endpoint,
    'kinesis.region': 'us-east-1',
    awsAccessKeyId: 'AKIDSHARDTAILTEST',
    awsSecretAccessKey: 'shardtail-test-secret',
    checkpointFile: 'state/checkpoints.db',
    'cloudwatch.emitMetrics': false,
    flows: [
      {
        filePattern: 'logs/*.log',
        kinesisStream: stream,
        initialPosition: 'START_OF_FILE',
        maxBufferAgeMillis: 100,
        ...flow,
      },
    ],
  });
}

function killOnExit(t: TestContext, agent: AgentProcess): void {
  t.after(() => agent.kill());
}

describe('shardtail start shipping to a remote endpoint', { timeout: 55_000 }, () => {
  describe('to kinesalite', () => {
    let kinesalite: KinesaliteProcess;
    before(async () => {
      kinesalite = await startKinesalite();
    });
    after(() => kinesalite?.stop());

    test(
      'the daemon keeps running while it has nothing to send, and ships a line appended after a ' + 'quiet spell',
      async (t) => {
        const stream = 'remote-idle';
        await createStream(kinesalite.url, stream, 1);
        const dir = makeTempDir('shardtail-remote-');
        const configFile = remoteConfig(dir, kinesalite.url, stream);
        const file = path.join(dir, 'logs', 'app.log');
        writeFileSync(file, '');
        const ledger = new Ledger();
        const agent = await startAgent({ configFile });
        killOnExit(t, agent);
        await sleep(1_500); // the quiet spell itself: there is nothing to wait for
        assert.equal(
          agent.state(),
          'running',
          `an idle daemon must wait for SIGTERM, not end by itself; output:\n${agent.tail()}`,
        );
        appendLines(file, [ledger.line('after-quiet-spell', 'written after 1.5 s of nothing')]);
        const collector = new StreamCollector(kinesalite.url, stream);
        await collector.until((records) => ledger.allArrived(records), {
          timeoutMs: 10_000,
          agent,
          message: 'the line written after the quiet spell',
        });
        await stopCleanly(agent);
        await collector.poll();
        ledger.assertExactlyOnce(collector.records);
      },
    );

    test('20,000 lines arrive exactly once', async (t) => {
      const stream = 'remote-kinesalite';
      await createStream(kinesalite.url, stream, 2);
      const dir = makeTempDir('shardtail-remote-');
      const configFile = remoteConfig(dir, kinesalite.url, stream);
      const ledger = new Ledger();
      const file = path.join(dir, 'logs', 'app.log');
      const initial: Buffer[] = [];
      for (let i = 0; i < 10_000; i++)
        initial.push(ledger.line(seqId('k-initial', i), `before start ${'k'.repeat(i % 90)}`));
      writeFileSync(file, Buffer.concat(initial));

      const agent = await startAgent({ configFile });
      killOnExit(t, agent);
      assert.equal(agent.engineUrl, undefined, 'no embedded engine in this configuration');
      for (let i = 0; i < 10_000;) {
        const chunk: Buffer[] = [];
        for (let k = 0; k < 500; k++, i++)
          chunk.push(ledger.line(seqId('k-appended', i), `after start ${'a'.repeat(i % 70)}`));
        appendLines(file, chunk);
        await sleep(20);
      }
      const collector = new StreamCollector(kinesalite.url, stream);
      await collector.until((records) => ledger.allArrived(records), {
        timeoutMs: 40_000,
        agent,
        message: () =>
          `all 20,000 lines in kinesalite: ${describeReport(ledger.report(collector.records), ledger.size)}\n` +
          `agent:\n${agent.tail()}\nkinesalite:\n${kinesalite.output.slice(-10).join('\n')}`,
      });
      await stopCleanly(agent);
      await collector.poll();
      ledger.assertExactlyOnce(collector.records);
      const resets = kinesalite.output.filter((line) => line.includes('kept serving')).length;
      t.diagnostic(`kinesalite request errors survived: ${resets}`);
    });
  });

  test(
    'shardtail engine --enforce-limits, 1 shard: throttled calls are retried and every line arrives ' + 'exactly once',
    async (t) => {
      const engine = await startEngineProcess({
        dataDir: makeTempDir('shardtail-remote-engine-'),
        enforceLimits: true,
      });
      t.after(() => engine.stop(5_000));
      const stream = 'remote-throttled';
      await createStream(engine.url, stream, 1);
      const dir = makeTempDir('shardtail-remote-');
      const configFile = remoteConfig(dir, engine.url, stream, { maxBufferAgeMillis: 50 });
      const ledger = new Ledger();
      const file = path.join(dir, 'logs', 'app.log');
      const initial: Buffer[] = [];
      for (let i = 0; i < 3_000; i++) initial.push(ledger.line(seqId('t-initial', i), `throttled ${i}`));
      writeFileSync(file, Buffer.concat(initial));

      const started = Date.now();
      const agent = await startAgent({ configFile, env: { SHARDTAIL_LOG_LEVEL: 'debug' } });
      killOnExit(t, agent);
      for (let i = 0; i < 2_000;) {
        const chunk: Buffer[] = [];
        for (let k = 0; k < 100; k++, i++) chunk.push(ledger.line(seqId('t-appended', i), `throttled, appended ${i}`));
        appendLines(file, chunk);
        await sleep(10);
      }
      const collector = new StreamCollector(engine.url, stream);
      await collector.until((records) => ledger.allArrived(records), {
        timeoutMs: 40_000,
        agent,
        message: () =>
          `all 5,000 lines in the throttled stream: ` +
          `${describeReport(ledger.report(collector.records), ledger.size)}\nagent:\n${agent.tail()}`,
      });
      const seconds = (Date.now() - started) / 1000;
      await stopCleanly(agent);
      await collector.poll();
      ledger.assertExactlyOnce(collector.records, 'no acknowledged record may be sent again');
      // The limit is real: 5,000 records into one shard at 1,000 records/s cannot be faster than ~4 s.
      const rejected = agent.logs.filter((entry) => entry.msg === 'records rejected; resending only those');
      const throttled = rejected.filter((entry) => entry.code === 'ProvisionedThroughputExceededException').length;
      t.diagnostic(
        `${seconds.toFixed(1)} s to deliver; ${rejected.length} partly rejected calls (${throttled} throttled)`,
      );
      assert.ok(throttled > 0, `the engine should have throttled some calls:\n${agent.tail()}`);
    },
  );
});
