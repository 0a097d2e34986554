import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDirectorySink } from '../../../../src/engine/firehose/delivery/directory-sink.js';
import { SinkError } from '../../../../src/engine/firehose/delivery/object-sink.js';
import { makeTempDir, removeTempDirs } from '../../../support/tmp.js';

/** Every file under `root`, as paths relative to it. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

describe('the directory sink', () => {
  let umask: number;
  before(() => {
    umask = process.umask(0o022);
  });
  after(async () => {
    process.umask(umask);
    await removeTempDirs();
  });

  it('writes each object under its key, folders made as needed, readable by others (0644 in 0755)', async () => {
    const root = join(makeTempDir(), 'bucket');
    const sink = await openDirectorySink(root);
    await sink.put('2024/05/06/07/logs-1-2024-05-06-07-08-09-u', Buffer.from('a\nb\n'));
    await sink.put('top', Buffer.alloc(0));
    assert.equal(readFileSync(join(root, '2024/05/06/07/logs-1-2024-05-06-07-08-09-u'), 'utf8'), 'a\nb\n');
    assert.deepEqual(filesUnder(root), ['2024/05/06/07/logs-1-2024-05-06-07-08-09-u', 'top']);
    assert.equal(statSync(join(root, '2024/05/06/07/logs-1-2024-05-06-07-08-09-u')).mode & 0o777, 0o644);
    assert.equal(statSync(join(root, '2024/05/06')).mode & 0o777, 0o755);
    assert.equal(sink.describe(), `directory ${root}`);
  });

  it('replaces an object put again under the same key, and readers only ever see a whole object', async () => {
    const root = makeTempDir();
    const sink = await openDirectorySink(root);
    const size = 4 * 1024 * 1024;
    const versions = [Buffer.alloc(size, 'a'), Buffer.alloc(size, 'b')];
    await sink.put('p/obj', versions[0]);
    let writing = true;
    const reads: string[] = [];
    const reader = (async () => {
      while (writing) {
        const seen = await readFile(join(root, 'p/obj'));
        const whole = seen.length === size && (seen.equals(versions[0]) || seen.equals(versions[1]));
        reads.push(whole ? String.fromCharCode(seen[0]) : `torn (${seen.length} bytes)`);
      }
    })();
    for (let round = 1; round <= 20; round++) await sink.put('p/obj', versions[round % 2]);
    writing = false;
    await reader;
    assert.ok(reads.length > 0);
    assert.deepEqual(
      reads.filter((read) => read.startsWith('torn')),
      [],
    );
    assert.deepEqual(readFileSync(join(root, 'p/obj')), versions[0]);
    assert.deepEqual(filesUnder(root), ['p/obj'], 'no temporary file left behind');
  });

  it('refuses keys that would leave the folder or are no file path, and writes nothing for them', async () => {
    const parent = makeTempDir();
    const root = join(parent, 'bucket');
    const sink = await openDirectorySink(root);
    const refused = ['../escaped', 'a/../../escaped', '/tmp/escaped', 'a//b', 'a/', '', '.', 'a/./b', 'nul\0'];
    refused.push('p/.obj.tmp-0123456789abcdef');
    for (const key of refused) {
      await assert.rejects(sink.put(key, Buffer.from('x')), (error: unknown) => {
        assert.ok(error instanceof SinkError, String(error));
        assert.equal(error.code, 'InvalidObjectKey');
        assert.equal(error.retryable, false);
        assert.ok(error.message.includes(JSON.stringify(key)), error.message);
        return true;
      });
    }
    assert.deepEqual(readdirSync(parent), ['bucket']);
    assert.deepEqual(filesUnder(root), []);
  });

  it('fails clearly, and cleans up, when a key and a folder collide', async () => {
    const root = makeTempDir();
    const sink = await openDirectorySink(root);
    await sink.put('a', Buffer.from('object a'));
    await sink.put('dir/b', Buffer.from('object b'));
    await assert.rejects(sink.put('a/c', Buffer.from('x')), /object "a\/c".*a folder on its path is an object/);
    await assert.rejects(sink.put('dir', Buffer.from('x')), /object "dir".*names an existing folder/);
    assert.deepEqual(filesUnder(root), ['a', 'dir/b']);
  });

  it('removes temporaries a crash left, at open, and nothing else', async () => {
    const root = makeTempDir();
    mkdirSync(join(root, 'deep/er'), { recursive: true });
    const stale = ['.obj.tmp-0123456789abcdef', 'deep/er/.logs-1.gz.tmp-fedcba9876543210'];
    const kept = [
      '.hidden',
      'obj.tmp-0123456789abcdef',
      '.obj.tmp-xyz',
      'deep/er/logs-1.gz',
      'deep/.tmp-0123456789abcdef',
    ];
    for (const name of [...stale, ...kept]) writeFileSync(join(root, name), 'x');
    await openDirectorySink(root);
    assert.deepEqual(filesUnder(root), [...kept].sort());
    for (const name of stale) assert.ok(!existsSync(join(root, name)), name);
  });

  it('refuses puts after close', async () => {
    const sink = await openDirectorySink(makeTempDir());
    await sink.close();
    await assert.rejects(sink.put('k', Buffer.from('x')), /closed/);
  });
});
