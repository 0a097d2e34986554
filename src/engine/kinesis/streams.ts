import type { AwsApiError } from '../../client/api-error.js';
import { hashKeyToHex } from './hash-key.js';
import { IteratorCodec } from './iterator.js';
import { HOUR_MS } from './segment-format.js';
import { sequencePrefix, shardIdOf } from './sequence.js';
import type { KinesisStore, ShardRow, StreamRow } from './store.js';
import { ShardThroughput } from './throughput.js';
import * as errors from './errors.js';

/** A request after validation: the members of the operation's model, blobs as Buffers. */
export type Input = Record<string, any>;
export type StreamStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';

export interface Shard {
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

export interface Stream {
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

/** The retention of a new stream, and the least a stream can have. */
export const DEFAULT_RETENTION_HOURS = 24;

export interface StreamRegistryOptions {
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

/**
 * The streams and shards in memory, loaded from and saved to the store, with the lookups every
 * operation starts with (a stream by name or ARN in the state the operation needs).
 */
export class StreamRegistry {
  readonly store: KinesisStore;
  readonly now: () => number;
  readonly statusDelayMs: number;
  readonly enforceLimits: boolean;
  readonly shardLimit: number;
  readonly region: string;
  readonly accountId: string;
  readonly iterators: IteratorCodec;
  private readonly byName = new Map<string, Stream>();

  constructor(options: StreamRegistryOptions) {
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
      this.byName.set(stream.name, stream);
    }
  }

  shardFromRow(streamId: number, row: Omit<ShardRow, 'stream_id'>): Shard {
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

  shardRow(stream: Stream, shard: Shard): ShardRow {
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

  streamRow(stream: Stream): StreamRow {
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

  /** Saves the stream's own fields and those of `shards`. */
  save(stream: Stream, shards: readonly Shard[] = []): void {
    this.store.saveStream(
      this.streamRow(stream),
      shards.map((s) => this.shardRow(stream, s)),
    );
  }

  refreshRouting(stream: Stream): void {
    stream.openShards = stream.shards
      .filter((s) => s.closedMs === null)
      .sort((a, b) => (a.startHash < b.startHash ? -1 : 1));
  }

  arnOf(name: string): string {
    return `arn:aws:kinesis:${this.region}:${this.accountId}:stream/${name}`;
  }

  add(stream: Stream): void {
    this.byName.set(stream.name, stream);
  }

  /** Forgets the stream and deletes everything stored of it. */
  drop(stream: Stream): void {
    this.byName.delete(stream.name);
    this.store.deleteStream(stream.id);
  }

  /** Every name, deleted streams whose DELETING period is over included (`existing` finishes those). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** As stored, without finishing deletions. */
  get(name: string): Stream | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<Stream> {
    return this.byName.values();
  }

  statusOf(stream: Stream): StreamStatus {
    if (stream.pendingStatus === 'ACTIVE' || this.now() < stream.statusUntilMs) return stream.pendingStatus;
    return stream.pendingStatus === 'DELETING' ? 'DELETING' : 'ACTIVE';
  }

  /** Finishes deletions whose DELETING period is over; returns the stream only if it still exists. */
  existing(name: string): Stream | undefined {
    const stream = this.byName.get(name);
    if (stream && stream.pendingStatus === 'DELETING' && this.now() >= stream.statusUntilMs) {
      this.drop(stream);
      return undefined;
    }
    return stream;
  }

  notFound(name: string): AwsApiError {
    return errors.streamNotFound(name, this.accountId);
  }

  resolveStream(input: Input): Stream {
    const name: string | undefined = input.StreamName;
    const arn: string | undefined = input.StreamARN;
    if (name === undefined && arn === undefined) throw errors.streamNotNamed();
    const nameFromArn = arn === undefined ? undefined : arn.slice(arn.indexOf(':stream/') + 8);
    if (name !== undefined && nameFromArn !== undefined && name !== nameFromArn)
      throw errors.streamNameAndArnDiffer(arn!, name);
    const streamName = (name ?? nameFromArn)!;
    const stream = this.existing(streamName);
    if (!stream || (arn !== undefined && arn !== stream.arn)) throw this.notFound(streamName);
    return stream;
  }

  /** Data-plane calls need the stream readable and writable: ACTIVE or UPDATING. */
  resolveLiveStream(input: Input): Stream {
    const stream = this.resolveStream(input);
    const status = this.statusOf(stream);
    if (status !== 'ACTIVE' && status !== 'UPDATING') throw this.notFound(stream.name);
    return stream;
  }

  /** Control-plane changes need the stream ACTIVE. */
  resolveActiveStream(input: Input): Stream {
    const stream = this.resolveStream(input);
    const status = this.statusOf(stream);
    if (status !== 'ACTIVE') throw errors.streamNotActive(stream.name, this.accountId, status);
    return stream;
  }

  openShardCount(): number {
    let count = 0;
    for (const name of this.names()) {
      const stream = this.existing(name);
      if (stream) count += stream.openShards.length;
    }
    return count;
  }

  checkShardLimit(additional: number): void {
    const current = this.openShardCount();
    if (current + additional > this.shardLimit)
      throw errors.shardLimitExceeded(this.accountId, this.region, current, this.shardLimit, additional);
  }

  transitionTo(stream: Stream, status: StreamStatus): void {
    stream.pendingStatus = this.statusDelayMs > 0 || status === 'DELETING' ? status : 'ACTIVE';
    stream.statusUntilMs = this.now() + this.statusDelayMs;
  }

  retentionCutoff(stream: Stream): number {
    return this.now() - stream.retentionHours * HOUR_MS;
  }

  /** Closed shards vanish once every record they held is past retention. */
  visibleShards(stream: Stream): Shard[] {
    const cutoff = this.retentionCutoff(stream);
    return stream.shards.filter((s) => s.closedMs === null || s.closedMs >= cutoff);
  }

  throughputOf(shard: Shard, now: number): ShardThroughput {
    return (shard.throughput ??= new ShardThroughput(now));
  }

  /** Saves every shard counter; the counters are also recovered from the records on load. */
  close(): void {
    for (const stream of this.byName.values()) this.save(stream, stream.shards);
  }
}
