/**
 * The built CLI is honest about what agent.json asks for: `check` and `start` warn about each key
 * that is accepted but not implemented (the same warnings); and a Firehose flow on the embedded
 * engine, which serves Firehose too, is accepted by `check`, shipped by `start` and `backfill` to a
 * delivery stream they create, and taken on by a SIGHUP reload.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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
import { deliveryStreamStatus } from '../support/firehose-calls.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/config/java-agent-unimplemented/agent.json', import.meta.url));

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
    // Metrics are on in the fixture: they must not leave this machine either.
    'cloudwatch.endpoint': endpoint,
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

function firehoseOnEmbeddedConfig(): { dir: string; logDir: string; file: string } {
  const { dir, logDir } = logsUnder(makeTempDir('shardtail-firehose-embedded-'));
  const file = writeAgentConfig(dir, {
    engine: embeddedEngine('engine'),
    checkpointFile: 'state/checkpoints.db',
    'cloudwatch.emitMetrics': false,
    flows: [
      { filePattern: 'logs/*.log', kinesisStream: 'app' },
      { filePattern: 'logs/*.txt', deliveryStream: 'web', initialPosition: 'START_OF_FILE', maxBufferAgeMillis: 100 },
    ],
  });
  return { dir, logDir, file };
}

describe('keys accepted but not implemented', { timeout: 40_000 }, () => {
  test('check: one warning per such key of a Java agent config, naming key and flow; exit 0', async () => {
    const result = await runCli(['check', '-c', FIXTURE]);
    assert.equal(result.code, 0, `exit code; stderr:\n${result.stderr}`);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.pop(), `${FIXTURE}: OK (2 flows)`);
    assert.deepEqual(
      lines.map((line) => line.slice(`${FIXTURE}: `.length, line.indexOf(': warning: '))),
      ['useHttpGzip'],
      result.stdout,
    );
  });

  test('start logs the same warnings as check, and runs', async () => {
    const configFile = await runnableCopyOfFixture();
    const check = await runCli(['check', '-c', configFile]);
    assert.equal(check.code, 0, check.stderr);
    const expected = checkWarnings(check.stdout);
    assert.equal(expected.length, 1, check.stdout);

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
  test('check: exit 0', async () => {
    const { file } = firehoseOnEmbeddedConfig();
    const result = await runCli(['check', '-c', file]);
    assert.equal(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.equal(result.stdout, `${file}: OK (2 flows)\n`);
  });

  test('start: creates the delivery stream, ACTIVE, and says where its objects land', async () => {
    const { dir, file } = firehoseOnEmbeddedConfig();
    const agent = await startAgent({ configFile: file });
    try {
      const created = await agent.waitForLog(
        (entry) => entry.msg === 'created delivery stream on the embedded engine',
        15_000,
        'the delivery stream being created',
      );
      assert.equal(created.deliveryStream, 'web');
      assert.equal(created.objects, path.join(dir, 'engine', 's3', 'web'));
      assert.equal(await deliveryStreamStatus(agent.engineUrl!, 'web'), 'ACTIVE');
    } finally {
      await stopCleanly(agent);
    }
  });

  test('backfill: every line accepted by the embedded Firehose, exit 0', async () => {
    const { logDir, file } = firehoseOnEmbeddedConfig();
    writeFileSync(path.join(logDir, 'web.txt'), 'one\ntwo\nthree\n');
    const result = await runCli(['backfill', '-c', file], { timeoutMs: 30_000 });
    assert.equal(result.code, 0, `exit code (signal ${result.signal}); stderr:\n${result.stderr}`);
    assert.match(result.stdout, /^backfill: 1 files, 3 records, 14 bytes in /);
  });

  test('SIGHUP to a config that adds a flow and changes a global setting: the agent restarts', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-reload-'));
    const configFile = embeddedConfig(dir, 'app');
    const agent = await startAgent({ configFile });
    try {
      assert.ok(agent.engineUrl, agent.tail());
      writeAgentConfig(dir, {
        engine: embeddedEngine('engine'),
        checkpointFile: 'state/checkpoints.db',
        'cloudwatch.emitMetrics': false,
        // A global setting: flows cannot be taken on one by one, the whole agent restarts.
        checkpointTimeToLiveDays: 3,
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
      const reloaded = await agent.waitForLog((entry) => entry.msg === 'reloaded agent.json', 15_000, 'the reload');
      assert.equal(reloaded.restarted, true);
      // The reloaded agent runs a new engine on a new port: read it from the log.
      const listening = await waitFor(
        () => agent.logs.filter((entry) => entry.msg === 'embedded engine listening').at(1),
        { timeoutMs: 5_000, message: 'the engine of the reloaded agent' },
      );
      const url = listening.url as string;
      assert.equal(await deliveryStreamStatus(url, 'web'), 'ACTIVE');

      const ledger = new Ledger();
      appendLines(path.join(logDir, 'app.log'), [ledger.line('after-reload')]);
      const collector = new StreamCollector(url, 'app');
      await collector.until((records) => ledger.allArrived(records), {
        agent,
        message: 'the line written after the reload',
      });
    } finally {
      await stopCleanly(agent);
    }
  });
});
