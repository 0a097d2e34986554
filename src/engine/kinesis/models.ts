import { KINESIS_LIMITS } from '../../client/api-limits.js';
import type { Member, Members, Shape } from '../host/validate.js';

/** Request shapes of the Kinesis operations the engine serves, from the 2013-12-02 API model. */

const streamName: Member = {
  type: 'string',
  min: 1,
  max: 128,
  pattern: /^[a-zA-Z0-9_.-]+$/,
  patternText: '[a-zA-Z0-9_.-]+',
};
const streamArn: Member = {
  type: 'string',
  min: 1,
  max: 2048,
  pattern: /^arn:aws.*:kinesis:.*:\d{12}:stream\/\S+$/,
  patternText: 'arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+',
};
const shardId: Member = {
  type: 'string',
  min: 1,
  max: 128,
  pattern: /^[a-zA-Z0-9_.-]+$/,
  patternText: '[a-zA-Z0-9_.-]+',
};
const hashKey: Member = { type: 'string', pattern: /^(0|([1-9]\d{0,38}))$/, patternText: '0|([1-9]\\d{0,38})' };
const sequenceNumber: Member = {
  type: 'string',
  pattern: /^(0|([1-9]\d{0,128}))$/,
  patternText: '0|([1-9]\\d{0,128})',
};
const partitionKey: Member = { type: 'string', min: 1, max: 256 };
const streamId: Member = { type: 'string', min: 1, max: 24 };
const tagKey = { type: 'string', min: 1, max: 128 } as const;
const tagValue = { type: 'string', min: 0, max: 256 } as const;
const streamMode: Shape = {
  type: 'structure',
  members: { StreamMode: { type: 'string', required: true, enum: ['PROVISIONED', 'ON_DEMAND'] } },
};

/** The maximum record size since Oct 2025; the per-stream MaxRecordSizeInKiB (default 1 MiB) is checked after. */
export const MODEL_MAX_RECORD_BYTES = 10 * 1024 * 1024;

const streamRef: Members = { StreamName: streamName, StreamARN: streamArn, StreamId: streamId };

export const OPERATIONS: Record<string, Members> = {
  CreateStream: {
    ShardCount: { type: 'integer', min: 1 },
    StreamName: { ...streamName, required: true },
    StreamModeDetails: streamMode,
    Tags: { type: 'map', key: tagKey, value: tagValue, min: 1, max: 200 },
    MaxRecordSizeInKiB: { type: 'integer', min: 1024, max: 10240 },
    WarmThroughputMiBps: { type: 'integer', min: 0 },
  },
  DeleteStream: { ...streamRef, EnforceConsumerDeletion: { type: 'boolean' } },
  DescribeStream: {
    Limit: { type: 'integer', min: 1, max: 10000 },
    ExclusiveStartShardId: shardId,
    ...streamRef,
  },
  DescribeStreamSummary: streamRef,
  ListStreams: {
    Limit: { type: 'integer', min: 1, max: 10000 },
    ExclusiveStartStreamName: streamName,
    NextToken: { type: 'string', min: 1, max: 1048576 },
  },
  ListShards: {
    ...streamRef,
    NextToken: { type: 'string', min: 1, max: 1048576 },
    ExclusiveStartShardId: shardId,
    MaxResults: { type: 'integer', min: 1, max: 10000 },
    StreamCreationTimestamp: { type: 'timestamp' },
    ShardFilter: {
      type: 'structure',
      members: {
        Type: {
          type: 'string',
          required: true,
          enum: [
            'AFTER_SHARD_ID',
            'AT_TRIM_HORIZON',
            'FROM_TRIM_HORIZON',
            'AT_LATEST',
            'AT_TIMESTAMP',
            'FROM_TIMESTAMP',
          ],
        },
        ShardId: shardId,
        Timestamp: { type: 'timestamp' },
      },
    },
  },
  PutRecord: {
    SequenceNumberForOrdering: sequenceNumber,
    PartitionKey: { ...partitionKey, required: true },
    ExplicitHashKey: hashKey,
    Data: { type: 'blob', required: true, max: MODEL_MAX_RECORD_BYTES },
    ...streamRef,
  },
  PutRecords: {
    Records: {
      type: 'list',
      required: true,
      min: 1,
      max: KINESIS_LIMITS.maxEntriesPerCall,
      member: {
        type: 'structure',
        javaClass: 'com.amazonaws.kinesis.v20131202.Entry',
        members: {
          Data: { type: 'blob', required: true, max: MODEL_MAX_RECORD_BYTES },
          ExplicitHashKey: hashKey,
          PartitionKey: { ...partitionKey, required: true },
        },
      },
    },
    ...streamRef,
  },
  GetShardIterator: {
    ShardIteratorType: {
      type: 'string',
      required: true,
      enum: ['AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER', 'TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'],
    },
    ...streamRef,
    ShardId: { ...shardId, required: true },
    StartingSequenceNumber: sequenceNumber,
    Timestamp: { type: 'timestamp' },
  },
  GetRecords: {
    ShardIterator: { type: 'string', required: true, min: 1, max: 512 },
    Limit: { type: 'integer', min: 1, max: 10000 },
    StreamARN: streamArn,
  },
  SplitShard: {
    NewStartingHashKey: { ...hashKey, required: true },
    ...streamRef,
    ShardToSplit: { ...shardId, required: true },
  },
  MergeShards: {
    ShardToMerge: { ...shardId, required: true },
    AdjacentShardToMerge: { ...shardId, required: true },
    ...streamRef,
  },
  UpdateShardCount: {
    ...streamRef,
    TargetShardCount: { type: 'integer', required: true, min: 1 },
    ScalingType: { type: 'string', required: true, enum: ['UNIFORM_SCALING'] },
  },
  IncreaseStreamRetentionPeriod: { ...streamRef, RetentionPeriodHours: { type: 'integer', required: true } },
  DecreaseStreamRetentionPeriod: { ...streamRef, RetentionPeriodHours: { type: 'integer', required: true } },
  AddTagsToStream: {
    ...streamRef,
    Tags: { type: 'map', required: true, key: tagKey, value: tagValue, min: 1, max: 200 },
  },
  RemoveTagsFromStream: { ...streamRef, TagKeys: { type: 'list', required: true, min: 1, max: 50, member: tagKey } },
  ListTagsForStream: {
    ...streamRef,
    ExclusiveStartTagKey: { type: 'string', min: 1, max: 128 },
    Limit: { type: 'integer', min: 1, max: 50 },
  },
  DescribeLimits: {},
};
