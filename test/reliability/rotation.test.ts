/**
 * Issue 4, scenario 1: rotation while a writer appends continuously. logrotate (`-f`, its own
 * state file in a temp dir) in `create` mode every 200 ms and in `copytruncate` mode, both with
 * `compress` + `delaycompress`; a rotation into another directory (`olddir`); and a plain `mv` +
 * create by hand. The agent runs with its embedded engine; every line is counted by its sequence
 * number: nothing may be missing, and with no crash nothing may arrive twice.
 *
 * copytruncate copies the file and then truncates it: lines written between the copy and the
 * truncation exist in no file afterwards. Lines that are in no file at the end and never arrived
 * are reported as "lost by the rotation tool", not as missing. copytruncate runs twice: with a glob
 * that also matches the copy (app.log*, where the agent can read the lines it had not read yet
 * from the copy) and with one that matches only app.log (the Java agent's advice for copytruncate).
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertCliBuilt,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
  type AgentProcess,
  type LogEntry,
  embeddedConfig,
} from '../support/agent-process.js';
import { scale, SOAK, since } from '../support/reliability-env.js';
import {
  idsOnDisk,
  logrotateAvailable,
  runLogrotate,
  writeLogrotateConfig,
  type LogrotateSetup,
} from '../support/reliability-logrotate.js';
import { assertFigures, reportFigures, SeqTally, readLatest, untilEveryLine } from '../support/reliability-tally.js';
import { LineWriter } from '../support/reliability-writer.js';
import { openFilesUnder } from '../support/reliability-proc.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'rotation';
const ROTATE_EVERY_MS = 200;
const RUN_MS = scale(6_000, 60_000);
const LINES_PER_SECOND = scale(4_000, 8_000);
const LINE_WIDTH = 120;

interface Variant {
  name: string;
  /** The flow's filePattern, relative to the test dir. */
  glob: string;
  /** One rotation: the writer is told to reopen where a real app would be. */
  rotate: (ctx: {
    dir: string;
    logFile: string;
    writer: LineWriter;
    n: number;
    logrotate?: LogrotateSetup;
  }) => Promise<void>;
  logrotate?: { mode: 'create' | 'copytruncate'; olddir?: string };
  /** Directories whose files (rotated copies included) hold the lines written. */
  dirs: string[];
}

const variants: Variant[] = [
  {
    name: 'logrotate create every 200 ms (compress, delaycompress), glob app.log*',
    glob: 'logs/app.log*',
    logrotate: { mode: 'create' },
    dirs: ['logs'],
    rotate: async ({ writer, logrotate }) => {
      await runLogrotate(logrotate!);
      writer.reopen(); // postrotate: the app reopens its log
    },
  },
  {
    name: 'logrotate copytruncate every 200 ms (compress, delaycompress), glob app.log* (the copy is in the glob)',
    glob: 'logs/app.log*',
    logrotate: { mode: 'copytruncate' },
    dirs: ['logs'],
    rotate: async ({ logrotate }) => {
      await runLogrotate(logrotate!);
    },
  },
  {
    name: 'logrotate copytruncate every 200 ms (compress, delaycompress), glob app.log (the copy is outside the glob)',
    glob: 'logs/app.log',
    logrotate: { mode: 'copytruncate' },
    dirs: ['logs'],
    rotate: async ({ logrotate }) => {
      await runLogrotate(logrotate!);
    },
  },
  {
    name: 'logrotate create + olddir (rotated into another directory) every 200 ms, glob app.log*',
    glob: 'logs/app.log*',
    logrotate: { mode: 'create', olddir: 'old' },
    dirs: ['logs', 'old'],
    rotate: async ({ writer, logrotate }) => {
      await runLogrotate(logrotate!);
      writer.reopen();
    },
  },
  {
    name: 'mv + create by hand every 200 ms, glob *.log (the moved file leaves the glob)',
    glob: 'logs/*.log',
    dirs: ['logs'],
    rotate: async ({ logFile, writer, n }) => {
      renameSync(logFile, `${logFile}.${n}`);
      writeFileSync(logFile, '');
      await sleep(n % 3 === 0 ? 0 : 15); // the app keeps writing to the moved file for a moment
      writer.reopen();
    },
  },
];

describe('reliability: rotation while a writer appends', { timeout: scale(120_000, 600_000) }, () => {
  for (const variant of variants) {
    test(variant.name, { skip: variant.logrotate && !logrotateAvailable() ? 'no /usr/sbin/logrotate' : false }, (t) =>
      rotationRun(t, variant),
    );
  }
});

