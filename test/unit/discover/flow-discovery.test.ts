import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
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
  noticed: string[];
  gone: string[];
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
  const seen: Recorded = { listings: [], noticed: [], gone: [], written: [], changed: 0 };
  const listener: DiscoveryListener = {
    listed: async (files: DiscoveredFile[], initial) => {
      seen.listings.push({ files: files.map((file) => path.relative(dir, file.path)), initial });
    },
    noticed: async (file) => {
      seen.noticed.push(path.relative(dir, file.path));
    },
    gone: (gonePath) => seen.gone.push(path.relative(dir, gonePath)),
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

/** The first scan watches the directories it found, then scans once more (for files made in between). */
async function settled(discovery: FlowDiscovery, seen: Recorded, initial = false): Promise<void> {
  await discovery.start(initial);
  await waitFor(() => seen.listings.length >= 2, { timeoutMs: 3_000, message: 'the scan after the first watches' });
}

describe('FlowDiscovery', () => {
  it(
    'lists the glob at start; then a file created, in a new subdirectory too, is noticed by its ' + 'event alone',
    async (t) => {
      const dir = makeTempDir('shardtail-unit-discovery-');
      mkdirSync(path.join(dir, 'logs'));
      writeFileSync(path.join(dir, 'logs/a.log'), 'a\n');
      const { discovery, seen } = discoveryOf(t, dir);
      await settled(discovery, seen, true);
      assert.deepEqual(seen.listings, [
        { files: ['logs/a.log'], initial: true },
        { files: ['logs/a.log'], initial: false },
      ]);
      writeFileSync(path.join(dir, 'logs/b.log'), 'b\n');
      writeFileSync(path.join(dir, 'logs/b.txt'), 'not matched\n');
      await waitFor(() => seen.noticed.includes('logs/b.log'), { timeoutMs: 3_000, message: 'b.log noticed' });
      mkdirSync(path.join(dir, 'logs/new'));
      await waitFor(() => seen.listings.length >= 2, {
        timeoutMs: 3_000,
        message: 'a scan after the new directory appeared',
      });
      writeFileSync(path.join(dir, 'logs/new/c.log'), 'c\n');
      await waitFor(() => seen.noticed.includes('logs/new/c.log') || lastListing(seen).includes('logs/new/c.log'), {
        timeoutMs: 3_000,
        message: 'a file in a directory created after start',
      });
      assert.ok(!seen.noticed.includes('logs/b.txt'), 'a file the glob does not match is not noticed');
      assert.ok(seen.listings.slice(1).every((listing) => !listing.initial));
    },
  );

  it(
    'wakes a tracked file written to, notices an untracked one, and tells of a deleted one, all ' + 'without a scan',
    async (t) => {
      const dir = makeTempDir('shardtail-unit-discovery-');
      mkdirSync(path.join(dir, 'logs'));
      writeFileSync(path.join(dir, 'logs/a.log'), 'a\n');
      let tracks = true;
      const { discovery, seen } = discoveryOf(t, dir, () => tracks);
      await settled(discovery, seen);
      const scansBefore = seen.listings.length;
      appendFileSync(path.join(dir, 'logs/a.log'), 'more\n');
      await waitFor(() => seen.written.length > 0, { timeoutMs: 3_000, message: 'a written event' });
      await waitFor(() => seen.changed > scansBefore, { timeoutMs: 1_000, message: 'the flow told to read' });
      assert.deepEqual(seen.noticed, [], 'a write to a tracked file is only a wake');
      tracks = false;
      appendFileSync(path.join(dir, 'logs/a.log'), 'again\n');
      await waitFor(() => seen.noticed.includes('logs/a.log'), {
        timeoutMs: 3_000,
        message: 'the untracked file noticed',
      });
      unlinkSync(path.join(dir, 'logs/a.log'));
      await waitFor(() => seen.gone.includes('logs/a.log'), { timeoutMs: 3_000, message: 'the deleted file gone' });
      assert.equal(seen.listings.length, scansBefore, 'no scan was needed');
    },
  );

  it('costs an event each, not a scan each, when files come and go all the time', async (t) => {
    const dir = makeTempDir('shardtail-unit-discovery-');
    mkdirSync(path.join(dir, 'logs'));
    const { discovery, seen } = discoveryOf(t, dir);
    await settled(discovery, seen);
    for (let i = 0; i < 200; i++) writeFileSync(path.join(dir, `logs/f${i}.log`), `${i}\n`);
    await waitFor(() => new Set(seen.noticed).size === 200, { timeoutMs: 3_000, message: 'all 200 files noticed' });
    for (let i = 0; i < 200; i++) unlinkSync(path.join(dir, `logs/f${i}.log`));
    await waitFor(() => new Set(seen.gone).size === 200, { timeoutMs: 3_000, message: 'all 200 files gone' });
    assert.equal(seen.listings.length, 2, 'no scan but the first two');
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
