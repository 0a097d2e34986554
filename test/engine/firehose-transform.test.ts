import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { FunctionRunner, type InvokeOutcome } from '../../src/engine/firehose/transform/function-runner.js';
import { transformRecords, type TransformContext } from '../../src/engine/firehose/transform/transform-batch.js';
import type { BufferedRecord } from '../../src/engine/firehose/types.js';
import { REPO_ROOT } from '../support/engine-process.js';
import { memoryStatus } from '../support/reliability-proc.js';
import { waitFor } from '../support/wait.js';

const FUNCTIONS = fileURLToPath(new URL('../fixtures/functions/', import.meta.url));
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:demo-firehose';

/** A logger whose lines the test can read back. */
function capturedLogger() {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const runners: FunctionRunner[] = [];
after(() => Promise.all(runners.map((runner) => runner.stop())));

function runnerFor(file: string, lambdaArn = ARN) {
  const { logger, lines } = capturedLogger();
  const runner = new FunctionRunner({ modulePath: path.join(FUNCTIONS, file), lambdaArn, logger });
  runners.push(runner);
  return { runner, lines };
}

function records(...data: string[]): BufferedRecord[] {
  return data.map((text, i) => ({
    seq: i + 1,
    recordId: `id-${i}`,
    approximateArrivalMs: 1_715_000_000_000 + i,
    data: Buffer.from(text),
  }));
}

function eventOf(...data: string[]) {
  return {
    invocationId: 'e1b7c6a2-0000-4000-8000-000000000001',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/demo-firehose',
    region: 'us-east-1',
    records: records(...data).map((r) => ({
      recordId: r.recordId,
      approximateArrivalTimestamp: r.approximateArrivalMs,
      data: r.data.toString('base64'),
    })),
  };
}

function transformContext(file: string, timeoutMs = 10_000): TransformContext {
  return {
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/demo-firehose',
    region: 'us-east-1',
    lambda: {
      lambdaArn: ARN,
      modulePath: path.join(FUNCTIONS, file),
      numberOfRetries: 0,
      timeoutMs,
      bufferSizeBytes: 1_048_576,
      bufferIntervalMs: 0,
    },
  };
}

function payloadOf(outcome: InvokeOutcome): any {
  assert.ok(outcome.ok, `the invocation failed: ${JSON.stringify(outcome)}`);
  return outcome.payload;
}

describe('transform functions as local files, each in a warm process of its own', () => {
  it('runs the course\'s function unchanged: CommonJS in .js under "type": "module", its output logged', async () => {
    // The premise: the nearest package.json of the fixture says "type": "module", so Node alone would refuse it.
    assert.ok(
      !existsSync(path.join(FUNCTIONS, 'package.json')) && !existsSync(path.join(FUNCTIONS, '../package.json')),
    );
    assert.equal(JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).type, 'module');

    const { runner, lines } = runnerFor('course-demo.js');
    const first = payloadOf(await runner.invoke(eventOf('100', 'Test Data'), { timeoutMs: 10_000 }));
    assert.deepEqual(first, {
      records: [
        { recordId: 'id-0', result: 'Ok', data: Buffer.from('100\n').toString('base64') },
        { recordId: 'id-1', result: 'Ok', data: Buffer.from('Test Data\n').toString('base64') },
      ],
    });
    payloadOf(await runner.invoke(eventOf('200'), { timeoutMs: 10_000 }));

    // stdout and stderr are separate pipes: wait until both have come through.
    const output = await waitFor(() => {
      const from = lines.filter((line) => line.function === 'demo-firehose');
      const done = from.filter((line) => line.msg.startsWith('Processing completed')).length === 2;
      const warned = from.some((line) => line.stream === 'stderr' && /DEP0005/.test(line.msg));
      return done && warned ? from.map((line) => line.msg) : undefined;
    });
    assert.deepEqual(
      output.filter((msg) => msg === 'Loading function'),
      ['Loading function'],
      'loaded once: the process stays warm',
    );
    assert.ok(output.includes('Processing completed. Successful records 2.'));
    assert.ok(output.includes('Processing completed. Successful records 1.'));
  });

  it("delivers the course's transform through transformRecords", async () => {
    const { runner } = runnerFor('course-demo.js');
    const outcomes = await transformRecords(records('100', '101'), transformContext('course-demo.js'), runner);
    assert.deepEqual(outcomes, [
      { kind: 'ok', data: Buffer.from('100\n') },
      { kind: 'ok', data: Buffer.from('101\n') },
    ]);
  });

  it('runs an async ES module handler in a .js file, with its partition keys', async () => {
    const { runner } = runnerFor('async-esm.js');
    const outcomes = await transformRecords(records('abc'), transformContext('async-esm.js'), runner);
    assert.deepEqual(outcomes, [{ kind: 'ok', data: Buffer.from('ABC'), partitionKeys: { source: 'async-esm' } }]);
  });

  it('runs a .cjs module that answers by callback', async () => {
    const { runner } = runnerFor('commonjs.cjs');
    const payload = payloadOf(await runner.invoke(eventOf('abc'), { timeoutMs: 10_000 }));
    assert.equal(Buffer.from(payload.records[0].data, 'base64').toString(), 'cba');
  });

  it('gives a default-exported .mjs handler a Lambda context, and takes context.succeed as its answer', async () => {
    const { runner } = runnerFor('context-echo.mjs', 'arn:aws:lambda:eu-west-1:123456789012:function:xform:$LATEST');
    const event = eventOf('x');
    const payload = payloadOf(await runner.invoke(event, { timeoutMs: 30_000, requestId: event.invocationId }));
    const { remainingTimeInMillis, logStreamName, cwd, ...context } = payload.context;
    assert.deepEqual(context, {
      awsRequestId: event.invocationId,
      functionName: 'xform',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:xform:$LATEST',
      memoryLimitInMB: '128',
      logGroupName: '/aws/lambda/xform',
      callbackWaitsForEmptyEventLoop: true,
    });
    assert.match(logStreamName, /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    assert.ok(remainingTimeInMillis > 0 && remainingTimeInMillis <= 30_000, `remaining ${remainingTimeInMillis} ms`);
    assert.deepEqual(payload.event, event, 'the event arrives as sent');
    assert.equal(path.resolve(cwd), path.resolve(FUNCTIONS), "it runs in its code's folder, as in Lambda");
  });

  it('reports a handler that throws as Lambda.FunctionError with its error, and stays warm', async () => {
    const { runner } = runnerFor('throws.js');
    const expected = {
      ok: false,
      errorCode: 'Lambda.FunctionError',
      errorMessage: 'TypeError: the record is not what this function expects',
    };
    assert.deepEqual(await runner.invoke(eventOf('x'), { timeoutMs: 10_000 }), expected);
    assert.deepEqual(await runner.invoke(eventOf('x'), { timeoutMs: 10_000 }), expected);
  });

  it('reports a module without a handler as Lambda.FunctionError (Runtime.HandlerNotFound)', async () => {
    const { runner } = runnerFor('no-handler.js');
    const outcome = await runner.invoke(eventOf('x'), { timeoutMs: 10_000 });
    assert.ok(!outcome.ok && outcome.errorCode === 'Lambda.FunctionError');
    assert.match(outcome.errorMessage, /^Runtime\.HandlerNotFound: no-handler\.handler is undefined or not exported$/);
  });

  it('times out a function that never answers, ends its process, runs the next one in a new process', async () => {
    const { runner } = runnerFor('hangs.js');
    const before = payloadOf(await runner.invoke({}, { timeoutMs: 10_000 }));
    assert.deepEqual(await runner.invoke({ hang: true }, { timeoutMs: 300 }), {
      ok: false,
      errorCode: 'Lambda.Timeout',
      errorMessage: 'Task timed out after 0.30 seconds',
    });
    await waitFor(() => !memoryStatus(before.pid), { message: 'the timed-out process to end' });
    const next = payloadOf(await runner.invoke({}, { timeoutMs: 10_000 }));
    assert.notEqual(next.pid, before.pid);
    assert.equal(next.invocations, 1, 'a fresh instance');
  });

  for (const [crash, message] of [
    ['exit', 'Runtime exited with error: exit status 1'],
    ['timer', 'RangeError: thrown from a timer'],
  ])
    it(`reports a function whose process dies (${crash}) as Lambda.FunctionError, then starts anew`, async () => {
      const { runner } = runnerFor('crashes.js');
      const before = payloadOf(await runner.invoke({}, { timeoutMs: 10_000 }));
      assert.deepEqual(await runner.invoke({ crash }, { timeoutMs: 10_000 }), {
        ok: false,
        errorCode: 'Lambda.FunctionError',
        errorMessage: message,
      });
      const next = payloadOf(await runner.invoke({}, { timeoutMs: 10_000 }));
      assert.notEqual(next.pid, before.pid);
      assert.equal(next.invocations, 1);
    });

  it('keeps the engine responsive while a function loops forever, and ends that process at the timeout', async () => {
    const { runner } = runnerFor('spins.js');
    const before = payloadOf(await runner.invoke({}, { timeoutMs: 10_000 }));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const outcome = await runner.invoke({ spin: true }, { timeoutMs: 1_000 }).finally(() => clearInterval(ticker));
    assert.deepEqual(outcome, {
      ok: false,
      errorCode: 'Lambda.Timeout',
      errorMessage: 'Task timed out after 1.00 seconds',
    });
    assert.ok(ticks >= 10, `the engine's timers ran ${ticks} times during the loop`);
    await waitFor(() => !memoryStatus(before.pid), { message: 'the looping process to end' });
    assert.notEqual(payloadOf(await runner.invoke({}, { timeoutMs: 10_000 })).pid, before.pid);
  });

  it("refuses an answer over Lambda's 6 MB response limit as Lambda.ResponseTooLarge", async () => {
    const { runner } = runnerFor('too-large.js');
    const outcome = await runner.invoke(eventOf('x'), { timeoutMs: 10_000 });
    assert.ok(!outcome.ok && outcome.errorCode === 'Lambda.ResponseTooLarge', JSON.stringify(outcome));
    assert.match(outcome.errorMessage, /exceeded maximum allowed payload size \(6291556 bytes\)/);
  });

  it('drops what the function answers Dropped for', async () => {
    const { runner } = runnerFor('drops-half.js');
    const outcomes = await transformRecords(records('a', 'b', 'c', 'd'), transformContext('drops-half.js'), runner);
    assert.deepEqual(outcomes, [
      { kind: 'ok', data: Buffer.from('a') },
      { kind: 'dropped' },
      { kind: 'ok', data: Buffer.from('c') },
      { kind: 'dropped' },
    ]);
  });

  it('fails what the function answers ProcessingFailed for', async () => {
    const { runner } = runnerFor('processing-failed.js');
    const outcomes = await transformRecords(records('a', 'b'), transformContext('processing-failed.js'), runner);
    for (const outcome of outcomes)
      assert.ok(
        outcome.kind === 'failed' && outcome.errorCode === 'Lambda.ProcessingFailed' && outcome.attemptsMade === 1,
      );
  });
});
