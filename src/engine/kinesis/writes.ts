import { KINESIS_LIMITS } from '../../client/api-limits.js';
import * as errors from './errors.js';
import { hashKeyToHex, parseExplicitHashKey, partitionKeyHashHex } from './hash-key.js';
import { encodedSize, encodeRecords, type EncodableRecord } from './record-codec.js';
import { decodeSequence, formatSequence } from './sequence.js';
import type { SegmentToWrite } from './data-files.js';
import type { Input, Shard, Stream, StreamRegistry } from './streams.js';

/** PutRecord and PutRecords: routing to shards, size limits, throttling, and the durable commit. */

/** Streams whose records may exceed 1 MiB (MaxRecordSizeInKiB over 1024) take calls of up to 10 MiB. */
const LARGE_RECORD_CALL_BYTES = 10 * 1024 * 1024;

interface PendingRecord extends EncodableRecord {
  shard: Shard;
}

function route(stream: Stream, partitionKey: string, explicitHashKey: string | undefined): Shard {
  const open = stream.openShards;
  if (explicitHashKey === undefined && open.length === 1) return open[0];
  let hex: string;
  if (explicitHashKey !== undefined) {
    const value = parseExplicitHashKey(explicitHashKey);
    if (value === undefined) throw errors.invalidExplicitHashKey(explicitHashKey);
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

function checkRecordSize(streams: StreamRegistry, stream: Stream, keyBytes: number, dataBytes: number): void {
  const maxBytes = stream.maxRecordKiB * 1024;
  if (dataBytes + keyBytes > maxBytes)
    throw errors.recordTooLarge(dataBytes + keyBytes, maxBytes, stream.name, streams.accountId);
}

/**
 * Stores accepted records as one segment per shard with consecutive counters, committed in one
 * transaction before anything is answered. Returns each record's sequence number.
 */
/**
 * Where a commit's payloads are encoded: they are written to the data file before commit returns
 * and referenced by nothing after, so one buffer serves every call. A fresh one per call (up to
 * 5 MiB) was garbage that outlived the young generation once the agent stopped reading and only
 * sent: tens of MiB of dead buffers at the end of a backfill.
 */
let payloadScratch = Buffer.allocUnsafeSlow(0);
/** The most kept for reuse; a larger call (only with many shards) gets a buffer of its own. */
const MAX_SCRATCH_BYTES = 8 * 1024 * 1024;

function payloadSpace(bytes: number): Buffer {
  if (bytes <= payloadScratch.length) return payloadScratch;
  if (bytes > MAX_SCRATCH_BYTES) return Buffer.allocUnsafe(bytes);
  payloadScratch = Buffer.allocUnsafeSlow(Math.max(bytes, Math.min(MAX_SCRATCH_BYTES, 2 * payloadScratch.length)));
  return payloadScratch;
}

function commit(streams: StreamRegistry, stream: Stream, records: PendingRecord[]): string[] {
  const now = streams.now();
  // Each shard's records in an array built the same way whatever the call, so that the encoder
  // only ever sees one kind of array: a second kind costs it a deoptimization and a recompile.
  const byShard = new Map<Shard, { positions: number[]; records: PendingRecord[] }>();
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const group = byShard.get(record.shard);
    if (group) {
      group.positions.push(i);
      group.records.push(record);
    } else {
      byShard.set(record.shard, { positions: [i], records: [record] });
    }
  }
  const sequences = new Array<string>(records.length);
  const segments: SegmentToWrite[] = [];
  let payloadBytes = 0;
  for (const group of byShard.values()) payloadBytes += encodedSize(group.records);
  const space = payloadSpace(payloadBytes);
  let used = 0;
  for (const [shard, group] of byShard) {
    const payload = encodeRecords(group.records, space.subarray(used));
    used += payload.length;
    const arrivalMs = Math.max(now, shard.lastArrivalMs);
    segments.push({
      streamId: stream.id,
      shardIndex: shard.index,
      firstCounter: shard.nextCounter,
      lastCounter: shard.nextCounter + group.positions.length - 1,
      arrivalMs,
      payload,
    });
  }
  streams.store.writeSegments(segments);
  let segment = 0;
  for (const [shard, { positions }] of byShard) {
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

export function putRecord(streams: StreamRegistry, input: Input): object {
  const stream = streams.resolveLiveStream(input);
  const partitionKey: string = input.PartitionKey;
  const keyBytes = Buffer.byteLength(partitionKey, 'utf8');
  const data = input.Data as Buffer;
  checkRecordSize(streams, stream, keyBytes, data.length);
  const shard = route(stream, input.PartitionKey, input.ExplicitHashKey);
  if (input.SequenceNumberForOrdering !== undefined) {
    const decoded = decodeSequence(input.SequenceNumberForOrdering);
    if (!decoded || decoded.streamId !== stream.id)
      throw errors.invalidSequenceForOrdering(input.SequenceNumberForOrdering, stream.name, streams.accountId);
  }
  if (
    streams.enforceLimits &&
    !streams.throughputOf(shard, streams.now()).admitWrite(data.length + keyBytes, streams.now())
  ) {
    throw errors.throughputExceeded(shard.id, stream.name, streams.accountId);
  }
  const [sequenceNumber] = commit(streams, stream, [{ partitionKey, keyBytes, data, shard }]);
  return { ShardId: shard.id, SequenceNumber: sequenceNumber, EncryptionType: 'NONE' };
}

export function putRecords(streams: StreamRegistry, input: Input): object {
  const stream = streams.resolveLiveStream(input);
  const entries = input.Records as Array<{ Data: Buffer; PartitionKey: string; ExplicitHashKey?: string }>;
  const maxCallBytes =
    stream.maxRecordKiB * 1024 > KINESIS_LIMITS.maxRecordBytes ? LARGE_RECORD_CALL_BYTES : KINESIS_LIMITS.maxCallBytes;
  const pending: PendingRecord[] = new Array(entries.length);
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const keyBytes = Buffer.byteLength(entry.PartitionKey, 'utf8');
    checkRecordSize(streams, stream, keyBytes, entry.Data.length);
    total += keyBytes + entry.Data.length;
    pending[i] = {
      partitionKey: entry.PartitionKey,
      keyBytes,
      data: entry.Data,
      shard: route(stream, entry.PartitionKey, entry.ExplicitHashKey),
    };
  }
  if (total > maxCallBytes) throw errors.callTooLarge(maxCallBytes);

  let accepted = pending;
  let throttled: boolean[] | undefined;
  if (streams.enforceLimits) {
    const now = streams.now();
    throttled = pending.map((r) => !streams.throughputOf(r.shard, now).admitWrite(r.data.length + r.keyBytes, now));
    accepted = pending.filter((_, i) => !throttled![i]);
  }
  const sequences = accepted.length > 0 ? commit(streams, stream, accepted) : [];
  const results = new Array<object>(pending.length);
  let next = 0;
  let failed = 0;
  for (let i = 0; i < pending.length; i++) {
    if (throttled?.[i]) {
      failed++;
      results[i] = {
        ErrorCode: 'ProvisionedThroughputExceededException',
        ErrorMessage: errors.throttledMessage(pending[i].shard.id, stream.name, streams.accountId),
      };
    } else {
      results[i] = { SequenceNumber: sequences[next++], ShardId: pending[i].shard.id };
    }
  }
  return { FailedRecordCount: failed, Records: results, EncryptionType: 'NONE' };
}
