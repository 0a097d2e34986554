/**
 * The built CLI refuses an unusable agent.json. test/config/check.test.ts covers the messages
 * themselves (through `runCheck` and a tsx runner); this file covers the wiring of the real
 * `dist/cli.js`: `check`, `start` and `backfill` each print every problem as
 * `FILE: key (flow): message` and exit 2, and `start`/`backfill` touch nothing before exiting.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertCliBuilt, embeddedEngine, runCli, writeAgentConfig } from '../support/agent-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

function badConfig(): { dir: string; file: string } {
  const dir = makeTempDir('shardtail-check-');
  mkdirSync(path.join(dir, 'logs'));
  const file = writeAgentConfig(dir, {
    engine: embeddedEngine('engine'),
    checkpointFile: 'state/checkpoints.db',
    flows: [
      {
        filePattern: 'logs/*.log',
        kinesisStream: 'good-stream',
        initialPostion: 'START_OF_FILE',
        partitionKeyOption: 'RANDOMLY',
      },
      { filePattern: 'logs/*.txt', deliveryStream: 'web', maxBufferAgeMillis: 10 },
      { filePattern: 'logs/*.csv' },
    ],
  });
  return { dir, file };
}

/** The problem lines every command prints for badConfig(), as [prefix, message pattern]. */
function expectedErrors(file: string): Array<[string, RegExp]> {
  return [
    [`${file}: partitionKeyOption (flows[0] (kinesisStream good-stream)): `, /'RANDOMLY'.*RANDOM.*DETERMINISTIC/],
    [`${file}: maxBufferAgeMillis (flows[1] (deliveryStream web)): `, /10 .*range.*50/],
    [`${file}: kinesisStream (flows[2]): `, /kinesisStream or deliveryStream/],
  ];
}

function assertHasLine(lines: string[], prefix: string, message: RegExp, where: string): void {
  const line = lines.find((candidate) => candidate.startsWith(prefix));
  assert.ok(line, `${where}: no line starting with ${JSON.stringify(prefix)} in:\n${lines.join('\n')}`);
  assert.match(line.slice(prefix.length), message, `${where}: ${line}`);
}

describe('dist/cli.js with an unusable agent.json', { timeout: 30_000 }, () => {
  test('check: exit 2, every problem with its key and flow, unknown keys with a suggestion', async () => {
    const { file } = badConfig();
    const result = await runCli(['check', '-c', file]);
    assert.equal(result.code, 2, `exit code; stderr:\n${result.stderr}`);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 4, result.stderr);
    assertHasLine(
      lines,
      `${file}: initialPostion (flows[0] (kinesisStream good-stream)): `,
      /warning: unknown key 'initialPostion'.*did you mean initialPosition\?/,
      'check',
    );
    for (const [prefix, message] of expectedErrors(file)) assertHasLine(lines, prefix, message, 'check');
  });

  for (const command of ['start', 'backfill']) {
    test(`${command}: exit 2 with the same problems, before creating anything`, async () => {
      const { dir, file } = badConfig();
      const result = await runCli([command, '-c', file], { timeoutMs: 15_000 });
      assert.equal(
        result.code,
        2,
        `exit code (signal ${result.signal}); stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
      const lines = result.stderr.trimEnd().split('\n');
      for (const [prefix, message] of expectedErrors(file)) assertHasLine(lines, prefix, message, command);
      assert.doesNotMatch(result.stdout, /shardtail started|embedded engine listening/);
      assert.equal(existsSync(path.join(dir, 'state')), false, 'no checkpoint file may be created');
      assert.equal(existsSync(path.join(dir, 'engine')), false, 'no engine data dir may be created');
    });
  }
});
