import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  FunctionInvoker,
  InvokeOptions,
  InvokeOutcome,
} from '../../../../src/engine/firehose/transform/function-runner.js';
import { LAMBDA_PAYLOAD_LIMIT_BYTES } from '../../../../src/engine/firehose/transform/protocol.js';
import {
  transformRecords,
  type RecordOutcome,
  type TransformContext,
} from '../../../../src/engine/firehose/transform/transform-batch.js';
import type { BufferedRecord, LambdaProcessor } from '../../../../src/engine/firehose/types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function lambda(overrides: Partial<LambdaProcessor> = {}): LambdaProcessor {
  return {
    lambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:xform',
    modulePath: '/nowhere/xform.js',
    numberOfRetries: 3,
    timeoutMs: 60_000,
    bufferSizeBytes: 1_048_576,
    bufferIntervalMs: 60_000,
    ...overrides,
  };
}

function context(overrides: Partial<LambdaProcessor> = {}, source?: string): TransformContext {
  return {
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/logs',
    region: 'us-east-1',
    ...(source ? { sourceKinesisStreamArn: source } : {}),
    lambda: lambda(overrides),
  };
}

function records(count: number, size = 0): BufferedRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: i + 1,
    recordId: `record-${i}`,
    approximateArrivalMs: 1_715_000_000_000 + i,
    data: size > 0 ? Buffer.alloc(size, 97 + (i % 26)) : Buffer.from(`record ${i}`),
  }));
}

interface SentEvent {
  invocationId: string;
  deliveryStreamArn: string;
  region: string;
  sourceKinesisStreamArn?: string;
  records: Array<{
    recordId: string;
    approximateArrivalTimestamp: number;
    data: string;
    kinesisRecordMetadata?: unknown;
  }>;
}

/** An in-process function: `respond` answers each call (0-based), and every call is kept. */
function fakeRunner(respond: (event: SentEvent, call: number) => InvokeOutcome | Promise<InvokeOutcome>) {
  const calls: Array<{ event: SentEvent; options: InvokeOptions }> = [];
  const runner: FunctionInvoker = {
    invoke: async (event, options) => {
      calls.push({ event: event as SentEvent, options });
      return respond(event as SentEvent, calls.length - 1);
    },
  };
  return { runner, calls };
}

function answer(records: unknown[]): InvokeOutcome {
  return { ok: true, payload: { records } };
}

/** Each record back Ok with its data upper-cased. */
function upperCase(event: SentEvent): InvokeOutcome {
  return answer(
    event.records.map((r) => ({
      recordId: r.recordId,
      result: 'Ok',
      data: Buffer.from(Buffer.from(r.data, 'base64').toString().toUpperCase()).toString('base64'),
    })),
  );
}

function failedWith(outcomes: RecordOutcome[]): string[] {
  return outcomes.map((o) => (o.kind === 'failed' ? o.errorCode : o.kind));
}

describe('transformRecords: the event sent to the function', () => {
  it('sends a DirectPut batch as Firehose does: ids, epoch ms arrivals, base64 data, no Kinesis fields', async () => {
    const { runner, calls } = fakeRunner(upperCase);
    const input = records(2);
    await transformRecords(input, context({ timeoutMs: 7_000 }), runner);
    assert.equal(calls.length, 1);
    const { event, options } = calls[0];
    assert.match(event.invocationId, UUID);
    assert.equal(options.requestId, event.invocationId, 'the context awsRequestId is the invocationId');
    assert.equal(options.timeoutMs, 7_000);
    assert.deepEqual(Object.keys(event), ['invocationId', 'deliveryStreamArn', 'region', 'records']);
    assert.equal(event.deliveryStreamArn, 'arn:aws:firehose:us-east-1:123456789012:deliverystream/logs');
    assert.equal(event.region, 'us-east-1');
    assert.deepEqual(event.records, [
      {
        recordId: 'record-0',
        approximateArrivalTimestamp: 1_715_000_000_000,
        data: Buffer.from('record 0').toString('base64'),
      },
      {
        recordId: 'record-1',
        approximateArrivalTimestamp: 1_715_000_000_001,
        data: Buffer.from('record 1').toString('base64'),
      },
    ]);
  });

  it("names the source stream and each record's shard, key and sequence number for a Kinesis source", async () => {
    const { runner, calls } = fakeRunner(upperCase);
    const input = records(1);
    input[0].kinesis = {
      shardId: 'shardId-000000000001',
      partitionKey: 'pk-1',
      sequenceNumber: '4954',
      approximateArrivalMs: 1_714_999_999_000,
    };
    await transformRecords(input, context({}, 'arn:aws:kinesis:us-east-1:123456789012:stream/src'), runner);
    const { event } = calls[0];
    assert.equal(event.sourceKinesisStreamArn, 'arn:aws:kinesis:us-east-1:123456789012:stream/src');
    assert.deepEqual(event.records[0].kinesisRecordMetadata, {
      shardId: 'shardId-000000000001',
      partitionKey: 'pk-1',
      approximateArrivalTimestamp: 1_714_999_999_000,
      sequenceNumber: '4954',
      subsequenceNumber: 0,
    });
  });
});

