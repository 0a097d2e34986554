/**
 * SIGHUP reloads agent.json flow by flow while lines are written to every file: an unchanged flow
 * runs on untouched (its file never reopened, never restarted), a removed one stops, a changed one
 * restarts from its checkpoints, a new one starts; a broken config is refused with its reasons and
 * the running flows carry on. Nothing is lost or doubled.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertCliBuilt,
  embeddedEngine,
  logsUnder,
  startAgent,
  stopCleanly,
  StreamCollector,
  writeAgentConfig,
  type AgentProcess,
} from '../support/agent-process.js';
import { assertFigures, readLatest, SeqTally, tallyDetails, untilEveryLine } from '../support/reliability-tally.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

before(assertCliBuilt);
after(removeTempDirs);

const LINE_WIDTH = 80;

function flow(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    filePattern: `logs/${name}.log`,
    kinesisStream: `s-${name}`,
    initialPosition: 'START_OF_FILE',
    maxBufferAgeMillis: 100,
    ...extra,
  };
}

function config(flows: Record<string, unknown>[]): Record<string, unknown> {
  return {
    engine: embeddedEngine('engine'),
    checkpointFile: 'state/checkpoints.db',
    'cloudwatch.emitMetrics': false,
    flows,
  };
}

/** The descriptors (by number) the agent holds on `file`. */
function descriptorsOn(pid: number, file: string): string[] {
  const found: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) found.push(fd);
    } catch {
      // closed since it was listed
    }
  }
  return found;
}

function flowStarts(agent: AgentProcess, id: string): number {
  return agent.logs.filter((entry) => entry.msg === 'flow started' && entry.flow === id).length;
}

describe('reload: SIGHUP while every file is written to', { timeout: 120_000 }, () => {
  test('unchanged flows run on, removed ones stop, changed ones restart, new ones start; no loss', async (t) => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-reload-flows-'));
    const file = (name: string) => path.join(logDir, `${name}.log`);
    const id = (name: string) => `kinesis:s-${name}:${file(name)}`;
    const tallies = new Map(['a', 'b', 'c', 'd'].map((name) => [name, new SeqTally()]));
    for (const [name, tally] of tallies) tally.source(name, LINE_WIDTH);
    const writing = new Set(['a', 'b', 'c', 'd']);
    const write = () => {
      for (const name of writing) {
        const tally = tallies.get(name)!;
        const lines = Array.from({ length: 5 }, () => tally.next(name));
        appendFileSync(file(name), Buffer.concat(lines));
      }
    };
    write();
    const configFile = writeAgentConfig(dir, config([flow('a'), flow('b'), flow('c')]));
    const agent = await startAgent({ configFile });
    t.after(() => agent.kill());
    const writer = setInterval(write, 10);
    t.after(() => clearInterval(writer));
    const collectors = new Map(
      [...tallies.keys()].map((name) => [name, new StreamCollector(agent.engineUrl!, `s-${name}`)]),
    );
    const until = (name: string, message: string) =>
      untilEveryLine(collectors.get(name)!, tallies.get(name)!, { timeoutMs: 30_000, agent, message });

    await waitFor(() => descriptorsOn(agent.pid, file('a')).length === 1, { message: 'a.log opened' });
    const descriptorOfA = descriptorsOn(agent.pid, file('a'));
    const writtenOfA = () => tallies.get('a')!.written('a');
    /** Lets the writer run on for `lines` more lines per file (about 0.6 s), whatever the agent does meanwhile. */
    const writeOn = async (lines: number) => {
      const until = writtenOfA() + lines;
      await waitFor(() => writtenOfA() >= until, { message: `${lines} more lines written` });
    };
    await writeOn(300);
    // What flow b ships before it is removed: every line written while it was configured.
    writing.delete('b');
    assert.equal(await until('b', 'every line of b.log before its flow is removed'), '');

    writeAgentConfig(dir, config([flow('a'), flow('c', { maxBufferAgeMillis: 250 }), flow('d')]));
    const reloadsBefore = agent.logs.length;
    agent.child.kill('SIGHUP');
    const reloaded = await agent.waitForLog((entry) => entry.msg === 'reloaded agent.json', 30_000, 'the reload');
    assert.deepEqual(
      { unchanged: reloaded.unchanged, removed: reloaded.removed, changed: reloaded.changed, added: reloaded.added },
      { unchanged: [id('a')], removed: [id('b')], changed: [id('c')], added: [id('d')] },
    );
    assert.equal(reloaded.restarted, undefined, 'no global setting changed: the agent is not replaced');
    // Lines for a flow that no longer exists are not shipped (a prefix the tally does not expect).
    appendFileSync(file('b'), Buffer.concat([0, 1, 2].map((n) => Buffer.from(`gone-${n}\n`))));
    await writeOn(300);

    writeAgentConfig(dir, config([flow('a', { initialPosition: 'MIDDLE' }), flow('c', { maxBufferAgeMillis: -5 })]));
    agent.child.kill('SIGHUP');
    const refused = await agent.waitForLog(
      (entry) => entry.msg === 'reload: agent.json has problems; keeping the running configuration',
      30_000,
      'the broken config to be refused',
    );
    const problems = (refused.problems as string[]).join('\n');
    assert.match(problems, /initialPosition \(flows\[0\].*'MIDDLE'/);
    assert.match(problems, /maxBufferAgeMillis \(flows\[1\].*-5/);

    // The running flows carry on after the refusal: lines written from now on arrive too.
    await writeOn(300);
    clearInterval(writer);
    for (const name of ['a', 'c', 'd'])
      assert.equal(await until(name, `every line of ${name}.log`), '', tallyDetails('', tallies.get(name)!, agent));
    await readLatest(collectors.get('b')!, tallies.get('b')!);

    assert.deepEqual(descriptorsOn(agent.pid, file('a')), descriptorOfA, 'a.log is read through the same descriptor');
    assert.equal(flowStarts(agent, id('a')), 1, 'the unchanged flow is not restarted');
    assert.equal(flowStarts(agent, id('c')), 2, 'the changed flow restarts');
    assert.ok(agent.logs.slice(reloadsBefore).every((entry) => entry.msg !== 'embedded engine listening'));
    await stopCleanly(agent);
    for (const [name, tally] of tallies) {
      const figures = tally.figures();
      t.diagnostic(`${name}: ${JSON.stringify(figures)}`);
      assertFigures(figures, {
        maxDuplicates: 0,
        scenario: `reload, flow ${name}`,
        details: tallyDetails('', tally, agent),
      });
      assert.equal(
        figures.unexpected,
        0,
        `${name}: records that were never written, or written after the flow was removed`,
      );
    }
  });
});
