/**
 * `shardtail backfill` as a real child process with the embedded engine: every matching file is
 * shipped to its end, the summary line counts what was shipped, a second run ships nothing, and
 * the stream — read afterwards through `shardtail engine` on the same data dir and
 * `shardtail stream read --json` — holds each line exactly once, byte-exact.
 */
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertCliBuilt,
  createStream,
  describeBytes,
  embeddedConfig,
  Ledger,
  logsUnder,
  remoteConfig,
  runCli,
  seqId,
} from '../support/agent-process.js';
import { parseBackfillSummary, readStoredRecords } from '../support/backfill.js';
import { spawnCli } from '../support/cli-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { freePort } from '../support/free-port.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const STREAM = 'backfill-stream';

before(assertCliBuilt);
after(removeTempDirs);

describe('shardtail backfill', { timeout: 55_000 }, () => {
  test(
    'ships 50,000 lines in 5 files exactly once; the summary counts them; a second run ' + 'ships 0 records',
    async (t) => {
      const { dir, logDir } = logsUnder(makeTempDir('shardtail-backfill-'));
      const configFile = embeddedConfig(dir, STREAM, { maxBufferAgeMillis: 1000 });
      const ledger = new Ledger();
      const files = ['a.log', 'b.log', 'c.log', 'd.log', 'e.log'].map((name) => path.join(logDir, name));
      let n = 0;
      for (const [f, file] of files.entries()) {
        const lines: Buffer[] = [];
        const count = f === files.length - 1 ? 9_999 : 10_000;
        for (let i = 0; i < count; i++, n++)
          lines.push(
            ledger.line(seqId(`bf${f}`, i), `line ${n} of the backfill ${'ü'.repeat(n % 7)}${'x'.repeat(n % 61)}`),
          );
        // The last file ends without a newline: a backfill ships files to their end, so that is a record too.
        if (f === files.length - 1) lines.push(ledger.line('bf-unterminated', 'the last line has no newline', ''));
        writeFileSync(file, Buffer.concat(lines));
      }
      writeFileSync(path.join(logDir, 'notes.txt'), '#not-matched# outside the glob\n');
      const totalBytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
      assert.equal(ledger.size, 50_000);

      const first = await runCli(['backfill', '-c', configFile], { timeoutMs: 40_000 });
      assert.equal(
        first.code,
        0,
        `backfill exit code (signal ${first.signal}, ${first.ms} ms); ` +
          `stderr:\n${first.stderr}\nstdout:\n${first.stdout.slice(-3000)}`,
      );
      const summary = parseBackfillSummary(first.stdout);
      t.diagnostic(`first run: ${first.stdout.trim()}`);
      assert.deepEqual(
        { files: summary.files, records: summary.records, bytes: summary.bytes },
        { files: 5, records: 50_000, bytes: totalBytes },
        first.stdout,
      );
      assert.ok(
        summary.seconds > 0 && summary.seconds * 1000 <= first.ms,
        `${summary.seconds} s must be within the process's ${first.ms} ms`,
      );
      const rate = 50_000 / summary.seconds;
      assert.ok(
        Math.abs(summary.recordsPerSecond - rate) <= Math.max(2, rate * 0.01),
        `records/s ${summary.recordsPerSecond} vs 50000 / ${summary.seconds} s = ${rate.toFixed(1)}`,
      );

      const second = await runCli(['backfill', '-c', configFile], { timeoutMs: 30_000 });
      assert.equal(second.code, 0, `second backfill exit code; stderr:\n${second.stderr}`);
      const again = parseBackfillSummary(second.stdout);
      t.diagnostic(`second run: ${second.stdout.trim()}`);
      assert.deepEqual(
        { records: again.records, bytes: again.bytes },
        { records: 0, bytes: 0 },
        `a second run must ship nothing:\n${second.stdout}`,
      );

      // Read what the two runs stored, through the standalone engine on the same data dir.
      const records = await readStoredRecords(path.join(dir, 'engine'), STREAM);
      const report = ledger.assertExactlyOnce(records, 'stream after two backfill runs');
      assert.equal(report.received, 50_000);
      const last = records.find((record) => record.data.includes('bf-unterminated'));
      assert.ok(
        last && !last.data.includes(0x0a),
        `the unterminated last line is shipped as it is: ${last && describeBytes(last.data)}`,
      );
    },
  );

  test('--files narrows a flow, which keeps its checkpoints; --flow picks one; an unknown one is refused', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-backfill-select-'));
    const configFile = embeddedConfig(dir, STREAM, { maxBufferAgeMillis: 200 });
    const ledger = new Ledger();
    for (const name of ['a.log', 'b.log']) {
      const lines = Array.from({ length: 500 }, (_, i) => ledger.line(seqId(name, i), 'selected or not'));
      writeFileSync(path.join(logDir, name), Buffer.concat(lines));
    }
    const narrowed = await runCli(['backfill', '-c', configFile, '--flow', '1', '--files', `${logDir}/a*`]);
    assert.equal(narrowed.code, 0, narrowed.stderr);
    assert.equal(parseBackfillSummary(narrowed.stdout).records, 500, narrowed.stdout);
    const rest = await runCli(['backfill', '-c', configFile]);
    assert.equal(rest.code, 0, rest.stderr);
    assert.equal(parseBackfillSummary(rest.stdout).records, 500, `only b.log is left:\n${rest.stdout}`);
    const unknown = await runCli(['backfill', '-c', configFile, '--flow', '2']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /--flow 2 is none of the 1 flows \(1: kinesis:backfill-stream:/);
    ledger.assertExactlyOnce(await readStoredRecords(path.join(dir, 'engine'), STREAM), 'stream after both runs');
  });

  test('without a terminal, progress lines give bytes done of the total, the rate and the time left', async (t) => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-backfill-progress-'));
    const file = path.join(logDir, 'big.log');
    const count = 100_000;
    writeFileSync(file, Array.from({ length: count }, (_, i) => `progress line ${i}\n`).join(''));
    const size = statSync(file).size;
    // The destination is down when the backfill starts, so it runs for as long as the test needs to
    // see progress lines; a 64 KiB budget keeps most of the file unread meanwhile.
    const port = await freePort();
    const stream = 'progress';
    const configFile = remoteConfig(
      dir,
      `http://127.0.0.1:${port}`,
      stream,
      { maxBufferSizeBytes: 65536, publishQueueCapacity: 1 },
      { retryMaxBackoffMillis: 300 },
    );
    const backfill = spawnCli(['backfill', '-c', configFile, '--progress-every-seconds', '0.2']);
    t.after(() => backfill.child.kill('SIGKILL'));
    const LINE = /^backfill: (\d+) of (\d+) bytes \((\d+\.\d) %\), (\d+\.\d) MiB\/s, about (\d+|\?) s left$/;
    const progress = () =>
      backfill
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('backfill: '));
    await waitFor(() => progress().length >= 2, {
      timeoutMs: 15_000,
      message: () => `two progress lines on stderr:\n${backfill.stderr()}`,
    });
    const engine = await startEngineProcess({ dataDir: path.join(dir, 'engine'), port });
    t.after(() => engine.stop(5_000));
    await createStream(engine.url, stream, 1);
    const exit = await backfill.exited;
    assert.equal(exit.code, 0, `backfill exit (signal ${exit.signal}); stderr:\n${backfill.stderr()}`);
    const summary = parseBackfillSummary(backfill.lines.join('\n'));
    assert.deepEqual({ records: summary.records, bytes: summary.bytes }, { records: count, bytes: size });

    const lines = progress();
    assert.ok(lines.length >= 2, backfill.stderr());
    let before = 0;
    for (const line of lines) {
      const match = LINE.exec(line);
      assert.ok(match, `a progress line: ${JSON.stringify(line)}`);
      const [done, total, percent] = [Number(match[1]), Number(match[2]), Number(match[3])];
      assert.equal(total, size, 'the total is known from the first line');
      assert.ok(done >= before && done <= total, `${done} after ${before}, of ${total}`);
      assert.equal(percent, Number(((100 * done) / total).toFixed(1)));
      before = done;
    }
    assert.ok(Number(LINE.exec(lines[0])![1]) < size, 'the first lines come while most of the file is unread');
    const drawn = ['\r', '\u001b['].filter((control) => backfill.stderr().includes(control));
    assert.deepEqual(drawn, [], 'no progress bar drawn where there is no terminal');

    const refused = await runCli(['backfill', '-c', configFile, '--progress-every-seconds', '0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--progress-every-seconds: '0' is not a number of seconds above 0/);
  });
});
