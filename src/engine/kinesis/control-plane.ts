import { KINESIS_LIMITS } from '../../client/api-limits.js';
import * as errors from './errors.js';
import { uniformRanges } from './hash-key.js';
import { endingSequence, formatSequence, parseShardId, shardIdOf } from './sequence.js';
import { DEFAULT_RETENTION_HOURS, type Input, type Shard, type Stream, type StreamRegistry } from './streams.js';

/** Streams and their shards: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams, ListShards. */

const ON_DEMAND_SHARDS = 4;
const MAX_STREAMS_CREATING = 5;
const NEXT_TOKEN_LIFETIME_MS = 300_000;

export function createStream(streams: StreamRegistry, input: Input): undefined {
  const name: string = input.StreamName;
  const requestedMode: string | undefined = input.StreamModeDetails?.StreamMode;
  let shardCount: number | undefined = input.ShardCount;
  let mode: Stream['mode'];
  if (requestedMode === 'ON_DEMAND') {
    if (shardCount !== undefined) throw errors.shardCountWithOnDemand();
    mode = 'ON_DEMAND';
    shardCount = ON_DEMAND_SHARDS;
  } else if (shardCount === undefined) {
    if (requestedMode === 'PROVISIONED') throw errors.shardCountMissingForProvisioned();
    // Neither given: AWS's behaviour is undocumented; on-demand with its initial 4 shards is the modern default.
    mode = 'ON_DEMAND';
    shardCount = ON_DEMAND_SHARDS;
  } else {
    mode = 'PROVISIONED';
  }
  if (streams.existing(name)) throw errors.streamExists(name, streams.accountId);
  const creating = [...streams.all()].filter((s) => streams.statusOf(s) === 'CREATING').length;
  if (creating >= MAX_STREAMS_CREATING) throw errors.tooManyStreamsCreating(streams.accountId, MAX_STREAMS_CREATING);
  streams.checkShardLimit(shardCount);
  const now = streams.now();
  const shardRows = uniformRanges(shardCount).map(([start, end], index) => ({
    shard_index: index,
    parent_index: null,
    adjacent_parent_index: null,
    start_hash: start.toString(),
    end_hash: end.toString(),
    created_ms: now,
    closed_ms: null,
    next_counter: 1,
  }));
  const tags = new Map(Object.entries((input.Tags ?? {}) as Record<string, string>));
  const stream: Stream = {
    id: 0,
    name,
    arn: streams.arnOf(name),
    createdMs: now,
    mode,
    retentionHours: DEFAULT_RETENTION_HOURS,
    maxRecordKiB: input.MaxRecordSizeInKiB ?? KINESIS_LIMITS.maxRecordBytes / 1024,
    tags,
    pendingStatus: 'ACTIVE',
    statusUntilMs: 0,
    shards: [],
    openShards: [],
  };
  streams.transitionTo(stream, 'CREATING');
  const { id: _unused, ...row } = streams.streamRow(stream);
  stream.id = streams.store.insertStream(row, shardRows);
  stream.shards = shardRows.map((r) => streams.shardFromRow(stream.id, r));
  streams.refreshRouting(stream);
  streams.add(stream);
  return undefined;
}

export function deleteStream(streams: StreamRegistry, input: Input): undefined {
  const stream = streams.resolveStream(input);
  if (streams.statusDelayMs === 0) {
    streams.drop(stream);
    return undefined;
  }
  streams.transitionTo(stream, 'DELETING');
  streams.save(stream);
  return undefined;
}

export function describeShard(shard: Shard): object {
  return {
    ShardId: shard.id,
    ...(shard.parentIndex !== null ? { ParentShardId: shardIdOf(shard.parentIndex) } : {}),
    ...(shard.adjacentParentIndex !== null ? { AdjacentParentShardId: shardIdOf(shard.adjacentParentIndex) } : {}),
    HashKeyRange: { StartingHashKey: shard.startHash.toString(), EndingHashKey: shard.endHash.toString() },
    SequenceNumberRange: {
      StartingSequenceNumber: formatSequence(shard.prefix, 0),
      ...(shard.closedMs !== null ? { EndingSequenceNumber: endingSequence(shard.prefix) } : {}),
    },
  };
}

function summaryFields(streams: StreamRegistry, stream: Stream) {
  return {
    StreamName: stream.name,
    StreamARN: stream.arn,
    StreamStatus: streams.statusOf(stream),
    StreamModeDetails: { StreamMode: stream.mode },
    RetentionPeriodHours: stream.retentionHours,
    StreamCreationTimestamp: stream.createdMs / 1000,
    EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
    EncryptionType: 'NONE',
  };
}

export function describeStream(streams: StreamRegistry, input: Input): object {
  const stream = streams.resolveStream(input);
  const limit = Math.min(input.Limit ?? 100, 100);
  let shards = streams.statusOf(stream) === 'CREATING' ? [] : streams.visibleShards(stream);
  if (input.ExclusiveStartShardId !== undefined) {
    const after = parseShardId(input.ExclusiveStartShardId) ?? -1;
    shards = shards.filter((s) => s.index > after);
  }
  const page = shards.slice(0, limit);
  const summary = summaryFields(streams, stream);
  return {
    StreamDescription: {
      StreamName: summary.StreamName,
      StreamARN: summary.StreamARN,
      StreamStatus: summary.StreamStatus,
      StreamModeDetails: summary.StreamModeDetails,
      Shards: page.map(describeShard),
      HasMoreShards: shards.length > page.length,
      RetentionPeriodHours: summary.RetentionPeriodHours,
      StreamCreationTimestamp: summary.StreamCreationTimestamp,
      EnhancedMonitoring: summary.EnhancedMonitoring,
      EncryptionType: summary.EncryptionType,
    },
  };
}

