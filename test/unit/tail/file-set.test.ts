/**
 * The file set on real files in a temporary directory, in-process, with an injected clock: how a
 * file is told from another (recycled inodes, renames, short files), and copytruncate copies
 * (confirmed, suspected and not, still being written).
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { COPY_CONFIRM_MS } from '../../../src/tail/copy-detection.js';
import { removeTempDirs } from '../../support/tmp.js';
import { discovered, harness } from './file-set-harness.js';

after(removeTempDirs);

/** Lines "<prefix> i" for i in [from, to), each with a newline. */
function lines(prefix: string, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += `${prefix} ${i}\n`;
  return text;
}

/** Descriptors this process holds on files under `dir`. */
function descriptorsUnder(dir: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) count++;
    } catch {
      // closed since it was listed
    }
  }
  return count;
}

describe('FileSet', () => {
  it('holds no more descriptors than its bound while files are taken on and read, and reads each whole', async () => {
    const limit = 4;
    const h = harness(limit);
    const names = Array.from({ length: 24 }, (_, i) => `f${i}.log`);
    for (const name of names) writeFileSync(h.file(name), lines(name, 0, 50));
    let peak = 0;
    let sampling = true;
    const sample = () => {
      peak = Math.max(peak, descriptorsUnder(h.dir));
      if (sampling) setImmediate(sample);
    };
    sample();
    // A listing takes files on while watcher events notice some of them and the read loop reads
    // those it has, one at a time (as the agent's discovery and read loop do).
    const taking = Promise.all([
      h.set.reconcile(
        names.map((name) => discovered(h.file(name))),
        true,
      ),
      ...names.filter((_, i) => i % 3 === 0).map((name) => h.set.noticed(discovered(h.file(name)))),
    ]);
    const wanted = names.length * 50;
    const reading = (async () => {
      for (let round = 0; round < 500 && [...h.shipped.values()].flat().length < wanted; round++) {
        for (const file of h.set.readyFiles()) await h.set.read(file);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all([taking, reading]);
    sampling = false;
    for (const name of names) assert.deepEqual(h.shipped.get(h.file(name)), lines(name, 0, 50).split(/(?<=\n)/), name);
    assert.ok(peak <= limit, `${peak} descriptors at peak, over the bound of ${limit}`);
    assert.ok(h.openFiles.count <= limit);
  });

  it('a daemon tails no compressed file (by content or name); an inode a .gz had may go to a plain log', async () => {
    const h = harness();
    writeFileSync(h.file('app.log.1.gz'), gzipSync(lines('gz', 0, 3)));
    writeFileSync(h.file('app.log.2'), gzipSync(lines('gz', 3, 6)));
    writeFileSync(h.file('app.log.3.gz'), '');
    await h.scan('app.log.1.gz', 'app.log.2', 'app.log.3.gz');
    await h.scan('app.log.1.gz', 'app.log.2', 'app.log.3.gz');
    assert.equal(h.set.size, 0);
    assert.deepEqual(
      h.recorder.named('compressedNotTailed').map(([file]) => path.basename(String(file))),
      ['app.log.1.gz', 'app.log.2', 'app.log.3.gz'],
      'each file is looked at once, not at every scan',
    );
    // The .gz is deleted and its inode goes to a new plain file (listed as the scan would list it).
    const old = discovered(h.file('app.log.1.gz'));
    unlinkSync(h.file('app.log.1.gz'));
    writeFileSync(h.file('app.log'), lines('a', 0, 2));
    await h.set.reconcile([{ ...discovered(h.file('app.log')), dev: old.dev, ino: old.ino }], false);
    assert.equal(h.set.size, 1, 'the plain file at another path is tailed');
  });

  it('follows a renamed file by identity and reads it on, never again from its start', async () => {
    const h = harness();
    writeFileSync(h.file('app.log'), lines('a', 0, 3));
    await h.scan('app.log');
    await h.readAll('app.log');
    renameSync(h.file('app.log'), h.file('app.log.1'));
    appendFileSync(h.file('app.log.1'), lines('a', 3, 5));
    await h.scan('app.log.1');
    await h.readAll('app.log.1');
    assert.deepEqual(h.recorder.named('renamed'), [[h.file('app.log'), h.file('app.log.1')]]);
    assert.deepEqual(
      [...(h.shipped.get(h.file('app.log')) ?? []), ...(h.shipped.get(h.file('app.log.1')) ?? [])],
      lines('a', 0, 5).split(/(?<=\n)/),
    );
  });

  it('takes a new file that got the inode of a deleted, closed one for a new file, read from its start', async (t) => {
    const h = harness();
    writeFileSync(h.file('old.log'), lines('old', 0, 4));
    await h.scan('old.log');
    await h.readAll('old.log');
    const old = h.tracked('old.log');
    await h.openFiles.close(old); // closed while idle, as with thousands of files
    const { ino } = statSync(h.file('old.log'));
    unlinkSync(h.file('old.log'));
    let reused: string | undefined;
    const misses: string[] = [];
    for (let attempt = 0; attempt < 2_000 && reused === undefined; attempt++) {
      const candidate = h.file(`new-${attempt}.log`);
      writeFileSync(candidate, lines('new', 0, 6));
      if (statSync(candidate).ino === ino) reused = candidate;
      else misses.push(candidate);
    }
    for (const miss of misses) unlinkSync(miss);
    if (reused === undefined) {
      t.skip("no new file got the deleted file's inode on this file system");
      return;
    }
    const name = path.basename(reused);
    await h.scan(name);
    await h.readAll(name);
    assert.equal(h.recorder.named('inodeReused').length, 1);
    assert.equal(h.recorder.named('renamed').length, 0);
    assert.deepEqual(
      h.shipped.get(reused),
      lines('new', 0, 6).split(/(?<=\n)/),
      'every line of the new file, from its start',
    );
    assert.equal(old.phase, 'gone');
  });

  it(
    'reads the copy of a truncated file on from where the original was read to (copy found after the ' + 'truncation)',
    async () => {
      const h = harness();
      writeFileSync(h.file('app.log'), lines('x', 0, 40));
      await h.scan('app.log');
      await h.readAll('app.log');
      // copytruncate: logrotate copies (the writer appended more first), then truncates.
      appendFileSync(h.file('app.log'), lines('x', 40, 45));
      writeFileSync(h.file('app.log.1'), lines('x', 0, 45));
      truncateSync(h.file('app.log'), 0);
      await h.readAll('app.log');
      assert.equal(h.recorder.named('truncated').length, 1);
      await h.scan('app.log', 'app.log.1');
      await h.readAll('app.log.1');
      assert.deepEqual(
        h.shipped.get(h.file('app.log.1')),
        lines('x', 40, 45).split(/(?<=\n)/),
        'only what the original had not shipped',
      );
    },
  );

  it(
    'holds a suspected copy until its original is truncated, then reads it on from where the original ' + 'was read to',
    async () => {
      const h = harness();
      writeFileSync(h.file('app.log'), lines('y', 0, 40));
      await h.scan('app.log');
      await h.readAll('app.log');
      writeFileSync(h.file('app.log.1'), lines('y', 0, 42));
      await h.scan('app.log', 'app.log.1');
      assert.equal(h.recorder.named('copySuspected').length, 1);
      await h.readAll('app.log.1');
      assert.equal(h.shipped.get(h.file('app.log.1')), undefined, 'nothing read while suspected');
      truncateSync(h.file('app.log'), 0);
      h.clock.ms += 20;
      await h.readAll('app.log');
      assert.equal(h.recorder.named('copyConfirmed').length, 1);
      await h.readAll('app.log.1');
      assert.deepEqual(h.shipped.get(h.file('app.log.1')), lines('y', 40, 42).split(/(?<=\n)/));
    },
  );

  it(
    'reads a new file that merely begins like a tailed one (a common header) from its start once no ' +
      'truncation came',
    async () => {
      const h = harness();
      const header = `${'#'.repeat(1100)}\n`;
      writeFileSync(h.file('a.log'), header + lines('a', 0, 3));
      await h.scan('a.log');
      await h.readAll('a.log');
      writeFileSync(h.file('b.log'), header + lines('b', 0, 3));
      await h.scan('a.log', 'b.log');
      assert.equal(h.recorder.named('copySuspected').length, 1);
      h.clock.ms += COPY_CONFIRM_MS + 1;
      await h.readAll('b.log');
      assert.equal(h.recorder.named('notACopy').length, 1);
      assert.deepEqual(h.shipped.get(h.file('b.log')), [header, ...lines('b', 0, 3).split(/(?<=\n)/)]);
    },
  );

  it(
    'waits on a new file whose first bytes are only the start of a tailed one (a copy still being written), ' +
      'then decides',
    async () => {
      const h = harness();
      const content = lines('z', 0, 100);
      writeFileSync(h.file('app.log'), content);
      await h.scan('app.log');
      await h.readAll('app.log');
      writeFileSync(h.file('app.log.1'), content.slice(0, 100)); // logrotate has copied 100 bytes so far
      await h.scan('app.log', 'app.log.1');
      await h.readAll('app.log.1');
      assert.equal(h.tracked('app.log.1').headPending, true);
      assert.equal(h.shipped.get(h.file('app.log.1')), undefined, 'undecided: nothing read');
      appendFileSync(h.file('app.log.1'), content.slice(100) + lines('z', 100, 103));
      truncateSync(h.file('app.log'), 0);
      h.clock.ms += 20;
      await h.readAll('app.log.1'); // now long enough: a copy of app.log, suspected
      await h.readAll('app.log'); // truncated: the copy is confirmed
      h.clock.ms += 20;
      await h.readAll('app.log.1');
      assert.deepEqual(h.shipped.get(h.file('app.log.1')), lines('z', 100, 103).split(/(?<=\n)/));
    },
  );

  it(
    'takes on a file a watcher event notices, follows one moved, and ignores another path of a ' + 'tracked file',
    async () => {
      const h = harness();
      writeFileSync(h.file('app.log'), lines('n', 0, 2));
      await h.set.noticed(discovered(h.file('app.log')));
      await h.readAll('app.log');
      symlinkSync('app.log', h.file('link.log'));
      await h.set.noticed({ ...discovered(h.file('app.log')), path: h.file('link.log') });
      assert.equal(h.recorder.named('renamed').length, 0, 'a link to a tailed file is not a rename');
      renameSync(h.file('app.log'), h.file('moved.log'));
      h.set.gone(h.file('app.log'));
      assert.equal(h.tracked('app.log').phase, 'leaving');
      await h.set.noticed(discovered(h.file('moved.log')));
      assert.deepEqual(h.recorder.named('renamed'), [[h.file('app.log'), h.file('moved.log')]]);
      assert.equal(h.tracked('moved.log').phase, 'tailing');
      appendFileSync(h.file('moved.log'), lines('n', 2, 3));
      await h.readAll('moved.log');
      assert.deepEqual(
        [...(h.shipped.get(h.file('app.log')) ?? []), ...(h.shipped.get(h.file('moved.log')) ?? [])],
        lines('n', 0, 3).split(/(?<=\n)/),
      );
    },
  );

  it('lets a file that left the glob go once it stayed idle, shipping an unterminated last line as it is', async () => {
    const h = harness();
    writeFileSync(h.file('gone.log'), 'complete\nhalf');
    await h.scan('gone.log');
    await h.readAll('gone.log');
    const file = h.tracked('gone.log');
    await h.scan();
    assert.equal(file.phase, 'leaving');
    h.clock.ms += 2_000;
    await h.set.read(file);
    assert.equal(file.phase, 'gone');
    assert.deepEqual(h.shipped.get(h.file('gone.log')), ['complete\n', 'half']);
  });

  it('names the files furthest behind, most first, at most `limit` of them, none read to its end', async () => {
    const h = harness();
    // f0 has 100 bytes unread, f1 200, … f11 1200: nothing is read yet.
    const names = Array.from({ length: 12 }, (_, i) => `f${i}.log`);
    names.forEach((name, i) => writeFileSync(h.file(name), 'x'.repeat(99) + '\n' + 'y'.repeat(100 * i)));
    await h.scan(...names);
    const expected = (indices: number[]) =>
      indices.map((i) => ({ path: h.file(`f${i}.log`), bytesBehind: 100 * (i + 1) }));
    assert.deepEqual(h.set.mostBehind(10), expected([11, 10, 9, 8, 7, 6, 5, 4, 3, 2]));
    await h.readAll('f11.log');
    await h.readAll('f9.log');
    assert.deepEqual(h.set.mostBehind(10), expected([10, 8, 7, 6, 5, 4, 3, 2, 1, 0]), 'read to their end: left out');
    assert.deepEqual(h.set.mostBehind(2), expected([10, 8]));
    assert.equal(
      h.set.totals().behind,
      expected([10, 8, 7, 6, 5, 4, 3, 2, 1, 0]).reduce((n, f) => n + f.bytesBehind, 0),
    );
  });
});
