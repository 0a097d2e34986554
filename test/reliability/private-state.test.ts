/**
 * Issue 8, item 11: what the agent keeps is its own. A line of a root-only log file must not be
 * readable by other users in the agent's state: the checkpoint database (which names every log
 * file) and the embedded engine's data (which holds every line shipped) are created 0600 in 0700
 * directories, under the usual umask 022 that would make them 0644 and 0755.
 */
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertCliBuilt,
  embeddedConfig,
  Ledger,
  logsUnder,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
} from '../support/agent-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

/** Every entry under `root` (itself included) with its permission bits. */
function modesUnder(root: string): Array<{ path: string; mode: number; directory: boolean }> {
  const info = lstatSync(root);
  const entries = [{ path: root, mode: info.mode & 0o777, directory: info.isDirectory() }];
  if (info.isDirectory()) for (const name of readdirSync(root)) entries.push(...modesUnder(path.join(root, name)));
  return entries;
}

describe("reliability: the agent's state is private", { timeout: 60_000 }, () => {
  test('checkpoints and embedded engine data are 0600 in 0700 directories under umask 022', async (t) => {
    const previous = process.umask(0o022); // inherited by the agent
    t.after(() => process.umask(previous));
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-private-'));
    const ledger = new Ledger();
    writeFileSync(
      path.join(logDir, 'secret.log'),
      Buffer.concat(Array.from({ length: 20 }, (_, i) => ledger.line(seqId('secret', i), 'a root-only line'))),
      { mode: 0o600 },
    );
    const configFile = embeddedConfig(dir, 'private');
    const agent = await startAgent({ configFile });
    t.after(() => agent.kill());
    const collector = new StreamCollector(agent.engineUrl!, 'private');
    await collector.until((records) => ledger.allArrived(records), {
      timeoutMs: 15_000,
      agent,
      message: 'the lines to arrive',
    });
    await stopCleanly(agent);

    const state = [...modesUnder(path.join(dir, 'state')), ...modesUnder(path.join(dir, 'engine'))];
    assert.ok(
      state.some((entry) => entry.path.endsWith('checkpoints.db')),
      JSON.stringify(state),
    );
    assert.ok(
      state.some((entry) => entry.path.endsWith('.log')),
      `engine data files were written: ${JSON.stringify(state)}`,
    );
    const open = state.filter((entry) => entry.mode !== (entry.directory ? 0o700 : 0o600));
    assert.deepEqual(
      open.map((entry) => `${entry.path} ${entry.mode.toString(8)}`),
      [],
      "every file of the agent's state is 0600 and every directory 0700",
    );
  });
});
