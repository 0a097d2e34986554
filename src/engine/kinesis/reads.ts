import * as errors from './errors.js';
import type { IteratorPosition } from './iterator.js';
import { RecordReader } from './record-codec.js';
import { DamagedSegmentError } from './segment-format.js';
import { decodeSequence, formatSequence, parseShardId, shardIdOf } from './sequence.js';
import type { SegmentRow } from './store.js';
import type { Input, Shard, Stream, StreamRegistry } from './streams.js';

/** GetShardIterator and GetRecords. */

const GET_RECORDS_MAX_BYTES = 10 * 1024 * 1024;

function findShard(streams: StreamRegistry, stream: Stream, shardIdText: string): Shard {
  const index = parseShardId(shardIdText);
  if (index === undefined) throw errors.shardNotFound(shardIdText, stream.name, streams.accountId);
  const shard = streams.visibleShards(stream).find((s) => s.index === index);
  if (!shard) throw errors.shardDoesNotExist(shardIdOf(index), stream.name, streams.accountId);
  return shard;
}

export function getShardIterator(streams: StreamRegistry, input: Input): object {
  const stream = streams.resolveLiveStream(input);
  const shard = findShard(streams, stream, input.ShardId);
  const type: string = input.ShardIteratorType;
  const sequence: string | undefined = input.StartingSequenceNumber;
  const bySequence = type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER';
  if (bySequence && sequence === undefined) throw errors.iteratorTypeNeedsSequence(type);
  if (!bySequence && sequence !== undefined) throw errors.iteratorTypeTakesNoSequence(type);
  const now = streams.now();
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
      if (timestamp === undefined) throw errors.iteratorTimestampMissing();
      if (timestamp > now) throw errors.iteratorTimestampInFuture(timestamp, now);
      counter = streams.store.firstCounterAtOrAfter(stream.id, shard.index, timestamp) ?? shard.nextCounter;
      break;
    }
    default: {
      const decoded = decodeSequence(sequence!);
      if (!decoded) throw errors.invalidStartingSequence(sequence!, shard.id, stream.name, streams.accountId);
      if (decoded.streamId !== stream.id)
        throw errors.startingSequenceOfOtherStream(sequence!, shard.id, stream.name, streams.accountId);
      if (decoded.shardIndex !== shard.index)
        throw errors.startingSequenceOfOtherShard(shardIdOf(decoded.shardIndex), shard.id);
      counter =
        type === 'AT_SEQUENCE_NUMBER' ? decoded.counter : Math.min(decoded.counter + 1, Number.MAX_SAFE_INTEGER);
    }
  }
  return {
    ShardIterator: streams.iterators.encode({
      streamId: stream.id,
      streamName: stream.name,
      shardIndex: shard.index,
      counter,
      issuedMs: now,
    }),
  };
}

export function getRecords(streams: StreamRegistry, input: Input): object {
  const now = streams.now();
  const position: IteratorPosition = streams.iterators.decode(input.ShardIterator, now);
  const stream = streams.existing(position.streamName);
  const shard =
    stream && stream.id === position.streamId ? stream.shards.find((s) => s.index === position.shardIndex) : undefined;
  if (!stream || !shard)
    throw errors.shardDoesNotExist(shardIdOf(position.shardIndex), position.streamName, streams.accountId);
  if (input.StreamARN !== undefined && input.StreamARN !== stream.arn)
    throw errors.iteratorOfOtherStream(input.StreamARN);
  const throughput = streams.enforceLimits ? streams.throughputOf(shard, now) : undefined;
  if (throughput && !throughput.admitRead(now))
    throw errors.throughputExceeded(shard.id, stream.name, streams.accountId);

  const limit: number = input.Limit ?? 10_000;
  const cutoff = streams.retentionCutoff(stream);
  const records: object[] = [];
  let bytes = 0;
  // Counter 0 is the shard's StartingSequenceNumber, which no record carries.
  let nextCounter = Math.max(position.counter, 1);
  let lastArrivalMs = now;
  let damaged: { segment: SegmentRow; error: DamagedSegmentError } | undefined;
  scan: for (const segment of streams.store.segmentsFrom(stream.id, shard.index, position.counter)) {
    if (segment.arrival_ms < cutoff) {
      nextCounter = Math.max(nextCounter, segment.last_counter + 1);
      continue;
    }
    let payload: Buffer;
    try {
      payload = streams.store.readPayload(stream.id, segment);
    } catch (error) {
      if (!(error instanceof DamagedSegmentError)) throw error;
      // The records before it are answered; the next call, starting at the damage, reports it.
      damaged = { segment, error };
      break;
    }
    const arrival = segment.arrival_ms / 1000;
    const reader = new RecordReader(payload, segment.last_counter - segment.first_counter + 1);
    for (let counter = segment.first_counter; reader.next(); counter++) {
      if (counter < position.counter) continue;
      const recordBytes = reader.dataLength + reader.keyLength;
      if (records.length >= limit || (records.length > 0 && bytes + recordBytes > GET_RECORDS_MAX_BYTES)) break scan;
      bytes += recordBytes;
      records.push({
        SequenceNumber: formatSequence(shard.prefix, counter),
        ApproximateArrivalTimestamp: arrival,
        Data: reader.dataBase64(),
        PartitionKey: reader.partitionKey(),
      });
      nextCounter = counter + 1;
      lastArrivalMs = segment.arrival_ms;
    }
  }
  if (damaged !== undefined && records.length === 0) {
    const range = streams.store.damagedRange(stream.id, damaged.segment, damaged.error);
    const first = formatSequence(shard.prefix, range.firstCounter);
    const last = formatSequence(shard.prefix, range.lastCounter);
    throw errors.damagedRecords(first, last, shard.id, stream.name, streams.accountId, range.file, range.reason);
  }
  throughput?.readBytes.spend(bytes);
  const caughtUp = nextCounter >= shard.nextCounter;
  if (shard.closedMs !== null && caughtUp) {
    const children = stream.shards.filter(
      (s) => s.parentIndex === shard.index || s.adjacentParentIndex === shard.index,
    );
    const childShards = children.map((child) => ({
      ShardId: child.id,
      ParentShards: [child.parentIndex, child.adjacentParentIndex]
        .filter((p): p is number => p !== null)
        .map(shardIdOf),
      HashKeyRange: { StartingHashKey: child.startHash.toString(), EndingHashKey: child.endHash.toString() },
    }));
    return { Records: records, MillisBehindLatest: 0, ChildShards: childShards };
  }
  return {
    Records: records,
    NextShardIterator: streams.iterators.encode({ ...position, counter: nextCounter, issuedMs: now }),
    MillisBehindLatest: caughtUp ? 0 : Math.max(0, now - lastArrivalMs),
  };
}
