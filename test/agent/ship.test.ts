/**
 * `shardtail start` as a real child process with its embedded engine: real files in a temp dir,
 * lines with unique ids, and what arrived read back from the stream (GetRecords over HTTP) and
 * checked line by line — exactly once and byte-exact.
 */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  appendLines,
  assertCliBuilt,
  describeBytes,
  idOf,
  seqId,
  stopCleanly,
  bigLine,
  KINESIS_RECORD_LIMIT,
  truncatedFrom,
} from '../support/agent-process.js';
import {
  embeddedScenario,
  launch,
  restartUntilAllArrived,
  untilAllArrived,
  type EmbeddedScenario,
} from '../support/embedded-scenario.js';
import { removeTempDirs } from '../support/tmp.js';

const STREAM = 'ship-stream';

function setup(t: TestContext, flow: Record<string, unknown> = {}): EmbeddedScenario {
  return embeddedScenario(t, 'shardtail-ship-', STREAM, flow);
}

before(assertCliBuilt);
after(removeTempDirs);

describe('shardtail start with the embedded engine', { timeout: 55_000 }, () => {
  test(
    'lines written before and after start arrive byte-exact; an unterminated last line waits for ' + 'its newline',
    async (t) => {
      const s = setup(t);
      const file = path.join(s.logDir, 'app.log');
      const { ledger } = s;
      const before: Buffer[] = [];
      for (let i = 0; i < 200; i++)
        before.push(ledger.line(seqId('pre', i), `plain ascii line ${i} ${'.'.repeat(i % 40)}`));
      before.push(ledger.line('pre-unicode', 'ünïcödé ✓ 日本語 🚀 Ελληνικά'));
      before.push(ledger.line('pre-crlf', 'a Windows line', '\r\n'));
      before.push(ledger.line('pre-cr-inside', 'carriage\rreturn\rinside'));
      const raw = Buffer.concat([
        Buffer.from('#pre-raw# bytes that are not UTF-8: '),
        Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x09]),
        Buffer.from('\n'),
      ]);
      ledger.expect('pre-raw', raw);
      before.push(raw);
      writeFileSync(file, Buffer.concat(before));

      const agent = await launch(s);
      await untilAllArrived(s, agent);

      const after: Buffer[] = [];
      for (let i = 0; i < 200; i++) after.push(ledger.line(seqId('post', i), `appended after start ${i}`));
      after.push(ledger.line('post-unicode', 'zweite Zeile — 中文 — emoji 👍🏽'));
      after.push(ledger.line('post-crlf', 'another CRLF line', '\r\n'));
      appendLines(file, after);
      // The last line of the file has no newline yet: it must not be shipped (nor a piece of it).
      appendLines(file, [Buffer.from('#post-partial# first half, ')]);
      // A line in another file, written after the partial one: once it arrived, the agent has had
      // its chance to read (and wrongly ship) the partial line too.
      appendLines(path.join(s.logDir, 'other.log'), [
        ledger.line('marker-after-partial', 'written after the partial line'),
      ]);
      await untilAllArrived(s, agent);
      await sleep(500); // a window for a wrong record to show up: nothing positive to wait for
      await s.collector!.poll();
      const early = s.collector!.records.filter((r) => r.data.includes('post-partial'));
      assert.deepEqual(
        early.map((r) => describeBytes(r.data)),
        [],
        'an unterminated line must not be shipped before its newline',
      );

      appendLines(file, [Buffer.from('second half\n')]);
      ledger.expect('post-partial', Buffer.from('#post-partial# first half, second half\n'));
      await untilAllArrived(s, agent);
      await stopCleanly(agent);
      ledger.assertExactlyOnce(s.collector!.records);
    },
  );

  test('three files in one glob, written concurrently, all arrive', async (t) => {
    const s = setup(t);
    const files = ['one.log', 'two.log', 'three.log'].map((name) => path.join(s.logDir, name));
    files.forEach((file, f) => writeFileSync(file, s.ledger.line(`f${f}-first`, 'before start')));
    const agent = await launch(s);
    const perFile = 3000;
    await Promise.all(
      files.map(async (file, f) => {
        for (let i = 0; i < perFile;) {
          const chunk: Buffer[] = [];
          const n = 1 + ((i * 7 + f * 13) % 60);
          for (let k = 0; k < n && i < perFile; k++, i++)
            chunk.push(s.ledger.line(seqId(`f${f}`, i), `file ${f} line ${i}`));
          appendLines(file, chunk);
          await sleep(2 + ((i + f) % 5));
        }
      }),
    );
    await untilAllArrived(s, agent, 20_000);
    await stopCleanly(agent);
    s.ledger.assertExactlyOnce(s.collector!.records);
  });

  /** Files that appear after start: one renamed into the glob with its content, one written in place in pieces. */
  async function createFilesAfterStart(s: EmbeddedScenario, prefix: string): Promise<void> {
    const staged = path.join(s.dir, `${prefix}-a.tmp`);
    const lines: Buffer[] = [];
    for (let i = 0; i < 100; i++) lines.push(s.ledger.line(seqId(`${prefix}-a`, i), 'in a file renamed into the glob'));
    writeFileSync(staged, Buffer.concat(lines));
    renameSync(staged, path.join(s.logDir, `${prefix}-a.log`));
    const inPlace = path.join(s.logDir, `${prefix}-b.log`);
    writeFileSync(inPlace, s.ledger.line(seqId(`${prefix}-b`, 0), 'first line of a new file'));
    for (let i = 1; i < 50; i += 7) {
      const chunk: Buffer[] = [];
      for (let k = i; k < Math.min(50, i + 7); k++) chunk.push(s.ledger.line(seqId(`${prefix}-b`, k), 'more'));
      appendLines(inPlace, chunk);
      await sleep(5);
    }
  }

  function filesPresentAtFirstStart(s: EmbeddedScenario): void {
    const skipped: Buffer[] = [];
    for (let i = 0; i < 20; i++) skipped.push(Buffer.from(`#${seqId('old', i)}# present at first start\n`));
    writeFileSync(path.join(s.logDir, 'old.log'), Buffer.concat(skipped));
  }

  test('a file created after start is read from its start (with initialPosition END_OF_FILE)', async (t) => {
    // A 1 s periodic scan, so that this test is about where reading starts, not how fast the file is found.
    const s = setup(t, { initialPosition: 'END_OF_FILE', maxTimeBetweenFileTrackerRefreshMillis: 1000 });
    filesPresentAtFirstStart(s);
    const agent = await launch(s);
    await createFilesAfterStart(s, 'new');
    await untilAllArrived(s, agent);
    await stopCleanly(agent);
    s.ledger.assertExactlyOnce(s.collector!.records, 'the lines of old.log (present at first start) must be skipped');
  });

  test('a file created right after start is found promptly, not only by the 10 s periodic scan', async (t) => {
    const s = setup(t, { initialPosition: 'END_OF_FILE' });
    filesPresentAtFirstStart(s);
    const agent = await launch(s);
    await createFilesAfterStart(s, 'early');
    // The Java agent notices a new file at its next poll (~100 ms); allow far more, far less than 10 s.
    await untilAllArrived(s, agent, 4_000).catch((error: Error) => {
      throw new Error(
        `files created just after "shardtail started" were not shipped within 4 s (a periodic scan would find ` +
          `them after 10 s): ${error.message}`,
      );
    });
    await stopCleanly(agent);
    s.ledger.assertExactlyOnce(s.collector!.records);
  });

  test('initialPosition END_OF_FILE skips the lines present at first start and ships appended ones', async (t) => {
    const s = setup(t, { initialPosition: 'END_OF_FILE' });
    const file = path.join(s.logDir, 'app.log');
    const present: Buffer[] = [];
    for (let i = 0; i < 500; i++)
      present.push(Buffer.from(`#${seqId('present', i)}# was there before the first start\n`));
    // A line being written at startup: its head is in the file, its newline is not.
    present.push(Buffer.from('#straddling# head written before start, '));
    writeFileSync(file, Buffer.concat(present));
    const agent = await launch(s);

    appendLines(file, [Buffer.from('tail written after start\n')]);
    s.ledger.expect('straddling', Buffer.from('#straddling# head written before start, tail written after start\n'));
    const appended: Buffer[] = [];
    for (let i = 0; i < 300; i++) appended.push(s.ledger.line(seqId('appended', i), 'appended after the first start'));
    appendLines(file, appended);
    await untilAllArrived(s, agent);
    await stopCleanly(agent);
    s.ledger.assertExactlyOnce(
      s.collector!.records,
      'only the appended lines (and the line completed after start) may arrive',
    );
  });

  test(
    'initialPosition END_OF_FILE: a restart before any new line was written does not ship the ' + 'skipped lines',
    async (t) => {
      const s = setup(t, { initialPosition: 'END_OF_FILE' });
      const file = path.join(s.logDir, 'app.log');
      const present: Buffer[] = [];
      for (let i = 0; i < 50; i++)
        present.push(Buffer.from(`#${seqId('present', i)}# was there before the first start\n`));
      writeFileSync(file, Buffer.concat(present));
      await stopCleanly(await launch(s)); // started at the end of app.log; nothing new to ship
      const agent = await launch(s);
      appendLines(file, [s.ledger.line('after-restart', 'the only line written after the first start')]);
      await untilAllArrived(s, agent);
      await stopCleanly(agent);
      s.ledger.assertExactlyOnce(
        s.collector!.records,
        'the lines skipped at the first start must stay skipped after a restart',
      );
    },
  );

  test(
    'a 2 MiB line is truncated to at most 1 MiB ending with the terminator, and the next line ' + 'still arrives',
    async (t) => {
      const s = setup(t);
      const file = path.join(s.logDir, 'app.log');
      const big1 = bigLine('big-before-start', 2 * 1024 * 1024);
      s.ledger.expect('big-before-start', truncatedFrom(big1));
      writeFileSync(
        file,
        Buffer.concat([
          s.ledger.line('line-1', 'before the big line'),
          big1,
          s.ledger.line('line-2', 'right after the big line'),
        ]),
      );
      const agent = await launch(s);
      await untilAllArrived(s, agent);

      // The same, appended while the agent tails the file, in pieces (the line spans several reads).
      const big2 = bigLine('big-appended', 2 * 1024 * 1024 + 12345);
      s.ledger.expect('big-appended', truncatedFrom(big2));
      for (let offset = 0; offset < big2.length; offset += 700_000) {
        appendLines(file, [big2.subarray(offset, Math.min(big2.length, offset + 700_000))]);
        await sleep(150);
      }
      appendLines(file, [s.ledger.line('line-3', 'after the appended big line')]);
      await untilAllArrived(s, agent);
      await stopCleanly(agent);
      s.ledger.assertExactlyOnce(s.collector!.records);
      for (const record of s.collector!.records) {
        const total = record.data.length + Buffer.byteLength(record.partitionKey);
        assert.ok(
          total <= KINESIS_RECORD_LIMIT,
          `record ${idOf(record.data)}: data + partition key = ${total} bytes > 1 MiB`,
        );
      }
      const warnings = agent.logs.filter((entry) => typeof entry.msg === 'string' && /truncat/i.test(entry.msg));
      assert.equal(warnings.length, 2, `one truncation warning per long line:\n${agent.tail()}`);
    },
  );

  /** Appends numbered lines at a steady pace until stopped; the lines are in the ledger as they are written. */
  function steadyWriter(s: EmbeddedScenario, file: string, prefix: string, linesPerTick = 100, tickMs = 10) {
    let stop = false;
    let written = 0;
    const done = (async () => {
      while (!stop) {
        const chunk: Buffer[] = [];
        for (let k = 0; k < linesPerTick; k++, written++)
          chunk.push(s.ledger.line(seqId(prefix, written), `steady line ${written} ${'-'.repeat(written % 50)}`));
        appendLines(file, chunk);
        await sleep(tickMs);
      }
    })();
    return {
      get written() {
        return written;
      },
      async stop() {
        stop = true;
        await done;
      },
    };
  }

  test('SIGTERM while shipping: exit 0, and a restart ships nothing twice (then SIGINT: exit 0 too)', async (t) => {
    const s = setup(t);
    const file = path.join(s.logDir, 'app.log');
    const initial: Buffer[] = [];
    for (let i = 0; i < 5000; i++) initial.push(s.ledger.line(seqId('initial', i), 'before the first start'));
    writeFileSync(file, Buffer.concat(initial));
    const first = await launch(s);
    const writer = steadyWriter(s, file, 'live');
    await s.collector!.until((records) => records.length >= 6000, {
      agent: first,
      message: '6000 records to arrive before SIGTERM',
    });
    await stopCleanly(first); // mid-stream: the writer is still writing
    assert.ok(
      first.logs.some((entry) => entry.msg === 'shardtail stopped'),
      first.tail(),
    );
    await sleep(100);
    await writer.stop();
    const whileStopped: Buffer[] = [];
    for (let i = 0; i < 1000; i++)
      whileStopped.push(s.ledger.line(seqId('stopped', i), 'written while the agent was stopped'));
    appendLines(file, whileStopped);

    const second = await launch(s);
    await untilAllArrived(s, second);
    await stopCleanly(second, 'SIGINT');
    s.ledger.assertExactlyOnce(
      s.collector!.records,
      `${writer.written} lines written while running; a clean stop must leave nothing to resend`,
    );
  });

  test(
    'kill -9 while shipping, then restart: nothing lost, duplicates only from the records in flight (at ' +
      'most one batch, 500)',
    async (t) => {
      const s = setup(t);
      const file = path.join(s.logDir, 'app.log');
      const initial: Buffer[] = [];
      for (let i = 0; i < 5000; i++) initial.push(s.ledger.line(seqId('initial', i), 'before the first start'));
      writeFileSync(file, Buffer.concat(initial));
      const first = await launch(s);
      const startedMs = Date.now();
      const writer = steadyWriter(s, file, 'live');
      await s.collector!.until((records) => records.length >= 8000, {
        agent: first,
        message: '8000 records to arrive before kill -9',
      });
      const arrivedBeforeKill = s.collector!.records.length;
      const killedAfterMs = Date.now() - startedMs;
      const killed = await first.kill();
      assert.equal(killed.signal, 'SIGKILL');
      await sleep(100);
      await writer.stop();

      const report = await restartUntilAllArrived(s, 'nothing may be lost or altered by kill -9');
      const extra = [...report.duplicates.values()].reduce((sum, n) => sum + n - 1, 0);
      const dupIds = [...report.duplicates.keys()].sort();
      assert.ok(
        extra <= 500,
        `${extra} records were delivered twice after kill -9 (${dupIds.length} lines, ${dupIds[0]} … ` +
          `${dupIds[dupIds.length - 1]}; ` +
          `killed ${killedAfterMs} ms after "shardtail started", when ${arrivedBeforeKill} records had arrived); ` +
          `only the records in flight (one batch, at most 500) may be resent`,
      );
    },
  );
});
