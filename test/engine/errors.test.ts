/**
 * Every error class the engine produces, each from a real HTTP request to 127.0.0.1: status,
 * `__type`, `message` and the `x-amzn-errortype` header, and that the server still answers normal
 * requests afterwards. Clock-dependent errors (iterator expiry, retention, exact throttling) use an
 * in-process engine with an injected clock; everything else runs against the CLI's engine process.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startEngine, type RunningEngine } from '../../src/engine/server.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import {
  JSON_CONTENT_TYPE,
  TARGET,
  assertAwsError,
  drainShard,
  expectAwsError,
  kinesis,
  kinesisRequest,
  type GetRecordsOutput,
} from '../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const ACCOUNT = '000000000000';
const MAX_HASH_KEY = (1n << 128n) - 1n;
const HALF = 1n << 127n;

async function assertStillServing(url: string): Promise<void> {
  const response = await kinesisRequest(url, 'ListStreams', {});
  assert.equal(
    response.status,
    200,
    `a normal request after the bad one must work: ${response.status} ${response.text}`,
  );
  assert.ok(Array.isArray(response.json?.StreamNames), response.text);
}

async function createStream(url: string, name: string, shardCount: number): Promise<void> {
  await kinesis(url, 'CreateStream', { StreamName: name, ShardCount: shardCount });
}

/** Java's `EEE MMM dd HH:mm:ss UTC yyyy`, as in Kinesis's iterator-expiry message. */
function javaUtcDate(ms: number): string {
  // toUTCString(): "Thu, 15 Jan 2026 12:00:00 GMT"
  const [weekday, day, month, year, time] = new Date(ms).toUTCString().replace(',', '').split(' ');
  return `${weekday} ${month} ${day} ${time} UTC ${year}`;
}

