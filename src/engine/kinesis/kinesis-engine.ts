import { AwsApiError } from '../../client/api-error.js';
import { hashKeyToHex, parseExplicitHashKey, partitionKeyHashHex, uniformRanges } from './hash-key.js';
import { IteratorCodec, type IteratorPosition } from './iterator.js';
import { OPERATIONS } from './models.js';
import { acceptValidPutRecords } from './put-records-fast-path.js';
import { decodeSequence, endingSequence, formatSequence, parseShardId, sequencePrefix, shardIdOf } from './sequence.js';
import { DamagedSegmentError } from './segment-format.js';
import type { DamagedRange, KinesisStore, SegmentRow, ShardRow, StreamRow } from './store.js';
import { ShardThroughput } from './throughput.js';
import { checkConstraints, checkTypes } from './validate.js';

export interface KinesisEngineOptions {
  store: KinesisStore;
  now?: () => number;
  /** How long CREATING, UPDATING and DELETING last; 0 makes every change visible at once. */
  statusDelayMs?: number;
  /** Per-shard read and write quotas of provisioned Kinesis; off by default for local use. */
  enforceLimits?: boolean;
  /** Open shards allowed across all streams, as the account shard quota. */
  shardLimit?: number;
  region?: string;
  accountId?: string;
}

type Input = Record<string, any>;
type StreamStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';

interface Shard {
  index: number;
  id: string;
  parentIndex: number | null;
  adjacentParentIndex: number | null;
  startHash: bigint;
  endHash: bigint;
  startHex: string;
  createdMs: number;
  closedMs: number | null;
  nextCounter: number;
  /** Arrival times never go backwards within a shard, so AT_TIMESTAMP can trust counter order. */
  lastArrivalMs: number;
  prefix: string;
  throughput?: ShardThroughput;
}

interface Stream {
  id: number;
  name: string;
  arn: string;
  createdMs: number;
  mode: 'PROVISIONED' | 'ON_DEMAND';
  retentionHours: number;
  maxRecordKiB: number;
  tags: Map<string, string>;
  pendingStatus: StreamStatus;
  statusUntilMs: number;
  shards: Shard[];
  /** Open shards sorted by starting hash key: the routing table. */
  openShards: Shard[];
}

interface PendingRecord {
  partitionKey: string;
  /** UTF-8 length of the partition key, which counts toward every size limit. */
  keyBytes: number;
  data: Buffer;
  shard: Shard;
}

const DEFAULT_RETENTION_HOURS = 24;
const MAX_RETENTION_HOURS = 8760;
const ON_DEMAND_SHARDS = 4;
const MAX_STREAMS_CREATING = 5;
const MAX_TAGS_PER_STREAM = 50;
const GET_RECORDS_MAX_BYTES = 10 * 1024 * 1024;
const NEXT_TOKEN_LIFETIME_MS = 300_000;
const HOUR_MS = 3_600_000;

/**
 * The Kinesis Data Streams API over a KinesisStore. Transport-free: `call` takes the action name and
 * the parsed JSON body and returns the JSON response text, or throws AwsApiError; the HTTP server
 * and the in-process client both go through it, so they cannot differ.
 */
export class KinesisEngine {
  private readonly store: KinesisStore;
  private readonly now: () => number;
  private readonly statusDelayMs: number;
  private readonly enforceLimits: boolean;
  private readonly shardLimit: number;
  readonly region: string;
  readonly accountId: string;
  private readonly iterators: IteratorCodec;
  private readonly streams = new Map<string, Stream>();

  constructor(options: KinesisEngineOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.statusDelayMs = options.statusDelayMs ?? 0;
    this.enforceLimits = options.enforceLimits ?? false;
    this.shardLimit = options.shardLimit ?? 10_000;
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.iterators = new IteratorCodec(this.store.iteratorSecret());
    this.load();
  }

  private load(): void {
    const shardsByStream = new Map<number, ShardRow[]>();
    for (const row of this.store.loadShards()) {
      const list = shardsByStream.get(row.stream_id) ?? [];
      list.push(row);
      shardsByStream.set(row.stream_id, list);
    }
    for (const row of this.store.loadStreams()) {
      const stream: Stream = {
        id: row.id,
        name: row.name,
        arn: this.arnOf(row.name),
        createdMs: row.created_ms,
        mode: row.mode as Stream['mode'],
        retentionHours: row.retention_hours,
        maxRecordKiB: row.max_record_kib,
        tags: new Map(Object.entries(JSON.parse(row.tags) as Record<string, string>)),
        pendingStatus: row.status as StreamStatus,
        statusUntilMs: row.status_until_ms,
        shards: [],
        openShards: [],
      };
      for (const shardRow of shardsByStream.get(row.id) ?? []) {
        stream.shards.push(this.shardFromRow(stream.id, shardRow));
      }
      this.refreshRouting(stream);
      this.streams.set(stream.name, stream);
    }
  }

  private shardFromRow(streamId: number, row: Omit<ShardRow, 'stream_id'>): Shard {
    const startHash = BigInt(row.start_hash);
    return {
      index: row.shard_index,
      id: shardIdOf(row.shard_index),
      parentIndex: row.parent_index,
      adjacentParentIndex: row.adjacent_parent_index,
      startHash,
      endHash: BigInt(row.end_hash),
      startHex: hashKeyToHex(startHash),
      createdMs: row.created_ms,
      closedMs: row.closed_ms,
      nextCounter: Math.max(1, row.next_counter),
      lastArrivalMs: 0,
      prefix: sequencePrefix(streamId, row.shard_index),
    };
  }

  private shardRow(stream: Stream, shard: Shard): ShardRow {
    return {
      stream_id: stream.id,
      shard_index: shard.index,
      parent_index: shard.parentIndex,
      adjacent_parent_index: shard.adjacentParentIndex,
      start_hash: shard.startHash.toString(),
      end_hash: shard.endHash.toString(),
      created_ms: shard.createdMs,
      closed_ms: shard.closedMs,
      next_counter: shard.nextCounter,
    };
  }

