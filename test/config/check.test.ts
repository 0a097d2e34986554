import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCheck } from '../../src/commands/check.js';
import { ConfigError } from '../../src/config/agent-config.js';
import { resolveConfigPath } from '../../src/config/locate.js';
import { withEnv } from '../client/http-test-support.js';

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const fixture = (name: string) => path.join(fixtures, name, 'agent.json');
const runner = fileURLToPath(new URL('./check-runner.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

const scratchDirectories: string[] = [];
after(async () => {
  await Promise.all(scratchDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
});

async function scratchDirectory(): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'shardtail-check-'));
  scratchDirectories.push(directory);
  return directory;
}

interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function runCheckProcess(...args: string[]): Promise<ProcessResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', runner, 'check', ...args],
      {
        cwd: repositoryRoot,
      },
    );
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: unknown; stdout: string; stderr: string };
    assert.equal(typeof failure.code, 'number', `the check process did not exit normally: ${String(error)}`);
    return { exitCode: failure.code as number, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('runCheck', () => {
  test('a valid configuration: exit 0 and "FILE: OK (N flows)"', async () => {
    assert.deepEqual(await runCheck(fixture('defaults')), {
      exitCode: 0,
      output: `${fixture('defaults')}: OK (2 flows)\n`,
    });
  });

  test('warnings come first, and do not fail the check', async () => {
    const result = await runCheck(fixture('typos'));
    assert.equal(result.exitCode, 0);
    const lines = result.output.trimEnd().split('\n');
    assert.equal(lines.length, 8);
    assert.equal(
      lines[3],
      `${fixture('typos')}: initialPostion (flows[0] (kinesisStream demo-stream)): warning: unknown key ` +
        `'initialPostion' is ignored; did you mean initialPosition?`,
    );
    assert.equal(lines[7], `${fixture('typos')}: OK (1 flow)`);
  });

  test('problems: exit 2 and one line per problem, as FILE: key (flow): message', async () => {
    const result = await runCheck(fixture('bad-values'));
    assert.equal(result.exitCode, 2);
    const file = fixture('bad-values');
    assert.equal(
      result.output,
      [
        `${file}: initialPosition (flows[0] (kinesisStream demo-stream)): 'FROM_START' is not one of ` +
          `START_OF_FILE, END_OF_FILE`,
        `${file}: maxBufferSizeRecords (flows[1] (deliveryStream web)): 501 is outside the valid range 1–500`,
        `${file}: maxBufferSizeBytes (flows[1] (deliveryStream web)): 5242880 is outside the valid range 1–4194304`,
        '',
      ].join('\n'),
    );
  });

  test('a Java agent config using keys that are not implemented: one warning each, exit 0', async () => {
    const file = fixture('java-agent-unimplemented');
    const result = await runCheck(file);
    assert.equal(result.exitCode, 0, result.output);
    assert.deepEqual(result.output.trimEnd().split('\n'), [
      `${file}: useHttpGzip: warning: is not implemented yet: request bodies are sent uncompressed`,
      `${file}: OK (2 flows)`,
    ]);
  });

  test('a Firehose flow on the embedded engine, with or without firehose.endpoint: OK', async () => {
    const directory = await scratchDirectory();
    const file = path.join(directory, 'agent.json');
    const flows = [
      { filePattern: '/l/*.log', kinesisStream: 'app' },
      { filePattern: '/w/*.log', deliveryStream: 'web' },
    ];
    await writeFile(file, JSON.stringify({ engine: { embedded: true }, 'kinesis.region': 'eu-west-1', flows }));
    assert.deepEqual(await runCheck(file), {
      exitCode: 0,
      output:
        `${file}: cloudwatch.emitMetrics: off — every flow goes to the embedded engine; set it to true to send ` +
        `metrics to https://monitoring.eu-west-1.amazonaws.com\n${file}: OK (2 flows)\n`,
    });
    await writeFile(
      file,
      JSON.stringify({ engine: { embedded: true }, 'firehose.endpoint': 'http://127.0.0.1:1', flows }),
    );
    assert.deepEqual(await runCheck(file), { exitCode: 0, output: `${file}: OK (2 flows)\n` });
  });

  test('cloudwatch.emitMetrics on the embedded engine: a note only when off because it is left out', async () => {
    const directory = await scratchDirectory();
    const file = path.join(directory, 'agent.json');
    const flows = [{ filePattern: '/l/*.log', kinesisStream: 'app' }];
    const output = async (top: Record<string, unknown>) => {
      await writeFile(file, JSON.stringify({ engine: { embedded: true }, ...top, flows }));
      const result = await runCheck(file);
      assert.equal(result.exitCode, 0, result.output);
      return result.output.replaceAll(`${file}: `, '');
    };
    assert.equal(
      await output({ 'cloudwatch.endpoint': 'http://127.0.0.1:9' }),
      'cloudwatch.emitMetrics: off — every flow goes to the embedded engine; set it to true to send metrics to ' +
        'http://127.0.0.1:9\nOK (1 flow)\n',
    );
    assert.equal(
      await withEnv({ AWS_REGION: 'EU-WEST-1' }, () => output({})),
      'cloudwatch.emitMetrics: off — every flow goes to the embedded engine; set it to true to send metrics to ' +
        'CloudWatch (environment variable AWS_REGION: "EU-WEST-1" is not a valid region name (regions are lower ' +
        'case: "eu-west-1"))\nOK (1 flow)\n',
    );
    assert.equal(await output({ 'cloudwatch.emitMetrics': true }), 'OK (1 flow)\n');
    assert.equal(await output({ 'cloudwatch.emitMetrics': false }), 'OK (1 flow)\n');
  });

  test('a global problem has no flow part', async () => {
    const result = await runCheck(fixture('many-problems'));
    assert.equal(result.exitCode, 2);
    assert.equal(
      result.output.split('\n')[2],
      `${fixture('many-problems')}: maxSendingThreads: 0 is below the minimum of 1`,
    );
  });
});

describe('resolveConfigPath', () => {
  test('-c wins, whether or not the file exists', () => {
    assert.equal(resolveConfigPath('/nowhere/agent.json', ['/also/nowhere.json']), '/nowhere/agent.json');
  });

  test("without -c: shardtail's path if it exists, else the Java agent's", async () => {
    const directory = await scratchDirectory();
    const ours = path.join(directory, 'shardtail.json');
    const javaAgents = path.join(directory, 'aws-kinesis.json');
    await writeFile(javaAgents, '{}');
    assert.equal(resolveConfigPath(undefined, [ours, javaAgents]), javaAgents);
    await writeFile(ours, '{}');
    assert.equal(resolveConfigPath(undefined, [ours, javaAgents]), ours);
  });

  test('without -c and with neither file: a ConfigError naming both', async () => {
    const directory = await scratchDirectory();
    const candidates = [path.join(directory, 'a.json'), path.join(directory, 'b.json')];
    assert.throws(
      () => resolveConfigPath(undefined, candidates),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.length === 1 &&
        error.problems[0].file === candidates[0] &&
        error.problems[0].message === `file not found (nor ${candidates[1]}); pass -c FILE`,
    );
  });
});

describe('shardtail check, as a process', () => {
  test('exit 0 on a valid configuration', async () => {
    const result = await runCheckProcess('-c', fixture('full'));
    assert.equal(result.exitCode, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.pop(), `${fixture('full')}: OK (4 flows)`);
    assert.ok(
      lines.includes(
        `${path.join(fixtures, 'full', 'agent.d', 'README')}: warning: file skipped: invalid JSON: unexpected ` +
          `'F' at line 1, column 1`,
      ),
      result.stdout,
    );
    // The rest are the keys of the full fixture that are not implemented.
    assert.ok(
      lines.every((line) => / warning: /.test(line)),
      result.stdout,
    );
  });

  test('--configuration, the Java agent spelling, works too', async () => {
    const result = await runCheckProcess('--configuration', fixture('defaults'));
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `${fixture('defaults')}: OK (2 flows)\n`);
  });

  test('exit 2 with every problem on stderr', async () => {
    const result = await runCheckProcess('--config', fixture('many-problems'));
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 10);
    assert.ok(
      lines.every((line) => line.startsWith(`${fixture('many-problems')}: `)),
      result.stderr,
    );
  });

  test('exit 2 naming the file when it is missing', async () => {
    const missing = path.join(await scratchDirectory(), 'agent.json');
    const result = await runCheckProcess('-c', missing);
    assert.equal(result.exitCode, 2);
    assert.equal(result.stderr, `${missing}: file not found\n`);
  });

  test('exit 2 with line and column for invalid JSON', async () => {
    const result = await runCheckProcess('-c', fixture('invalid-json'));
    assert.equal(result.exitCode, 2);
    assert.equal(
      result.stderr,
      `${fixture('invalid-json')}: invalid JSON: expected ',' or '}' after the value of "filePattern" but ` +
        `found '"' at line 3, column 39\n`,
    );
  });
});
