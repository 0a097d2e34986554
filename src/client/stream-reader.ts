import { setTimeout as sleep } from 'node:timers/promises';
import { AwsApiError } from './api-error.js';
import type { JsonApiClient } from './json-api-client.js';

export type StartPosition =
  { type: 'TRIM_HORIZON' } | { type: 'LATEST' } | { type: 'AT_TIMESTAMP'; timestampMs: number };

export interface StreamRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
  arrivalMs: number;
}

interface ShardInfo {
  ShardId: string;
  ParentShardId?: string;
  AdjacentParentShardId?: string;
  SequenceNumberRange: { EndingSequenceNumber?: string };
}

interface GetRecordsOutput {
  Records: Array<{ SequenceNumber: string; PartitionKey: string; Data: string; ApproximateArrivalTimestamp?: number }>;
  NextShardIterator?: string | null;
  MillisBehindLatest?: number;
  ChildShards?: Array<{ ShardId: string; ParentShards: string[] }>;
}

export interface ReadOptions {
  streamName: string;
  from: StartPosition;
  /** Keep polling open shards for new records instead of stopping once caught up. */
  follow?: boolean;
  /** Wait between polls of a caught-up shard; Kinesis allows 5 GetRecords per shard per second. */
  idleWaitMs?: number;
  signal?: AbortSignal;
}

/**
 * Reads a whole stream the way a KCL consumer must: every shard, a parent to its end before its
 * children (so per-key order survives resharding), children found from ChildShards at the end of
 * a closed parent and by re-listing shards while following.
 */
export async function* readStream(client: JsonApiClient, options: ReadOptions): AsyncGenerator<StreamRecord> {
  const idleWaitMs = options.idleWaitMs ?? 250;
  const known = new Map<string, ShardInfo>();
  const finished = new Set<string>();
  const iterators = new Map<string, string>();

  const listShards = async () => {
    let nextToken: string | undefined;
    do {
      // Follow-up pages carry only the token: Kinesis rejects StreamName together with NextToken.
      const page = await client.call<{ Shards: ShardInfo[]; NextToken?: string }>(
        'ListShards',
        nextToken === undefined ? { StreamName: options.streamName } : { NextToken: nextToken },
      );
      for (const shard of page.Shards) if (!known.has(shard.ShardId)) known.set(shard.ShardId, shard);
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
  };

  const startIterator = async (shard: ShardInfo, initial: boolean): Promise<string> => {
    // Shards that appear after the read started hold only new records: read them whole.
    const position: StartPosition = initial
      ? options.from
      : options.from.type === 'LATEST'
        ? { type: 'TRIM_HORIZON' }
        : options.from;
    const input: Record<string, unknown> = {
      StreamName: options.streamName,
      ShardId: shard.ShardId,
      ShardIteratorType: position.type,
    };
    if (position.type === 'AT_TIMESTAMP') input.Timestamp = position.timestampMs / 1000;
    const output = await client.call<{ ShardIterator: string }>('GetShardIterator', input);
    return output.ShardIterator;
  };

  await listShards();
  const initialShards = new Set(known.keys());
  if (options.from.type === 'LATEST') {
    for (const [id, shard] of known) if (shard.SequenceNumberRange.EndingSequenceNumber !== undefined) finished.add(id);
  }

  const parentsDone = (shard: ShardInfo) =>
    [shard.ParentShardId, shard.AdjacentParentShardId].every(
      (parent) => parent === undefined || !known.has(parent) || finished.has(parent),
    );

  let lastListMs = Date.now();
  for (;;) {
    if (options.signal?.aborted) return;
    const ready = [...known.values()].filter((s) => !finished.has(s.ShardId) && parentsDone(s));
    if (ready.length === 0) {
      if (!options.follow) return;
      await sleep(idleWaitMs, undefined, { signal: options.signal }).catch(() => undefined);
      await listShards();
      continue;
    }
    let progressed = false;
    for (const shard of ready) {
      let iterator = iterators.get(shard.ShardId) ?? (await startIterator(shard, initialShards.has(shard.ShardId)));
      let output: GetRecordsOutput;
      try {
        output = await client.call<GetRecordsOutput>('GetRecords', { ShardIterator: iterator, Limit: 10_000 });
      } catch (error) {
        if (error instanceof AwsApiError && error.code === 'ProvisionedThroughputExceededException') {
          await sleep(1000);
          continue;
        }
        if (error instanceof AwsApiError && error.code === 'ExpiredIteratorException') {
          iterators.delete(shard.ShardId);
          continue;
        }
        throw error;
      }
      for (const record of output.Records) {
        yield {
          shardId: shard.ShardId,
          sequenceNumber: record.SequenceNumber,
          partitionKey: record.PartitionKey,
          data: Buffer.from(record.Data, 'base64'),
          arrivalMs: Math.round((record.ApproximateArrivalTimestamp ?? 0) * 1000),
        };
      }
      if (output.Records.length > 0) progressed = true;
      if (output.NextShardIterator === undefined || output.NextShardIterator === null) {
        finished.add(shard.ShardId);
        iterators.delete(shard.ShardId);
        progressed = true;
        const children = output.ChildShards ?? [];
        if (children.some((child) => !known.has(child.ShardId))) await listShards();
        continue;
      }
      iterator = output.NextShardIterator;
      iterators.set(shard.ShardId, iterator);
      if (!options.follow && output.Records.length === 0 && (output.MillisBehindLatest ?? 0) === 0)
        finished.add(shard.ShardId);
    }
    if (options.follow && !progressed) {
      await sleep(idleWaitMs, undefined, { signal: options.signal }).catch(() => undefined);
      if (Date.now() - lastListMs > 10_000) {
        lastListMs = Date.now();
        await listShards();
      }
    }
  }
}
