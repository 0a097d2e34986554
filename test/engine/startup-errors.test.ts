/**
 * When the engine cannot open its storage it says what is wrong and where, exits 1, and does not
 * pass it off as a listen error: a full disk on restart, a kinesis.db that is not an index, a data
 * dir of the older layout; the agent's embedded engine carries the same message. A real listen
 * error (the port taken) still says so. The engine runs as a real child process each time.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { embeddedConfig, logsUnder, runCli as runAgentCli } from '../support/agent-process.js';
import { runCli } from '../support/cli-process.js';
import { assertCliBuilt, startEngineProcess } from '../support/engine-process.js';
import { kinesis, kinesisRequest, readShardFromStart } from '../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { mountTmpfs } from '../support/tmpfs.js';

before(assertCliBuilt);
after(removeTempDirs);

/** Runs `shardtail engine` on `dataDir`, which must fail to start; returns its stderr. */
async function failedStart(dataDir: string, port = 0): Promise<string> {
  const result = await runCli(['engine', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
    timeoutMs: 20_000,
  });
  assert.equal(result.code, 1, `the engine must exit 1; stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  assert.doesNotMatch(result.stdout, /engine listening/);
  const fatal = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .find((entry) => entry.level === 60);
  assert.ok(fatal, `a fatal log line; stdout:\n${result.stdout}`);
  assert.ok(result.stderr.includes(fatal.msg), `stderr repeats the fatal line's message; stderr:\n${result.stderr}`);
  return result.stderr;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('engine start-up errors name the file and what it means', { timeout: 90_000 }, () => {
  it(
    'a full disk on restart; with room again, every acknowledged record is back and the failed write ' + 'is no damage',
    async (t) => {
      const disk = path.join(makeTempDir('shardtail-full-'), 'disk');
      mkdirSync(disk);
      if (!mountTmpfs(t, disk, 'size=1m')) return;
      const dataDir = path.join(disk, 'engine');
      const engine = await startEngineProcess({ dataDir });
      await kinesis(engine.url, 'CreateStream', { StreamName: 'fills-the-disk', ShardCount: 1 });
      const acknowledged: string[] = [];
      let status = 200;
      for (let i = 0; i < 40 && status === 200; i++) {
        const data = Buffer.alloc(60_000, `record ${i} `).toString('base64');
        const response = await kinesisRequest(engine.url, 'PutRecords', {
          StreamName: 'fills-the-disk',
          Records: [{ PartitionKey: `k${i}`, Data: data }],
        });
        status = response.status;
        if (status === 200) acknowledged.push(data);
      }
      assert.notEqual(status, 200, 'a 1 MiB disk fills up');
      assert.ok(acknowledged.length > 0);
      await engine.kill();

      const stderr = await failedStart(dataDir);
      assert.match(
        stderr,
        new RegExp(
          `shardtail engine: cannot start the engine: ${escape(path.join(dataDir, 'kinesis.db'))}: the disk is ` +
            `full \\(.*\\); free some space on the file system of ${escape(dataDir)} and start again`,
        ),
      );
      assert.doesNotMatch(stderr, /cannot listen/);

      execFileSync('mount', ['-o', 'remount,size=4m', disk]);
      const restarted = await startEngineProcess({ dataDir });
      after(() => restarted.stop(5_000));
      assert.deepEqual(
        restarted.logs.filter((entry) => (entry.level as number) >= 40).map((entry) => entry.msg),
        [],
        'nothing reported as damaged or lost',
      );
      const records = await readShardFromStart(restarted.url, 'fills-the-disk', 'shardId-000000000000');
      assert.deepEqual(
        records.map((record) => record.Data),
        acknowledged,
      );
    },
  );

  it('a kinesis.db that is not a database', async () => {
    const dataDir = makeTempDir('shardtail-notadb-');
    writeFileSync(
      path.join(dataDir, 'kinesis.db'),
      'these are not the bytes of a SQLite database, but they are long enough to look at\n'.repeat(100),
    );
    const stderr = await failedStart(dataDir);
    assert.match(
      stderr,
      new RegExp(
        `shardtail engine: cannot start the engine: ${escape(path.join(dataDir, 'kinesis.db'))} is not an ` +
          `engine index \\(damaged or another file: .*\\); move it aside to start empty`,
      ),
    );
    assert.doesNotMatch(stderr, /cannot listen/);
  });

  it('a data dir of the older layout (data files without checksums) is refused, naming the directory', async () => {
    const dataDir = makeTempDir('shardtail-old-layout-');
    const db = new Database(path.join(dataDir, 'kinesis.db'));
    // The tables as the previous layout created them; its segments had no checksum.
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE streams (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL, mode TEXT NOT NULL, retention_hours INTEGER NOT NULL,
        max_record_kib INTEGER NOT NULL, tags TEXT NOT NULL, status TEXT NOT NULL, status_until_ms INTEGER NOT NULL);
      CREATE TABLE segments (id INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, shard_index INTEGER NOT NULL,
        first_counter INTEGER NOT NULL, last_counter INTEGER NOT NULL, arrival_ms INTEGER NOT NULL,
        file_offset INTEGER NOT NULL, length INTEGER NOT NULL);
      INSERT INTO meta VALUES ('iterator_secret', 'c2VjcmV0');`);
    db.close();
    const stderr = await failedStart(dataDir);
    assert.match(
      stderr,
      new RegExp(
        `shardtail engine: cannot start the engine: ${escape(dataDir)} holds engine data in an older storage ` +
          `layout .*: move the directory aside or delete it to start with an empty engine`,
      ),
    );
  });

  it('a port in use is still a listen error', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    after(() => taken.close());
    const port = (taken.address() as net.AddressInfo).port;
    const stderr = await failedStart(makeTempDir('shardtail-port-taken-'), port);
    assert.match(
      stderr,
      new RegExp(`shardtail engine: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`),
    );
  });

  it("the agent's embedded engine says the same: cannot start: <file> is not an engine index", async () => {
    const { dir } = logsUnder(makeTempDir('shardtail-agent-notadb-'));
    const configFile = embeddedConfig(dir, 'agent-stream');
    mkdirSync(path.join(dir, 'engine'));
    writeFileSync(path.join(dir, 'engine', 'kinesis.db'), 'not a database\n'.repeat(300));
    const result = await runAgentCli(['start', '-c', configFile], { timeoutMs: 20_000 });
    assert.equal(result.code, 1, `the agent must exit 1; stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.match(
      result.stdout,
      new RegExp(
        `cannot start: ${escape(path.join(dir, 'engine', 'kinesis.db'))} is not an engine index \\(damaged or ` +
          `another file`,
      ),
    );
  });
});
