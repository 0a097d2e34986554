/**
 * Issue 8, items 2 and 4: globs that a host makes hostile. A glob over the embedded engine's own
 * data directory (whose data files end in .log) must not ship the engine's records back into the
 * engine; directories with links back up the tree (`ln -s . self`) and links to tailed files must
 * ship every line once, in bounded memory, without logging renames forever; `/**` must cost bounded
 * memory while the engine keeps answering. `check` warns about each such glob.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertCliBuilt,
  describeReport,
  embeddedEngine,
  Ledger,
  logsUnder,
  runCli,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
  writeAgentConfig,
  type AgentProcess,
} from '../support/agent-process.js';
import { memoryStatus, mib, ProcSampler } from '../support/reliability-proc.js';
import { assertFigures, figuresFromLedger, reportFigures } from '../support/reliability-tally.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'hostile-host';
/** Long enough for several scans (a flow rescans every 200 ms here) and several batches. */
const OBSERVE_MS = 3_000;

function lines(ledger: Ledger, prefix: string, count: number): Buffer {
  const written: Buffer[] = [];
  for (let i = 0; i < count; i++) written.push(ledger.line(seqId(prefix, i), `${prefix} line ${i}`));
  return Buffer.concat(written);
}

/** Reads the stream for `ms` more: nothing may arrive that was not written, and nothing twice. */
async function observe(collector: StreamCollector, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await collector.poll();
    await sleep(250);
  }
}

async function untilArrived(
  agent: AgentProcess,
  collector: StreamCollector,
  ledger: Ledger,
  what: string,
): Promise<void> {
  await collector.until((records) => ledger.allArrived(records), {
    timeoutMs: 20_000,
    agent,
    message: () =>
      `${what} (${describeReport(ledger.report(collector.records), ledger.size)}); agent output:\n${agent.tail(15)}`,
  });
}

async function checkWarnings(configFile: string): Promise<string> {
  const check = await runCli(['check', '-c', configFile], { cwd: path.dirname(configFile) });
  assert.equal(check.code, 0, `check must accept the config (warnings only): ${check.stdout}${check.stderr}`);
  return check.stdout;
}

