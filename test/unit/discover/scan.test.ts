import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ownStateGlobs, scanFiles, type ScanOptions } from '../../../src/discover/scan.js';
import { makeTempDir, removeTempDirs } from '../../support/tmp.js';

after(removeTempDirs);

function options(filePattern: string, more: Partial<ScanOptions> = {}): ScanOptions {
  return { filePattern, excludePatterns: [], ownState: [], maxFiles: 1_000, withDirectories: false, ...more };
}

function tree(): string {
  const dir = makeTempDir('shardtail-unit-scan-');
  mkdirSync(path.join(dir, 'logs/sub/deeper'), { recursive: true });
  mkdirSync(path.join(dir, 'elsewhere'));
  writeFileSync(path.join(dir, 'logs/app.log'), 'a\n');
  writeFileSync(path.join(dir, 'logs/app.log.1.gz'), 'compressed');
  writeFileSync(path.join(dir, 'logs/sub/worker.log'), 'w\n');
  writeFileSync(path.join(dir, 'logs/sub/deeper/deep.log'), 'd\n');
  writeFileSync(path.join(dir, 'elsewhere/outside.log'), 'o\n');
  return dir;
}

const names = (dir: string, files: Array<{ path: string }>) => files.map((file) => path.relative(dir, file.path));

describe('scanFiles', () => {
  // Compressed copies are listed too: the file set tells them by content and name (a daemon tails none of them).
  it('lists matching regular files once each, sorted, compressed copies included', async () => {
    const dir = tree();
    const { files, truncated } = await scanFiles(options(`${dir}/logs/**/*.log*`));
    assert.deepEqual(names(dir, files), [
      'logs/app.log',
      'logs/app.log.1.gz',
      'logs/sub/deeper/deep.log',
      'logs/sub/worker.log',
    ]);
    assert.equal(truncated, false);
    assert.ok(files.every((file) => file.ino > 0 && file.size === (file.path.endsWith('.gz') ? 10 : 2)));
  });

  it(
    '** does not follow links to directories (a link back up would never end); a fixed-depth ' + 'pattern does',
    async () => {
      const dir = tree();
      symlinkSync('.', path.join(dir, 'logs/self1'));
      symlinkSync('.', path.join(dir, 'logs/self2'));
      symlinkSync('../elsewhere', path.join(dir, 'logs/linked'));
      const recursive = await scanFiles(options(`${dir}/logs/**/*.log`));
      assert.deepEqual(names(dir, recursive.files), [
        'logs/app.log',
        'logs/sub/deeper/deep.log',
        'logs/sub/worker.log',
      ]);
      const fixed = await scanFiles(options(`${dir}/logs/*/*.log`));
      assert.ok(
        names(dir, fixed.files).includes('logs/linked/outside.log'),
        'a link to a directory at a * segment is followed',
      );
    },
  );

  it('takes links to files, and lists a file reached by two paths once, under its shortest path', async () => {
    const dir = tree();
    symlinkSync('app.log', path.join(dir, 'logs/current.log'));
    symlinkSync('../elsewhere/outside.log', path.join(dir, 'logs/outside-link.log'));
    const { files } = await scanFiles(options(`${dir}/logs/*.log`));
    assert.deepEqual(names(dir, files), ['logs/app.log', 'logs/outside-link.log']);
    assert.deepEqual(
      files[0].alsoAt?.map((alias) => path.relative(dir, alias)),
      ['logs/current.log'],
    );
  });

  it("never lists the agent's own state, whatever the glob", async () => {
    const dir = tree();
    mkdirSync(path.join(dir, 'logs/engine/records/1'), { recursive: true });
    writeFileSync(path.join(dir, 'logs/engine/records/1/490000.log'), 'a record\n');
    writeFileSync(path.join(dir, 'logs/checkpoints.log'), 'sqlite');
    writeFileSync(path.join(dir, 'logs/checkpoints.log-wal'), 'wal');
    const ownState = ownStateGlobs({
      directories: [path.join(dir, 'logs/engine')],
      checkpointFile: path.join(dir, 'logs/checkpoints.log'),
    });
    const { files } = await scanFiles(options(`${dir}/logs/**`, { ownState }));
    assert.deepEqual(names(dir, files), [
      'logs/app.log',
      'logs/app.log.1.gz',
      'logs/sub/deeper/deep.log',
      'logs/sub/worker.log',
    ]);
  });

  it('stops the walk at maxFiles and says so', async () => {
    const dir = makeTempDir('shardtail-unit-scan-many-');
    for (let i = 0; i < 30; i++) writeFileSync(path.join(dir, `f${i}.log`), 'x\n');
    const { files, truncated } = await scanFiles(options(`${dir}/*.log`, { maxFiles: 10 }));
    assert.equal(files.length, 10);
    assert.equal(truncated, true);
  });

  it('honours exclude patterns with and without a slash', async () => {
    const dir = tree();
    const { files } = await scanFiles(
      options(`${dir}/logs/**/*.log`, { excludePatterns: ['worker.log', `${dir}/logs/sub/deeper/**`] }),
    );
    assert.deepEqual(names(dir, files), ['logs/app.log']);
  });

  it('lists the directories a glob can find files in, for the watcher', async () => {
    const dir = tree();
    const { directories } = await scanFiles(options(`${dir}/logs/**/*.log`, { withDirectories: true }));
    assert.deepEqual(directories.map((d) => path.relative(dir, d)).sort(), ['logs', 'logs/sub', 'logs/sub/deeper']);
    const fixed = await scanFiles(options(`${dir}/*/sub/*.log`, { withDirectories: true }));
    assert.deepEqual(fixed.directories.map((d) => path.relative(dir, d)).sort(), ['', 'elsewhere', 'logs', 'logs/sub']);
  });
});
