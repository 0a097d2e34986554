/**
 * Issue 4, scenario 2: `kill -9` of the agent at random moments while a writer appends, each kill
 * followed by a restart. The agent ships to a standalone engine (a remote over HTTP), so the stream
 * can be read while the agent is dead: what arrived up to each kill is known exactly, and every
 * duplicate is attributed to the crash it follows. Bound: at most one batch (500 records) per
 * crash for the one destination.
 *
 * Kill moments: a third in the first 250 ms after "shardtail started" (resuming, draining the
 * backlog written while it was dead), the rest up to 2.5 s later (steady tailing). The writer is
 * paced to end with the last kill. The seed is printed; SHARDTAIL_SEED replays the kill moments.
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
  type AgentProcess,
  logsUnder,
  remoteConfig,
} from '../support/agent-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { BATCH_RECORDS, scale, seededRandom, SOAK, suiteSeed } from '../support/reliability-env.js';
import { mib, ProcSampler } from '../support/reliability-proc.js';
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

const STREAM = 'crash';
const KILLS = scale(20, 40);
const LINES = scale(200_000, 400_000);
const LINE_WIDTH = 100;
/** A first guess at one start-and-kill cycle; the writer's pace is corrected after each one. */
const EXPECTED_CYCLE_MS = 1_500;

describe('reliability: kill -9 of the agent while lines are written', { timeout: scale(240_000, 900_000) }, () => {
  test(
    `${KILLS} × kill -9 at random moments while ${LINES} lines are written; each followed ` + `by a restart`,
    async (t) => {
      const seed = suiteSeed();
      const random = seededRandom(seed);
      t.diagnostic(`seed ${seed} (SHARDTAIL_SEED=${seed} replays the kill moments)`);

      const engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-rel-crash-engine-') });
      t.after(() => engine.stop(5_000));
      await createStream(engine.url, STREAM, 2);
      const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-crash-'));
      const configFile = remoteConfig(dir, engine.url, STREAM);
      const tally = new SeqTally();
      const writer = new LineWriter({
        tally,
        prefix: 'crash',
        file: path.join(logDir, 'app.log'),
        width: LINE_WIDTH,
        linesPerSecond: LINES / ((KILLS * EXPECTED_CYCLE_MS) / 1000),
        total: LINES,
        mode: 'held',
      });
      const collector = new StreamCollector(engine.url, STREAM);
      const agents: AgentProcess[] = [];
      t.after(async () => {
        for (const agent of agents) await agent.kill();
      });

      writer.writeNow(5_000);
      writer.start();
      const crashes: Array<{ afterMs: number; backlog: number; arrived: number; written: number; duplicates: number }> =
        [];
      const cyclesStarted = Date.now();
      let sampler: ProcSampler | undefined;
      let duplicatesBefore = 0;
      for (let k = 0; k < KILLS; k++) {
        // Lines written but not arrived when this run starts: what it catches up on first.
        const backlog = writer.written - tally.figures().delivered;
        const agent = await startAgent({ configFile });
        agents.push(agent);
        if (sampler) sampler.follow(agent.pid);
        else sampler = new ProcSampler(agent.pid, 200);
        const early = random() < 1 / 3;
        const delayMs = Math.round(early ? random() * 250 : 250 + random() * 2_250);
        await sleep(delayMs);
        assert.equal(agent.state(), 'running', `agent ${k + 1} ended by itself before it was killed:\n${agent.tail()}`);
        sampler.sample();
        const exit = await agent.kill();
        assert.equal(exit.signal, 'SIGKILL');
        await sleep(100); // a request that reached the engine before the kill is answered (and stored) by now
        await readLatest(collector, tally);
        // Duplicates that arrived during this run were resent because of the previous crash.
        if (k > 0) crashes[k - 1].duplicates = tally.duplicatesSoFar - duplicatesBefore;
        else assert.equal(tally.duplicatesSoFar, 0, 'duplicates before any crash');
        duplicatesBefore = tally.duplicatesSoFar;
        crashes.push({
          afterMs: delayMs,
          backlog,
          arrived: tally.figures().delivered,
          written: writer.written,
          duplicates: 0,
        });
        // Keep writing until the last kill: the lines left over the cycles left, at the pace seen so far.
        const cycleMs = (Date.now() - cyclesStarted) / (k + 1);
        const left = KILLS - k - 1;
        const initialRate = LINES / ((KILLS * EXPECTED_CYCLE_MS) / 1000);
        if (left > 0)
          writer.setRate(
            Math.min(3 * initialRate, Math.max(500, (LINES - writer.written) / ((left * cycleMs) / 1000))),
          );
      }

      const last = await startAgent({ configFile });
      agents.push(last);
      sampler!.follow(last.pid);
      await writer.finish();
      const timedOut = await untilEveryLine(collector, tally, {
        timeoutMs: scale(60_000, 180_000),
        agent: last,
        message: 'every line to arrive after the last restart',
      });
      await sleep(300);
      await readLatest(collector, tally);
      await stopCleanly(last);
      sampler!.stop();
      crashes[KILLS - 1].duplicates = tally.duplicatesSoFar - duplicatesBefore;

      const figures = tally.figures();
      const worst = crashes.reduce((max, c, i) => (c.duplicates > crashes[max].duplicates ? i : max), 0);
      const scenario = `kill -9 ×${KILLS}`;
      reportFigures(t, scenario, figures, {
        seed,
        'duplicates per crash': crashes.map((c) => c.duplicates).join(','),
        'worst crash':
          `#${worst + 1} (${crashes[worst].duplicates} duplicates, killed ${crashes[worst].afterMs} ` +
          `ms after start, backlog ${crashes[worst].backlog} lines)`,
        'peak VmRSS MiB': mib(sampler!.peakRssKiB),
        soak: SOAK,
      });
      const overBound = crashes.map((c, i) => ({ ...c, crash: i + 1 })).filter((c) => c.duplicates > BATCH_RECORDS);
      assertFigures(figures, {
        maxDuplicates: BATCH_RECORDS * KILLS,
        scenario,
        details: tallyDetails(timedOut, tally, last),
      });
      assert.deepEqual(
        overBound.map(
          (c) =>
            `crash #${c.crash}: ${c.duplicates} duplicates (killed ${c.afterMs} ms after "shardtail started" ` +
            `with a backlog of ${c.backlog} lines; ` +
            `${c.arrived} of ${c.written} written lines had arrived)`,
        ),
        [],
        `at most one batch (${BATCH_RECORDS} records) may be delivered twice per crash (seed ${seed})`,
      );
    },
  );
});
