/**
 * Issue 8, item 1: file churn. Files of one line each are created at a steady rate in a few
 * directories under a `**` glob, and each is deleted 3 s after it was created, so that the file
 * system hands the inodes of deleted files to new ones all the time. Every line must arrive exactly
 * once: a new file that got a recycled inode is a new file (read from its start), never the old
 * file renamed (read on from the old file's offset).
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertCliBuilt,
  embeddedConfig,
  logsUnder,
  startAgent,
  stopCleanly,
  StreamCollector,
} from '../support/agent-process.js';
import { scale, since, SOAK } from '../support/reliability-env.js';
import { mib, ProcSampler } from '../support/reliability-proc.js';
import {
  assertFigures,
  readLatest,
  reportFigures,
  SeqTally,
  untilEveryLine,
  tallyDetails,
} from '../support/reliability-tally.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'churn';
const LIFETIME_MS = 3_000;
const DIRECTORIES = 4;
const LINE_WIDTH = 80;

interface Rate {
  filesPerSecond: number;
  files: number;
}

/** SHARDTAIL_CHURN=<files per second>:<files> runs that one rate instead (to find the highest the machine sustains). */
const chosen = /^(\d+):(\d+)$/.exec(process.env.SHARDTAIL_CHURN ?? '');
const rates: Rate[] = chosen
  ? [{ filesPerSecond: Number(chosen[1]), files: Number(chosen[2]) }]
  : scale(
      [
        { filesPerSecond: 50, files: 1_000 },
        { filesPerSecond: 250, files: 5_000 },
      ],
      [
        { filesPerSecond: 50, files: 2_000 },
        { filesPerSecond: 250, files: 10_000 },
        { filesPerSecond: 1_000, files: 100_000 },
      ],
    );

describe(
  'reliability: files created and deleted at a steady rate (recycled inodes)',
  { timeout: chosen ? 3_600_000 : scale(240_000, 900_000) },
  () => {
    for (const rate of rates) {
      test(
        `${rate.files} one-line files at ${rate.filesPerSecond} files/s, each deleted after ` +
          `${LIFETIME_MS / 1000} s: every line arrives once`,
        async (t) => {
          const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-churn-'));
          const directories = Array.from({ length: DIRECTORIES }, (_, i) => path.join(logDir, `d${i}`));
          for (const directory of directories) mkdirSync(directory, { recursive: true });
          const configFile = embeddedConfig(dir, STREAM, { filePattern: 'logs/**/*.log' });
          const agent = await startAgent({ configFile });
          t.after(() => agent.kill());
          const sampler = new ProcSampler(agent.pid, 250);
          t.after(() => sampler.stop());
          const collector = new StreamCollector(agent.engineUrl!, STREAM);
          const tally = new SeqTally();
          tally.source('churn', LINE_WIDTH);

          // Files are due by the clock, not by a fixed sleep per file, so the rate holds whatever each write costs.
          const started = Date.now();
          const alive: Array<{ file: string; deleteAtMs: number }> = [];
          let created = 0;
          let lastRead = Date.now();
          while (created < rate.files || alive.length > 0) {
            const now = Date.now();
            const due = Math.min(rate.files, Math.floor(((now - started) * rate.filesPerSecond) / 1000));
            for (; created < due; created++) {
              const file = path.join(directories[created % DIRECTORIES], `f${created}.log`);
              writeFileSync(file, tally.next('churn'));
              alive.push({ file, deleteAtMs: now + LIFETIME_MS });
            }
            while (alive.length > 0 && alive[0].deleteAtMs <= now) unlinkSync(alive.shift()!.file);
            if (now - lastRead > 1_000) {
              lastRead = now;
              await readLatest(collector, tally);
            }
            await sleep(5);
          }
          const writtenIn = since(started);
          const timedOut = await untilEveryLine(collector, tally, {
            timeoutMs: 30_000,
            agent,
            message: `every line of the ${rate.files} files to arrive`,
          });
          // Duplicates would come from the last batches; the agent's clean stop sends what it holds first.
          await readLatest(collector, tally);
          const renamedFromDeleted = agent.logs.filter(
            (entry) => entry.msg === 'file renamed; reading on by identity',
          ).length;
          await stopCleanly(agent);

          const figures = tally.figures();
          const scenario = `churn, ${rate.files} files at ${rate.filesPerSecond}/s`;
          reportFigures(t, scenario, figures, {
            'written in': writtenIn,
            'inode reuses detected': agent.logs.filter(
              (entry) => typeof entry.msg === 'string' && entry.msg.startsWith('inode reused'),
            ).length,
            'renames logged': renamedFromDeleted,
            'peak RSS MiB': mib(sampler.peakRssKiB),
            soak: SOAK,
          });
          assertFigures(figures, {
            maxDuplicates: 0,
            scenario,
            details: tallyDetails(timedOut, tally, agent),
          });
        },
      );
    }
  },
);
