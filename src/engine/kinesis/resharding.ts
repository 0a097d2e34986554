import * as errors from './errors.js';
import { parseShardId } from './sequence.js';
import type { Input, Shard, Stream, StreamRegistry } from './streams.js';

/** SplitShard, MergeShards and UpdateShardCount: parents close, children open, lineage stays valid. */

interface ChildRange {
  start: bigint;
  end: bigint;
  parent: Shard;
  adjacent?: Shard;
}

function requireProvisioned(streams: StreamRegistry, stream: Stream, operation: string): void {
  if (stream.mode === 'ON_DEMAND') throw errors.notForOnDemand(operation, stream.name, streams.accountId);
}

function openShardOf(streams: StreamRegistry, stream: Stream, shardIdText: string): Shard {
  const index = parseShardId(shardIdText);
  const shard = index === undefined ? undefined : stream.shards.find((s) => s.index === index);
  if (!shard) throw errors.shardNotFound(shardIdText, stream.name, streams.accountId);
  if (shard.closedMs !== null) throw errors.shardAlreadyClosed(shard.id, stream.name, streams.accountId);
  return shard;
}

function nextShardIndex(stream: Stream): number {
  return stream.shards.reduce((max, s) => Math.max(max, s.index), -1) + 1;
}

/** Closes `parents` and opens `children` in one durable step. */
function reshard(streams: StreamRegistry, stream: Stream, parents: Shard[], children: ChildRange[]): void {
  const now = streams.now();
  for (const parent of parents) parent.closedMs = now;
  let index = nextShardIndex(stream);
  const created = children.map((child) =>
    streams.shardFromRow(stream.id, {
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
  streams.refreshRouting(stream);
  streams.transitionTo(stream, 'UPDATING');
  streams.save(stream, [...parents, ...created]);
}

export function splitShard(streams: StreamRegistry, input: Input): undefined {
  const stream = streams.resolveActiveStream(input);
  requireProvisioned(streams, stream, 'SplitShard');
  const shard = openShardOf(streams, stream, input.ShardToSplit);
  const newStart = BigInt(input.NewStartingHashKey);
  if (!(newStart > shard.startHash + 1n && newStart < shard.endHash)) {
    throw errors.splitPointOutsideShard(
      input.NewStartingHashKey,
      shard.id,
      stream.name,
      streams.accountId,
      shard.startHash,
      shard.endHash,
    );
  }
  streams.checkShardLimit(1);
  reshard(
    streams,
    stream,
    [shard],
    [
      { start: shard.startHash, end: newStart - 1n, parent: shard },
      { start: newStart, end: shard.endHash, parent: shard },
    ],
  );
  return undefined;
}

export function mergeShards(streams: StreamRegistry, input: Input): undefined {
  const stream = streams.resolveActiveStream(input);
  requireProvisioned(streams, stream, 'MergeShards');
  const shard = openShardOf(streams, stream, input.ShardToMerge);
  const adjacent = openShardOf(streams, stream, input.AdjacentShardToMerge);
  if (shard === adjacent || (shard.endHash + 1n !== adjacent.startHash && adjacent.endHash + 1n !== shard.startHash)) {
    throw errors.shardsNotAdjacent(shard.id, adjacent.id, stream.name, streams.accountId);
  }
  const start = shard.startHash < adjacent.startHash ? shard.startHash : adjacent.startHash;
  const end = shard.endHash > adjacent.endHash ? shard.endHash : adjacent.endHash;
  reshard(streams, stream, [shard, adjacent], [{ start, end, parent: shard, adjacent }]);
  return undefined;
}

/**
 * UNIFORM_SCALING as a series of ordinary splits and merges, so lineage stays valid: scale up by
 * halving the widest open shards, scale down by merging the adjacent pair with the smallest union.
 */
export function updateShardCount(streams: StreamRegistry, input: Input): object {
  const stream = streams.resolveActiveStream(input);
  requireProvisioned(streams, stream, 'UpdateShardCount');
  const current = stream.openShards.length;
  const target: number = input.TargetShardCount;
  if (target > current * 2) throw errors.scaleUpTooFar(current, target);
  if (target * 2 < current) throw errors.scaleDownTooFar(current, target);
  if (target > current) streams.checkShardLimit(target - current);
  const width = (s: Shard) => s.endHash - s.startHash;
  while (stream.openShards.length < target) {
    const widest = stream.openShards.reduce((a, b) => (width(b) > width(a) ? b : a));
    const middle = widest.startHash + (width(widest) + 1n) / 2n;
    reshard(
      streams,
      stream,
      [widest],
      [
        { start: widest.startHash, end: middle - 1n, parent: widest },
        { start: middle, end: widest.endHash, parent: widest },
      ],
    );
  }
  while (stream.openShards.length > target) {
    const open = stream.openShards;
    let best = 0;
    for (let i = 1; i < open.length - 1; i++) {
      if (open[i + 1].endHash - open[i].startHash < open[best + 1].endHash - open[best].startHash) best = i;
    }
    const [left, right] = [open[best], open[best + 1]];
    reshard(
      streams,
      stream,
      [left, right],
      [{ start: left.startHash, end: right.endHash, parent: left, adjacent: right }],
    );
  }
  return { StreamName: stream.name, CurrentShardCount: current, TargetShardCount: target, StreamARN: stream.arn };
}