describe('errors from the engine child process', () => {
  let engine: EngineProcess | undefined;
  let url = '';

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-errors-'), shardLimit: 20 });
    url = engine.url;
    await createStream(url, 'errors-stream', 1);
  });

  after(async () => {
    await engine?.stop(5_000);
  });

  it('ResourceNotFoundException: unknown stream, unknown shard', async () => {
    await expectAwsError(
      url,
      'DescribeStream',
      { StreamName: 'no-such-stream' },
      { type: 'ResourceNotFoundException', message: `Stream no-such-stream under account ${ACCOUNT} not found.` },
    );
    await expectAwsError(
      url,
      'PutRecord',
      { StreamName: 'no-such-stream', PartitionKey: 'k', Data: 'aGk=' },
      { type: 'ResourceNotFoundException', message: `Stream no-such-stream under account ${ACCOUNT} not found.` },
    );
    await expectAwsError(
      url,
      'GetShardIterator',
      { StreamName: 'errors-stream', ShardId: 'shardId-000000000007', ShardIteratorType: 'TRIM_HORIZON' },
      {
        type: 'ResourceNotFoundException',
        message: `Shard shardId-000000000007 in stream errors-stream under account ${ACCOUNT} does not exist`,
      },
    );
    await assertStillServing(url);
  });

  it('ResourceInUseException: creating a stream that exists', async () => {
    await expectAwsError(
      url,
      'CreateStream',
      { StreamName: 'errors-stream', ShardCount: 1 },
      { type: 'ResourceInUseException', message: `Stream errors-stream under account ${ACCOUNT} already exists.` },
    );
    await assertStillServing(url);
  });

  it('InvalidArgumentException: NewStartingHashKey outside the shard', async () => {
    for (const key of ['1', '0', MAX_HASH_KEY.toString(), (MAX_HASH_KEY + 1n).toString()]) {
      await expectAwsError(
        url,
        'SplitShard',
        { StreamName: 'errors-stream', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: key },
        {
          type: 'InvalidArgumentException',
          message:
            `NewStartingHashKey ${key} used in SplitShard() on shard shardId-000000000000 in stream ` +
            `errors-stream under account ${ACCOUNT} is not both greater than one plus the shard's ` +
            `StartingHashKey 0 and less than the shard's EndingHashKey ${MAX_HASH_KEY}.`,
        },
      );
    }
    // Nothing was split.
    const { Shards } = await kinesis(url, 'ListShards', { StreamName: 'errors-stream' });
    assert.deepEqual(
      Shards.map((s: { ShardId: string }) => s.ShardId),
      ['shardId-000000000000'],
    );
  });

  it('InvalidArgumentException: garbage, tampered and forged shard iterators', async () => {
    const { ShardIterator } = await kinesis(url, 'GetShardIterator', {
      StreamName: 'errors-stream',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const raw = Buffer.from(ShardIterator, 'base64');
    const tampered = Buffer.from(raw);
    tampered[12] ^= 0x01; // inside the signed position
    const badMac = Buffer.from(raw);
    badMac[badMac.length - 1] ^= 0x80;
    for (const iterator of [
      'AAAAAAAAAAE=',
      'not-an-iterator',
      tampered.toString('base64'),
      badMac.toString('base64'),
      ShardIterator.slice(0, -4),
    ]) {
      await expectAwsError(
        url,
        'GetRecords',
        { ShardIterator: iterator },
        { type: 'InvalidArgumentException', message: 'Invalid ShardIterator.' },
      );
    }
    // The genuine one still works.
    const output = await kinesis<GetRecordsOutput>(url, 'GetRecords', { ShardIterator });
    assert.deepEqual(output.Records, []);
    await assertStillServing(url);
  });

  it('InvalidArgumentException: retention period below 24 hours', async () => {
    for (const action of ['DecreaseStreamRetentionPeriod', 'IncreaseStreamRetentionPeriod']) {
      await expectAwsError(
        url,
        action,
        { StreamName: 'errors-stream', RetentionPeriodHours: 23 },
        {
          type: 'InvalidArgumentException',
          message: 'Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.',
        },
      );
    }
    await expectAwsError(
      url,
      'IncreaseStreamRetentionPeriod',
      { StreamName: 'errors-stream', RetentionPeriodHours: 8761 },
      {
        type: 'InvalidArgumentException',
        message: 'Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long.',
      },
    );
    const { StreamDescriptionSummary } = await kinesis(url, 'DescribeStreamSummary', { StreamName: 'errors-stream' });
    assert.equal(StreamDescriptionSummary.RetentionPeriodHours, 24);
  });

  it('LimitExceededException: account shard limit (CreateStream and SplitShard)', async () => {
    const limitMessage = (current: number, additional: number) =>
      `This request would exceed the shard limit for the account ${ACCOUNT} in us-east-1. Current shard count for the account: ${current}. Limit: 20. Number of additional shards that would have resulted from this request: ${additional}. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.`;
    const { OpenShardCount: open, ShardLimit } = await kinesis(url, 'DescribeLimits', {});
    assert.equal(ShardLimit, 20);
    await expectAwsError(
      url,
      'CreateStream',
      { StreamName: 'too-wide', ShardCount: 21 - open },
      { type: 'LimitExceededException', message: limitMessage(open, 21 - open) },
    );
    await expectAwsError(url, 'DescribeStream', { StreamName: 'too-wide' }, { type: 'ResourceNotFoundException' });

    await createStream(url, 'fills-the-quota', 20 - open);
    await expectAwsError(
      url,
      'SplitShard',
      { StreamName: 'fills-the-quota', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '12345' },
      { type: 'LimitExceededException', message: limitMessage(20, 1) },
    );
    await kinesis(url, 'DeleteStream', { StreamName: 'fills-the-quota' });
    await assertStillServing(url);
  });

  it('LimitExceededException: UpdateShardCount beyond double or below half', async () => {
    await createStream(url, 'scaling-stream', 2);
    await expectAwsError(
      url,
      'UpdateShardCount',
      { StreamName: 'scaling-stream', TargetShardCount: 5, ScalingType: 'UNIFORM_SCALING' },
      {
        type: 'LimitExceededException',
        message:
          'UpdateShardCount cannot scale up over double your current open shard count. Current open shard ' +
          'count: 2 Target shard count: 5',
      },
    );
    await expectAwsError(
      url,
      'UpdateShardCount',
      { StreamName: 'scaling-stream', TargetShardCount: 0, ScalingType: 'UNIFORM_SCALING' },
      {
        type: 'ValidationException',
        message:
          "1 validation error detected: Value '0' at 'targetShardCount' failed to satisfy constraint: Member " +
          'must have value greater than or equal to 1',
      },
    );
    const output = await kinesis(url, 'UpdateShardCount', {
      StreamName: 'scaling-stream',
      TargetShardCount: 4,
      ScalingType: 'UNIFORM_SCALING',
    });
    assert.deepEqual(output, {
      StreamName: 'scaling-stream',
      CurrentShardCount: 2,
      TargetShardCount: 4,
      StreamARN: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/scaling-stream`,
    });
    await expectAwsError(
      url,
      'UpdateShardCount',
      { StreamName: 'scaling-stream', TargetShardCount: 1, ScalingType: 'UNIFORM_SCALING' },
      {
        type: 'LimitExceededException',
        message:
          'UpdateShardCount cannot scale down below half your current open shard count. Current open shard ' +
          'count: 4 Target shard count: 1',
      },
    );
    await kinesis(url, 'DeleteStream', { StreamName: 'scaling-stream' });
  });

  it("ValidationException in AWS's format", async () => {
    await expectAwsError(
      url,
      'CreateStream',
      { StreamName: '', ShardCount: 0 },
      {
        type: 'ValidationException',
        message:
          "3 validation errors detected: Value '0' at 'shardCount' failed to satisfy constraint: Member must " +
          'have value greater than or equal to 1; ' +
          "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression " +
          'pattern: [a-zA-Z0-9_.-]+; ' +
          "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
      },
    );
    await expectAwsError(
      url,
      'CreateStream',
      {},
      {
        type: 'ValidationException',
        message:
          "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must " +
          'not be null',
      },
    );
    await expectAwsError(
      url,
      'GetShardIterator',
      { StreamName: 'errors-stream', ShardId: 'shardId-000000000000', ShardIteratorType: 'OLDEST' },
      {
        type: 'ValidationException',
        message:
          "1 validation error detected: Value 'OLDEST' at 'shardIteratorType' failed to satisfy constraint: " +
          'Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, ' +
          'LATEST, AT_TIMESTAMP]',
      },
    );
    // Validation comes before any lookup: an unknown stream with a bad Limit is a ValidationException.
    await expectAwsError(
      url,
      'DescribeStream',
      { StreamName: 'no-such-stream', Limit: 0 },
      {
        type: 'ValidationException',
        message:
          /^1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1$/,
      },
    );
    await assertStillServing(url);
  });

  it('SerializationException: malformed JSON, empty body, wrong member types', async () => {
    const cases: Array<{ body: string; message?: string | RegExp }> = [
      { body: '{"StreamName":' },
      { body: 'not json at all' },
      { body: '' },
      { body: '[]' },
      {
        body: '{"StreamName":"x","ShardCount":"abc"}',
        message: 'class java.lang.String can not be converted to an Integer',
      },
      { body: '{"StreamName":{},"ShardCount":1}', message: 'Start of structure or map found where not expected.' },
      { body: '{"StreamName":true,"ShardCount":1}', message: 'TRUE_VALUE can not be converted to a String' },
    ];
    for (const { body, message } of cases) {
      await expectAwsError(
        url,
        'CreateStream',
        undefined,
        { type: 'SerializationException', message },
        { rawBody: body },
      );
      await assertStillServing(url);
    }
    await expectAwsError(
      url,
      'PutRecord',
      { StreamName: 'errors-stream', PartitionKey: 'k', Data: 'abc' },
      {
        type: 'SerializationException',
        message:
          "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3",
      },
    );
    await expectAwsError(
      url,
      'PutRecord',
      { StreamName: 'errors-stream', PartitionKey: 'k', Data: 'ab$=' },
      { type: 'SerializationException', message: /Invalid Base64 character: '\$'/ },
    );
    await assertStillServing(url);
  });

  it('UnknownOperationException: unknown action, foreign or missing X-Amz-Target', async () => {
    await expectAwsError(url, 'FlyToTheMoon', {}, { type: 'UnknownOperationException' });
    await expectAwsError(
      url,
      undefined,
      {},
      { type: 'UnknownOperationException' },
      { headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables' } },
    );
    await expectAwsError(
      url,
      undefined,
      {},
      { type: 'UnknownOperationException' },
      { headers: { 'x-amz-target': 'Kinesis_20131202' } },
    );
    await expectAwsError(url, undefined, { StreamName: 'errors-stream' }, { type: 'UnknownOperationException' });
    await assertStillServing(url);
  });

  it('403 AccessDeniedException for GET', async () => {
    const response = await kinesisRequest(url, 'ListStreams', undefined, { method: 'GET' });
    assertAwsError(response, {
      status: 403,
      type: 'AccessDeniedException',
      message: 'Unable to determine service/operation name to be authorized',
    });
    await assertStillServing(url);
  });

  it('413 for a body over the default 16 MiB maximum', async () => {
    const declared = 16 * 1024 * 1024 + 1;
    const response = await rawPost(
      url,
      Buffer.alloc(0),
      { 'content-length': String(declared) },
      undefined,
      'headers-only',
    );
    assert.equal(response.status, 413, response.text);
    assert.equal(response.json?.__type, 'RequestEntityTooLargeException', response.text);
    assert.equal(response.headers['x-amzn-errortype'], 'RequestEntityTooLargeException');
    assert.match(String(response.json?.message), /exceeds the limit of 16777216 bytes/);
    await assertStillServing(url);
  });

  it('without --enforce-limits nothing is throttled: 2,000 records into one shard at once', async () => {
    const records = Array.from({ length: 500 }, (_, i) => ({
      PartitionKey: `k${i}`,
      Data: 'eA==',
      ExplicitHashKey: '0',
    }));
    const outputs = await Promise.all(
      [1, 2, 3, 4].map(() => kinesis(url, 'PutRecords', { StreamName: 'errors-stream', Records: records })),
    );
    for (const output of outputs) assert.equal(output.FailedRecordCount, 0);
  });
});

describe('throttling with --enforce-limits (engine child process, real clock)', () => {
  let engine: EngineProcess | undefined;
  let url = '';

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-limits-'), enforceLimits: true });
    url = engine.url;
    await createStream(url, 'limited-stream', 2);
  });

  after(async () => {
    await engine?.stop(5_000);
  });

  it(
    'PutRecords faster than 1,000 records/s into one shard: per-record ' +
      'ProvisionedThroughputExceededException entries',
    async () => {
      // 2,000 records for shard 0 plus a few for shard 1, sent at once: more than a second's quota.
      const batch = (n: number) =>
        Array.from({ length: 500 }, (_, i) => ({
          PartitionKey: `b${n}-${i}`,
          Data: 'eA==',
          ExplicitHashKey: i % 50 === 0 ? MAX_HASH_KEY.toString() : '0',
        }));
      const started = Date.now();
      const outputs = await Promise.all(
        [0, 1, 2, 3].map((n) => kinesis(url, 'PutRecords', { StreamName: 'limited-stream', Records: batch(n) })),
      );
      const elapsedMs = Date.now() - started;
      let accepted = 0;
      let failed = 0;
      for (const output of outputs) {
        let failedHere = 0;
        output.Records.forEach(
          (r: { ErrorCode?: string; ErrorMessage?: string; ShardId?: string; SequenceNumber?: string }) => {
            if (r.ErrorCode !== undefined) {
              failedHere++;
              assert.equal(r.ErrorCode, 'ProvisionedThroughputExceededException');
              assert.equal(
                r.ErrorMessage,
                `Rate exceeded for shard shardId-000000000000 in stream limited-stream under account ${ACCOUNT}.`,
              );
              assert.equal(r.SequenceNumber, undefined);
            } else {
              assert.match(r.SequenceNumber ?? '', /^\d+$/);
              if (r.ShardId === 'shardId-000000000000') accepted++;
            }
          },
        );
        assert.equal(output.FailedRecordCount, failedHere);
        failed += failedHere;
      }
      assert.ok(failed > 0, `1,960 records in ${elapsedMs} ms into one shard must be partly refused`);
      // A full bucket (1,000) plus what it refills while the batches are handled.
      assert.ok(accepted <= 1000 + Math.ceil(elapsedMs) + 1, `accepted ${accepted} shard-0 records in ${elapsedMs} ms`);
      assert.equal(accepted + failed, 1960);
    },
  );

  it('GetRecords more than 5 times a second on one shard: ProvisionedThroughputExceededException', async () => {
    const { ShardIterator } = await kinesis(url, 'GetShardIterator', {
      StreamName: 'limited-stream',
      ShardId: 'shardId-000000000001',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => kinesisRequest(url, 'GetRecords', { ShardIterator, Limit: 1 })),
    );
    const refused = responses.filter((r) => r.status !== 200);
    assert.ok(refused.length >= 2, `8 simultaneous GetRecords on one shard: only ${refused.length} refused`);
    for (const response of refused) {
      assertAwsError(response, {
        type: 'ProvisionedThroughputExceededException',
        message: `Rate exceeded for shard shardId-000000000001 in stream limited-stream under account ${ACCOUNT}.`,
      });
    }
  });
});

describe('CREATING and UPDATING with --status-delay-ms (engine child process)', () => {
  const DELAY_MS = 1500;
  let engine: EngineProcess | undefined;
  let url = '';

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-status-'), statusDelayMs: DELAY_MS });
    url = engine.url;
  });

  after(async () => {
    await engine?.stop(5_000);
  });

  it('CREATING is visible, then ACTIVE after the delay; split while UPDATING is ResourceInUseException', async () => {
    const describe = async () =>
      (await kinesis(url, 'DescribeStream', { StreamName: 'slow-stream' })).StreamDescription;
    const sent = Date.now();
    await createStream(url, 'slow-stream', 2);
    const creating = await describe();
    assert.equal(creating.StreamStatus, 'CREATING');
    assert.deepEqual(creating.Shards, []);
    const summary = (await kinesis(url, 'DescribeStreamSummary', { StreamName: 'slow-stream' }))
      .StreamDescriptionSummary;
    assert.equal(summary.StreamStatus, 'CREATING');
    await expectAwsError(
      url,
      'PutRecord',
      { StreamName: 'slow-stream', PartitionKey: 'k', Data: 'eA==' },
      { type: 'ResourceNotFoundException', message: `Stream slow-stream under account ${ACCOUNT} not found.` },
    );
    await expectAwsError(
      url,
      'CreateStream',
      { StreamName: 'slow-stream', ShardCount: 1 },
      { type: 'ResourceInUseException' },
    );

    const active = await waitFor(
      async () => {
        const d = await describe();
        return d.StreamStatus === 'ACTIVE' ? d : undefined;
      },
      { timeoutMs: DELAY_MS + 10_000, message: 'slow-stream to become ACTIVE' },
    );
    assert.ok(Date.now() - sent >= DELAY_MS, `ACTIVE after ${Date.now() - sent} ms, before the ${DELAY_MS} ms delay`);
    assert.equal(active.Shards.length, 2);

    await kinesis(url, 'SplitShard', {
      StreamName: 'slow-stream',
      ShardToSplit: 'shardId-000000000000',
      NewStartingHashKey: '1000',
    });
    assert.equal((await describe()).StreamStatus, 'UPDATING');
    await expectAwsError(
      url,
      'SplitShard',
      {
        StreamName: 'slow-stream',
        ShardToSplit: 'shardId-000000000001',
        NewStartingHashKey: (HALF + 1000n).toString(),
      },
      {
        type: 'ResourceInUseException',
        message: `Stream slow-stream under account ${ACCOUNT} not ACTIVE, instead in state UPDATING`,
      },
    );
    // Data still flows while UPDATING.
    const put = await kinesis(url, 'PutRecord', { StreamName: 'slow-stream', PartitionKey: 'k', Data: 'eA==' });
    assert.match(put.SequenceNumber, /^\d+$/);

    await waitFor(async () => (await describe()).StreamStatus === 'ACTIVE', {
      timeoutMs: DELAY_MS + 10_000,
      message: 'slow-stream to be ACTIVE after the split',
    });
    await kinesis(url, 'SplitShard', {
      StreamName: 'slow-stream',
      ShardToSplit: 'shardId-000000000001',
      NewStartingHashKey: (HALF + 1000n).toString(),
    });
    const { Shards } = await kinesis(url, 'ListShards', { StreamName: 'slow-stream' });
    assert.equal(Shards.length, 6);
  });
});

describe('in-process engine with an injected clock', () => {
  const START = Date.UTC(2026, 0, 15, 12, 0, 0);
  let clock = START;
  let engine: RunningEngine | undefined;
  let url = '';

  before(async () => {
    engine = await startEngine({
      dataDir: makeTempDir('shardtail-clock-'),
      port: 0,
      now: () => clock,
      enforceLimits: true,
      maxBodyBytes: 64 * 1024,
      retentionSweepMs: 3_600_000,
    });
    url = engine.url;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    await engine?.stop();
    await removeTempDirs();
  });

  it('ExpiredIteratorException once an iterator is more than 5 minutes old', async () => {
    await createStream(url, 'expiring-stream', 1);
    await kinesis(url, 'PutRecord', {
      StreamName: 'expiring-stream',
      PartitionKey: 'k',
      Data: Buffer.from('first').toString('base64'),
    });
    const issued = clock;
    const { ShardIterator } = await kinesis(url, 'GetShardIterator', {
      StreamName: 'expiring-stream',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    clock = issued + 300_000;
    const stillValid = await kinesis<GetRecordsOutput>(url, 'GetRecords', { ShardIterator });
    assert.deepEqual(
      stillValid.Records.map((r) => Buffer.from(r.Data, 'base64').toString()),
      ['first'],
    );
    clock = issued + 300_001;
    await expectAwsError(
      url,
      'GetRecords',
      { ShardIterator },
      {
        type: 'ExpiredIteratorException',
        message:
          `Iterator expired. The iterator was created at time ${javaUtcDate(issued)} while right now it ` +
          `is ${javaUtcDate(clock)} which is further in the future than the tolerated delay of 300000 milliseconds.`,
      },
    );
    // The NextShardIterator handed out at +300000 ms is fresh.
    const next = await kinesis<GetRecordsOutput>(url, 'GetRecords', { ShardIterator: stillValid.NextShardIterator });
    assert.deepEqual(next.Records, []);
    await assertStillServing(url);
  });

  it('PutRecord past 1,000 records/s on one shard, exactly: the 1,001st in the same instant is refused', async () => {
    await createStream(url, 'hot-stream', 2);
    const put = (hashKey: string) =>
      kinesisRequest(url, 'PutRecord', {
        StreamName: 'hot-stream',
        PartitionKey: 'p',
        ExplicitHashKey: hashKey,
        Data: 'eA==',
      });
    const statuses: number[] = [];
    for (let wave = 0; wave < 1000 / 50; wave++)
      statuses.push(...(await Promise.all(Array.from({ length: 50 }, () => put('0')))).map((r) => r.status));
    assert.deepEqual([...new Set(statuses)], [200], 'the first 1,000 records of the second fit the quota');
    assertAwsError(await put('0'), {
      type: 'ProvisionedThroughputExceededException',
      message: `Rate exceeded for shard shardId-000000000000 in stream hot-stream under account ${ACCOUNT}.`,
    });
    // The other shard has its own quota.
    assert.equal((await put(MAX_HASH_KEY.toString())).status, 200);

    // 100 ms later the shard has 100 records of quota again: a PutRecords with 150 for shard 0 and 50 for shard 1.
    clock += 100;
    const entries = Array.from({ length: 200 }, (_, i) => ({
      PartitionKey: `e${i}`,
      Data: Buffer.from(`e${i}`).toString('base64'),
      ExplicitHashKey: i % 4 === 3 ? MAX_HASH_KEY.toString() : '0',
    }));
    const response = await kinesisRequest(url, 'PutRecords', { StreamName: 'hot-stream', Records: entries });
    assert.equal(response.status, 200, response.text);
    const output = response.json;
    assert.equal(output.FailedRecordCount, 50);
    assert.equal(output.Records.length, 200);
    const shardZero = entries.map((e, i) => i).filter((i) => entries[i].ExplicitHashKey === '0');
    const failedIndexes = output.Records.map((r: { ErrorCode?: string }, i: number) => (r.ErrorCode ? i : -1)).filter(
      (i: number) => i >= 0,
    );
    assert.deepEqual(
      failedIndexes,
      shardZero.slice(100),
      'the shard-0 entries past its 100 remaining records fail, in order',
    );
    for (const i of failedIndexes) {
      assert.deepEqual(output.Records[i], {
        ErrorCode: 'ProvisionedThroughputExceededException',
        ErrorMessage: `Rate exceeded for shard shardId-000000000000 in stream hot-stream under account ${ACCOUNT}.`,
      });
    }
    for (let i = 0; i < entries.length; i++) {
      if (failedIndexes.includes(i)) continue;
      assert.equal(
        output.Records[i].ShardId,
        entries[i].ExplicitHashKey === '0' ? 'shardId-000000000000' : 'shardId-000000000001',
      );
      assert.match(output.Records[i].SequenceNumber, /^\d+$/);
    }

    // A second later the quota is back.
    clock += 1000;
    assert.equal((await put('0')).status, 200);
  });

  it('GetRecords: the 6th call within a second on one shard is refused', async () => {
    clock += 10_000;
    const { ShardIterator } = await kinesis(url, 'GetShardIterator', {
      StreamName: 'hot-stream',
      ShardId: 'shardId-000000000001',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await kinesisRequest(url, 'GetRecords', { ShardIterator, Limit: 1 })).status,
        200,
        `call ${i + 1} of 5`,
      );
    assertAwsError(await kinesisRequest(url, 'GetRecords', { ShardIterator, Limit: 1 }), {
      type: 'ProvisionedThroughputExceededException',
      message: `Rate exceeded for shard shardId-000000000001 in stream hot-stream under account ${ACCOUNT}.`,
    });
    clock += 200; // one call's worth of quota
    assert.equal((await kinesisRequest(url, 'GetRecords', { ShardIterator, Limit: 1 })).status, 200);
    assert.equal((await kinesisRequest(url, 'GetRecords', { ShardIterator, Limit: 1 })).status, 400);
  });

  it('413 for a body over maxBodyBytes (declared and chunked), and the server keeps answering', async () => {
    const limit = 64 * 1024;
    const cases: Array<[Record<string, string>, Buffer, 'headers-only' | 'body-then-wait']> = [
      [{ 'content-length': String(limit + 1) }, Buffer.alloc(0), 'headers-only'],
      // Chunked: the engine has to count; it refuses as soon as it has read one byte too many.
      [{ 'transfer-encoding': 'chunked' }, Buffer.alloc(limit + 1, 0x20), 'body-then-wait'],
    ];
    for (const [headers, body, mode] of cases) {
      const response = await rawPost(url, body, headers, undefined, mode);
      assert.equal(response.status, 413, `${JSON.stringify(headers)}: ${response.status} ${response.text}`);
      assert.equal(response.json?.__type, 'RequestEntityTooLargeException', response.text);
      assert.equal(response.headers['x-amzn-errortype'], 'RequestEntityTooLargeException');
      assert.match(String(response.json?.message), /exceeds the limit of 65536 bytes/);
      await assertStillServing(url);
    }
    // Just under the limit is fine (and an ordinary error, not 413).
    const fits = await kinesisRequest(url, 'DescribeStream', undefined, {
      rawBody: JSON.stringify({ StreamName: 'no-such-stream', Pad: 'y'.repeat(60 * 1024) }),
    });
    assertAwsError(fits, { type: 'ResourceNotFoundException' });
  });

  it('a 413 either says "Connection: close" or leaves the keep-alive connection usable', async () => {
    // SDKs keep connections alive. After a 413 the engine may close the connection (it has not read
    // the rest of the body), but then it must say so; a client that is told keep-alive sends its
    // next call on the same connection.
    const oversized = 'x'.repeat(70 * 1024);
    const request = (target: string, body: string) =>
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\nX-Amz-Target: ` +
      `${TARGET}.${target}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`;
    const connection = await RawHttpConnection.open(url);
    try {
      connection.write(request('CreateStream', oversized));
      const first = await connection.readResponse();
      assert.equal(first.status, 413, first.raw.slice(0, 300));
      if (first.headers.connection?.toLowerCase() === 'close') return;
      connection.write(request('ListStreams', '{}'));
      const second = await connection.readResponse().catch((error: Error) => error);
      assert.ok(
        !(second instanceof Error),
        `the 413 said "Connection: ${first.headers.connection ?? '(none)'}", but the next request on that ` +
          `connection got no answer: ${second instanceof Error ? second.message : ''}`,
      );
      assert.equal(second.status, 200, second.raw.slice(0, 300));
    } finally {
      connection.close();
    }
  });
});

describe('retention with an injected clock (in-process engine)', () => {
  let clock = Date.UTC(2026, 0, 15, 12, 0, 0);
  let engine: RunningEngine | undefined;
  let url = '';
  let dataDir = '';

  before(async () => {
    dataDir = makeTempDir('shardtail-retention-');
    engine = await startEngine({ dataDir, port: 0, now: () => clock, retentionSweepMs: 3_600_000 });
    url = engine.url;
  });

  after(async () => {
    await engine?.stop();
    await removeTempDirs();
  });

  it(
    'retention: 25 h later GetRecords from TRIM_HORIZON is empty, sweep() frees the pages, numbers are ' + 'not reused',
    async () => {
      const store = engine!.store;
      const t0 = clock;
      await createStream(url, 'old-stream', 1);
      await createStream(url, 'fresh-stream', 1);
      const base = store.pageCount();
      const data = Buffer.alloc(1024, 0x61).toString('base64');
      let lastOldSequence = '';
      for (let batch = 0; batch < 12; batch++) {
        clock += 10;
        const records = Array.from({ length: 40 }, (_, i) => ({ PartitionKey: `k${batch}-${i}`, Data: data }));
        const output = await kinesis(url, 'PutRecords', { StreamName: 'old-stream', Records: records });
        assert.equal(output.FailedRecordCount, 0);
        lastOldSequence = output.Records[39].SequenceNumber;
        clock += 1000;
      }
      const grown = store.pageCount();
      assert.ok(grown - base >= 100, `480 KiB of records should take well over 100 pages, took ${grown - base}`);

      clock = t0 + 2 * 3_600_000;
      await kinesis(url, 'PutRecord', {
        StreamName: 'fresh-stream',
        PartitionKey: 'k',
        Data: Buffer.from('recent').toString('base64'),
      });
      clock = t0 + 25 * 3_600_000;

      const readAll = async (name: string) => {
        const { ShardIterator } = await kinesis(url, 'GetShardIterator', {
          StreamName: name,
          ShardId: 'shardId-000000000000',
          ShardIteratorType: 'TRIM_HORIZON',
        });
        return (await drainShard(url, ShardIterator)).records;
      };
      assert.deepEqual(await readAll('old-stream'), [], 'records past the 24 h retention are not returned');

      const before = store.pageCount();
      const { expiredSegments } = engine!.kinesis.sweep();
      assert.equal(expiredSegments, 12);
      const afterSweep = store.pageCount();
      assert.ok(afterSweep < before, `pageCount ${before} -> ${afterSweep} must decrease`);
      assert.ok(
        afterSweep - base <= 4,
        `the space of the expired records must be given back: base ${base}, after ${afterSweep}`,
      );

      assert.deepEqual(await readAll('old-stream'), []);
      assert.deepEqual(
        (await readAll('fresh-stream')).map((r) => Buffer.from(r.Data, 'base64').toString()),
        ['recent'],
        'a record inside retention survives the sweep',
      );

      const next = await kinesis(url, 'PutRecord', { StreamName: 'old-stream', PartitionKey: 'k', Data: 'eA==' });
      assert.ok(
        BigInt(next.SequenceNumber) > BigInt(lastOldSequence),
        `sequence number ${next.SequenceNumber} reused after the sweep (last was ${lastOldSequence})`,
      );

      // The same after a restart on the same data dir, when counters come from the database only.
      await engine!.stop();
      engine = await startEngine({ dataDir, port: 0, now: () => clock, retentionSweepMs: 3_600_000 });
      url = engine.url;
      const afterRestart = await kinesis(url, 'PutRecord', {
        StreamName: 'old-stream',
        PartitionKey: 'k',
        Data: 'eA==',
      });
      assert.ok(
        BigInt(afterRestart.SequenceNumber) > BigInt(next.SequenceNumber),
        `sequence number ${afterRestart.SequenceNumber} reused after sweep + restart (last was ${next.SequenceNumber})`,
      );
    },
  );
});

/**
 * A POST with exactly these bytes and headers over node:http (fetch cannot send a chunked body of our choosing); a
 * fresh connection unless `agent` is given.
 */
function rawPost(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
  agent?: http.Agent,
  /**
   * 'send-all' writes the whole body. 'headers-only' sends just the headers (the declared length is
   * enough for the engine to refuse), 'body-then-wait' writes the body without finishing the request;
   * with either, the engine has read everything sent when it closes the connection, so its close is
   * a clean FIN and the answer cannot be lost to a reset.
   */
  mode: 'send-all' | 'headers-only' | 'body-then-wait' = 'send-all',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (action: () => void) => {
      if (!settled) {
        settled = true;
        action();
      }
    };
    const request = http.request(
      url + '/',
      {
        method: 'POST',
        agent: agent ?? false,
        headers: { 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': `${TARGET}.CreateStream`, ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          settle(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json }));
          if (mode !== 'send-all') request.destroy();
        });
        response.on('aborted', () =>
          settle(() => reject(new Error(`response ${response.statusCode} aborted before its end`))),
        );
        response.on('error', (error) => settle(() => reject(error)));
      },
    );
    // Once the answer is in, a reset of the rest of the upload is not the test's concern.
    request.on('socket', (socket) => socket.on('error', () => undefined));
    request.on('error', (error) => settle(() => reject(error)));
    request.setTimeout(30_000, () => request.destroy(new Error('no response within 30 s')));
    if (mode === 'headers-only') {
      request.flushHeaders();
    } else if (headers['transfer-encoding'] === 'chunked' || mode === 'body-then-wait') {
      for (let offset = 0; offset < body.length; offset += 8192) request.write(body.subarray(offset, offset + 8192));
      if (mode === 'send-all') request.end();
    } else {
      request.end(body);
    }
  });
}

