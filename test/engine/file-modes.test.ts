/**
 * The engine's storage is private whatever the umask: its records are shipped log lines (perhaps
 * from root-only files) and its index holds the iterator secret. An engine child process runs
 * under umask 022, which would leave files 0644 and directories 0755; every directory it creates
 * must be 0700 and every file 0600, SQLite's -wal and -shm files included.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertCliBuilt, startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { drainShard, kinesis } from '../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

const STREAM = 'private-stream';

/** Every file and directory under `root` (itself included), with its permission bits. */
function modesUnder(root: string): Map<string, { mode: number; directory: boolean }> {
  const modes = new Map<string, { mode: number; directory: boolean }>();
  const visit = (entry: string) => {
    const stat = statSync(entry);
    modes.set(path.relative(root, entry) || '.', { mode: stat.mode & 0o777, directory: stat.isDirectory() });
    if (stat.isDirectory()) for (const name of readdirSync(entry)) visit(path.join(entry, name));
  };
  visit(root);
  return modes;
}

function assertPrivate(modes: Map<string, { mode: number; directory: boolean }>): void {
  const wrong = [...modes]
    .filter(([, { mode, directory }]) => mode !== (directory ? 0o700 : 0o600))
    .map(([name, { mode, directory }]) => `${name}${directory ? '/' : ''} is ${mode.toString(8).padStart(4, '0')}`);
  assert.deepEqual(wrong, [], 'directories must be 0700 and files 0600');
}

describe('engine storage: file modes under umask 022', { timeout: 30_000 }, () => {
  let engine: EngineProcess | undefined;

  before(assertCliBuilt);
  after(async () => {
    await engine?.stop(5_000);
    await removeTempDirs();
  });

  it('creates the data dir, records dirs, data files, kinesis.db and its -wal/-shm private', async () => {
    // A data dir (and its parent) that the engine has to create itself.
    const dataDir = path.join(makeTempDir('shardtail-modes-'), 'var', 'engine');
    engine = await startEngineProcess({ dataDir, umask: '022' });
    const umask = /^Umask:\s*(\d+)$/m.exec(readFileSync(`/proc/${engine.pid}/status`, 'utf8'))?.[1];
    assert.equal(umask, '0022', 'the engine runs under the umask the test gives it');

    await kinesis(engine.url, 'CreateStream', { StreamName: STREAM, ShardCount: 2 });
    const records = Array.from({ length: 20 }, (_, i) => ({
      PartitionKey: `pk-${i}`,
      Data: Buffer.from(`secret line ${i}`).toString('base64'),
    }));
    assert.equal(
      (await kinesis(engine.url, 'PutRecords', { StreamName: STREAM, Records: records })).FailedRecordCount,
      0,
    );
    const { ShardIterator } = await kinesis(engine.url, 'GetShardIterator', {
      StreamName: STREAM,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    assert.ok((await drainShard(engine.url, ShardIterator)).records.length > 0);

    const running = modesUnder(dataDir);
    const names = [...running.keys()];
    for (const expected of ['.', 'kinesis.db', 'kinesis.db-wal', 'kinesis.db-shm', 'records', 'records/1'])
      assert.ok(running.has(expected), `${expected} exists; found ${names.join(', ')}`);
    assert.ok(
      names.some((name) => /^records\/1\/\d+\.log$/.test(name)),
      `a data file exists; found ${names.join(', ')}`,
    );
    assertPrivate(running);

    const exit = await engine.stop();
    assert.equal(exit.code, 0);
    assertPrivate(modesUnder(dataDir));
  });
});
