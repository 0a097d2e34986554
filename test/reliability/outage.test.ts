/**
 * Issue 4, scenario 3: the engine the agent ships to (standalone, as a remote over HTTP) is stopped
 * for 60 s in the middle of a run, then started again on the same data directory and port. The
 * writer keeps writing throughout — more than the agent may buffer — so the agent has to hold
 * back and catch up. Nothing may be missing; the stop counts as one crash of the destination (a
 * call in flight may be stored and its answer lost): at most one batch twice. The agent's peak
 * resident memory over the whole run (VmHWM) stays under 150 MiB.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertCliBuilt,
  createStream,
  startAgent,
  stopCleanly,
  StreamCollector,
  logsUnder,
  remoteConfig,
} from '../support/agent-process.js';
import { startEngineAt } from '../support/reliability-engine.js';
import { BATCH_RECORDS, scale, since, SOAK } from '../support/reliability-env.js';
import { memoryStatus, mib, ProcSampler } from '../support/reliability-proc.js';
import {
  assertFigures,
  reportFigures,
  SeqTally,
  readLatest,
  untilEveryLine,
  tallyDetails,
} from '../support/reliability-tally.js';
import { LineWriter } from '../support/reliability-writer.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'outage';
const OUTAGE_MS = 60_000;
const BEFORE_MS = scale(5_000, 30_000);
const AFTER_MS = scale(5_000, 30_000);
/** ~750 KB/s in CI: ~45 MB written during the outage, far more than the agent's 8 MiB per-flow budget. */
const LINES_PER_SECOND = scale(3_000, 6_000);
const LINE_WIDTH = 250;
const RSS_LIMIT_MIB = 150;

describe('reliability: the remote engine is down for 60 s', { timeout: OUTAGE_MS + scale(120_000, 300_000) }, () => {
  test(
    'engine stopped 60 s mid-run, started again on the same port and data dir: nothing lost, agent peak ' +
      'RSS < 150 MiB',
    async (t) => {
      const dataDir = makeTempDir('shardtail-rel-outage-engine-');
      let engine = await startEngineAt({ dataDir, port: 0 });
      t.after(() => engine.stop(5_000));
      const port = engine.port;
      await createStream(engine.url, STREAM, 2);
      const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-outage-'));
      const configFile = remoteConfig(dir, engine.url, STREAM);
      const tally = new SeqTally();
      const writer = new LineWriter({
        tally,
        prefix: 'outage',
        file: path.join(logDir, 'app.log'),
        width: LINE_WIDTH,
        linesPerSecond: LINES_PER_SECOND,
        mode: 'held',
      });
      writer.writeNow(2_000);

      const agent = await startAgent({ configFile });
      t.after(() => agent.kill());
      const sampler = new ProcSampler(agent.pid, 200);
      const collector = new StreamCollector(engine.url, STREAM);
      writer.start();
      await sleep(BEFORE_MS);
      await readLatest(collector, tally);
      const arrivedBefore = tally.figures().delivered;
      assert.ok(arrivedBefore > 0, `nothing arrived in the ${BEFORE_MS} ms before the outage:\n${agent.tail()}`);

      const stoppedAtWritten = writer.written;
      const engineStop = await engine.stop(10_000);
      const outageStarted = Date.now();
      await sleep(OUTAGE_MS);
      assert.equal(agent.state(), 'running', `the agent must ride out the outage:\n${agent.tail()}`);
      const writtenDuringOutage = writer.written - stoppedAtWritten;
      const rssAtEndOfOutage = memoryStatus(agent.pid);
      engine = await startEngineAt({ dataDir, port });
      const outageMs = Date.now() - outageStarted;
      const restartedMs = Date.now();

      // Catching up while the writer keeps writing.
      let firstNewMs: number | undefined;
      const deliveredAtRestart = tally.figures().delivered;
      const catchUpDeadline = Date.now() + AFTER_MS;
      while (Date.now() < catchUpDeadline) {
        await sleep(250);
        await readLatest(collector, tally);
        if (firstNewMs === undefined && tally.figures().delivered > deliveredAtRestart)
          firstNewMs = Date.now() - restartedMs;
      }
      await writer.stop();
      const timedOut = await untilEveryLine(collector, tally, {
        timeoutMs: scale(90_000, 240_000),
        agent,
        message: 'every line to arrive after the engine came back',
      });
      const caughtUp = since(restartedMs);
      await sleep(300);
      await readLatest(collector, tally);
      sampler.sample();
      const peak = memoryStatus(agent.pid);
      await stopCleanly(agent);
      sampler.stop();

      const figures = tally.figures();
      const peakHWMKiB = peak?.vmHWMKiB ?? sampler.lastHWMKiB;
      const scenario = 'engine down 60 s';
      reportFigures(t, scenario, figures, {
        'engine stop': `${engineStop.signal ?? `code ${engineStop.code}`}${engineStop.forced ? ' (forced)' : ''}`,
        'outage s': (outageMs / 1000).toFixed(1),
        'lines written during the outage': writtenDuringOutage,
        'MB written during the outage': ((writtenDuringOutage * LINE_WIDTH) / 1e6).toFixed(1),
        'first record after restart':
          firstNewMs === undefined ? 'not within the catch-up window' : `${(firstNewMs / 1000).toFixed(1)} s`,
        'all arrived': timedOut ? 'no' : `${caughtUp} after the restart`,
        'agent VmRSS at end of outage MiB': rssAtEndOfOutage ? mib(rssAtEndOfOutage.vmRSSKiB) : '?',
        'agent peak RSS (VmHWM) MiB': mib(peakHWMKiB),
        soak: SOAK,
      });
      assertFigures(figures, {
        maxDuplicates: BATCH_RECORDS,
        scenario,
        details: tallyDetails(timedOut, tally, agent, 15),
      });
      assert.ok(
        peakHWMKiB / 1024 < RSS_LIMIT_MIB,
        `agent peak RSS (VmHWM) ${mib(peakHWMKiB)} MiB must stay under ${RSS_LIMIT_MIB} MiB`,
      );
    },
  );
});