  private streamRow(stream: Stream): StreamRow {
    return {
      id: stream.id,
      name: stream.name,
      created_ms: stream.createdMs,
      mode: stream.mode,
      retention_hours: stream.retentionHours,
      max_record_kib: stream.maxRecordKiB,
      tags: JSON.stringify(Object.fromEntries(stream.tags)),
      status: stream.pendingStatus,
      status_until_ms: stream.statusUntilMs,
    };
  }

  private refreshRouting(stream: Stream): void {
    stream.openShards = stream.shards.filter((s) => s.closedMs === null).sort((a, b) => (a.startHash < b.startHash ? -1 : 1));
  }

  private arnOf(name: string): string {
    return `arn:aws:kinesis:${this.region}:${this.accountId}:stream/${name}`;
  }

  /**
   * Runs one API action and returns its output as a plain JSON-compatible object (undefined for
   * operations without output). Blobs arrive as base64 text from HTTP, or as bytes from the
   * in-process client; both go through the same checks, so both see the same results and errors.
   */
  call(action: string, body: Input): object | undefined {
    // Own properties only: a name such as `valueOf` or `__proto__` must not reach Object.prototype.
    const members = Object.hasOwn(OPERATIONS, action) ? OPERATIONS[action] : undefined;
    const handler = Object.hasOwn(this.handlers, action) ? this.handlers[action] : undefined;
    if (!members || !handler) throw new AwsApiError('UnknownOperationException', `Operation ${action} is not supported by this engine.`, 400);
    if (action === 'PutRecords') {
      const valid = acceptValidPutRecords(body);
      if (valid !== undefined) return this.putRecords(valid);
    }
    const input = checkTypes(members, body);
    checkConstraints(members, input);
    return handler.call(this, input);
  }

  private readonly handlers: Record<string, (input: Input) => object | undefined> = {
    CreateStream: this.createStream,
    DeleteStream: this.deleteStream,
    DescribeStream: this.describeStream,
    DescribeStreamSummary: this.describeStreamSummary,
    ListStreams: this.listStreams,
    ListShards: this.listShards,
    PutRecord: this.putRecord,
    PutRecords: this.putRecords,
    GetShardIterator: this.getShardIterator,
    GetRecords: this.getRecords,
    SplitShard: this.splitShard,
    MergeShards: this.mergeShards,
    UpdateShardCount: this.updateShardCount,
    IncreaseStreamRetentionPeriod: this.increaseRetention,
    DecreaseStreamRetentionPeriod: this.decreaseRetention,
    AddTagsToStream: this.addTags,
    RemoveTagsFromStream: this.removeTags,
    ListTagsForStream: this.listTags,
    DescribeLimits: this.describeLimits,
  };

  // ---- streams and status ------------------------------------------------------------------------

  private statusOf(stream: Stream): StreamStatus {
    if (stream.pendingStatus === 'ACTIVE' || this.now() < stream.statusUntilMs) return stream.pendingStatus;
    return stream.pendingStatus === 'DELETING' ? 'DELETING' : 'ACTIVE';
  }

  /** Finishes deletions whose DELETING period is over; returns the stream only if it still exists. */
  private existing(name: string): Stream | undefined {
    const stream = this.streams.get(name);
    if (stream && stream.pendingStatus === 'DELETING' && this.now() >= stream.statusUntilMs) {
      this.streams.delete(name);
      this.store.deleteStream(stream.id);
      return undefined;
    }
    return stream;
  }

  private notFound(name: string): AwsApiError {
    return new AwsApiError('ResourceNotFoundException', `Stream ${name} under account ${this.accountId} not found.`, 400);
  }

  private resolveStream(input: Input): Stream {
    const name: string | undefined = input.StreamName;
    const arn: string | undefined = input.StreamARN;
    if (name === undefined && arn === undefined) {
      throw new AwsApiError('InvalidArgumentException', 'Either StreamName or StreamARN should be provided.', 400);
    }
    const nameFromArn = arn === undefined ? undefined : arn.slice(arn.indexOf(':stream/') + 8);
    if (name !== undefined && nameFromArn !== undefined && name !== nameFromArn) {
      throw new AwsApiError('InvalidArgumentException', `StreamARN ${arn} and StreamName ${name} refer to different streams.`, 400);
    }
    const streamName = (name ?? nameFromArn)!;
    const stream = this.existing(streamName);
    if (!stream || (arn !== undefined && arn !== stream.arn)) throw this.notFound(streamName);
    return stream;
  }

  /** Data-plane calls need the stream readable and writable: ACTIVE or UPDATING. */
  private resolveLiveStream(input: Input): Stream {
    const stream = this.resolveStream(input);
    const status = this.statusOf(stream);
    if (status !== 'ACTIVE' && status !== 'UPDATING') throw this.notFound(stream.name);
    return stream;
  }

  /** Control-plane changes need the stream ACTIVE. */
  private resolveActiveStream(input: Input): Stream {
    const stream = this.resolveStream(input);
    const status = this.statusOf(stream);
    if (status !== 'ACTIVE') {
      throw new AwsApiError('ResourceInUseException', `Stream ${stream.name} under account ${this.accountId} not ACTIVE, instead in state ${status}`, 400);
    }
    return stream;
  }

  private openShardCount(): number {
    let count = 0;
    for (const name of [...this.streams.keys()]) {
      const stream = this.existing(name);
      if (stream) count += stream.openShards.length;
    }
    return count;
  }

  private checkShardLimit(additional: number): void {
    const current = this.openShardCount();
    if (current + additional > this.shardLimit) {
      throw new AwsApiError(
        'LimitExceededException',
        `This request would exceed the shard limit for the account ${this.accountId} in ${this.region}. Current shard count for the account: ${current}. Limit: ${this.shardLimit}. Number of additional shards that would have resulted from this request: ${additional}. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.`,
        400,
      );
    }
  }

  private transitionTo(stream: Stream, status: StreamStatus): void {
    stream.pendingStatus = this.statusDelayMs > 0 || status === 'DELETING' ? status : 'ACTIVE';
    stream.statusUntilMs = this.now() + this.statusDelayMs;
  }

