/**
 * Issue 8, item 3: stopping while the destination fails. With nothing listening on the endpoint,
 * or with one that answers 403 or 500 to every call, SIGTERM must wait up to
 * shutdownTimeoutMillis, save checkpoints, log that it stopped and exit 0 (Node quit with exit code
 * 13 within milliseconds, because only unref'd timers were left); a backfill that gives up must
 * print its summary and exit 1, naming the file not delivered.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { assertCliBuilt, logsUnder, remoteConfig, runCli, startAgent } from '../support/agent-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'failing';
const SHUTDOWN_TIMEOUT_MS = 2_000;

interface Endpoint {
  name: string;
  /** The endpoint's URL; closes its server, if any, when the test ends. */
  open(t: TestContext): Promise<string>;
  /** What the agent logs once it has met the failure. */
  logged: RegExp;
}

/** A port nothing listens on: taken from the kernel, then given back. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An endpoint that answers every call with an AWS-shaped error. */
function answering(status: number, type: string): Endpoint['open'] {
  return async (t) => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
        res.end(JSON.stringify({ __type: type, message: `refused by the test (${status})` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.unref();
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  };
}

const endpoints: Endpoint[] = [
  {
    name: 'nothing listening on the endpoint',
    open: async () => `http://127.0.0.1:${await closedPort()}`,
    logged: /retrying with backoff/,
  },
  {
    name: 'the endpoint answers 403 AccessDeniedException',
    open: answering(403, 'AccessDeniedException'),
    logged: /cannot deliver/,
  },
  {
    name: 'the endpoint answers 500 InternalFailure',
    open: answering(500, 'InternalFailure'),
    logged: /retrying with backoff/,
  },
];

function scenario(endpoint: string): { dir: string; configFile: string; logFile: string } {
  const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-failing-'));
  const logFile = path.join(logDir, 'app.log');
  writeFileSync(logFile, Array.from({ length: 50 }, (_, i) => `line ${i} that cannot be delivered\n`).join(''));
  const configFile = remoteConfig(
    dir,
    endpoint,
    STREAM,
    { retryMaxBackoffMillis: 500 },
    { shutdownTimeoutMillis: SHUTDOWN_TIMEOUT_MS },
  );
  return { dir, configFile, logFile };
}

describe('reliability: stopping while the destination fails', { timeout: 120_000 }, () => {
  for (const endpoint of endpoints) {
    test(`SIGTERM, ${endpoint.name}: waits shutdownTimeoutMillis, saves checkpoints, exits 0`, async (t) => {
      const { dir, configFile, logFile } = scenario(await endpoint.open(t));
      const agent = await startAgent({ configFile });
      t.after(() => agent.kill());
      await agent.waitForLog(
        (entry) => endpoint.logged.test(String(entry.msg)),
        15_000,
        `a log line matching ${endpoint.logged}`,
      );
      const exit = await agent.stop(20_000);
      assert.deepEqual(
        { code: exit.code, signal: exit.signal, forced: exit.forced },
        { code: 0, signal: null, forced: false },
        agent.tail(),
      );
      assert.ok(
        exit.ms >= SHUTDOWN_TIMEOUT_MS - 100,
        `stopped after ${exit.ms} ms, before shutdownTimeoutMillis (${SHUTDOWN_TIMEOUT_MS}):\n${agent.tail()}`,
      );
      assert.ok(
        agent.logs.some((entry) => String(entry.msg).startsWith('shutdown timeout')),
        agent.tail(),
      );
      assert.ok(
        agent.logs.some((entry) => entry.msg === 'shardtail stopped'),
        agent.tail(),
      );
      const db = new Database(path.join(dir, 'state/checkpoints.db'), { readonly: true });
      t.after(() => db.close());
      const rows = db.prepare('SELECT path, offset FROM file_checkpoints').all() as Array<{
        path: string;
        offset: number;
      }>;
      assert.deepEqual(
        rows,
        [{ path: logFile, offset: 0 }],
        'the file is checkpointed where delivery stopped: its start',
      );
    });

    test(
      `backfill --give-up-after-seconds 3, ${endpoint.name}: prints its summary, names the ` + `file, exits 1`,
      async (t) => {
        const { configFile, logFile } = scenario(await endpoint.open(t));
        const result = await runCli(['backfill', '-c', configFile, '--give-up-after-seconds', '3'], {
          cwd: path.dirname(configFile),
          timeoutMs: 30_000,
        });
        assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}\nstderr: ${result.stderr}`);
        assert.match(result.stdout, /^backfill: 1 files, 0 records, 0 bytes in /m, result.stdout);
        assert.match(result.stderr, /50 records were not delivered/, result.stderr);
        assert.ok(result.stderr.includes(logFile), `stderr names ${logFile}: ${result.stderr}`);
      },
    );
  }
});
