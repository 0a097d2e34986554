import * as errors from './errors.js';
import { DEFAULT_RETENTION_HOURS, type Input, type StreamRegistry } from './streams.js';

/** Retention (the API and the sweep that enforces it), tags, and DescribeLimits. */

const MAX_RETENTION_HOURS = 8760;
const MAX_TAGS_PER_STREAM = 50;
const ON_DEMAND_STREAM_COUNT_LIMIT = 50;
const VALID_TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_./=+\-@]*$/u;

function changeRetention(streams: StreamRegistry, input: Input, direction: 'increase' | 'decrease'): undefined {
  const stream = streams.resolveActiveStream(input);
  const hours: number = input.RetentionPeriodHours;
  if (hours < DEFAULT_RETENTION_HOURS) throw errors.retentionTooShort(DEFAULT_RETENTION_HOURS, hours);
  if (hours > MAX_RETENTION_HOURS) throw errors.retentionTooLong(MAX_RETENTION_HOURS, hours);
  if (direction === 'increase' && hours < stream.retentionHours)
    throw errors.retentionNotIncreased(hours, stream.name, stream.retentionHours);
  if (direction === 'decrease' && hours > stream.retentionHours)
    throw errors.retentionNotDecreased(hours, stream.name, stream.retentionHours);
  stream.retentionHours = hours;
  streams.save(stream);
  return undefined;
}

export function increaseRetention(streams: StreamRegistry, input: Input): undefined {
  return changeRetention(streams, input, 'increase');
}

export function decreaseRetention(streams: StreamRegistry, input: Input): undefined {
  return changeRetention(streams, input, 'decrease');
}

export function addTags(streams: StreamRegistry, input: Input): undefined {
  const stream = streams.resolveActiveStream(input);
  const tags = input.Tags as Record<string, string>;
  for (const [key, value] of Object.entries(tags)) {
    if (!VALID_TAG_CHARACTERS.test(key) || !VALID_TAG_CHARACTERS.test(value)) throw errors.invalidTagCharacters();
    if (key.startsWith('aws:')) throw errors.reservedTagPrefix(key);
  }
  const merged = new Map(stream.tags);
  for (const [key, value] of Object.entries(tags)) merged.set(key, value);
  if (merged.size > MAX_TAGS_PER_STREAM) throw errors.tooManyTags(stream.name, streams.accountId, MAX_TAGS_PER_STREAM);
  stream.tags = merged;
  streams.save(stream);
  return undefined;
}

export function removeTags(streams: StreamRegistry, input: Input): undefined {
  const stream = streams.resolveActiveStream(input);
  for (const key of input.TagKeys as string[]) stream.tags.delete(key);
  streams.save(stream);
  return undefined;
}

export function listTags(streams: StreamRegistry, input: Input): object {
  const stream = streams.resolveStream(input);
  const limit: number = input.Limit ?? MAX_TAGS_PER_STREAM;
  const after: string | undefined = input.ExclusiveStartTagKey;
  const keys = [...stream.tags.keys()].sort().filter((k) => after === undefined || k > after);
  const page = keys.slice(0, limit);
  return { Tags: page.map((k) => ({ Key: k, Value: stream.tags.get(k)! })), HasMoreTags: keys.length > page.length };
}

export function describeLimits(streams: StreamRegistry): object {
  const onDemand = [...streams.all()].filter((s) => s.mode === 'ON_DEMAND').length;
  return {
    ShardLimit: streams.shardLimit,
    OpenShardCount: streams.openShardCount(),
    OnDemandStreamCount: onDemand,
    OnDemandStreamCountLimit: ON_DEMAND_STREAM_COUNT_LIMIT,
  };
}

/**
 * Deletes records past retention (and gives their space back), forgets closed shards whose data is
 * all gone, and finishes deletions.
 */
export function sweep(streams: StreamRegistry): { expiredSegments: number } {
  let expiredSegments = 0;
  for (const name of streams.names()) {
    const stream = streams.existing(name);
    if (!stream) continue;
    const cutoff = streams.retentionCutoff(stream);
    expiredSegments += streams.store.expireSegments(
      stream.id,
      cutoff,
      stream.shards.map((s) => streams.shardRow(stream, s)),
    );
    const expiredShards = stream.shards.filter((s) => s.closedMs !== null && s.closedMs < cutoff);
    if (expiredShards.length > 0) {
      stream.shards = stream.shards.filter((s) => !expiredShards.includes(s));
      streams.store.deleteShards(
        stream.id,
        expiredShards.map((s) => s.index),
      );
    }
  }
  return { expiredSegments };
}