describe('transformRecords: splitting into invocations', () => {
  it('puts at most BufferSizeInMBs of data in one invocation, and a larger record alone', async () => {
    const { runner, calls } = fakeRunner(upperCase);
    const input = [...records(5, 400), ...records(1, 1_500), ...records(1, 10)].map((r, i) => ({
      ...r,
      recordId: `r${i}`,
    }));
    const outcomes = await transformRecords(input, context({ bufferSizeBytes: 1_000 }), runner);
    assert.deepEqual(
      calls.map((c) => c.event.records.map((r) => r.recordId)),
      [['r0', 'r1'], ['r2', 'r3'], ['r4'], ['r5'], ['r6']],
    );
    assert.equal(new Set(calls.map((c) => c.event.invocationId)).size, calls.length, 'one invocationId per invocation');
    outcomes.forEach((outcome, i) => {
      assert.equal(outcome.kind, 'ok');
      assert.ok(
        outcome.kind === 'ok' && outcome.data.equals(Buffer.from(input[i].data.toString().toUpperCase())),
        `record ${i}`,
      );
    });
  });

  it("keeps each event under Lambda's 6 MB request limit, counting data as base64", async () => {
    const { runner, calls } = fakeRunner(upperCase);
    const input = records(6, 1_048_576);
    await transformRecords(input, context({ bufferSizeBytes: 16 * 1_048_576 }), runner);
    assert.deepEqual(
      calls.map((c) => c.event.records.length),
      [4, 2],
      '5 MiB of base64 fits, 6.7 does not',
    );
    for (const { event } of calls) assert.ok(Buffer.byteLength(JSON.stringify(event)) <= LAMBDA_PAYLOAD_LIMIT_BYTES);
  });

  it('gives the outcomes in input order whatever order the function answers in', async () => {
    const { runner } = fakeRunner((event) => {
      const ok = upperCase(event) as { ok: true; payload: { records: unknown[] } };
      return answer([...ok.payload.records].reverse());
    });
    const outcomes = await transformRecords(records(3), context(), runner);
    assert.deepEqual(
      outcomes.map((o) => (o.kind === 'ok' ? o.data.toString() : o.kind)),
      ['RECORD 0', 'RECORD 1', 'RECORD 2'],
    );
  });
});