async function rotationRun(t: TestContext, variant: Variant): Promise<void> {
  const dir = makeTempDir('shardtail-rel-rotate-');
  mkdirSync(path.join(dir, 'logs'));
  if (variant.logrotate?.olddir) mkdirSync(path.join(dir, variant.logrotate.olddir));
  const logFile = path.join(dir, 'logs', 'app.log');
  const logrotate = variant.logrotate
    ? writeLogrotateConfig({
        dir,
        logFile,
        mode: variant.logrotate.mode,
        olddir: variant.logrotate.olddir ? path.join(dir, variant.logrotate.olddir) : undefined,
        compress: true,
        delaycompress: true,
      })
    : undefined;
  const configFile = embeddedConfig(dir, STREAM, { filePattern: variant.glob });
  const tally = new SeqTally();
  const writer = new LineWriter({
    tally,
    prefix: 'app',
    file: logFile,
    width: LINE_WIDTH,
    linesPerSecond: LINES_PER_SECOND,
    mode: 'held',
  });
  writer.writeNow(500); // something to read at start

  const agent: AgentProcess = await startAgent({ configFile });
  t.after(() => agent.kill());
  assert.ok(agent.engineUrl, agent.tail());
  const collector = new StreamCollector(agent.engineUrl, STREAM);
  writer.start();

  const started = Date.now();
  const rotations: Rotation[] = [];
  let n = 0;
  while (Date.now() - started < RUN_MS) {
    const next = Date.now() + ROTATE_EVERY_MS;
    await variant.rotate({ dir, logFile, writer, n: ++n, logrotate });
    rotations.push({
      atMs: Date.now(),
      ino: inodeOf(logFile),
      departuresSeen: agent.logs.filter(leftTheGlob).length,
      agentOpen: variant.dirs
        .flatMap((d) => openFilesUnder(agent.pid, path.join(dir, d)).map((f) => `${d}/${f}`))
        .join(' '),
    });
    if (n % 5 === 0) {
      await readLatest(collector, tally);
    }
    assert.equal(agent.state(), 'running', agent.tail());
    await sleep(Math.max(0, next - Date.now()));
  }
  await writer.stop();

  // copytruncate: what is in no file now was destroyed between copy and truncate; it can never
  // arrive. A line the copy caught half of ends the copy unterminated, and is shipped as that half.
  if (variant.logrotate?.mode === 'copytruncate') {
    const onDisk = idsOnDisk(variant.dirs.map((d) => path.join(dir, d)));
    for (let seq = 0; seq < writer.written; seq++) {
      const id = seqId('app', seq);
      if (onDisk.ids.has(id)) continue;
      tally.excuse('app', seq);
      const head = onDisk.torn.get(id);
      if (head !== undefined) tally.excuseTorn('app', seq, head);
    }
  }

  const waitStarted = Date.now();
  const timedOut = await untilEveryLine(collector, tally, {
    timeoutMs: scale(15_000, 120_000),
    agent,
    message: 'every line written to arrive',
  });
  await sleep(300); // a window for late duplicates
  await readLatest(collector, tally);
  await stopCleanly(agent);

  const figures = tally.figures();
  const countLogs = (msg: string) => agent.logs.filter((entry) => entry.msg === msg).length;
  reportFigures(t, `rotation: ${variant.name}`, figures, {
    rotations: rotations.length,
    'writer lines/s': Math.round(writer.rate()),
    'caught up after writer stopped': timedOut ? 'no' : since(waitStarted),
    'copytruncate detections':
      countLogs('file shrank below the read offset (copytruncate); reading it again from the start') +
      countLogs(
        'file was truncated and written again past the read offset (copytruncate); reading it again from the start',
      ),
    'departures seen': agent.logs.filter(leftTheGlob).length,
    soak: SOAK,
  });
  assertFigures(figures, {
    maxDuplicates: 0,
    scenario: `rotation: ${variant.name}`,
    details: [
      timedOut,
      tally.describeProblems(),
      explainMissing(tally, writer, rotations),
      `agent output:\n${agent.tail(15)}`,
    ]
      .filter(Boolean)
      .join('\n'),
  });
}

interface Rotation {
  atMs: number;
  /** Inode of the new app.log after the rotation. */
  ino: number;
  /** What the agent had open under the test dir right after it. */
  agentOpen: string;
  /** "file left the glob" lines the agent had logged by then: one per scan that saw a rotation. */
  departuresSeen: number;
}

const leftTheGlob = (entry: LogEntry) => entry.msg === 'file left the glob (rotated or deleted); reading it to its end';

function inodeOf(file: string): number {
  try {
    return statSync(file).ino;
  } catch {
    return -1;
  }
}

/** Where the missing lines were: which file (inode) they went to, and when relative to the rotations. */
function explainMissing(tally: SeqTally, writer: LineWriter, rotations: Rotation[]): string {
  const missing = tally.missingSeqs('app');
  if (missing.length === 0) return '';
  const groups: Array<{ ino: number; count: number; first: number; last: number; writtenMs: number }> = [];
  for (const seq of missing) {
    const chunk = writer.chunkOf(seq);
    const ino = chunk?.ino ?? -1;
    const last = groups[groups.length - 1];
    if (last && last.ino === ino && seq - last.last < 200) {
      last.count++;
      last.last = seq;
    } else groups.push({ ino, count: 1, first: seq, last: seq, writtenMs: chunk?.atMs ?? 0 });
  }
  const lines = groups.slice(0, 8).map((g) => {
    const index = rotations.filter((r) => r.atMs <= g.writtenMs).length; // rotations before the write
    const around = rotations
      .slice(Math.max(0, index - 1), index + 2)
      .map(
        (r) =>
          `#${rotations.indexOf(r) + 1} new app.log=${r.ino}; agent had logged ${r.departuresSeen} departures; ` +
          `had open: ${r.agentOpen || 'nothing'}`,
      );
    const prev = rotations[index - 1];
    return (
      `  ${g.count} missing ${seqId('app', g.first)}..${seqId('app', g.last)} written to inode ${g.ino}, ` +
      `${prev ? g.writtenMs - prev.atMs : '?'} ms after rotation #${index}\n` +
      around.map((a) => `      ${a}`).join('\n')
    );
  });
  return `missing lines by the file they were written to (${groups.length} groups):\n${lines.join('\n')}`;
}