  private createStream(input: Input): undefined {
    const name: string = input.StreamName;
    const requestedMode: string | undefined = input.StreamModeDetails?.StreamMode;
    let shardCount: number | undefined = input.ShardCount;
    let mode: Stream['mode'];
    if (requestedMode === 'ON_DEMAND') {
      if (shardCount !== undefined) throw new AwsApiError('InvalidArgumentException', 'ShardCount is not expected when StreamMode=ON_DEMAND.', 400);
      mode = 'ON_DEMAND';
      shardCount = ON_DEMAND_SHARDS;
    } else if (shardCount === undefined) {
      if (requestedMode === 'PROVISIONED') throw new AwsApiError('InvalidArgumentException', 'ShardCount is required when StreamMode=PROVISIONED.', 400);
      // Neither given: AWS's behaviour is undocumented; on-demand with its initial 4 shards is the modern default.
      mode = 'ON_DEMAND';
      shardCount = ON_DEMAND_SHARDS;
    } else {
      mode = 'PROVISIONED';
    }
    if (this.existing(name)) throw new AwsApiError('ResourceInUseException', `Stream ${name} under account ${this.accountId} already exists.`, 400);
    const creating = [...this.streams.values()].filter((s) => this.statusOf(s) === 'CREATING').length;
    if (creating >= MAX_STREAMS_CREATING) {
      throw new AwsApiError('LimitExceededException', `Number of streams in CREATING state for account ${this.accountId} exceeds the limit of ${MAX_STREAMS_CREATING}.`, 400);
    }
    this.checkShardLimit(shardCount);
    const now = this.now();
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
      arn: this.arnOf(name),
      createdMs: now,
      mode,
      retentionHours: DEFAULT_RETENTION_HOURS,
      maxRecordKiB: input.MaxRecordSizeInKiB ?? 1024,
      tags,
      pendingStatus: 'ACTIVE',
      statusUntilMs: 0,
      shards: [],
      openShards: [],
    };
    this.transitionTo(stream, 'CREATING');
    const { id: _unused, ...row } = this.streamRow(stream);
    stream.id = this.store.insertStream(row, shardRows);
    stream.shards = shardRows.map((r) => this.shardFromRow(stream.id, r));
    this.refreshRouting(stream);
    this.streams.set(name, stream);
    return undefined;
  }

  private deleteStream(input: Input): undefined {
    const stream = this.resolveStream(input);
    if (this.statusDelayMs === 0) {
      this.streams.delete(stream.name);
      this.store.deleteStream(stream.id);
      return undefined;
    }
    this.transitionTo(stream, 'DELETING');
    this.store.saveStream(this.streamRow(stream));
    return undefined;
  }

  private retentionCutoff(stream: Stream): number {
    return this.now() - stream.retentionHours * HOUR_MS;
  }

  /** Closed shards vanish once every record they held is past retention. */
  private visibleShards(stream: Stream): Shard[] {
    const cutoff = this.retentionCutoff(stream);
    return stream.shards.filter((s) => s.closedMs === null || s.closedMs >= cutoff);
  }

  private describeShard(shard: Shard): object {
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

  private summaryFields(stream: Stream) {
    return {
      StreamName: stream.name,
      StreamARN: stream.arn,
      StreamStatus: this.statusOf(stream),
      StreamModeDetails: { StreamMode: stream.mode },
      RetentionPeriodHours: stream.retentionHours,
      StreamCreationTimestamp: stream.createdMs / 1000,
      EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
      EncryptionType: 'NONE',
    };
  }

  private describeStream(input: Input): object {
    const stream = this.resolveStream(input);
    const limit = Math.min(input.Limit ?? 100, 100);
    let shards = this.statusOf(stream) === 'CREATING' ? [] : this.visibleShards(stream);
    if (input.ExclusiveStartShardId !== undefined) {
      const after = parseShardId(input.ExclusiveStartShardId) ?? -1;
      shards = shards.filter((s) => s.index > after);
    }
    const page = shards.slice(0, limit);
    const summary = this.summaryFields(stream);
    return {
      StreamDescription: {
        StreamName: summary.StreamName,
        StreamARN: summary.StreamARN,
        StreamStatus: summary.StreamStatus,
        StreamModeDetails: summary.StreamModeDetails,
        Shards: page.map((s) => this.describeShard(s)),
        HasMoreShards: shards.length > page.length,
        RetentionPeriodHours: summary.RetentionPeriodHours,
        StreamCreationTimestamp: summary.StreamCreationTimestamp,
        EnhancedMonitoring: summary.EnhancedMonitoring,
        EncryptionType: summary.EncryptionType,
      },
    };
  }

  private describeStreamSummary(input: Input): object {
    const stream = this.resolveStream(input);
    return {
      StreamDescriptionSummary: {
        ...this.summaryFields(stream),
        OpenShardCount: this.statusOf(stream) === 'CREATING' ? 0 : stream.openShards.length,
        ConsumerCount: 0,
        MaxRecordSizeInKiB: stream.maxRecordKiB,
      },
    };
  }

  private encodeNextToken(payload: object): string {
    return Buffer.from(JSON.stringify({ ...payload, issuedMs: this.now() })).toString('base64');
  }

  private decodeNextToken<T extends object>(token: string): T {
    let payload: T & { issuedMs: number };
    try {
      payload = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    } catch {
      throw new AwsApiError('InvalidArgumentException', `Invalid NextToken: ${token}`, 400);
    }
    if (typeof payload !== 'object' || payload === null || typeof payload.issuedMs !== 'number') {
      throw new AwsApiError('InvalidArgumentException', `Invalid NextToken: ${token}`, 400);
    }
    if (this.now() - payload.issuedMs > NEXT_TOKEN_LIFETIME_MS) {
      throw new AwsApiError('ExpiredNextTokenException', `The nextToken has expired. Tokens are valid for ${NEXT_TOKEN_LIFETIME_MS / 1000} seconds.`, 400);
    }
    return payload;
  }

  private listStreams(input: Input): object {
    const limit: number = input.Limit ?? 100;
    let after: string | undefined = input.ExclusiveStartStreamName;
    if (input.NextToken !== undefined) after = this.decodeNextToken<{ after: string }>(input.NextToken).after;
    const names = [...this.streams.keys()].filter((n) => this.existing(n)).sort();
    const remaining = after === undefined ? names : names.filter((n) => n > after!);
    const page = remaining.slice(0, limit);
    const hasMore = remaining.length > page.length;
    return {
      StreamNames: page,
      HasMoreStreams: hasMore,
      ...(hasMore ? { NextToken: this.encodeNextToken({ after: page[page.length - 1] }) } : {}),
      StreamSummaries: page.map((n) => {
        const s = this.streams.get(n)!;
        return { StreamName: s.name, StreamARN: s.arn, StreamStatus: this.statusOf(s), StreamModeDetails: { StreamMode: s.mode }, StreamCreationTimestamp: s.createdMs / 1000 };
      }),
    };
  }

  private listShards(input: Input): object {
    interface ListShardsToken {
      stream: string;
      streamId: number;
      after: number;
      filter?: { Type: string; ShardId?: string; Timestamp?: number };
    }
    let token: ListShardsToken | undefined;
    if (input.NextToken !== undefined) {
      if (input.StreamName !== undefined) throw new AwsApiError('InvalidArgumentException', 'NextToken and StreamName cannot be provided together.', 400);
      if (input.StreamARN !== undefined) throw new AwsApiError('InvalidArgumentException', 'NextToken and StreamARN cannot be provided together.', 400);
      if (input.ExclusiveStartShardId !== undefined) throw new AwsApiError('InvalidArgumentException', 'NextToken and ExclusiveStartShardId cannot be provided together.', 400);
      token = this.decodeNextToken<ListShardsToken>(input.NextToken);
    } else if (input.StreamName === undefined && input.StreamARN === undefined) {
      throw new AwsApiError('InvalidArgumentException', 'Either NextToken or StreamName should be provided.', 400);
    }
    const stream = token ? this.existing(token.stream) : this.resolveStream(input);
    if (!stream || (token && stream.id !== token.streamId)) throw this.notFound(token?.stream ?? input.StreamName);
    if (input.StreamCreationTimestamp !== undefined && Math.floor(input.StreamCreationTimestamp / 1000) !== Math.floor(stream.createdMs / 1000)) {
      throw this.notFound(stream.name);
    }
    if (this.statusOf(stream) === 'CREATING') {
      throw new AwsApiError('ResourceInUseException', `Stream ${stream.name} under account ${this.accountId} is not ACTIVE, instead in state CREATING`, 400);
    }
    const filter = token?.filter ?? input.ShardFilter;
    let after = token?.after ?? (input.ExclusiveStartShardId !== undefined ? parseShardId(input.ExclusiveStartShardId) ?? -1 : -1);
    let shards = this.visibleShards(stream);
    if (filter) shards = this.applyShardFilter(stream, shards, filter);
    if (filter?.Type === 'AFTER_SHARD_ID' && !token) {
      if (filter.ShardId === undefined) throw new AwsApiError('InvalidArgumentException', 'ShardId must be provided with ShardFilter type AFTER_SHARD_ID.', 400);
      after = Math.max(after, parseShardId(filter.ShardId) ?? -1);
    }
    shards = shards.filter((s) => s.index > after);
    const limit = Math.min(input.MaxResults ?? 1000, 1000);
    const page = shards.slice(0, limit);
    const more = shards.length > page.length;
    return {
      Shards: page.map((s) => this.describeShard(s)),
      ...(more ? { NextToken: this.encodeNextToken({ stream: stream.name, streamId: stream.id, after: page[page.length - 1].index, filter }) } : {}),
    };
  }

  private applyShardFilter(stream: Stream, shards: Shard[], filter: { Type: string; Timestamp?: number }): Shard[] {
    const openAt = (t: number) => shards.filter((s) => s.createdMs <= t && (s.closedMs === null || s.closedMs > t));
    const needTimestamp = () => {
      if (filter.Timestamp === undefined) throw new AwsApiError('InvalidArgumentException', `Timestamp must be provided with ShardFilter type ${filter.Type}.`, 400);
      return Math.max(filter.Timestamp, stream.createdMs);
    };
    switch (filter.Type) {
      case 'AT_LATEST':
        return shards.filter((s) => s.closedMs === null);
      case 'AT_TRIM_HORIZON':
        return openAt(Math.max(stream.createdMs, this.retentionCutoff(stream)));
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

  // ---- writing -----------------------------------------------------------------------------------

  private route(stream: Stream, partitionKey: string, explicitHashKey: string | undefined): Shard {
    const open = stream.openShards;
    if (explicitHashKey === undefined && open.length === 1) return open[0];
    let hex: string;
    if (explicitHashKey !== undefined) {
      const value = parseExplicitHashKey(explicitHashKey);
      if (value === undefined) {
        throw new AwsApiError('InvalidArgumentException', `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ${explicitHashKey}`, 400);
      }
      hex = hashKeyToHex(value);
    } else {
      hex = partitionKeyHashHex(partitionKey);
    }
    // Open shards tile the key space, so the last one starting at or below the key holds it.
    let lo = 0;
    let hi = open.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (open[mid].startHex <= hex) lo = mid;
      else hi = mid - 1;
    }
    return open[lo];
  }

  private checkRecordSize(stream: Stream, keyBytes: number, dataBytes: number): void {
    const maxBytes = stream.maxRecordKiB * 1024;
    if (dataBytes + keyBytes > maxBytes) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `Record size of ${dataBytes + keyBytes} bytes (data plus partition key) exceeds the maximum record size of ${maxBytes} bytes for stream ${stream.name} under account ${this.accountId}.`,
        400,
      );
    }
  }

  private throttledMessage(stream: Stream, shard: Shard): string {
    return `Rate exceeded for shard ${shard.id} in stream ${stream.name} under account ${this.accountId}.`;
  }

  private throughputOf(shard: Shard, now: number): ShardThroughput {
    return (shard.throughput ??= new ShardThroughput(now));
  }

  /**
   * Stores accepted records as one segment per shard with consecutive counters, committed in one
   * transaction before anything is answered. Returns each record's sequence number.
   */
  private commit(stream: Stream, records: PendingRecord[]): string[] {
    const now = this.now();
    const byShard = new Map<Shard, number[]>();
    for (let i = 0; i < records.length; i++) {
      const positions = byShard.get(records[i].shard);
      if (positions) positions.push(i);
      else byShard.set(records[i].shard, [i]);
    }
    const sequences = new Array<string>(records.length);
    const segments = [];
    for (const [shard, positions] of byShard) {
      let size = 0;
      for (const i of positions) size += 6 + records[i].keyBytes + records[i].data.length;
      const payload = Buffer.allocUnsafe(size);
      let offset = 0;
      for (const i of positions) {
        const { partitionKey, keyBytes, data } = records[i];
        offset = payload.writeUInt16BE(keyBytes, offset);
        if (keyBytes === partitionKey.length && keyBytes <= 64) {
          // Short ASCII keys, the usual case: a plain loop beats a call into the UTF-8 encoder.
          for (let k = 0; k < keyBytes; k++) payload[offset + k] = partitionKey.charCodeAt(k);
          offset += keyBytes;
        } else {
          offset += payload.write(partitionKey, offset, keyBytes, 'utf8');
        }
        offset = payload.writeUInt32BE(data.length, offset);
        offset += data.copy(payload, offset);
      }
      const arrivalMs = Math.max(now, shard.lastArrivalMs);
      segments.push({ streamId: stream.id, shardIndex: shard.index, firstCounter: shard.nextCounter, lastCounter: shard.nextCounter + positions.length - 1, arrivalMs, payload });
    }
    this.store.writeSegments(segments);
    let segment = 0;
    for (const [shard, positions] of byShard) {
      const first = segments[segment++].firstCounter;
      const last = first + positions.length - 1;
      if (String(first).length === String(last).length) {
        // Same digit count throughout: one shared zero-padded prefix, then each counter as is.
        const padded = formatSequence(shard.prefix, first).slice(0, -String(first).length);
        for (let k = 0; k < positions.length; k++) sequences[positions[k]] = padded + (first + k);
      } else {
        for (let k = 0; k < positions.length; k++) sequences[positions[k]] = formatSequence(shard.prefix, first + k);
      }
      shard.nextCounter = first + positions.length;
      shard.lastArrivalMs = Math.max(now, shard.lastArrivalMs);
    }
    return sequences;
  }

  private putRecord(input: Input): object {
    const stream = this.resolveLiveStream(input);
    const partitionKey: string = input.PartitionKey;
    const keyBytes = Buffer.byteLength(partitionKey, 'utf8');
    const data = input.Data as Buffer;
    this.checkRecordSize(stream, keyBytes, data.length);
    const shard = this.route(stream, input.PartitionKey, input.ExplicitHashKey);
    if (input.SequenceNumberForOrdering !== undefined) {
      const decoded = decodeSequence(input.SequenceNumberForOrdering);
      if (!decoded || decoded.streamId !== stream.id) {
        throw new AwsApiError(
          'InvalidArgumentException',
          `ExclusiveMinimumSequenceNumber ${input.SequenceNumberForOrdering} used in PutRecord on stream ${stream.name} under account ${this.accountId} is invalid.`,
          400,
        );
      }
    }
    if (this.enforceLimits && !this.throughputOf(shard, this.now()).admitWrite(data.length + keyBytes, this.now())) {
      throw new AwsApiError('ProvisionedThroughputExceededException', this.throttledMessage(stream, shard), 400);
    }
    const [sequenceNumber] = this.commit(stream, [{ partitionKey, keyBytes, data, shard }]);
    return { ShardId: shard.id, SequenceNumber: sequenceNumber, EncryptionType: 'NONE' };
  }

  private putRecords(input: Input): object {
    const stream = this.resolveLiveStream(input);
    const entries = input.Records as Array<{ Data: Buffer; PartitionKey: string; ExplicitHashKey?: string }>;
    const maxRequestBytes = stream.maxRecordKiB > 1024 ? 10 * 1024 * 1024 : 5 * 1024 * 1024;
    const pending: PendingRecord[] = new Array(entries.length);
    let total = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const keyBytes = Buffer.byteLength(entry.PartitionKey, 'utf8');
      this.checkRecordSize(stream, keyBytes, entry.Data.length);
      total += keyBytes + entry.Data.length;
      pending[i] = { partitionKey: entry.PartitionKey, keyBytes, data: entry.Data, shard: this.route(stream, entry.PartitionKey, entry.ExplicitHashKey) };
    }
    if (total > maxRequestBytes) throw new AwsApiError('InvalidArgumentException', `Records size exceeds ${maxRequestBytes / (1024 * 1024)} MB limit`, 400);

    let accepted = pending;
    let throttled: boolean[] | undefined;
    if (this.enforceLimits) {
      const now = this.now();
      throttled = pending.map((r) => !this.throughputOf(r.shard, now).admitWrite(r.data.length + r.keyBytes, now));
      accepted = pending.filter((_, i) => !throttled![i]);
    }
    const sequences = accepted.length > 0 ? this.commit(stream, accepted) : [];
    const results = new Array<object>(pending.length);
    let next = 0;
    let failed = 0;
    for (let i = 0; i < pending.length; i++) {
      if (throttled?.[i]) {
        failed++;
        results[i] = { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: this.throttledMessage(stream, pending[i].shard) };
      } else {
        results[i] = { SequenceNumber: sequences[next++], ShardId: pending[i].shard.id };
      }
    }
    return { FailedRecordCount: failed, Records: results, EncryptionType: 'NONE' };
  }

  // ---- reading -----------------------------------------------------------------------------------

  private findShard(stream: Stream, shardIdText: string): Shard {
    const index = parseShardId(shardIdText);
    if (index === undefined) {
      throw new AwsApiError('ResourceNotFoundException', `Could not find shard ${shardIdText} in stream ${stream.name} under account ${this.accountId}.`, 400);
    }
    const shard = this.visibleShards(stream).find((s) => s.index === index);
    if (!shard) throw new AwsApiError('ResourceNotFoundException', `Shard ${shardIdOf(index)} in stream ${stream.name} under account ${this.accountId} does not exist`, 400);
    return shard;
  }

  private getShardIterator(input: Input): object {
    const stream = this.resolveLiveStream(input);
    const shard = this.findShard(stream, input.ShardId);
    const type: string = input.ShardIteratorType;
    const sequence: string | undefined = input.StartingSequenceNumber;
    const bySequence = type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER';
    if (bySequence && sequence === undefined) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified ${type} and no StartingSequenceNumber.`,
        400,
      );
    }
    if (!bySequence && sequence !== undefined) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified ${type} and also a StartingSequenceNumber.`,
        400,
      );
    }
    const now = this.now();
    let counter: number;
    switch (type) {
      case 'TRIM_HORIZON':
        counter = 0;
        break;
      case 'LATEST':
        counter = shard.nextCounter;
        break;
      case 'AT_TIMESTAMP': {
        const timestamp: number | undefined = input.Timestamp;
        if (timestamp === undefined) {
          throw new AwsApiError('InvalidArgumentException', 'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.', 400);
        }
        if (timestamp > now) {
          throw new AwsApiError(
            'InvalidArgumentException',
            `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ${timestamp}, currentTimestampInMillis: ${now}`,
            400,
          );
        }
        counter = this.store.firstCounterAtOrAfter(stream.id, shard.index, timestamp) ?? shard.nextCounter;
        break;
      }
      default: {
        const decoded = decodeSequence(sequence!);
        if (!decoded) {
          throw new AwsApiError(
            'InvalidArgumentException',
            `StartingSequenceNumber ${sequence} used in GetShardIterator on shard ${shard.id} in stream ${stream.name} under account ${this.accountId} is invalid.`,
            400,
          );
        }
        if (decoded.streamId !== stream.id) {
          throw new AwsApiError(
            'InvalidArgumentException',
            `StartingSequenceNumber ${sequence} used in GetShardIterator on shard ${shard.id} in stream ${stream.name} under account ${this.accountId} is invalid because it did not come from this stream.`,
            400,
          );
        }
        if (decoded.shardIndex !== shard.index) {
          throw new AwsApiError('InvalidArgumentException', `Invalid StartingSequenceNumber. It encodes ${shardIdOf(decoded.shardIndex)}, while it was used in a call to a shard with ${shard.id}`, 400);
        }
        counter = type === 'AT_SEQUENCE_NUMBER' ? decoded.counter : Math.min(decoded.counter + 1, Number.MAX_SAFE_INTEGER);
      }
    }
    return { ShardIterator: this.iterators.encode({ streamId: stream.id, streamName: stream.name, shardIndex: shard.index, counter, issuedMs: now }) };
  }

  private getRecords(input: Input): object {
    const now = this.now();
    const position: IteratorPosition = this.iterators.decode(input.ShardIterator, now);
    const stream = this.existing(position.streamName);
    const shard = stream && stream.id === position.streamId ? stream.shards.find((s) => s.index === position.shardIndex) : undefined;
    if (!stream || !shard) {
      throw new AwsApiError('ResourceNotFoundException', `Shard ${shardIdOf(position.shardIndex)} in stream ${position.streamName} under account ${this.accountId} does not exist`, 400);
    }
    if (input.StreamARN !== undefined && input.StreamARN !== stream.arn) {
      throw new AwsApiError('InvalidArgumentException', `StreamARN ${input.StreamARN} does not match the stream of the shard iterator.`, 400);
    }
    const throughput = this.enforceLimits ? this.throughputOf(shard, now) : undefined;
    if (throughput && !throughput.admitRead(now)) throw new AwsApiError('ProvisionedThroughputExceededException', this.throttledMessage(stream, shard), 400);

    const limit: number = input.Limit ?? 10_000;
    const cutoff = this.retentionCutoff(stream);
    const records: object[] = [];
    let bytes = 0;
    // Counter 0 is the shard's StartingSequenceNumber, which no record carries.
    let nextCounter = Math.max(position.counter, 1);
    let lastArrivalMs = now;
    let damaged: { segment: SegmentRow; error: DamagedSegmentError } | undefined;
    scan: for (const segment of this.store.segmentsFrom(stream.id, shard.index, position.counter)) {
      if (segment.arrival_ms < cutoff) {
        nextCounter = Math.max(nextCounter, segment.last_counter + 1);
        continue;
      }
      let payload: Buffer;
      try {
        payload = this.store.readPayload(stream.id, segment);
      } catch (error) {
        if (!(error instanceof DamagedSegmentError)) throw error;
        // The records before it are answered; the next call, starting at the damage, reports it.
        damaged = { segment, error };
        break;
      }
      const arrival = segment.arrival_ms / 1000;
      let offset = 0;
      for (let counter = segment.first_counter; counter <= segment.last_counter; counter++) {
        const keyLength = payload.readUInt16BE(offset);
        const keyStart = offset + 2;
        const dataLength = payload.readUInt32BE(keyStart + keyLength);
        const dataStart = keyStart + keyLength + 4;
        offset = dataStart + dataLength;
        if (counter < position.counter) continue;
        if (records.length >= limit || (records.length > 0 && bytes + dataLength + keyLength > GET_RECORDS_MAX_BYTES)) break scan;
        bytes += dataLength + keyLength;
        records.push({
          SequenceNumber: formatSequence(shard.prefix, counter),
          ApproximateArrivalTimestamp: arrival,
          Data: payload.toString('base64', dataStart, dataStart + dataLength),
          PartitionKey: payload.toString('utf8', keyStart, keyStart + keyLength),
        });
        nextCounter = counter + 1;
        lastArrivalMs = segment.arrival_ms;
      }
    }
    if (damaged !== undefined && records.length === 0) throw this.damagedRecordsError(stream, shard, this.store.damagedRange(stream.id, damaged.segment, damaged.error));
    throughput?.readBytes.spend(bytes);
    const caughtUp = nextCounter >= shard.nextCounter;
    if (shard.closedMs !== null && caughtUp) {
      const children = stream.shards.filter((s) => s.parentIndex === shard.index || s.adjacentParentIndex === shard.index);
      const childShards = children.map((child) => ({
        ShardId: child.id,
        ParentShards: [child.parentIndex, child.adjacentParentIndex].filter((p): p is number => p !== null).map(shardIdOf),
        HashKeyRange: { StartingHashKey: child.startHash.toString(), EndingHashKey: child.endHash.toString() },
      }));
      return { Records: records, MillisBehindLatest: 0, ChildShards: childShards };
    }
    return {
      Records: records,
      NextShardIterator: this.iterators.encode({ ...position, counter: nextCounter, issuedMs: now }),
      MillisBehindLatest: caughtUp ? 0 : Math.max(0, now - lastArrivalMs),
    };
  }

  /** A server fault that retrying cannot mend, so the message tells the reader how to get past it. */
  private damagedRecordsError(stream: Stream, shard: Shard, range: DamagedRange): AwsApiError {
    const first = formatSequence(shard.prefix, range.firstCounter);
    const last = formatSequence(shard.prefix, range.lastCounter);
    return new AwsApiError(
      'InternalFailureException',
      `Records ${first} to ${last} of shard ${shard.id} in stream ${stream.name} under account ${this.accountId} are damaged in the engine's storage (${range.file}: ${range.reason}) and cannot be returned. ` +
        `To read the records after them, get a shard iterator of type AFTER_SEQUENCE_NUMBER with StartingSequenceNumber ${last}.`,
      500,
      { retryable: false },
    );
  }

  // ---- resharding --------------------------------------------------------------------------------

  private requireProvisioned(stream: Stream, operation: string): void {
    if (stream.mode === 'ON_DEMAND') {
      throw new AwsApiError('ValidationException', `${operation} is not supported for stream ${stream.name} under account ${this.accountId} because it is in ON_DEMAND capacity mode.`, 400);
    }
  }

  private openShardOf(stream: Stream, shardIdText: string): Shard {
    const index = parseShardId(shardIdText);
    const shard = index === undefined ? undefined : stream.shards.find((s) => s.index === index);
    if (!shard) throw new AwsApiError('ResourceNotFoundException', `Could not find shard ${shardIdText} in stream ${stream.name} under account ${this.accountId}.`, 400);
    if (shard.closedMs !== null) {
      throw new AwsApiError(
        'ResourceInUseException',
        `Shard ${shard.id} in stream ${stream.name} under account ${this.accountId} has already been merged or split, and thus is not eligible for merging or splitting.`,
        400,
      );
    }
    return shard;
  }

  private nextShardIndex(stream: Stream): number {
    return stream.shards.reduce((max, s) => Math.max(max, s.index), -1) + 1;
  }

  /** Closes `parents` and opens `children` (given as ranges) in one durable step. */
  private reshard(stream: Stream, parents: Shard[], children: Array<{ start: bigint; end: bigint; parent: Shard; adjacent?: Shard }>): void {
    const now = this.now();
    for (const parent of parents) parent.closedMs = now;
    let index = this.nextShardIndex(stream);
    const created = children.map((child) =>
      this.shardFromRow(stream.id, {
        shard_index: index++,
        parent_index: child.parent.index,
        adjacent_parent_index: child.adjacent?.index ?? null,
        start_hash: child.start.toString(),
        end_hash: child.end.toString(),
        created_ms: now,
        closed_ms: null,
        next_counter: 1,
      }),
    );
    stream.shards.push(...created);
    this.refreshRouting(stream);
    this.transitionTo(stream, 'UPDATING');
    this.store.saveStream(this.streamRow(stream), [...parents, ...created].map((s) => this.shardRow(stream, s)));
  }

  private splitShard(input: Input): undefined {
    const stream = this.resolveActiveStream(input);
    this.requireProvisioned(stream, 'SplitShard');
    const shard = this.openShardOf(stream, input.ShardToSplit);
    const newStart = BigInt(input.NewStartingHashKey);
    if (!(newStart > shard.startHash + 1n && newStart < shard.endHash)) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `NewStartingHashKey ${input.NewStartingHashKey} used in SplitShard() on shard ${shard.id} in stream ${stream.name} under account ${this.accountId} is not both greater than one plus the shard's StartingHashKey ${shard.startHash} and less than the shard's EndingHashKey ${shard.endHash}.`,
        400,
      );
    }
    this.checkShardLimit(1);
    this.reshard(stream, [shard], [
      { start: shard.startHash, end: newStart - 1n, parent: shard },
      { start: newStart, end: shard.endHash, parent: shard },
    ]);
    return undefined;
  }

  private mergeShards(input: Input): undefined {
    const stream = this.resolveActiveStream(input);
    this.requireProvisioned(stream, 'MergeShards');
    const shard = this.openShardOf(stream, input.ShardToMerge);
    const adjacent = this.openShardOf(stream, input.AdjacentShardToMerge);
    if (shard === adjacent || (shard.endHash + 1n !== adjacent.startHash && adjacent.endHash + 1n !== shard.startHash)) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `Shards ${shard.id} and ${adjacent.id} in stream ${stream.name} under account ${this.accountId} are not an adjacent pair of shards eligible for merging`,
        400,
      );
    }
    const start = shard.startHash < adjacent.startHash ? shard.startHash : adjacent.startHash;
    const end = shard.endHash > adjacent.endHash ? shard.endHash : adjacent.endHash;
    this.reshard(stream, [shard, adjacent], [{ start, end, parent: shard, adjacent }]);
    return undefined;
  }

  /**
   * UNIFORM_SCALING as a series of ordinary splits and merges, so lineage stays valid: scale up by
   * halving the widest open shards, scale down by merging the adjacent pair with the smallest union.
   */
  private updateShardCount(input: Input): object {
    const stream = this.resolveActiveStream(input);
    this.requireProvisioned(stream, 'UpdateShardCount');
    const current = stream.openShards.length;
    const target: number = input.TargetShardCount;
    if (target > current * 2) {
      throw new AwsApiError('LimitExceededException', `UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: ${current} Target shard count: ${target}`, 400);
    }
    if (target * 2 < current) {
      throw new AwsApiError('LimitExceededException', `UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: ${current} Target shard count: ${target}`, 400);
    }
    if (target > current) this.checkShardLimit(target - current);
    const width = (s: Shard) => s.endHash - s.startHash;
    while (stream.openShards.length < target) {
      const widest = stream.openShards.reduce((a, b) => (width(b) > width(a) ? b : a));
      const middle = widest.startHash + (width(widest) + 1n) / 2n;
      this.reshard(stream, [widest], [
        { start: widest.startHash, end: middle - 1n, parent: widest },
        { start: middle, end: widest.endHash, parent: widest },
      ]);
    }
    while (stream.openShards.length > target) {
      const open = stream.openShards;
      let best = 0;
      for (let i = 1; i < open.length - 1; i++) {
        if (open[i + 1].endHash - open[i].startHash < open[best + 1].endHash - open[best].startHash) best = i;
      }
      const [left, right] = [open[best], open[best + 1]];
      this.reshard(stream, [left, right], [{ start: left.startHash, end: right.endHash, parent: left, adjacent: right }]);
    }
    return { StreamName: stream.name, CurrentShardCount: current, TargetShardCount: target, StreamARN: stream.arn };
  }

  // ---- retention and tags ------------------------------------------------------------------------

  private changeRetention(input: Input, direction: 'increase' | 'decrease'): undefined {
    const stream = this.resolveActiveStream(input);
    const hours: number = input.RetentionPeriodHours;
    if (hours < DEFAULT_RETENTION_HOURS) {
      throw new AwsApiError('InvalidArgumentException', `Minimum allowed retention period is ${DEFAULT_RETENTION_HOURS} hours. Requested retention period (${hours} hours) is too short.`, 400);
    }
    if (hours > MAX_RETENTION_HOURS) {
      throw new AwsApiError('InvalidArgumentException', `Maximum allowed retention period is ${MAX_RETENTION_HOURS} hours. Requested retention period (${hours} hours) is too long.`, 400);
    }
    if (direction === 'increase' && hours < stream.retentionHours) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `Requested retention period (${hours} hours) for stream ${stream.name} can not be shorter than existing retention period (${stream.retentionHours} hours). Use DecreaseRetentionPeriod API.`,
        400,
      );
    }
    if (direction === 'decrease' && hours > stream.retentionHours) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `Requested retention period (${hours} hours) for stream ${stream.name} can not be longer than existing retention period (${stream.retentionHours} hours). Use IncreaseRetentionPeriod API.`,
        400,
      );
    }
    stream.retentionHours = hours;
    this.store.saveStream(this.streamRow(stream));
    return undefined;
  }

  private increaseRetention(input: Input): undefined {
    return this.changeRetention(input, 'increase');
  }

  private decreaseRetention(input: Input): undefined {
    return this.changeRetention(input, 'decrease');
  }

  private addTags(input: Input): undefined {
    const stream = this.resolveActiveStream(input);
    const tags = input.Tags as Record<string, string>;
    const validCharacters = /^[\p{L}\p{Z}\p{N}_./=+\-@]*$/u;
    for (const [key, value] of Object.entries(tags)) {
      if (!validCharacters.test(key) || !validCharacters.test(value)) {
        throw new AwsApiError('InvalidArgumentException', 'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - @.', 400);
      }
      if (key.startsWith('aws:')) throw new AwsApiError('InvalidArgumentException', `Tag key ${key} uses the reserved prefix aws:.`, 400);
    }
    const merged = new Map(stream.tags);
    for (const [key, value] of Object.entries(tags)) merged.set(key, value);
    if (merged.size > MAX_TAGS_PER_STREAM) {
      throw new AwsApiError(
        'InvalidArgumentException',
        `Failed to add tags to stream ${stream.name} under account ${this.accountId} because a given stream cannot have more than ${MAX_TAGS_PER_STREAM} tags associated with it.`,
        400,
      );
    }
    stream.tags = merged;
    this.store.saveStream(this.streamRow(stream));
    return undefined;
  }

  private removeTags(input: Input): undefined {
    const stream = this.resolveActiveStream(input);
    for (const key of input.TagKeys as string[]) stream.tags.delete(key);
    this.store.saveStream(this.streamRow(stream));
    return undefined;
  }

  private listTags(input: Input): object {
    const stream = this.resolveStream(input);
    const limit: number = input.Limit ?? MAX_TAGS_PER_STREAM;
    const after: string | undefined = input.ExclusiveStartTagKey;
    const keys = [...stream.tags.keys()].sort().filter((k) => after === undefined || k > after);
    const page = keys.slice(0, limit);
    return { Tags: page.map((k) => ({ Key: k, Value: stream.tags.get(k)! })), HasMoreTags: keys.length > page.length };
  }

  private describeLimits(): object {
    const onDemand = [...this.streams.values()].filter((s) => s.mode === 'ON_DEMAND').length;
    return { ShardLimit: this.shardLimit, OpenShardCount: this.openShardCount(), OnDemandStreamCount: onDemand, OnDemandStreamCountLimit: 50 };
  }

  /**
   * Deletes records past retention (and gives their space back), forgets closed shards whose data is
   * all gone, and finishes deletions. Runs on a timer in the server; tests call it directly.
   */
  sweep(): { expiredSegments: number } {
    let expiredSegments = 0;
    for (const name of [...this.streams.keys()]) {
      const stream = this.existing(name);
      if (!stream) continue;
      const cutoff = this.retentionCutoff(stream);
      expiredSegments += this.store.expireSegments(stream.id, cutoff, stream.shards.map((s) => this.shardRow(stream, s)));
      const expiredShards = stream.shards.filter((s) => s.closedMs !== null && s.closedMs < cutoff);
      if (expiredShards.length > 0) {
        stream.shards = stream.shards.filter((s) => !expiredShards.includes(s));
        this.store.deleteShards(stream.id, expiredShards.map((s) => s.index));
      }
    }
    return { expiredSegments };
  }

  /** Saves every shard counter; the counters are also recovered from the records on load. */
  close(): void {
    for (const stream of this.streams.values()) {
      this.store.saveStream(this.streamRow(stream), stream.shards.map((s) => this.shardRow(stream, s)));
    }
  }
}