export function describeStreamSummary(streams: StreamRegistry, input: Input): object {
  const stream = streams.resolveStream(input);
  return {
    StreamDescriptionSummary: {
      ...summaryFields(streams, stream),
      OpenShardCount: streams.statusOf(stream) === 'CREATING' ? 0 : stream.openShards.length,
      ConsumerCount: 0,
      MaxRecordSizeInKiB: stream.maxRecordKiB,
    },
  };
}

function encodeNextToken(streams: StreamRegistry, payload: object): string {
  return Buffer.from(JSON.stringify({ ...payload, issuedMs: streams.now() })).toString('base64');
}

function decodeNextToken<T extends object>(streams: StreamRegistry, token: string): T {
  let payload: T & { issuedMs: number };
  try {
    payload = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw errors.invalidNextToken(token);
  }
  if (typeof payload !== 'object' || payload === null || typeof payload.issuedMs !== 'number')
    throw errors.invalidNextToken(token);
  if (streams.now() - payload.issuedMs > NEXT_TOKEN_LIFETIME_MS)
    throw errors.expiredNextToken(NEXT_TOKEN_LIFETIME_MS / 1000);
  return payload;
}

export function listStreams(streams: StreamRegistry, input: Input): object {
  const limit: number = input.Limit ?? 100;
  let after: string | undefined = input.ExclusiveStartStreamName;
  if (input.NextToken !== undefined) after = decodeNextToken<{ after: string }>(streams, input.NextToken).after;
  const names = streams
    .names()
    .filter((n) => streams.existing(n))
    .sort();
  const remaining = after === undefined ? names : names.filter((n) => n > after);
  const page = remaining.slice(0, limit);
  const hasMore = remaining.length > page.length;
  return {
    StreamNames: page,
    HasMoreStreams: hasMore,
    ...(hasMore ? { NextToken: encodeNextToken(streams, { after: page[page.length - 1] }) } : {}),
    StreamSummaries: page.map((n) => {
      const s = streams.get(n)!;
      return {
        StreamName: s.name,
        StreamARN: s.arn,
        StreamStatus: streams.statusOf(s),
        StreamModeDetails: { StreamMode: s.mode },
        StreamCreationTimestamp: s.createdMs / 1000,
      };
    }),
  };
}

interface ListShardsToken {
  stream: string;
  streamId: number;
  after: number;
  filter?: { Type: string; ShardId?: string; Timestamp?: number };
}

export function listShards(streams: StreamRegistry, input: Input): object {
  let token: ListShardsToken | undefined;
  if (input.NextToken !== undefined) {
    if (input.StreamName !== undefined) throw errors.nextTokenWith('StreamName');
    if (input.StreamARN !== undefined) throw errors.nextTokenWith('StreamARN');
    if (input.ExclusiveStartShardId !== undefined) throw errors.nextTokenWith('ExclusiveStartShardId');
    token = decodeNextToken<ListShardsToken>(streams, input.NextToken);
  } else if (input.StreamName === undefined && input.StreamARN === undefined) {
    throw errors.neitherNextTokenNorStream();
  }
  const stream = token ? streams.existing(token.stream) : streams.resolveStream(input);
  if (!stream || (token && stream.id !== token.streamId)) throw streams.notFound(token?.stream ?? input.StreamName);
  if (
    input.StreamCreationTimestamp !== undefined &&
    Math.floor(input.StreamCreationTimestamp / 1000) !== Math.floor(stream.createdMs / 1000)
  ) {
    throw streams.notFound(stream.name);
  }
  if (streams.statusOf(stream) === 'CREATING') throw errors.streamStillCreating(stream.name, streams.accountId);
  const filter = token?.filter ?? input.ShardFilter;
  let after =
    token?.after ??
    (input.ExclusiveStartShardId !== undefined ? (parseShardId(input.ExclusiveStartShardId) ?? -1) : -1);
  let shards = streams.visibleShards(stream);
  if (filter) shards = applyShardFilter(streams, stream, shards, filter);
  if (filter?.Type === 'AFTER_SHARD_ID' && !token) {
    if (filter.ShardId === undefined) throw errors.shardFilterWithoutShardId();
    after = Math.max(after, parseShardId(filter.ShardId) ?? -1);
  }
  shards = shards.filter((s) => s.index > after);
  const limit = Math.min(input.MaxResults ?? 1000, 1000);
  const page = shards.slice(0, limit);
  const more = shards.length > page.length;
  return {
    Shards: page.map(describeShard),
    ...(more
      ? {
          NextToken: encodeNextToken(streams, {
            stream: stream.name,
            streamId: stream.id,
            after: page[page.length - 1].index,
            filter,
          }),
        }
      : {}),
  };
}

function applyShardFilter(
  streams: StreamRegistry,
  stream: Stream,
  shards: Shard[],
  filter: { Type: string; Timestamp?: number },
): Shard[] {
  const openAt = (t: number) => shards.filter((s) => s.createdMs <= t && (s.closedMs === null || s.closedMs > t));
  const needTimestamp = () => {
    if (filter.Timestamp === undefined) throw errors.shardFilterWithoutTimestamp(filter.Type);
    return Math.max(filter.Timestamp, stream.createdMs);
  };
  switch (filter.Type) {
    case 'AT_LATEST':
      return shards.filter((s) => s.closedMs === null);
    case 'AT_TRIM_HORIZON':
      return openAt(Math.max(stream.createdMs, streams.retentionCutoff(stream)));
    case 'AT_TIMESTAMP':
      return openAt(needTimestamp());
    case 'FROM_TIMESTAMP': {
      const t = needTimestamp();
      return shards.filter((s) => s.closedMs === null || s.closedMs >= t);
    }
    default:
      return shards;
  }
}
