/**
 * The built CLI is honest about what agent.json asks for: `check` and `start` warn about each key
 * that is accepted but not implemented (the same warnings), and a Firehose flow the embedded engine
 * cannot serve is refused by `start` and `backfill` (exit 1) and by `check` (exit 2), and kept out
 * by a SIGHUP reload, instead of being retried forever.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isJsonObject, parseJsonc, type JsonObject } from '../../src/config/jsonc.js';
import {
  appendLines,
  assertCliBuilt,
  embeddedConfig,
  embeddedEngine,
  Ledger,
  logsUnder,
  runCli,
  startAgent,
  stopCleanly,
  StreamCollector,
  writeAgentConfig,
  type LogEntry,
} from '../support/agent-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/config/java-agent-unimplemented/agent.json', import.meta.url));
const REFUSAL =
  'the embedded engine has no Firehose yet; set firehose.endpoint to ship it to Firehose, or ship the flow to ' +
  'a kinesisStream';

before(assertCliBuilt);
after(removeTempDirs);

/** A port nothing listens on: the agent may try it, and no call will ever be answered. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The fixture with what only makes it runnable here changed, all of it implemented keys (paths,
 * endpoints, region): its warnings stay the fixture's own.
 */
async function runnableCopyOfFixture(): Promise<string> {
  const { dir } = logsUnder(makeTempDir('shardtail-honest-'));
  const document = parseJsonc(readFileSync(FIXTURE, 'utf8')) as JsonObject;
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const flows = (document.flows as JsonObject[]).map((flow, index) => {
    assert.ok(isJsonObject(flow));
    return { ...flow, filePattern: `logs/flow-${index}-*.log` };
  });
  return writeAgentConfig(dir, {
    ...document,
    checkpointFile: 'state/checkpoints.db',
    'kinesis.endpoint': endpoint,
    'kinesis.region': 'us-east-1',
    'firehose.endpoint': endpoint,
    flows,
  });
}

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDSHARDTAILHONEST', AWS_SECRET_ACCESS_KEY: 'shardtail-honest-secret' };

/** `check`'s warning lines without their `warning: ` marker, which is how `start` logs them. */
function checkWarnings(output: string): string[] {
  return output
    .trimEnd()
    .split('\n')
    .filter((line) => line.includes(': warning: '))
    .map((line) => line.replace(': warning: ', ': '));
}

function firehoseOnEmbeddedConfig(): { dir: string; file: string } {
  const { dir } = logsUnder(makeTempDir('shardtail-refused-'));
  const file = writeAgentConfig(dir, {
    engine: embeddedEngine('engine'),
    checkpointFile: 'state/checkpoints.db',
    'cloudwatch.emitMetrics': false,
    flows: [
      { filePattern: 'logs/*.log', kinesisStream: 'app' },
      { filePattern: 'logs/*.txt', deliveryStream: 'web' },
    ],
  });
  return { dir, file };
}

describe('keys accepted but not implemented', { timeout: 40_000 }, () => {
  test('check: one warning per such key of a Java agent config, naming key and flow; exit 0', async () => {
    const result = await runCli(['check', '-c', FIXTURE]);
    assert.equal(result.code, 0, `exit code; stderr:\n${result.stderr}`);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.pop(), `${FIXTURE}: OK (2 flows)`);
    assert.deepEqual(
      lines.map((line) => line.slice(`${FIXTURE}: `.length, line.indexOf(': warning: '))),
      [
        'cloudwatch.emitMetrics',
        'cloudwatch.endpoint',
        'useHttpGzip',
        'dataProcessingOptions[0] (flows[0] (deliveryStream web-access-logs))',
        'multiLineStartPattern (flows[1] (kinesisStream app-events))',
      ],
      result.stdout,
    );
    assert.match(lines[3], /: warning: LOGTOJSON is not implemented yet: lines are shipped as they are/);
    assert.match(lines[4], /: warning: is not implemented yet: each line is its own record$/);
  });

  test('start logs the same warnings as check, and runs', async () => {
    const configFile = await runnableCopyOfFixture();
    const check = await runCli(['check', '-c', configFile]);
    assert.equal(check.code, 0, check.stderr);
    const expected = checkWarnings(check.stdout);
    assert.equal(expected.length, 5, check.stdout);

    const agent = await startAgent({ configFile, env: CREDENTIALS });
    try {
      const logged = agent.logs
        .filter((entry: LogEntry) => entry.level === 40 && typeof entry.key === 'string')
        .map((entry) => entry.msg);
      assert.deepEqual(logged, expected, agent.tail());
    } finally {
      await stopCleanly(agent);
    }
  });
});

describe('a Firehose flow on the embedded engine', { timeout: 40_000 }, () => {
  test('check: exit 2 naming the flow', async () => {
    const { file } = firehoseOnEmbeddedConfig();
    const result = await runCli(['check', '-c', file]);
    assert.equal(result.code, 2, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.equal(result.stderr, `${file}: deliveryStream (flows[1] (deliveryStream web)): ${REFUSAL}\n`);
  });

  for (const command of ['start', 'backfill']) {
    test(`${command}: exit 1 naming the flow, before creating anything`, async () => {
      const { dir, file } = firehoseOnEmbeddedConfig();
      const result = await runCli([command, '-c', file], { timeoutMs: 15_000 });
      assert.equal(
        result.code,
        1,
        `exit code (signal ${result.signal}); stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
      assert.ok(
        `${result.stdout}${result.stderr}`.includes(
          `${file}: deliveryStream (flows[1] (deliveryStream web)): ${REFUSAL}`,
        ),
        `the refusal is not in the output:\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
      assert.doesNotMatch(result.stdout, /shardtail started|embedded engine listening/);
      assert.equal(existsSync(path.join(dir, 'state')), false, 'no checkpoint file may be created');
      assert.equal(existsSync(path.join(dir, 'engine')), false, 'no engine data dir may be created');
    });
  }

  test('SIGHUP to a config that adds one: reported, and the running flows carry on', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-reload-'));
    const configFile = embeddedConfig(dir, 'app');
    const agent = await startAgent({ configFile });
    try {
      assert.ok(agent.engineUrl, agent.tail());
      writeAgentConfig(dir, {
        engine: embeddedEngine('engine'),
        checkpointFile: 'state/checkpoints.db',
        'cloudwatch.emitMetrics': false,
        flows: [
          {
            filePattern: 'logs/*.log',
            kinesisStream: 'app',
            initialPosition: 'START_OF_FILE',
            maxBufferAgeMillis: 100,
          },
          { filePattern: 'logs/*.txt', deliveryStream: 'web' },
        ],
      });
      agent.child.kill('SIGHUP');
      const reported = await agent.waitForLog(
        (entry) => /^reload: /.test(entry.msg ?? ''),
        15_000,
        'the reload being refused',
      );
      assert.equal(reported.msg, 'reload: agent.json has problems; keeping the running configuration');
      assert.deepEqual(reported.problems, [
        `${configFile}: deliveryStream (flows[1] (deliveryStream web)): ${REFUSAL}`,
      ]);

      const ledger = new Ledger();
      appendLines(path.join(logDir, 'app.log'), [ledger.line('after-reload')]);
      const collector = new StreamCollector(agent.engineUrl, 'app');
      await collector.until((records) => ledger.allArrived(records), {
        agent,
        message: 'the line written after the refused reload',
      });
      assert.equal(
        agent.logs.some((entry) => entry.msg === 'reloaded agent.json'),
        false,
      );
    } finally {
      await stopCleanly(agent);
    }
  });
});
