/**
 * Issue 4, scenario 7: inode reuse. A file is shipped and checkpointed; while the agent is stopped
 * it is deleted and a new file is created that gets the same inode (creation retried, bounded,
 * until the inode matches); at the next start the new file must be shipped from its start, and
 * nothing of the old one again.
 *
 * Two sizes of old file: one longer than the 1 KiB the agent fingerprints, and one shorter (its
 * checkpoint then has no fingerprint to compare). Either way the new file is longer than the old
 * checkpoint offset, so the "shorter than its checkpoint" rule cannot come to the rescue.
 */
import assert from 'node:assert/strict';
import { renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertCliBuilt,
  describeReport,
  Ledger,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
  type AgentProcess,
  embeddedConfig,
  logsUnder,
} from '../support/agent-process.js';
import { assertFigures, figuresFromLedger, reportFigures } from '../support/reliability-tally.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'inode-reuse';
const MAX_ATTEMPTS = 2_000;

/** Deletes `file`; creates candidates next to it until one has the old (dev, ino), and moves that one to `file`. */
function reuseInode(file: string, content: Buffer): { attempts: number; ino: number } | undefined {
  const { ino, dev } = statSync(file);
  unlinkSync(file);
  const dir = path.dirname(file);
  const kept: string[] = [];
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // Outside the glob while it is tried (.tmp), so a misfire is never tailed.
      const candidate = path.join(dir, `candidate-${attempt}.tmp`);
      writeFileSync(candidate, content);
      const info = statSync(candidate);
      if (info.ino === ino && info.dev === dev) {
        renameSyncKeepingInode(candidate, file);
        return { attempts: attempt, ino };
      }
      kept.push(candidate); // holding it keeps its inode out of the way of the next try
    }
    return undefined;
  } finally {
    for (const candidate of kept) unlinkSync(candidate);
  }
}

function renameSyncKeepingInode(from: string, to: string): void {
  // rename(2) moves the directory entry: same inode at the new path.
  const before = statSync(from).ino;
  renameSync(from, to);
  assert.equal(statSync(to).ino, before);
}

interface Case {
  name: string;
  /** Lines of the old file (shipped and checkpointed before it is deleted). */
  oldLines: number;
  /** Lines of the new file (same inode). */
  newLines: number;
}

const cases: Case[] = [
  { name: 'old file longer than the 1 KiB fingerprint', oldLines: 200, newLines: 400 },
  { name: 'old file shorter than the 1 KiB fingerprint', oldLines: 5, newLines: 60 },
];

describe('reliability: a new file with the inode of a checkpointed one', { timeout: 60_000 }, () => {
  for (const c of cases) test(`${c.name}: the new file is shipped from its start`, (t) => inodeReuse(t, c));
});

async function inodeReuse(t: TestContext, c: Case): Promise<void> {
  const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-inode-'));
  const configFile = embeddedConfig(dir, STREAM);
  const ledger = new Ledger();
  const file = path.join(logDir, 'app.log');
  const oldContent: Buffer[] = [];
  for (let i = 0; i < c.oldLines; i++)
    oldContent.push(ledger.line(seqId('old', i), `old file line ${i} ${'o'.repeat(40)}`));
  writeFileSync(file, Buffer.concat(oldContent));
  const oldSize = statSync(file).size;

  const agents: AgentProcess[] = [];
  t.after(async () => {
    for (const agent of agents) await agent.kill();
  });
  const first = await startAgent({ configFile });
  agents.push(first);
  const collector = new StreamCollector(first.engineUrl!, STREAM);
  await collector.until((records) => ledger.allArrived(records), {
    timeoutMs: 15_000,
    agent: first,
    message: 'the old file to arrive',
  });
  await sleep(1_200); // past the 1 s checkpoint timer, though a clean stop saves them anyway
  await stopCleanly(first);

  // New content: different from the first byte on, and longer than the old checkpoint offset.
  const newContent: Buffer[] = [];
  for (let i = 0; i < c.newLines; i++)
    newContent.push(ledger.line(seqId('new', i), `NEW file line ${i} ${'n'.repeat(40)}`));
  const content = Buffer.concat(newContent);
  assert.ok(content.length > oldSize, 'test bug: the new file must be longer than the old checkpoint');
  const reused = reuseInode(file, content);
  if (reused === undefined) {
    t.skip(`no new file got the old inode in ${MAX_ATTEMPTS} attempts on this file system`);
    return;
  }

  const second = await startAgent({ configFile });
  agents.push(second);
  collector.setEndpoint(second.engineUrl!);
  let timedOut = '';
  try {
    await collector.until((records) => ledger.allArrived(records), {
      timeoutMs: 10_000,
      agent: second,
      message: 'the new file to arrive from its start',
    });
  } catch (error) {
    timedOut = (error as Error).message.split('\n')[0];
  }
  await sleep(300);
  await collector.poll();
  await stopCleanly(second);

  const report = ledger.report(collector.records);
  const figures = figuresFromLedger(report, ledger.size);
  const scenario = `inode reuse, ${c.name}`;
  const resumed = second.logs.find((entry) => entry.msg === 'resuming from checkpoint');
  const detected = second.logs.find(
    (entry) => entry.msg === 'inode reused by a different file; reading it from the start',
  );
  reportFigures(t, scenario, figures, {
    'old file bytes': oldSize,
    'new file bytes': content.length,
    'same inode after': `${reused.attempts} attempt(s)`,
    agent: detected
      ? 'detected the reuse'
      : resumed
        ? `resumed at the old checkpoint offset ${resumed.offset}`
        : 'no checkpoint matched',
  });
  assertFigures(figures, {
    maxDuplicates: 0,
    scenario,
    details: [timedOut, describeReport(report, ledger.size)].filter(Boolean).join('\n'),
  });
}
