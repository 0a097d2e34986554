/**
 * `shardtail backfill` over a directory of rotated logs, plain and gzip'd (some without the .gz
 * name, one bzip2): every line arrives once, a rerun ships nothing, the .gz of a file already
 * shipped under its plain name is not shipped again (only what was appended before it was
 * compressed is); a big gzip file is shipped in bounded memory; and `start` tails no compressed file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  assertCliBuilt,
  childEnv,
  CLI_PATH,
  embeddedConfig,
  Ledger,
  logsUnder,
  runCli,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
} from '../support/agent-process.js';
import { parseBackfillSummary, readStoredRecords } from '../support/backfill.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const STREAM = 'backfill-gzip';

before(assertCliBuilt);
after(removeTempDirs);

function linesOf(ledger: Ledger, prefix: string, count: number): Buffer {
  const lines: Buffer[] = [];
  for (let i = 0; i < count; i++) lines.push(ledger.line(seqId(prefix, i), `rotated line ${i} ${'z'.repeat(i % 53)}`));
  return Buffer.concat(lines);
}

async function backfill(configFile: string): Promise<ReturnType<typeof parseBackfillSummary> & { stdout: string }> {
  const run = await runCli(['backfill', '-c', configFile], { timeoutMs: 30_000 });
  assert.equal(
    run.code,
    0,
    `backfill exit code (signal ${run.signal}); stderr:\n${run.stderr}\nstdout:\n${run.stdout}`,
  );
  return { ...parseBackfillSummary(run.stdout), stdout: run.stdout };
}

describe('shardtail backfill of gzip-compressed rotated logs', { timeout: 55_000 }, () => {
  test("each line once; gzip told by content; bzip2 skipped; reruns, a shipped file gzip'd: none twice", async (t) => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-backfill-gzip-'));
    const configFile = embeddedConfig(dir, STREAM, { filePattern: 'logs/app.log*', maxBufferAgeMillis: 200 });
    const ledger = new Ledger();
    const current = path.join(logDir, 'app.log');
    writeFileSync(current, linesOf(ledger, 'cur', 3000));
    writeFileSync(path.join(logDir, 'app.log.1'), linesOf(ledger, 'r1', 3000));
    writeFileSync(path.join(logDir, 'app.log.2.gz'), gzipSync(linesOf(ledger, 'r2', 3000)));
    // Compressed without the .gz name: told by its magic bytes.
    writeFileSync(path.join(logDir, 'app.log.3'), gzipSync(linesOf(ledger, 'r3', 3000)));
    writeFileSync(path.join(logDir, 'app.log.4.gz'), gzipSync(linesOf(ledger, 'r4', 10)));
    // bzip2's magic ("BZh" and a block size): not supported, named and skipped.
    writeFileSync(path.join(logDir, 'app.log.5.bz2'), Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(200, 7)]));

    const first = await backfill(configFile);
    t.diagnostic(`first run: ${first.stdout.trim()}`);
    assert.deepEqual({ files: first.files, records: first.records }, { files: 5, records: 12_010 }, first.stdout);
    assert.match(first.stdout, /, 1 compressed files skipped \(only gzip is supported\), 0 failures/);

    const second = await backfill(configFile);
    assert.equal(second.records, 0, `a rerun must ship nothing:\n${second.stdout}`);

    // logrotate's compress: lines appended to app.log after the backfill, then app.log gzip'd to
    // app.log.0.gz (a new inode) and removed. Its first 3000 lines are known by content.
    appendFileSync(current, linesOf(ledger, 'late', 100));
    writeFileSync(path.join(logDir, 'app.log.0.gz'), gzipSync(readFileSync(current)));
    rmSync(current);
    const third = await backfill(configFile);
    assert.equal(third.records, 100, `only the lines appended before compression are new:\n${third.stdout}`);
    const fourth = await backfill(configFile);
    assert.equal(fourth.records, 0, `a rerun after that ships nothing:\n${fourth.stdout}`);

    const records = await readStoredRecords(path.join(dir, 'engine'), STREAM);
    ledger.assertExactlyOnce(records, 'stream after four backfill runs');
  });

  test('a 60 MB gzip file is shipped in under 150 MiB of peak RSS', async (t) => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-backfill-big-'));
    const configFile = embeddedConfig(dir, STREAM, { filePattern: 'logs/*.gz', maxBufferAgeMillis: 200 });
    const line = `${'m'.repeat(90)}\n`;
    const count = 650_000;
    const plain = Buffer.from(line.repeat(count));
    writeFileSync(path.join(logDir, 'big.log.1.gz'), gzipSync(plain, { level: 1 }));
    t.diagnostic(`${plain.length} bytes, ${statSync(path.join(logDir, 'big.log.1.gz')).size} compressed`);
    // GNU time's %M: the child's peak resident set, as VmHWM would give it, read when it exits.
    const child = spawn(
      '/usr/bin/time',
      ['-f', 'maxrss-kib=%M', process.execPath, CLI_PATH, 'backfill', '-c', configFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: childEnv(),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, `backfill: ${stderr}\n${stdout}`);
    const summary = parseBackfillSummary(stdout);
    assert.deepEqual({ records: summary.records, bytes: summary.bytes }, { records: count, bytes: plain.length });
    const peakKib = Number(/maxrss-kib=(\d+)/.exec(stderr)?.[1]);
    t.diagnostic(`peak RSS ${(peakKib / 1024).toFixed(1)} MiB; ${stdout.trim()}`);
    assert.ok(peakKib > 0 && peakKib < 150 * 1024, `peak RSS ${peakKib} KiB must stay under 150 MiB`);
  });

  test(
    'on a terminal, a progress bar shows bytes done of a total known from the start (.gz by its trailer)',
    { skip: existsSync('/usr/bin/script') ? false : 'no script(1) (util-linux) for a pseudo-terminal' },
    async () => {
      const { dir, logDir } = logsUnder(makeTempDir('shardtail-backfill-bar-'));
      const configFile = embeddedConfig(dir, STREAM, { filePattern: 'logs/*', maxBufferAgeMillis: 200 });
      const plain = Buffer.from(`${'p'.repeat(99)}\n`.repeat(30_000));
      const zipped = Buffer.from(`${'g'.repeat(79)}\n`.repeat(60_000));
      writeFileSync(path.join(logDir, 'app.log'), plain);
      writeFileSync(path.join(logDir, 'app.log.1.gz'), gzipSync(zipped));
      const total = plain.length + zipped.length;
      // script(1) runs the command on a pseudo-terminal, so stderr is a TTY, and copies what it drew to stdout.
      const command = [process.execPath, CLI_PATH, 'backfill', '-c', configFile].join(' ');
      const child = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: childEnv(),
      });
      let screen = '';
      child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 0, screen);
      const frames = [...screen.matchAll(/(\d+)\/(\d+) bytes \| [\d.]+ MiB\/s \| ETA/g)].map((m) => ({
        done: Number(m[1]),
        total: Number(m[2]),
      }));
      assert.ok(frames.length >= 2, `a bar drawn at the start and at the end:\n${screen}`);
      assert.deepEqual(frames[0], { done: 0, total }, 'the first frame already shows the whole total');
      assert.deepEqual(frames.at(-1), { done: total, total }, 'the last frame shows all of it done');
      assert.ok(frames.every((frame) => frame.total === total));
    },
  );

  test('start tails plain files only, and says once that compressed ones are not tailed', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-start-gzip-'));
    const configFile = embeddedConfig(dir, STREAM, { filePattern: 'logs/app.log*' });
    const ledger = new Ledger();
    writeFileSync(path.join(logDir, 'app.log'), linesOf(ledger, 'live', 50));
    const notTailed = new Ledger();
    writeFileSync(path.join(logDir, 'app.log.1.gz'), gzipSync(linesOf(notTailed, 'gz1', 50)));
    writeFileSync(path.join(logDir, 'app.log.2'), gzipSync(linesOf(notTailed, 'gz2', 50)));
    const agent = await startAgent({ configFile, env: { SHARDTAIL_LOG_LEVEL: 'info' } });
    const collector = new StreamCollector(agent.engineUrl!, STREAM);
    await waitFor(async () => (await collector.poll()) >= 0 && ledger.allArrived(collector.records), {
      timeoutMs: 15_000,
      message: () => `the plain file's lines; agent output:\n${agent.tail()}`,
    });
    await stopCleanly(agent);
    const notices = agent.logs.filter((entry) => String(entry.msg).startsWith('compressed files matched by the glob'));
    assert.equal(notices.length, 1, `one notice for the flow:\n${agent.tail()}`);
    const records = await readStoredRecords(path.join(dir, 'engine'), STREAM);
    ledger.assertExactlyOnce(records, 'stream after start');
  });
});
