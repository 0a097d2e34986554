/**
 * Issue 4, scenario 6: bad inputs. An unreadable file (skipped and reported, shipped once it is
 * readable), a file deleted while the agent has it open (read to its end, then its descriptor let
 * go), binary data and invalid UTF-8 (byte-exact), a 5 MiB line (truncated to the record limit
 * and counted), a corrupt checkpoint store (moved aside, the agent starts), a full disk under the
 * checkpoint store (logged, shipping goes on, saving resumes once there is room), a store that
 * cannot be created at all (reported; shipping goes on with checkpoints in memory), a glob whose
 * directory does not exist yet (picked up once created), a new file with the first KiB of a tailed
 * one (its own file, not a copy: shipped from its start), a file truncated and written again past
 * the read offset between two polls (found by its first bytes), and checkpoint hygiene (entries of files
 * gone longer than checkpointTimeToLiveDays are forgotten, idle live files' are not). Each line is checked byte for
 * byte with
 * the Ledger of agent-process.ts.
 *
 * The tests run as root, for whom chmod 000 stops nothing: the unreadable-file test then runs the
 * agent as `nobody` (a --require preload that drops privileges before the CLI loads) and skips,
 * saying why, if that is not possible.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  appendLines,
  assertCliBuilt,
  describeReport,
  idOf,
  Ledger,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
  type AgentProcess,
  bigLine,
  KINESIS_RECORD_LIMIT,
  truncatedFrom,
  embeddedConfig,
  logsUnder,
} from '../support/agent-process.js';
import { seededRandom, suiteSeed } from '../support/reliability-env.js';
import { openFdTargets } from '../support/reliability-proc.js';
import { assertFigures, figuresFromLedger, reportFigures } from '../support/reliability-tally.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { mountTmpfs } from '../support/tmpfs.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'bad-inputs';

interface Run {
  agent: AgentProcess;
  collector: StreamCollector;
}

async function launch(
  t: TestContext,
  configFile: string,
  collector?: StreamCollector,
  env: Record<string, string> = {},
): Promise<Run> {
  const agent = await startAgent({ configFile, env });
  t.after(() => agent.kill());
  assert.ok(agent.engineUrl, agent.tail());
  if (collector) collector.setEndpoint(agent.engineUrl);
  return { agent, collector: collector ?? new StreamCollector(agent.engineUrl, STREAM) };
}

async function untilArrived(run: Run, ledger: Ledger, timeoutMs: number, what: string): Promise<void> {
  await run.collector.until((records) => ledger.allArrived(records), {
    timeoutMs,
    agent: run.agent,
    message: () =>
      `${what} (${describeReport(ledger.report(run.collector.records), ledger.size)}); agent ` +
      `output:\n${run.agent.tail(15)}`,
  });
}

/** A moment for late duplicates, a last read (the embedded engine goes away with the agent), a clean stop. */
async function finish(run: Run): Promise<void> {
  await sleep(300);
  await run.collector.poll();
  await stopCleanly(run.agent);
}

/** Figures, then exactly once unless `maxDuplicates` says otherwise. */
function check(
  t: TestContext,
  scenario: string,
  ledger: Ledger,
  run: Run,
  extra: Record<string, unknown> = {},
  maxDuplicates = 0,
): void {
  const report = ledger.report(run.collector.records);
  const figures = figuresFromLedger(report, ledger.size);
  reportFigures(t, scenario, figures, extra);
  assertFigures(figures, {
    maxDuplicates,
    scenario,
    details: describeReport(report, ledger.size, { allowDuplicates: maxDuplicates > 0 }),
  });
}

/** A scenario's directory with its logs/ and an agent.json shipping them to the embedded engine. */
function scenario(
  prefix: string,
  top: Record<string, unknown> = {},
): { dir: string; logDir: string; configFile: string } {
  const { dir, logDir } = logsUnder(makeTempDir(prefix));
  return { dir, logDir, configFile: embeddedConfig(dir, STREAM, {}, top) };
}

/**
 * A scenario directory whose checkpoint store's directory is a tmpfs of its own, mounted with
 * `options` and unmounted when the test ends. Undefined, with the test skipped and the reason
 * given, where mounting is not allowed (it needs root with CAP_SYS_ADMIN).
 */
