import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  type GetRecordsCommandOutput,
  type GetShardIteratorCommandInput,
  type Shard,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Helpers for driving the engine with the real @aws-sdk/client-kinesis (test/engine/sdk.test.ts).
 */

export type Transport = 'sdk-default' | 'http1';

export const DUMMY_CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'x' };

/**
 * A client for `endpoint`. 'sdk-default' passes no requestHandler, so the client builds the one it
 * uses against real Kinesis (NodeHttp2Handler); 'http1' forces HTTP/1.1 through NodeHttpHandler.
 * maxAttempts 1: a retried 5xx or dropped connection must fail the test, not be papered over.
 */
export function sdkClient(endpoint: string, transport: Transport): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
    ...(transport === 'http1' ? { requestHandler: new NodeHttpHandler() } : {}),
  });
}

export interface WireRequest {
  target: string;
  body: string;
}

/**
 * Records the serialized request (X-Amz-Target and JSON body) of every call whose operation name
 * passes `keep`, as it leaves the SDK after signing, i.e. what goes on the wire.
 */
export function captureWire(client: KinesisClient, keep: (operation: string) => boolean): WireRequest[] {
  const log: WireRequest[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const target = request.headers?.['x-amz-target'] ?? request.headers?.['X-Amz-Target'] ?? '';
      const operation = target.slice(target.indexOf('.') + 1);
      if (keep(operation)) {
        const body = request.body;
        // Read bytes through the ArrayBuffer: the SDK's body is a Uint8Array subclass that warns when used as a string.
        const text =
          typeof body === 'string'
            ? body
            : body instanceof Uint8Array
              ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
              : String(body);
        log.push({ target, body: text });
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'shardtailCaptureWire' },
  );
  return log;
}

/**
 * Counts responses the server side of this process finishes, per HTTP protocol, by wrapping
 * `end` of node's HTTP/1.1 ServerResponse and HTTP/2 compat Http2ServerResponse. The engine runs
 * in-process, so this is the engine's own view of which protocol each request came in on.
 */
export interface ProtocolProbe {
  http1: number;
  http2: number;
  restore(): void;
}

export function probeServerProtocols(): ProtocolProbe {
  const h1Proto = http.ServerResponse.prototype as unknown as { end: (...args: unknown[]) => unknown };
  const h2Proto = http2.Http2ServerResponse.prototype as unknown as { end: (...args: unknown[]) => unknown };
  const h1HadOwn = Object.prototype.hasOwnProperty.call(h1Proto, 'end');
  const h1End = h1Proto.end;
  const h2End = h2Proto.end;
  const probe: ProtocolProbe = {
    http1: 0,
    http2: 0,
    restore() {
      if (h1HadOwn) h1Proto.end = h1End;
      else delete (h1Proto as { end?: unknown }).end;
      h2Proto.end = h2End;
    },
  };
  h1Proto.end = function (this: unknown, ...args: unknown[]) {
    probe.http1++;
    return h1End.apply(this, args);
  };
  h2Proto.end = function (this: unknown, ...args: unknown[]) {
    probe.http2++;
    return h2End.apply(this, args);
  };
  return probe;
}

/** MD5 of the UTF-8 partition key as a big-endian unsigned 128-bit integer: Kinesis's hash key. */
export function partitionKeyHash(partitionKey: string): bigint {
  return BigInt('0x' + createHash('md5').update(Buffer.from(partitionKey, 'utf8')).digest('hex'));
}

export const MAX_HASH_KEY = (1n << 128n) - 1n;

export function rangeOf(shard: Shard): { start: bigint; end: bigint } {
  return { start: BigInt(shard.HashKeyRange!.StartingHashKey!), end: BigInt(shard.HashKeyRange!.EndingHashKey!) };
}

/** The one shard among `shards` whose inclusive HashKeyRange holds `key`. */
export function shardContaining(shards: Shard[], key: bigint): string {
  const matches = shards.filter((s) => {
    const { start, end } = rangeOf(s);
    return start <= key && key <= end;
  });
  assert.equal(matches.length, 1, `hash key ${key} must fall in exactly one open shard`);
  return matches[0].ShardId!;
}

/** Deterministic PRNG (mulberry32), so a failing record can be reproduced from its index. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** Uniform enough in [lo, hi] for picking hash keys. */
  bigBetween(lo: bigint, hi: bigint): bigint {
    const span = hi - lo + 1n;
    let r = 0n;
    for (let i = 0; i < 5; i++) r = (r << 32n) | BigInt(this.int(2 ** 32));
    return lo + (r % span);
  }
}

export interface ShardRead {
  records: _Record[];
  responses: GetRecordsCommandOutput[];
  /** The last response: ChildShards / no NextShardIterator for a drained closed shard. */
  last: GetRecordsCommandOutput;
}

/**
 * Reads one shard from the iterator `start` describes, following NextShardIterator until either it
 * is absent (closed shard drained) or a response is empty and MillisBehindLatest is 0 (caught up).
 */
export async function readShard(
  client: KinesisClient,
  start: GetShardIteratorCommandInput,
  limit = 1000,
  maxCalls = 500,
): Promise<ShardRead> {
  const { ShardIterator } = await client.send(new GetShardIteratorCommand(start));
  assert.ok(ShardIterator, 'GetShardIterator returned no ShardIterator');
  let iterator: string | undefined = ShardIterator;
  const records: _Record[] = [];
  const responses: GetRecordsCommandOutput[] = [];
  for (let calls = 0; iterator !== undefined; calls++) {
    assert.ok(calls < maxCalls, `shard ${start.ShardId} did not end after ${maxCalls} GetRecords calls`);
    const out: GetRecordsCommandOutput = await client.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }),
    );
    responses.push(out);
    assert.ok(Array.isArray(out.Records), 'GetRecords must return Records');
    assert.ok(out.Records.length <= limit, `GetRecords returned ${out.Records.length} records for Limit ${limit}`);
    records.push(...out.Records);
    if (out.NextShardIterator === undefined || out.NextShardIterator === null) break;
    if (out.Records.length === 0 && out.MillisBehindLatest === 0) break;
    iterator = out.NextShardIterator;
  }
  return { records, responses, last: responses[responses.length - 1] };
}

/** Awaits `promise`, requires it to reject with an instance of `type`, and returns that error. */
export async function expectSdkError<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: any[]) => T,
): Promise<T> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected ${type.name}, but the call succeeded`);
  assert.ok(
    caught instanceof type,
    `expected an instance of ${type.name}, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`,
  );
  return caught;
}