describe('reliability: globs a host makes hostile', { timeout: 180_000 }, () => {
  test(
    "a glob over the embedded engine's own data directory ships each line once, not the engine's " + 'records again',
    async (t) => {
      const dir = makeTempDir('shardtail-rel-selffeed-');
      mkdirSync(path.join(dir, 'var/log'), { recursive: true });
      const configFile = writeAgentConfig(dir, {
        engine: embeddedEngine('./var/engine'),
        checkpointFile: './var/state/checkpoints.db',
        'cloudwatch.emitMetrics': false,
        flows: [
          {
            filePattern: './var/**/*.log',
            kinesisStream: STREAM,
            initialPosition: 'START_OF_FILE',
            maxBufferAgeMillis: 100,
            maxTimeBetweenFileTrackerRefreshMillis: 200,
          },
        ],
      });
      const warnings = await checkWarnings(configFile);
      assert.match(
        warnings,
        /filePattern \(flows\[0\][^\n]*: warning: [^\n]* can match the embedded engine's data directory/,
        warnings,
      );

      const ledger = new Ledger();
      writeFileSync(path.join(dir, 'var/log/app.log'), lines(ledger, 'self', 100));
      const agent = await startAgent({ configFile });
      t.after(() => agent.kill());
      assert.ok(
        agent.logs.some(
          (entry) =>
            typeof entry.msg === 'string' && entry.msg.includes("can match the embedded engine's data directory"),
        ),
        `start must log the warning too:\n${agent.tail()}`,
      );
      const collector = new StreamCollector(agent.engineUrl!, STREAM);
      await untilArrived(agent, collector, ledger, 'the 100 lines');
      await observe(collector, OBSERVE_MS);
      await stopCleanly(agent);

      const report = ledger.report(collector.records);
      const figures = figuresFromLedger(report, ledger.size);
      reportFigures(t, 'glob over the engine data directory', figures, {
        'records in the stream': collector.records.length,
      });
      assertFigures(figures, {
        maxDuplicates: 0,
        scenario: 'glob over the engine data directory',
        details: describeReport(report, ledger.size),
      });
      assert.equal(collector.records.length, 100, 'nothing but the 100 lines may reach the stream');
    },
  );

  test(
    'two links back up the tree and a link to a tailed file: every line once, bounded memory, no ' + 'rename chatter',
    async (t) => {
      const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-selflinks-'));
      mkdirSync(path.join(logDir, 'sub'));
      symlinkSync('.', path.join(logDir, 'self1'));
      symlinkSync('.', path.join(logDir, 'self2'));
      const ledger = new Ledger();
      writeFileSync(path.join(logDir, 'app.log'), lines(ledger, 'app', 200));
      writeFileSync(path.join(logDir, 'sub/worker.log'), lines(ledger, 'worker', 50));
      symlinkSync('app.log', path.join(logDir, 'current.log'));
      const configFile = writeAgentConfig(dir, {
        engine: embeddedEngine('engine'),
        checkpointFile: 'state/checkpoints.db',
        'cloudwatch.emitMetrics': false,
        flows: [
          {
            filePattern: 'logs/**/*.log',
            kinesisStream: STREAM,
            initialPosition: 'START_OF_FILE',
            maxBufferAgeMillis: 100,
            maxTimeBetweenFileTrackerRefreshMillis: 200,
          },
        ],
      });
      const agent = await startAgent({ configFile });
      t.after(() => agent.kill());
      const sampler = new ProcSampler(agent.pid, 100);
      t.after(() => sampler.stop());
      const collector = new StreamCollector(agent.engineUrl!, STREAM);
      await untilArrived(agent, collector, ledger, 'the lines of both files');
      await observe(collector, OBSERVE_MS);
      const renames = agent.logs.filter((entry) => entry.msg === 'file renamed; reading on by identity').length;
      await stopCleanly(agent);

      const report = ledger.report(collector.records);
      const figures = figuresFromLedger(report, ledger.size);
      reportFigures(t, 'self-links and a link to a tailed file', figures, {
        'renames logged': renames,
        'peak RSS MiB': mib(sampler.peakRssKiB),
      });
      assertFigures(figures, {
        maxDuplicates: 0,
        scenario: 'self-links',
        details: describeReport(report, ledger.size),
      });
      assert.equal(renames, 0, `a file reached by two paths is not renamed back and forth:\n${agent.tail()}`);
      assert.ok(sampler.peakRssKiB < 200 * 1024, `peak RSS ${mib(sampler.peakRssKiB)} MiB`);
    },
  );

  test('filePattern /** costs bounded memory, is reported, and the engine keeps answering', async (t) => {
    const dir = makeTempDir('shardtail-rel-root-glob-');
    const configFile = writeAgentConfig(dir, {
      engine: embeddedEngine('engine'),
      checkpointFile: 'state/checkpoints.db',
      'cloudwatch.emitMetrics': false,
      flows: [{ filePattern: '/**', kinesisStream: STREAM }],
    });
    const warnings = await checkWarnings(configFile);
    assert.match(warnings, /filePattern \(flows\[0\][^\n]*: warning: \/\*\* walks all of \/ /, warnings);

    const agent = await startAgent({ configFile, startTimeoutMs: 90_000 });
    t.after(() => agent.kill());
    const sampler = new ProcSampler(agent.pid, 100);
    t.after(() => sampler.stop());
    await agent.waitForLog(
      (entry) => typeof entry.msg === 'string' && entry.msg.startsWith('filePattern matches more than'),
      30_000,
      'the too-many-files error',
    );
    // The engine in the same process answers promptly while the flow tails its thousands of files.
    let slowest = 0;
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const health = await fetch(`${agent.engineUrl}/health`);
      assert.equal(health.status, 200);
      slowest = Math.max(slowest, Date.now() - started);
      await sleep(200);
    }
    await waitFor(() => memoryStatus(agent.pid), { message: 'a memory reading' });
    const peakMiB = mib(sampler.peakRssKiB);
    await stopCleanly(agent);
    t.diagnostic(`/**: peak RSS ${peakMiB} MiB, slowest /health ${slowest} ms`);
    assert.ok(Number(peakMiB) < 512, `peak RSS ${peakMiB} MiB with /**`);
    assert.ok(slowest < 1_000, `/health took ${slowest} ms`);
  });
});
