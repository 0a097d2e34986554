import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { startEngine, type EngineOptions, type RunningEngine } from '../../../src/engine/server.js';
import { makeTempDir, removeTempDirs } from '../../support/tmp.js';

/**
 * The exact texts of the Kinesis errors that no test over HTTP pins, each provoked through the
 * service's `call` (the path the HTTP host and the in-process client share). Kinesis clients and
 * people match on these texts, so they are spelled out here in full.
 */

const ACCOUNT = '000000000000';
const OTHER_ARN = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/other`;
const RULE =
  'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) ' +
  'TRIM_HORIZON or LATEST and no StartingSequenceNumber.';

let clock = Date.UTC(2026, 0, 5, 10);
let engine: RunningEngine | undefined;
let dataDir = '';

type Call = (action: string, input: Record<string, unknown>) => any;

/** An engine in this process; its Kinesis service's `call`. */
async function open(options: Partial<EngineOptions> = {}): Promise<Call> {
  dataDir = makeTempDir('shardtail-unit-errors-');
  engine = await startEngine({ dataDir, port: 0, now: () => clock, ...options });
  const kinesis = engine.kinesis;
  return (action, input) => kinesis.call(action, input);
}

function expectError(
  call: Call,
  action: string,
  input: Record<string, unknown>,
  code: string,
  message: string,
  status = 400,
): void {
  assert.throws(
    () => call(action, input),
    (error: any) => {
      assert.equal(error.code, code, `${action}: ${error.message}`);
      assert.equal(error.status, status, action);
      assert.equal(error.message, message, action);
      return true;
    },
  );
}

describe('Kinesis error messages, word for word', () => {
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });
  after(removeTempDirs);

  it('naming streams, creating them, paging', async () => {
    const call = await open();
    expectError(
      call,
      'DescribeStreamSummary',
      {},
      'InvalidArgumentException',
      'Either StreamName or StreamARN should be provided.',
    );
    expectError(
      call,
      'DescribeStreamSummary',
      { StreamName: 'a', StreamARN: OTHER_ARN },
      'InvalidArgumentException',
      `StreamARN ${OTHER_ARN} and StreamName a refer to different streams.`,
    );
    expectError(
      call,
      'CreateStream',
      { StreamName: 'x', ShardCount: 1, StreamModeDetails: { StreamMode: 'ON_DEMAND' } },
      'InvalidArgumentException',
      'ShardCount is not expected when StreamMode=ON_DEMAND.',
    );
    expectError(
      call,
      'CreateStream',
      { StreamName: 'x', StreamModeDetails: { StreamMode: 'PROVISIONED' } },
      'InvalidArgumentException',
      'ShardCount is required when StreamMode=PROVISIONED.',
    );
    call('CreateStream', { StreamName: 's1', ShardCount: 1 });
    call('CreateStream', { StreamName: 's2', ShardCount: 1 });
    expectError(
      call,
      'ListStreams',
      { NextToken: 'bm9wZQ==' },
      'InvalidArgumentException',
      'Invalid NextToken: bm9wZQ==',
    );
    expectError(
      call,
      'ListShards',
      { NextToken: 'x', StreamName: 's1' },
      'InvalidArgumentException',
      'NextToken and StreamName cannot be provided together.',
    );
    expectError(
      call,
      'ListShards',
      { NextToken: 'x', StreamARN: OTHER_ARN },
      'InvalidArgumentException',
      'NextToken and StreamARN cannot be provided together.',
    );
    expectError(
      call,
      'ListShards',
      { NextToken: 'x', ExclusiveStartShardId: 'shardId-000000000000' },
      'InvalidArgumentException',
      'NextToken and ExclusiveStartShardId cannot be provided together.',
    );
    expectError(
      call,
      'ListShards',
      {},
      'InvalidArgumentException',
      'Either NextToken or StreamName should be provided.',
    );
    expectError(
      call,
      'ListShards',
      { StreamName: 's1', ShardFilter: { Type: 'AFTER_SHARD_ID' } },
      'InvalidArgumentException',
      'ShardId must be provided with ShardFilter type AFTER_SHARD_ID.',
    );
    expectError(
      call,
      'ListShards',
      { StreamName: 's1', ShardFilter: { Type: 'AT_TIMESTAMP' } },
      'InvalidArgumentException',
      'Timestamp must be provided with ShardFilter type AT_TIMESTAMP.',
    );
    const { NextToken } = call('ListStreams', { Limit: 1 });
    clock += 300_001;
    expectError(
      call,
      'ListStreams',
      { NextToken },
      'ExpiredNextTokenException',
      'The nextToken has expired. Tokens are valid for 300 seconds.',
    );
  });

  it('streams still CREATING', async () => {
    const call = await open({ statusDelayMs: 1_000 });
    for (let i = 1; i <= 5; i++) call('CreateStream', { StreamName: `c${i}`, ShardCount: 1 });
    expectError(
      call,
      'CreateStream',
      { StreamName: 'c6', ShardCount: 1 },
      'LimitExceededException',
      `Number of streams in CREATING state for account ${ACCOUNT} exceeds the limit of 5.`,
    );
    expectError(
      call,
      'ListShards',
      { StreamName: 'c1' },
      'ResourceInUseException',
      `Stream c1 under account ${ACCOUNT} is not ACTIVE, instead in state CREATING`,
    );
  });

  it('writes', async () => {
    const call = await open();
    call('CreateStream', { StreamName: 's', ShardCount: 1 });
    const tooBig = 2n ** 128n;
    expectError(
      call,
      'PutRecord',
      { StreamName: 's', PartitionKey: 'k', Data: 'eA==', ExplicitHashKey: String(tooBig) },
      'InvalidArgumentException',
      `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${tooBig}`,
    );
    expectError(
      call,
      'PutRecord',
      { StreamName: 's', PartitionKey: 'k', Data: Buffer.alloc(1024 * 1024).toString('base64') },
      'InvalidArgumentException',
      `Record size of 1048577 bytes (data plus partition key) exceeds the maximum record size of 1048576 bytes ` +
        `for stream s under account ${ACCOUNT}.`,
    );
    const nearlyMiB = Buffer.alloc(1_000_000).toString('base64');
    expectError(
      call,
      'PutRecords',
      { StreamName: 's', Records: Array.from({ length: 6 }, () => ({ PartitionKey: 'k', Data: nearlyMiB })) },
      'InvalidArgumentException',
      'Records size exceeds 5 MB limit',
    );
    expectError(
      call,
      'PutRecord',
      { StreamName: 's', PartitionKey: 'k', Data: 'eA==', SequenceNumberForOrdering: '1' },
      'InvalidArgumentException',
      `ExclusiveMinimumSequenceNumber 1 used in PutRecord on stream s under account ${ACCOUNT} is invalid.`,
    );
  });

  it('shard iterators and reads', async () => {
    const call = await open();
    call('CreateStream', { StreamName: 's', ShardCount: 2 });
    call('CreateStream', { StreamName: 'other', ShardCount: 1 });
    const iterator = (input: Record<string, unknown>) => ({
      StreamName: 's',
      ShardId: 'shardId-000000000000',
      ...input,
    });
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardId: 'nope', ShardIteratorType: 'LATEST' }),
      'ResourceNotFoundException',
      `Could not find shard nope in stream s under account ${ACCOUNT}.`,
    );
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardIteratorType: 'AT_SEQUENCE_NUMBER' }),
      'InvalidArgumentException',
      `${RULE} Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.`,
    );
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardIteratorType: 'TRIM_HORIZON', StartingSequenceNumber: '1' }),
      'InvalidArgumentException',
      `${RULE} Request specified TRIM_HORIZON and also a StartingSequenceNumber.`,
    );
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardIteratorType: 'AT_TIMESTAMP' }),
      'InvalidArgumentException',
      'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no ' +
        'timestamp parameter.',
    );
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: (clock + 10_000) / 1000 }),
      'InvalidArgumentException',
      `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ` +
        `${clock + 10_000}, currentTimestampInMillis: ${clock}`,
    );
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: '1' }),
      'InvalidArgumentException',
      `StartingSequenceNumber 1 used in GetShardIterator on shard shardId-000000000000 in stream s under ` +
        `account ${ACCOUNT} is invalid.`,
    );
    const fromOther = call('PutRecord', { StreamName: 'other', PartitionKey: 'k', Data: 'eA==' }).SequenceNumber;
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: fromOther }),
      'InvalidArgumentException',
      `StartingSequenceNumber ${fromOther} used in GetShardIterator on shard shardId-000000000000 in stream s ` +
        `under account ${ACCOUNT} is invalid because it did not come from this stream.`,
    );
    const onShard1 = call('PutRecord', {
      StreamName: 's',
      PartitionKey: 'k',
      Data: 'eA==',
      ExplicitHashKey: String(2n ** 127n),
    });
    assert.equal(onShard1.ShardId, 'shardId-000000000001');
    expectError(
      call,
      'GetShardIterator',
      iterator({ ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: onShard1.SequenceNumber }),
      'InvalidArgumentException',
      'Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard ' +
        'with shardId-000000000000',
    );
    const { ShardIterator } = call('GetShardIterator', iterator({ ShardIteratorType: 'TRIM_HORIZON' }));
    expectError(
      call,
      'GetRecords',
      { ShardIterator, StreamARN: OTHER_ARN.replace('other', 'nothere') },
      'InvalidArgumentException',
      `StreamARN ${OTHER_ARN.replace('other', 'nothere')} does not match the stream of the shard iterator.`,
    );
  });

  it(
    'damaged records: InternalFailureException (500, not retryable) naming the range and the ' + 'way past it',
    async () => {
      const call = await open();
      call('CreateStream', { StreamName: 's', ShardCount: 1 });
      const put = call('PutRecords', {
        StreamName: 's',
        Records: [1, 2, 3].map((i) => ({ PartitionKey: `k${i}`, Data: Buffer.from(`record ${i}`).toString('base64') })),
      });
      const sequences = put.Records.map((r: { SequenceNumber: string }) => r.SequenceNumber);
      // Stream ids start at 1; one hour file holds the one segment, its payload after a 48-byte header.
      const streamDir = join(dataDir, 'records', '1');
      const file = join(streamDir, readdirSync(streamDir)[0]);
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.from('X'), 0, 1, 48 + 4);
      closeSync(fd);
      const { ShardIterator } = call('GetShardIterator', {
        StreamName: 's',
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'TRIM_HORIZON',
      });
      assert.throws(
        () => call('GetRecords', { ShardIterator }),
        (error: any) => {
          assert.equal(error.code, 'InternalFailureException');
          assert.equal(error.status, 500);
          assert.equal(error.retryable, false);
          assert.equal(
            error.message,
            `Records ${sequences[0]} to ${sequences[2]} of shard shardId-000000000000 in stream s under account ` +
              `${ACCOUNT} are damaged in the engine's storage (${file}: the checksum of the records does not ` +
              `match) and cannot be returned. ` +
              `To read the records after them, get a shard iterator of type AFTER_SEQUENCE_NUMBER with ` +
              `StartingSequenceNumber ${sequences[2]}.`,
          );
          return true;
        },
      );
    },
  );

  it('resharding, retention and tags', async () => {
    const call = await open();
    call('CreateStream', { StreamName: 's', ShardCount: 3 });
    call('CreateStream', { StreamName: 'od', StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    expectError(
      call,
      'SplitShard',
      { StreamName: 'od', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '1000' },
      'ValidationException',
      `SplitShard is not supported for stream od under account ${ACCOUNT} because it is in ON_DEMAND capacity mode.`,
    );
    expectError(
      call,
      'MergeShards',
      { StreamName: 's', ShardToMerge: 'shardId-000000000000', AdjacentShardToMerge: 'shardId-000000000002' },
      'InvalidArgumentException',
      `Shards shardId-000000000000 and shardId-000000000002 in stream s under account ${ACCOUNT} are not an ` +
        `adjacent pair of shards eligible for merging`,
    );
    call('SplitShard', { StreamName: 's', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '1000' });
    expectError(
      call,
      'SplitShard',
      { StreamName: 's', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '100' },
      'ResourceInUseException',
      `Shard shardId-000000000000 in stream s under account ${ACCOUNT} has already been merged or split, and ` +
        `thus is not eligible for merging or splitting.`,
    );

    call('IncreaseStreamRetentionPeriod', { StreamName: 's', RetentionPeriodHours: 48 });
    expectError(
      call,
      'IncreaseStreamRetentionPeriod',
      { StreamName: 's', RetentionPeriodHours: 30 },
      'InvalidArgumentException',
      'Requested retention period (30 hours) for stream s can not be shorter than existing retention period ' +
        '(48 hours). Use DecreaseRetentionPeriod API.',
    );
    expectError(
      call,
      'DecreaseStreamRetentionPeriod',
      { StreamName: 's', RetentionPeriodHours: 72 },
      'InvalidArgumentException',
      'Requested retention period (72 hours) for stream s can not be longer than existing retention period (48 ' +
        'hours). Use IncreaseRetentionPeriod API.',
    );

    expectError(
      call,
      'AddTagsToStream',
      { StreamName: 's', Tags: { 'a#': 'b' } },
      'InvalidArgumentException',
      'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - @.',
    );
    const tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
    expectError(
      call,
      'AddTagsToStream',
      { StreamName: 's', Tags: tags },
      'InvalidArgumentException',
      `Failed to add tags to stream s under account ${ACCOUNT} because a given stream cannot have more than 50 ` +
        `tags associated with it.`,
    );
  });
});
