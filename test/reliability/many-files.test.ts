/**
 * Issue 4, scenario 5: 2,000 files in one glob (lines before start, more appended to each after),
 * all shipped completely, exactly once. The agent's open file descriptors (entries of
 * /proc/<pid>/fd) are sampled throughout: descriptors on log files never exceed the agent's bound
 * per flow (idle files are closed and reopened by identity when they grow); the peak, and how many
 * are still open once every file has been idle for a while, are reported.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_OPEN_FILES_PER_FLOW } from '../../src/tail/open-files.js';
import {
  assertCliBuilt,
  startAgent,
  stopCleanly,
  StreamCollector,
  embeddedConfig,
  logsUnder,
} from '../support/agent-process.js';
import { scale, since, SOAK } from '../support/reliability-env.js';
import { mib, openFdTargets, ProcSampler } from '../support/reliability-proc.js';
import {
  assertFigures,
  reportFigures,
  SeqTally,
  readLatest,
  untilEveryLine,
  tallyDetails,
} from '../support/reliability-tally.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'many-files';
const FILES = scale(2_000, 5_000);
const LINES_BEFORE = 10;
const LINES_AFTER = 5;
const LINE_WIDTH = 100;
const IDLE_MS = 5_000;

describe('reliability: thousands of files in one glob', { timeout: scale(150_000, 600_000) }, () => {
  test(`${FILES} files in one glob are all shipped completely; open descriptors are reported`, async (t) => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-files-'));
    const configFile = embeddedConfig(dir, STREAM);
    const tally = new SeqTally();
    const prefixes: string[] = [];
    for (let f = 0; f < FILES; f++) {
      const prefix = `f${String(f).padStart(5, '0')}`;
      prefixes.push(prefix);
      tally.source(prefix, LINE_WIDTH);
      const lines: Buffer[] = [];
      for (let i = 0; i < LINES_BEFORE; i++) lines.push(tally.next(prefix));
      writeFileSync(path.join(logDir, `${prefix}.log`), Buffer.concat(lines));
    }

    const started = Date.now();
    const agent = await startAgent({ configFile, startTimeoutMs: 60_000 });
    t.after(() => agent.kill());
    const startedIn = since(started);
    const sampler = new ProcSampler(agent.pid, 100);
    // Files under the directory only: a listing holds a descriptor on the directory itself while it reads it.
    const logFds = () => openFdTargets(agent.pid).filter((target) => target.startsWith(logDir + path.sep)).length;
    let peakLogFds = logFds();
    const logFdTimer = setInterval(() => (peakLogFds = Math.max(peakLogFds, logFds())), 250);
    t.after(() => clearInterval(logFdTimer));
    const collector = new StreamCollector(agent.engineUrl!, STREAM);

    // Appended after start, in waves over all the files.
    for (let i = 0; i < LINES_AFTER; i++) {
      for (const prefix of prefixes) appendFileSync(path.join(logDir, `${prefix}.log`), tally.next(prefix));
      await sleep(200);
      await readLatest(collector, tally);
    }
    const timedOut = await untilEveryLine(collector, tally, {
      timeoutMs: scale(60_000, 180_000),
      agent,
      message: `every line of the ${FILES} files to arrive`,
    });
    const allArrivedIn = since(started);
    await sleep(IDLE_MS); // every file idle: an agent that bounds descriptors closes them now
    sampler.sample();
    const idleFds = sampler.lastFds;
    const idleLogFds = logFds();
    clearInterval(logFdTimer);
    await readLatest(collector, tally);
    await stopCleanly(agent);
    sampler.stop();

    const figures = tally.figures();
    const scenario = `${FILES} files in one glob`;
    reportFigures(t, scenario, figures, {
      'agent started in': startedIn,
      'all arrived': timedOut ? 'no' : `${allArrivedIn} after start`,
      'peak open fds': sampler.peakFds,
      'peak fds on log files': peakLogFds,
      [`fds after ${IDLE_MS / 1000} s idle`]: `${idleFds} (${idleLogFds} on log files)`,
      'peak RSS MiB': mib(sampler.peakRssKiB),
      soak: SOAK,
    });
    assertFigures(figures, {
      maxDuplicates: 0,
      scenario,
      details: tallyDetails(timedOut, tally, agent),
    });
    assert.ok(
      peakLogFds <= MAX_OPEN_FILES_PER_FLOW,
      `${peakLogFds} descriptors on log files at peak, over the agent's bound of ${MAX_OPEN_FILES_PER_FLOW} per flow`,
    );
  });
});