function storeOnTmpfs(
  t: TestContext,
  prefix: string,
  options: string,
): { logDir: string; configFile: string; stateDir: string } | undefined {
  const { dir, logDir, configFile } = scenario(prefix);
  const stateDir = path.join(dir, 'state');
  mkdirSync(stateDir);
  if (!mountTmpfs(t, stateDir, options)) return undefined;
  return { logDir, configFile, stateDir };
}

const lines = (ledger: Ledger, prefix: string, n: number, text: string, from = 0) => {
  const out: Buffer[] = [];
  for (let i = from; i < from + n; i++) out.push(ledger.line(seqId(prefix, i), `${text} ${i}`));
  return out;
};

describe('reliability: bad inputs', { timeout: 120_000 }, () => {
  test('an unreadable file is skipped and reported, the others ship, and it ships in full once readable', async (t) => {
    const { dir, logDir, configFile } = scenario('shardtail-rel-unreadable-');
    const ledger = new Ledger();
    const locked = path.join(logDir, 'locked.log');
    writeFileSync(path.join(logDir, 'ok.log'), Buffer.concat(lines(ledger, 'ok', 100, 'readable')));
    writeFileSync(locked, Buffer.concat(lines(ledger, 'locked', 100, 'unreadable at first')));

    let env: Record<string, string> = {};
    let how = 'chmod 000';
    if (process.getuid?.() === 0) {
      // Root reads a chmod 000 file anyway: run the agent as nobody, owning its directory.
      const drop = path.join(dir, 'drop-privileges.cjs');
      writeFileSync(drop, 'process.setgroups([]); process.setgid(65534); process.setuid(65534);\n');
      for (const entry of [dir, logDir, drop, configFile, path.join(logDir, 'ok.log'), locked])
        chownSync(entry, 65534, 65534);
      chmodSync(dir, 0o755);
      env = { NODE_OPTIONS: `--require ${drop}` };
      how = 'chmod 000, agent run as nobody (uid 65534) because the tests run as root';
    }
    chmodSync(locked, 0o000);

    let run: Run;
    try {
      run = await launch(t, configFile, undefined, env);
    } catch (error) {
      const message = (error as Error).message;
      if (env.NODE_OPTIONS && /EPERM|setuid|setgid|setgroups|EACCES/.test(message)) {
        t.skip(
          `running as root and cannot run the agent as nobody to make a file unreadable to it: ` +
            `${message.split('\n')[0]}`,
        );
        return;
      }
      throw error;
    }
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${run.agent.pid}/status`, 'utf8'))?.[1];
    if (env.NODE_OPTIONS) assert.equal(uid, '65534', 'the agent should run as nobody');

    const okLedger = new Ledger();
    for (let i = 0; i < 100; i++)
      okLedger.expect(seqId('ok', i), (data) => (data.includes('readable') ? undefined : 'wrong bytes'));
    await untilArrived(run, okLedger, 15_000, 'the readable file to arrive while the other is unreadable');
    const reported = await run.agent.waitForLog(
      (entry) => entry.msg === 'cannot open file; skipping it until it becomes readable' && entry.path === locked,
      5_000,
      'the unreadable file reported',
    );
    assert.equal(run.agent.state(), 'running');
    const earlyLocked = run.collector.records.filter((record) => idOf(record.data)?.startsWith('locked-')).length;
    assert.equal(earlyLocked, 0, 'nothing of the unreadable file can have been read');

    appendLines(
      path.join(logDir, 'ok.log'),
      lines(ledger, 'ok', 50, 'appended while the other file is unreadable', 100),
    );
    const madeReadable = Date.now();
    chmodSync(locked, 0o644);
    await untilArrived(run, ledger, 25_000, 'every line, the once-unreadable file included');
    const pickedUpMs = Date.now() - madeReadable;
    await finish(run);
    check(t, 'unreadable file', ledger, run, {
      how,
      reported: `${reported.code}`,
      'shipped after it became readable': `${(pickedUpMs / 1000).toFixed(1)} s`,
    });
  });

  test('a file deleted while the agent has it open is read to its end, then its descriptor is let go', async (t) => {
    const { logDir, configFile } = scenario('shardtail-rel-deleted-');
    const ledger = new Ledger();
    const file = path.join(logDir, 'gone.log');
    writeFileSync(file, Buffer.concat(lines(ledger, 'gone', 1_000, 'before start')));
    const run = await launch(t, configFile);
    await untilArrived(run, ledger, 15_000, 'the first lines (the file is open now)');
    assert.ok(openFdTargets(run.agent.pid).includes(file), `the agent should have ${file} open`);
    // More than one read chunk (1 MiB), appended and deleted at once: all of it is only in the open inode.
    appendLines(
      file,
      lines(ledger, 'gone', 30_000, 'appended just before the file was deleted '.padEnd(80, '.'), 1_000),
    );
    unlinkSync(file);
    const deletedMs = Date.now();
    await untilArrived(run, ledger, 20_000, 'every line of the deleted file');
    let heldDeleted: string[] = [];
    const released = await (async () => {
      for (let i = 0; i < 50; i++) {
        heldDeleted = openFdTargets(run.agent.pid).filter((target) => target.startsWith(file));
        if (heldDeleted.length === 0) return Date.now() - deletedMs;
        await sleep(200);
      }
      return undefined;
    })();
    await finish(run);
    check(t, 'file deleted while open', ledger, run, {
      'descriptor released':
        released === undefined
          ? `no, still open 10 s later: ${heldDeleted.join(', ')}`
          : `${(released / 1000).toFixed(1)} s after the delete`,
    });
    assert.ok(
      released !== undefined,
      `the deleted file must not stay open for good (disk space is not freed): ${heldDeleted.join(', ')}`,
    );
  });

  test('binary data and invalid UTF-8 pass byte-exact', async (t) => {
    const seed = suiteSeed();
    const random = seededRandom(seed);
    const { logDir, configFile } = scenario('shardtail-rel-binary-');
    const ledger = new Ledger();
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 0x0a));
    const invalid: Array<[string, number[]]> = [
      ['bare-continuation', [0x80, 0xbf, 0xa0, 0xa1]],
      ['bad-2-byte', [0xc3, 0x28]],
      ['bad-3-byte', [0xe2, 0x28, 0xa1]],
      ['bad-4-byte', [0xf0, 0x28, 0x8c, 0xbc]],
      ['overlong-slash', [0xc0, 0xaf]],
      ['overlong-nul', [0xc0, 0x80]],
      ['surrogate', [0xed, 0xa0, 0x80, 0xed, 0xbf, 0xbf]],
      ['above-10ffff', [0xf4, 0x90, 0x80, 0x80]],
      ['ff-fe', [0xff, 0xfe, 0xfd]],
      ['cut-at-end', [0x41, 0xe2, 0x82]],
      ['nul-run', [0, 0, 0, 0, 0, 0, 0, 0]],
      ['cr-only', [0x0d, 0x0d]],
      ['bom', [0xef, 0xbb, 0xbf, 0x41]],
    ];
    const make = (id: string, payload: Buffer) => {
      const bytes = Buffer.concat([Buffer.from(`#${id}# `), payload, Buffer.from('\n')]);
      ledger.expect(id, bytes);
      return bytes;
    };
    const randomLine = (id: string, length: number) => {
      const payload = Buffer.alloc(length);
      for (let i = 0; i < length; i++) {
        let byte = Math.floor(random() * 256);
        if (byte === 0x0a) byte = 0x0b;
        payload[i] = byte;
      }
      return make(id, payload);
    };
    const batch = (phase: string) => {
      const out: Buffer[] = [make(`${phase}-all-bytes`, allBytes)];
      for (const [name, bytes] of invalid) out.push(make(`${phase}-${name}`, Buffer.from(bytes)));
      for (let i = 0; i < 200; i++) out.push(randomLine(seqId(`${phase}-random`, i), 1 + Math.floor(random() * 3_000)));
      return out;
    };
    const file = path.join(logDir, 'binary.log');
    writeFileSync(file, Buffer.concat(batch('pre')));
    const run = await launch(t, configFile);
    await untilArrived(run, ledger, 15_000, 'the binary lines written before start');
    const appended = Buffer.concat(batch('post'));
    // In pieces that cut multi-byte sequences and lines apart.
    for (let offset = 0; offset < appended.length; offset += 7_777) {
      appendLines(file, [appended.subarray(offset, Math.min(appended.length, offset + 7_777))]);
      await sleep(5);
    }
    await untilArrived(run, ledger, 15_000, 'the binary lines appended after start');
    await finish(run);
    check(t, 'binary data and invalid UTF-8', ledger, run, { seed });
  });

  test('a 5 MiB line is truncated to the record limit, ends with the terminator, and is counted', async (t) => {
    const { logDir, configFile } = scenario('shardtail-rel-long-', { 'log.statusReportingPeriodSeconds': 1 });
    const ledger = new Ledger();
    const file = path.join(logDir, 'long.log');
    const FIVE_MIB = 5 * 1024 * 1024;
    const big1 = bigLine('five-mib-before-start', FIVE_MIB);
    ledger.expect('five-mib-before-start', truncatedFrom(big1));
    writeFileSync(
      file,
      Buffer.concat([
        ...lines(ledger, 'before', 10, 'before the long line'),
        big1,
        ...lines(ledger, 'after', 10, 'after the long line'),
      ]),
    );
    const run = await launch(t, configFile);
    await untilArrived(run, ledger, 20_000, 'the lines around the 5 MiB line');
    const big2 = bigLine('five-mib-appended', FIVE_MIB + 4321);
    ledger.expect('five-mib-appended', truncatedFrom(big2));
    for (let offset = 0; offset < big2.length; offset += 1_500_000) {
      appendLines(file, [big2.subarray(offset, Math.min(big2.length, offset + 1_500_000))]);
      await sleep(100);
    }
    appendLines(file, lines(ledger, 'after-appended', 10, 'after the appended long line'));
    await untilArrived(run, ledger, 20_000, 'the appended 5 MiB line and the lines after it');
    const counted = await run.agent.waitForLog(
      (entry) =>
        typeof entry.msg === 'string' && entry.msg.startsWith('Tailer Progress') && Number(entry.recordsTruncated) >= 2,
      5_000,
      'a progress report counting 2 truncated records',
    );
    await finish(run);
    const warnings = run.agent.logs.filter((entry) => entry.msg === 'record longer than the API allows was truncated');
    check(t, '5 MiB lines', ledger, run, {
      'truncation warnings': warnings.map((w) => `${w.originalBytes} → ${w.limit}`).join(', '),
      'recordsTruncated in progress report': counted.recordsTruncated,
    });
    for (const record of run.collector.records) {
      const total = record.data.length + Buffer.byteLength(record.partitionKey);
      assert.ok(
        total <= KINESIS_RECORD_LIMIT,
        `record ${idOf(record.data)}: data + partition key = ${total} bytes > 1 MiB`,
      );
    }
    assert.deepEqual(
      warnings.map((w) => w.originalBytes),
      [big1.length, big2.length],
      'one truncation warning per long line, with its original length',
    );
  });

  test(
    'a corrupt checkpoint store is moved aside and the agent starts (before the first start, and ' + 'after a run)',
    async (t) => {
      const { dir, logDir, configFile } = scenario('shardtail-rel-corrupt-');
      const stateDir = path.join(dir, 'state');
      const store = path.join(stateDir, 'checkpoints.db');
      const seed = suiteSeed();
      const random = seededRandom(seed);
      const garbage = (bytes: number) => Buffer.from(Array.from({ length: bytes }, () => Math.floor(random() * 256)));
      const ledger = new Ledger();
      const file = path.join(logDir, 'app.log');

      // 1. Garbage where the store will be, before the agent ever ran.
      mkdirSync(stateDir);
      writeFileSync(store, garbage(64 * 1024));
      writeFileSync(file, Buffer.concat(lines(ledger, 'first', 500, 'first run')));
      let run = await launch(t, configFile);
      const reset1 = await run.agent.waitForLog(
        (entry) => entry.msg === 'checkpoint database unreadable; moved it aside and starting without checkpoints',
        2_000,
        'the reset of the store',
      );
      await untilArrived(run, ledger, 15_000, 'the lines of the first run');
      await finish(run);
      check(t, 'corrupt checkpoint store before the first start', ledger, run, {
        'moved to': path.basename(String(reset1.movedTo)),
      });
      assert.ok(existsSync(String(reset1.movedTo)), `the corrupt store should be kept at ${reset1.movedTo}`);
      const shippedBefore = ledger.size;

      // 2. A store that looks like SQLite (its 100-byte header kept) with garbage after it, after a run.
      const header = readFileSync(store).subarray(0, 100);
      for (const suffix of ['-wal', '-shm']) if (existsSync(store + suffix)) unlinkSync(store + suffix);
      writeFileSync(store, Buffer.concat([header, garbage(32 * 1024)]));
      appendLines(file, lines(ledger, 'second', 500, 'written while stopped'));
      run = await launch(t, configFile, run.collector);
      const reset2 = await run.agent.waitForLog(
        (entry) => entry.msg === 'checkpoint database unreadable; moved it aside and starting without checkpoints',
        2_000,
        'the reset of the store',
      );
      await untilArrived(run, ledger, 15_000, 'every line after the store was reset');
      await finish(run);
      const moved = readdirSync(stateDir).filter((name) => name.includes('.corrupt-'));
      // Without checkpoints the file is read again from its start: what the first run shipped arrives twice, by design.
      check(
        t,
        'corrupt checkpoint store after a run (re-read from the start)',
        ledger,
        run,
        { 'moved aside': moved.join(', '), seed },
        shippedBefore,
      );
      assert.ok(existsSync(String(reset2.movedTo)));
    },
  );

  test(
    'a full disk when saving checkpoints is logged (not once per batch), shipping goes on, and saving ' +
      'resumes once there is room',
    async (t) => {
      // A small file system of its own for the checkpoint store, so that filling it touches nothing else.
      const setup = storeOnTmpfs(t, 'shardtail-rel-full-', 'size=1m');
      if (setup === undefined) return;
      const { logDir, configFile, stateDir } = setup;
      const ledger = new Ledger();
      const file = path.join(logDir, 'app.log');
      writeFileSync(file, Buffer.concat(lines(ledger, 'roomy', 500, 'before the disk is full')));
      let run = await launch(t, configFile);
      await untilArrived(run, ledger, 15_000, 'the lines written while there is room');

      const filler = path.join(stateDir, 'filler');
      const fd = openSync(filler, 'w');
      const zeros = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(fd, zeros);
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC', 'filling the tmpfs should end with ENOSPC');
      } finally {
        closeSync(fd);
      }
      const fullAt = Date.now();
      for (let round = 0; round < 5; round++) {
        appendLines(file, lines(ledger, 'full', 400, 'while the disk is full', round * 400));
        writeFileSync(
          path.join(logDir, `new-${round}.log`),
          Buffer.concat(lines(ledger, `new-${round}`, 100, 'a new file while the disk is full')),
        );
        await sleep(400);
      }
      const failure = await run.agent.waitForLog(
        (entry) => entry.msg?.startsWith('cannot save checkpoints') === true,
        10_000,
        'the failed save reported',
      );
      await untilArrived(run, ledger, 20_000, 'the lines written while the disk is full');
      assert.equal(run.agent.state(), 'running', run.agent.tail());
      const failuresLogged = run.agent.logs.filter(
        (entry) => entry.msg?.startsWith('cannot save checkpoints') === true,
      ).length;
      assert.equal(
        failuresLogged,
        1,
        `a failing save is logged once, then every 30 s, not once per batch:\n${run.agent.tail(10)}`,
      );

      unlinkSync(filler);
      const freedAt = Date.now();
      const recovered = await run.agent.waitForLog(
        (entry) => entry.msg === 'checkpoints saved again',
        10_000,
        'saving to resume',
      );
      const resumedMs = Date.now() - freedAt;
      await finish(run);

      // Had the saves not resumed, the restart would resend everything since the disk filled.
      appendLines(file, lines(ledger, 'after', 200, 'after the restart'));
      run = await launch(t, configFile, run.collector);
      await untilArrived(run, ledger, 15_000, 'the lines written after the restart');
      await finish(run);
      check(t, 'full disk when saving checkpoints', ledger, run, {
        'reported as': `${String((failure.err as { code?: string } | undefined)?.code ?? failure.err)}`,
        'full for': `${((freedAt - fullAt) / 1000).toFixed(1)} s`,
        'failed saves': recovered.failedSaves,
        'errors logged': failuresLogged,
        'saving resumed': `${(resumedMs / 1000).toFixed(1)} s after space was freed`,
      });
    },
  );

  test(
    'a checkpoint store that cannot be opened or created (read-only directory) is reported, and the agent ' +
      'ships with checkpoints in memory',
    async (t) => {
      const setup = storeOnTmpfs(t, 'shardtail-rel-readonly-', 'ro,size=1m');
      if (setup === undefined) return;
      const { logDir, configFile } = setup;
      const ledger = new Ledger();
      writeFileSync(
        path.join(logDir, 'app.log'),
        Buffer.concat(lines(ledger, 'ro', 300, 'with no checkpoint store on disk')),
      );
      const run = await launch(t, configFile);
      const reported = await run.agent.waitForLog(
        (entry) => entry.msg?.startsWith('cannot open or create the checkpoint database') === true,
        5_000,
        'the missing store reported',
      );
      await untilArrived(run, ledger, 15_000, 'the lines shipped without a store on disk');
      appendLines(path.join(logDir, 'app.log'), lines(ledger, 'ro', 200, 'appended', 300));
      await untilArrived(run, ledger, 15_000, 'lines appended later');
      await finish(run);
      check(t, 'checkpoint store cannot be created', ledger, run, {
        'reported as': String((reported.err as { message?: string } | undefined)?.message ?? reported.err),
      });
    },
  );

  test(
    'checkpoint hygiene: entries of files gone for longer than checkpointTimeToLiveDays are forgotten ' +
      '(deleted while stopped too); idle live files and recent ones are kept',
    async (t) => {
      const { dir, logDir, configFile } = scenario('shardtail-rel-ttl-', { checkpointTimeToLiveDays: 7 });
      const store = path.join(dir, 'state', 'checkpoints.db');
      const ledger = new Ledger();
      const live = path.join(logDir, 'live.log');
      const gone = path.join(logDir, 'gone.log');
      writeFileSync(live, Buffer.concat(lines(ledger, 'live', 300, 'a file that stays, idle')));
      writeFileSync(gone, Buffer.concat(lines(ledger, 'gone', 300, 'a file deleted while the agent is stopped')));
      let run = await launch(t, configFile);
      await untilArrived(run, ledger, 15_000, 'both files');
      await finish(run);
      unlinkSync(gone);

      // A month passes while the agent is stopped: every entry is 30 days old. An entry of another
      // file that went away 3 days ago is within the TTL.
      const dayMs = 86_400_000;
      const db = new Database(store);
      const [flowId] = db.prepare('SELECT DISTINCT flow_id FROM file_checkpoints').pluck().all() as string[];
      db.prepare('UPDATE file_checkpoints SET updated_ms = ?').run(Date.now() - 30 * dayMs);
      db.prepare(
        'INSERT INTO file_checkpoints (flow_id, dev, ino, fingerprint, path, offset, updated_ms) VALUES (?, 1, ' +
          '424242, ?, ?, 10, ?)',
      ).run(flowId, '', path.join(logDir, 'recently-gone.log'), Date.now() - 3 * dayMs);
      db.close();

      run = await launch(t, configFile, run.collector);
      const forgot = await run.agent.waitForLog(
        (entry) => entry.msg === 'forgot checkpoints of files gone for longer than checkpointTimeToLiveDays',
        5_000,
        'the expiry at start',
      );
      const remaining = new Database(store, { readonly: true });
      const paths = (
        remaining.prepare('SELECT path FROM file_checkpoints ORDER BY path').pluck().all() as string[]
      ).map((p) => path.basename(p));
      const liveUpdated = remaining
        .prepare('SELECT updated_ms FROM file_checkpoints WHERE path = ?')
        .pluck()
        .get(live) as number;
      remaining.close();
      assert.equal(forgot.expired, 1, `only gone.log's entry is past the TTL:\n${run.agent.tail(10)}`);
      assert.deepEqual(paths, ['live.log', 'recently-gone.log']);
      assert.ok(Date.now() - liveUpdated < 60_000, "the idle live file's entry is renewed, not expired");
      // The kept checkpoint is used: lines appended now arrive, and nothing of before arrives again.
      appendLines(live, lines(ledger, 'live', 100, 'appended after the month', 300));
      await untilArrived(run, ledger, 15_000, 'the lines appended after the month');
      await finish(run);
      check(t, 'checkpoint hygiene', ledger, run, { expired: forgot.expired, kept: paths.join(', ') });
    },
  );

  test(
    'a new file that begins with the same first KiB as a tailed one (a long common header) is its own file: ' +
      'shipped from its start',
    async (t) => {
      const { logDir, configFile } = scenario('shardtail-rel-same-head-');
      const ledger = new Ledger();
      // 12 header lines of about 100 bytes: the first KiB of both files is the same.
      const header = Buffer.concat(lines(ledger, 'header', 12, `${'='.repeat(80)} banner`));
      const first = path.join(logDir, 'first.log');
      writeFileSync(first, Buffer.concat([header, ...lines(ledger, 'first', 200, 'the first file')]));
      const run = await launch(t, configFile);
      await untilArrived(run, ledger, 15_000, 'the first file');
      const createdAt = Date.now();
      writeFileSync(
        path.join(logDir, 'second.log'),
        Buffer.concat([header, ...lines(ledger, 'second', 50, 'the second file, same header')]),
      );
      appendLines(first, lines(ledger, 'first', 50, 'the first file goes on', 200));
      await untilArrived(run, ledger, 20_000, 'both files in full');
      const tookMs = Date.now() - createdAt;
      const verdict = await run.agent.waitForLog(
        (entry) => entry.msg === 'not a copy after all (its original was not truncated); reading it from its start',
        1_000,
        'the suspected copy cleared',
      );
      await finish(run);
      // The header lines are in both files, so each arrives twice, rightly.
      check(
        t,
        'same first KiB, different file',
        ledger,
        run,
        { 'second file shipped in': `${(tookMs / 1000).toFixed(1)} s`, verdict: verdict.msg },
        12,
      );
    },
  );

  test(
    'a file truncated and written again past the read offset between two polls is read again ' + 'from its start',
    async (t) => {
      const { logDir, configFile } = scenario('shardtail-rel-rewritten-');
      const ledger = new Ledger();
      const file = path.join(logDir, 'app.log');
      writeFileSync(file, Buffer.concat(lines(ledger, 'before', 100, 'the first content')));
      const run = await launch(t, configFile);
      await untilArrived(run, ledger, 15_000, 'the first content');
      // What a poll finds after a truncation and a burst of writes it did not see, made certain: the
      // new content written over the old from offset 0 in one write, so the file is never seen shorter.
      const rewritten = Buffer.concat(lines(ledger, 'after', 300, 'written after the truncation'));
      const fd = openSync(file, 'r+');
      try {
        writeSync(fd, rewritten, 0, rewritten.length, 0);
      } finally {
        closeSync(fd);
      }
      await untilArrived(run, ledger, 15_000, 'the content written after the truncation, from its first line');
      const detected = await run.agent.waitForLog(
        (entry) =>
          entry.msg ===
          'file was truncated and written again past the read offset (copytruncate); reading it again from the start',
        1_000,
        "the rewrite detected by the file's first bytes",
      );
      await finish(run);
      check(t, 'truncated and written again past the read offset', ledger, run, {
        'detected at offset': detected.offset,
        'size then': detected.size,
      });
    },
  );

  test('a glob whose directory does not exist yet is picked up once it is created', async (t) => {
    const dir = makeTempDir('shardtail-rel-later-');
    const configFile = embeddedConfig(dir, STREAM, { filePattern: 'later/deep/*.log' });
    const ledger = new Ledger();
    const run = await launch(t, configFile);
    await sleep(500);
    const created = Date.now();
    mkdirSync(path.join(dir, 'later', 'deep'), { recursive: true });
    const file = path.join(dir, 'later', 'deep', 'app.log');
    writeFileSync(file, Buffer.concat(lines(ledger, 'later', 100, 'in a directory created after start')));
    await untilArrived(run, ledger, 25_000, 'the lines of a file in a directory created after start');
    const firstMs = Date.now() - created;
    const appendedAt = Date.now();
    appendLines(file, lines(ledger, 'later', 100, 'appended once the directory is known', 100));
    writeFileSync(
      path.join(dir, 'later', 'deep', 'second.log'),
      Buffer.concat(lines(ledger, 'second', 50, 'a second file in the new directory')),
    );
    await untilArrived(run, ledger, 15_000, 'lines appended once the directory was picked up');
    const secondMs = Date.now() - appendedAt;
    await finish(run);
    check(t, 'glob directory created after start', ledger, run, {
      'picked up': `${(firstMs / 1000).toFixed(1)} s after the directory was created`,
      'later lines and files': `${(secondMs / 1000).toFixed(1)} s`,
    });
  });
});
