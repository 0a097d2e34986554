import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { FlowDiscovery, type DiscoveryListener } from '../../../src/discover/flow-discovery.js';
import type { DiscoveredFile } from '../../../src/discover/scan.js';
import type { FileIdentity } from '../../../src/tail/identity.js';
import { makeTempDir, removeTempDirs } from '../../support/tmp.js';
import { waitFor } from '../../support/wait.js';
import { recordingEvents } from '../support.js';

after(removeTempDirs);

interface Recorded {
  listings: Array<{ files: string[]; initial: boolean }>;
  written: FileIdentity[];
  changed: number;
}

/**
 * A discovery over `<dir>/logs/**\/*.log` whose listener records what it is told; `tracked` decides what written()
 * answers.
 */
function discoveryOf(
  t: TestContext,
  dir: string,
  tracked: (identity: FileIdentity) => boolean = () => true,
): { discovery: FlowDiscovery; seen: Recorded } {
  const seen: Recorded = { listings: [], written: [], changed: 0 };
  const listener: DiscoveryListener = {
    listed: async (files: DiscoveredFile[], initial) => {
      seen.listings.push({ files: files.map((file) => path.relative(dir, file.path)), initial });
    },
    written: (identity) => {
      seen.written.push(identity);
      return tracked(identity);
    },
    changed: () => seen.changed++,
  };
  const discovery = new FlowDiscovery({
    filePattern: `${dir}/logs/**/*.log`,
    excludePatterns: [],
    ownState: [],
    refreshMs: 60_000,
    watch: true,
    events: recordingEvents().events,
    listener,
  });
  t.after(() => discovery.stop());
  return { discovery, seen };
}

const lastListing = (seen: Recorded) => seen.listings.at(-1)?.files ?? [];

describe('FlowDiscovery', () => {
  it(
    'lists the glob at start, then finds files created later by watcher events, in new ' + 'subdirectories too',
    async (t) => {
      const dir = makeTempDir('shardtail-unit-discovery-');
      mkdirSync(path.join(dir, 'logs'));
      writeFileSync(path.join(dir, 'logs/a.log'), 'a\n');
      const { discovery, seen } = discoveryOf(t, dir);
      await discovery.start(true);
      assert.deepEqual(seen.listings[0], { files: ['logs/a.log'], initial: true });
      writeFileSync(path.join(dir, 'logs/b.log'), 'b\n');
      await waitFor(() => lastListing(seen).includes('logs/b.log'), {
        timeoutMs: 3_000,
        message: 'b.log to be listed after its creation',
      });
      mkdirSync(path.join(dir, 'logs/new'));
      await waitFor(() => seen.listings.length >= 3, {
        timeoutMs: 3_000,
        message: 'a scan after the new directory appeared',
      });
      writeFileSync(path.join(dir, 'logs/new/c.log'), 'c\n');
      await waitFor(() => lastListing(seen).includes('logs/new/c.log'), {
        timeoutMs: 3_000,
        message: 'a file in a directory created after start',
      });
      assert.ok(seen.listings.slice(1).every((listing) => !listing.initial));
    },
  );

  it('wakes a tracked file written to without a scan, and scans for a written file it does not track', async (t) => {
    const dir = makeTempDir('shardtail-unit-discovery-');
    mkdirSync(path.join(dir, 'logs'));
    writeFileSync(path.join(dir, 'logs/a.log'), 'a\n');
    let tracks = true;
    const { discovery, seen } = discoveryOf(t, dir, () => tracks);
    await discovery.start(false);
    const scansBefore = seen.listings.length;
    appendFileSync(path.join(dir, 'logs/a.log'), 'more\n');
    await waitFor(() => seen.written.length > 0, { timeoutMs: 3_000, message: 'a written event' });
    await waitFor(() => seen.changed > scansBefore, { timeoutMs: 1_000, message: 'the flow told to read' });
    assert.equal(seen.listings.length, scansBefore, 'a write to a tracked file needs no scan');
    tracks = false;
    appendFileSync(path.join(dir, 'logs/a.log'), 'again\n');
    await waitFor(() => seen.listings.length > scansBefore, {
      timeoutMs: 3_000,
      message: 'a scan for the untracked file',
    });
  });

  it('costs a few scans a second when files come and go all the time, not one per event', async (t) => {
    const dir = makeTempDir('shardtail-unit-discovery-');
    mkdirSync(path.join(dir, 'logs'));
    const { discovery, seen } = discoveryOf(t, dir);
    await discovery.start(false);
    const started = Date.now();
    for (let i = 0; i < 200; i++) writeFileSync(path.join(dir, `logs/f${i}.log`), `${i}\n`);
    await waitFor(() => lastListing(seen).length === 200, { timeoutMs: 3_000, message: 'all 200 files listed' });
    const seconds = Math.max(0.1, (Date.now() - started) / 1000);
    assert.ok(
      seen.listings.length <= 2 + Math.ceil(seconds * 10),
      `${seen.listings.length} scans in ${seconds} s for 400 events`,
    );
  });

  it("finds files once a glob's base directory that did not exist at start is created", async (t) => {
    const dir = makeTempDir('shardtail-unit-discovery-');
    const { discovery, seen } = discoveryOf(t, dir);
    await discovery.start(false);
    assert.deepEqual(lastListing(seen), []);
    mkdirSync(path.join(dir, 'logs/sub'), { recursive: true });
    writeFileSync(path.join(dir, 'logs/sub/late.log'), 'late\n');
    await waitFor(() => lastListing(seen).includes('logs/sub/late.log'), {
      timeoutMs: 5_000,
      message: 'the file in the late base directory',
    });
  });
});