/** A plain TCP connection speaking HTTP/1.1 by hand, to see exactly what happens to one connection. */
class RawHttpConnection {
  private buffer = Buffer.alloc(0);
  private ended: Error | undefined;
  private wake: (() => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    const end = (reason: string) => () => {
      this.ended ??= new Error(reason);
      this.wake?.();
    };
    socket.on('end', end('the server closed the connection'));
    socket.on('close', end('the connection closed'));
    socket.on('error', (error) => {
      this.ended ??= error;
      this.wake?.();
    });
  }

  static open(url: string): Promise<RawHttpConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(new RawHttpConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** The next complete response (Content-Length framed), or an error if the connection ends first. */
  async readResponse(
    timeoutMs = 10_000,
  ): Promise<{ status: number; headers: Record<string, string>; body: string; raw: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd >= 0) {
        const head = this.buffer.subarray(0, headerEnd).toString('latin1').split('\r\n');
        const status = Number(head[0].split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const line of head.slice(1))
          headers[line.slice(0, line.indexOf(':')).trim().toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
        const length = Number(headers['content-length'] ?? 0);
        if (this.buffer.length >= headerEnd + 4 + length) {
          const raw = this.buffer.subarray(0, headerEnd + 4 + length).toString('utf8');
          const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
          this.buffer = this.buffer.subarray(headerEnd + 4 + length);
          return { status, headers, body, raw };
        }
      }
      if (this.ended) throw this.ended;
      if (Date.now() > deadline) throw new Error(`no complete response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
      this.wake = undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