describe('transformRecords: what each record comes to', () => {
  it("Ok keeps new data and the function's partition keys, Dropped drops, ProcessingFailed fails", async () => {
    const { runner } = fakeRunner((event) =>
      answer([
        {
          recordId: event.records[0].recordId,
          result: 'Ok',
          data: Buffer.from('new').toString('base64'),
          metadata: { partitionKeys: { customerId: '42' } },
        },
        { recordId: event.records[1].recordId, result: 'Dropped' },
        { recordId: event.records[2].recordId, result: 'Dropped', data: event.records[2].data },
        { recordId: event.records[3].recordId, result: 'ProcessingFailed', data: event.records[3].data },
        { recordId: event.records[4].recordId, result: 'Ok', data: '' },
      ]),
    );
    const outcomes = await transformRecords(records(5), context(), runner, () => 1_715_000_009_999);
    assert.deepEqual(outcomes, [
      { kind: 'ok', data: Buffer.from('new'), partitionKeys: { customerId: '42' } },
      { kind: 'dropped' },
      { kind: 'dropped' },
      {
        kind: 'failed',
        errorCode: 'Lambda.ProcessingFailed',
        errorMessage: 'The Lambda function returned ProcessingFailed for this record.',
        attemptsMade: 1,
        attemptEndingMs: 1_715_000_009_999,
      },
      { kind: 'ok', data: Buffer.alloc(0) },
    ]);
  });

  it('fails the whole invocation, without retrying, for a wrong answer (here a record left out)', async () => {
    const { runner, calls } = fakeRunner((event) =>
      answer([{ recordId: event.records[0].recordId, result: 'Ok', data: event.records[0].data }]),
    );
    const outcomes = await transformRecords(records(2), context(), runner, () => 7);
    assert.equal(calls.length, 1, 'an answer is final');
    assert.deepEqual(failedWith(outcomes), ['Lambda.MissingRecordId', 'Lambda.MissingRecordId']);
    for (const outcome of outcomes)
      assert.ok(outcome.kind === 'failed' && outcome.attemptsMade === 1 && outcome.attemptEndingMs === 7);
  });
});

describe('transformRecords: failed invocations', () => {
  const functionError: InvokeOutcome = { ok: false, errorCode: 'Lambda.FunctionError', errorMessage: 'Error: boom' };

  it('tries a failed invocation again, and takes the answer that comes', async () => {
    const { runner, calls } = fakeRunner((event, call) => (call < 2 ? functionError : upperCase(event)));
    const outcomes = await transformRecords(records(2), context({ numberOfRetries: 3 }), runner);
    assert.equal(calls.length, 3);
    assert.deepEqual(
      outcomes.map((o) => o.kind),
      ['ok', 'ok'],
    );
    assert.equal(new Set(calls.map((c) => c.event.invocationId)).size, 3, 'each attempt is an invocation of its own');
  });

  it('fails every record of the invocation after NumberOfRetries more attempts, with the last error', async () => {
    const { runner, calls } = fakeRunner((_event, call) =>
      call < 3
        ? functionError
        : { ok: false, errorCode: 'Lambda.Timeout', errorMessage: 'Task timed out after 60.00 seconds' },
    );
    const outcomes = await transformRecords(records(2), context({ numberOfRetries: 3 }), runner, () => 99);
    assert.equal(calls.length, 4);
    const expected = {
      kind: 'failed',
      errorCode: 'Lambda.Timeout',
      errorMessage: 'Task timed out after 60.00 seconds',
      attemptsMade: 4,
      attemptEndingMs: 99,
    };
    assert.deepEqual(outcomes, [expected, expected]);
  });

  it('does not retry with NumberOfRetries 0', async () => {
    const { runner, calls } = fakeRunner(() => functionError);
    const outcomes = await transformRecords(records(1), context({ numberOfRetries: 0 }), runner);
    assert.equal(calls.length, 1);
    assert.deepEqual(failedWith(outcomes), ['Lambda.FunctionError']);
  });

  it('fails only the records of the invocation that failed', async () => {
    const { runner } = fakeRunner((event) =>
      event.records[0].recordId === 'record-2' ? functionError : upperCase(event),
    );
    const outcomes = await transformRecords(
      records(4, 600),
      context({ bufferSizeBytes: 1_200, numberOfRetries: 1 }),
      runner,
    );
    assert.deepEqual(failedWith(outcomes), ['ok', 'ok', 'Lambda.FunctionError', 'Lambda.FunctionError']);
  });

  it('turns a runner that throws into failed records instead of throwing', async () => {
    const { runner } = fakeRunner(() => {
      throw new Error('fork failed: EAGAIN');
    });
    const outcomes = await transformRecords(records(1), context({ numberOfRetries: 1 }), runner);
    assert.deepEqual(failedWith(outcomes), ['Lambda.FunctionError']);
    assert.ok(
      outcomes[0].kind === 'failed' && outcomes[0].errorMessage.includes('EAGAIN') && outcomes[0].attemptsMade === 2,
    );
  });

  it('asks nothing of the function for no records', async () => {
    const { runner, calls } = fakeRunner(upperCase);
    assert.deepEqual(await transformRecords([], context(), runner), []);
    assert.equal(calls.length, 0);
  });
});
