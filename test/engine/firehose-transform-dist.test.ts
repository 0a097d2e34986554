import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../support/engine-process.js';
import { memoryStatus } from '../support/reliability-proc.js';
import { waitFor } from '../support/wait.js';

/**
 * The transform's function processes as the built engine runs them: plain node on dist/ (no tsx
 * loader to lean on), in a process of their own that the test can kill.
 */

const FUNCTIONS = fileURLToPath(new URL('../fixtures/functions/', import.meta.url));
const DIST_RUNNER = path.join(REPO_ROOT, 'dist/engine/firehose/transform/function-runner.js');

/**
 * A stand-in engine: node running `body` as an ES module, with the engine's JSON logger on stdout and
 * runners for `ticking` (answers with its pid, keeps a timer of its own), `spins` (can loop forever)
 * and `course` (the course's function).
 */
function startEngine(body: string) {
  assert.ok(existsSync(DIST_RUNNER), `${DIST_RUNNER} does not exist: run \`npm run build\` before these tests`);
  const script = `
    import { createLogger } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/log.js'))};
    import { FunctionRunner } from ${JSON.stringify(DIST_RUNNER)};
    const logger = createLogger();
    const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:demo-firehose';
    const runnerOf = (file) =>
      new FunctionRunner({ modulePath: ${JSON.stringify(FUNCTIONS)} + file, lambdaArn: ARN, logger });
    const ticking = runnerOf('ticking.js');
    const course = runnerOf('course-demo.js');
    const spins = runnerOf('spins.js');
    ${body}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exit: { code?: number | null } = {};
  child.once('exit', (code) => (exit.code = code));
  const exited = () =>
    waitFor(() => (exit.code === undefined ? undefined : { code: exit.code }), { message: 'the engine to exit' });
  const describeOutput = () => `stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`;
  /** The engine's log entry with this message (every stdout line must be JSON). */
  const logged = (msg: string) =>
    waitFor(() => stdout.map((line) => JSON.parse(line)).find((entry) => entry.msg === msg), {
      timeoutMs: 20_000,
      message: () => `the "${msg}" log line; ${describeOutput()}`,
    });
  /** Kills the engine, and a function process it named that outlived it (when the test failed on that). */
  const stop = () => {
    child.kill('SIGKILL');
    for (const line of stdout) {
      const { hostPid } = JSON.parse(line);
      if (typeof hostPid === 'number' && memoryStatus(hostPid)) process.kill(hostPid, 'SIGKILL');
    }
  };
  return { child, stdout, stderr, exited, logged, describeOutput, stop };
}

describe('the built engine (dist/) and its function processes', () => {
  it('runs functions without tsx, logs their output as JSON lines, ends them when the engine is killed', async () => {
    const engine = startEngine(`
      const event = { records: [{ recordId: '1', approximateArrivalTimestamp: 1, data: 'MTAw' }] };
      const transformed = await course.invoke(event, { timeoutMs: 10000 });
      const warm = await ticking.invoke({}, { timeoutMs: 10000 });
      logger.info({ transformed, hostPid: warm.payload.pid }, 'invoked');
      setInterval(() => {}, 1000);
    `);
    try {
      const invoked = await engine.logged('invoked');
      assert.equal(invoked.transformed.payload.records[0].data, Buffer.from('100\n').toString('base64'));
      const entries = engine.stdout.map((line) => JSON.parse(line));
      assert.ok(
        entries.some((entry) => entry.function === 'demo-firehose' && entry.msg === 'Loading function'),
        engine.describeOutput(),
      );
      assert.deepEqual(engine.stderr, [], "the function's warnings are log lines too, not the engine's stderr");

      engine.child.kill('SIGKILL');
      await engine.exited();
      await waitFor(() => !memoryStatus(invoked.hostPid), { message: `function process ${invoked.hostPid} to end` });
    } finally {
      engine.stop();
    }
  });

  it('does not keep the engine alive for a warm function, which ends with the engine', async () => {
    const engine = startEngine(`
      const warm = await ticking.invoke({}, { timeoutMs: 10000 });
      logger.info({ hostPid: warm.payload.pid }, 'invoked');
    `);
    try {
      const invoked = await engine.logged('invoked');
      const exited = await engine.exited();
      assert.equal(exited.code, 0, `the engine ran out of work and exited; ${engine.describeOutput()}`);
      await waitFor(() => !memoryStatus(invoked.hostPid), { message: `function process ${invoked.hostPid} to end` });
    } finally {
      engine.stop();
    }
  });

  it('kills a function process that is looping forever when the engine exits', async () => {
    const engine = startEngine(`
      const warm = await spins.invoke({}, { timeoutMs: 10000 });
      void spins.invoke({ spin: true }, { timeoutMs: 60000 });
      logger.info({ hostPid: warm.payload.pid }, 'invoked');
      setTimeout(() => process.exit(0), 300);
    `);
    try {
      const invoked = await engine.logged('invoked');
      await engine.exited();
      await waitFor(() => !memoryStatus(invoked.hostPid), { message: `function process ${invoked.hostPid} to end` });
    } finally {
      engine.stop();
    }
  });
});
