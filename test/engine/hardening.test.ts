/**
 * Hostile request shapes against the engine over real HTTP on 127.0.0.1: X-Amz-Target names that
 * live on Object.prototype, malformed members for every operation of the model, and JSON bodies
 * nested or spread to cost seconds and hundreds of MB to parse. None may reach anything but the
 * API's own actions, answer 5xx, or stall the server. (Connection-level abuse: hardening-connections.)
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { OPERATIONS } from '../../src/engine/kinesis/models.js';
import { JsonShapeGuard, MAX_JSON_DEPTH } from '../../src/engine/host/request-body.js';
import type { Members, Shape } from '../../src/engine/host/validate.js';
import { startEngine, type RunningEngine } from '../../src/engine/server.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import {
  JSON_CONTENT_TYPE,
  TARGET,
  assertAwsError,
  expectAwsError,
  kinesis,
  kinesisRequest,
  readShardFromStart,
  type RawResponse,
} from '../support/kinesis-http.js';
import { memoryStatus } from '../support/reliability-proc.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

after(removeTempDirs);

describe('X-Amz-Target reaches only the API actions (in-process engine)', () => {
  let engine: RunningEngine | undefined;
  let dataDir = '';

  before(async () => {
    dataDir = makeTempDir('shardtail-hardening-');
    engine = await startEngine({ dataDir, port: 0 });
  });
  after(() => engine?.stop());

  it(
    'every Object.prototype name, and the engine’s own method names, are UnknownOperationException and ' +
      'leak nothing',
    async () => {
      const secret = engine!.store.iteratorSecret();
      const leaks = [
        secret.toString('base64'),
        secret.toString('base64url'),
        secret.toString('hex'),
        dataDir,
        JSON.stringify(dataDir).slice(1, -1),
      ];
      const names = new Set([
        ...Object.getOwnPropertyNames(Object.prototype),
        '__proto__',
        'prototype',
        'call',
        'close',
        'sweep',
        'load',
        'handlers',
        'store',
        'iterators',
        'putRecords',
        'createStream',
      ]);
      for (const name of names) {
        for (const body of ['{}', '{"StreamName":"base"}']) {
          const response = await kinesisRequest(engine!.url, name, undefined, { rawBody: body });
          assertAwsError(response, {
            type: 'UnknownOperationException',
            message: `Operation ${name} is not supported by this engine.`,
          });
          for (const leak of leaks)
            assert.ok(
              !response.text.includes(leak),
              `${name} answered with the engine's secret or data dir: ${response.text.slice(0, 300)}`,
            );
        }
      }
      // The real actions still work.
      assert.ok(Array.isArray((await kinesis(engine!.url, 'ListStreams', {})).StreamNames));
    },
  );
});

describe('malformed members for every operation never answer 5xx (in-process engine)', () => {
  let engine: RunningEngine | undefined;
  let url = '';
  const base: Record<string, Record<string, unknown>> = {};

  before(async () => {
    engine = await startEngine({ dataDir: makeTempDir('shardtail-hardening-'), port: 0 });
    url = engine.url;
    await kinesis(url, 'CreateStream', { StreamName: 'base', ShardCount: 2 });
    await kinesis(url, 'PutRecord', { StreamName: 'base', PartitionKey: 'k', Data: 'aGk=' });
    const { ShardIterator } = await kinesis(url, 'GetShardIterator', {
      StreamName: 'base',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const stream = { StreamName: 'base' };
    // Valid requests (or ones refused only after validation, so as not to reshape 'base'), so that a
    // mutated member is the one thing wrong and also reaches the handlers' own checks.
    Object.assign(base, {
      CreateStream: {
        StreamName: 'fuzz-created',
        ShardCount: 1,
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
        Tags: { k: 'v' },
        MaxRecordSizeInKiB: 1024,
        WarmThroughputMiBps: 0,
      },
      DeleteStream: { StreamName: 'fuzz-never-created', EnforceConsumerDeletion: false },
      DescribeStream: { ...stream, Limit: 10, ExclusiveStartShardId: 'shardId-000000000000' },
      DescribeStreamSummary: stream,
      ListStreams: { Limit: 10, ExclusiveStartStreamName: 'a' },
      ListShards: {
        ...stream,
        MaxResults: 10,
        ExclusiveStartShardId: 'shardId-000000000000',
        ShardFilter: { Type: 'AT_TIMESTAMP', ShardId: 'shardId-000000000000', Timestamp: 1_700_000_000 },
      },
      PutRecord: { ...stream, PartitionKey: 'k', Data: 'aGk=', ExplicitHashKey: '1', SequenceNumberForOrdering: '1' },
      PutRecords: { ...stream, Records: [{ Data: 'aGk=', PartitionKey: 'k', ExplicitHashKey: '1' }] },
      GetShardIterator: {
        ...stream,
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'AT_TIMESTAMP',
        Timestamp: 1_700_000_000,
      },
      GetRecords: { ShardIterator, Limit: 10 },
      SplitShard: { ...stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '1' },
      MergeShards: { ...stream, ShardToMerge: 'shardId-000000000000', AdjacentShardToMerge: 'shardId-000000000000' },
      UpdateShardCount: { ...stream, TargetShardCount: 100, ScalingType: 'UNIFORM_SCALING' },
      IncreaseStreamRetentionPeriod: { ...stream, RetentionPeriodHours: 23 },
      DecreaseStreamRetentionPeriod: { ...stream, RetentionPeriodHours: 23 },
      AddTagsToStream: { ...stream, Tags: { k: 'v' } },
      RemoveTagsFromStream: { ...stream, TagKeys: ['k'] },
      ListTagsForStream: { ...stream, ExclusiveStartTagKey: 'a', Limit: 10 },
      DescribeLimits: {},
    });
  });
  after(() => engine?.stop());

  it('{"StreamName":"base","Records":[null]} is a SerializationException', async () => {
    for (const records of ['[null]', '[{"Data":"aGk=","PartitionKey":"k"},null]']) {
      await expectAwsError(
        url,
        'PutRecords',
        undefined,
        { type: 'SerializationException', message: 'Null list element found where not expected' },
        { rawBody: `{"StreamName":"base","Records":${records}}` },
      );
    }
    await expectAwsError(
      url,
      'RemoveTagsFromStream',
      undefined,
      { type: 'SerializationException' },
      { rawBody: '{"StreamName":"base","TagKeys":[null]}' },
    );
  });

  it(
    'null, wrong JSON types, huge, negative and empty values in every member: 200 or an AWS 400, of the ' +
      'right type',
    async () => {
      assert.deepEqual(
        Object.keys(base).sort(),
        Object.keys(OPERATIONS).sort(),
        'every operation of the model has a base request here',
      );
      let sent = 0;
      for (const [action, members] of Object.entries(OPERATIONS)) {
        const baseline = await kinesisRequest(url, action, base[action]);
        assertNoServerError(action, JSON.stringify(base[action]), baseline);
        for (const path of memberPaths(members)) {
          for (const raw of BAD_VALUES) {
            const body = withRawValue(base[action], path, raw);
            const response = await kinesisRequest(url, action, undefined, { rawBody: body });
            sent++;
            const where = `${action} ${body.slice(0, 200)}`;
            assertNoServerError(where, body, response);
            const expected = expectedError(members, path, JSON.parse(raw));
            if (expected)
              assert.equal(
                response.json.__type,
                expected,
                `${where}: expected ${expected}, got ${response.status} ${response.text.slice(0, 300)}`,
              );
          }
        }
      }
      assert.ok(sent > 1000, `only ${sent} malformed requests were generated`);
      assert.ok(Array.isArray((await kinesis(url, 'ListStreams', {})).StreamNames), 'the engine still serves');
    },
  );
});

function assertNoServerError(where: string, body: string, response: RawResponse): void {
  assert.ok(
    response.status === 200 || response.status === 400,
    `${where}: answered ${response.status} ${response.text.slice(0, 300)} (body ${body.slice(0, 200)})`,
  );
  if (response.status === 400) assertAwsError(response, { type: String(response.json?.__type) });
}

/** Raw JSON text, so that values JSON.stringify cannot write (1e400) are sent as a client could. */
const BAD_VALUES = [
  'null',
  'true',
  '0',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '1e400',
  '9007199254740993',
  '""',
  '"x"',
  `"${'9'.repeat(200)}"`,
  `"${'x'.repeat(300_000)}"`,
  '"-1"',
  '"2026-01-01T00:00:00Z"',
  '{}',
  '{"a":null}',
  '{"":""}',
  '[]',
  '[null]',
  '[1]',
  '["x"]',
  '[{}]',
  '[[]]',
];

type Path = Array<string | number>;

/** Every member, and every member of nested structures, list elements and map values. */
function memberPaths(members: Members, prefix: Path = []): Path[] {
  const paths: Path[] = [];
  for (const [name, shape] of Object.entries(members)) {
    const path = [...prefix, name];
    paths.push(path, ...nestedPaths(shape, path));
  }
  return paths;
}

function nestedPaths(shape: Shape, path: Path): Path[] {
  if (shape.type === 'structure') return memberPaths(shape.members, path);
  if (shape.type === 'list') return [[...path, 0], ...nestedPaths(shape.member, [...path, 0])];
  if (shape.type === 'map') return [[...path, 'k']];
  return [];
}

function withRawValue(request: Record<string, unknown>, path: Path, raw: string): string {
  const PLACEHOLDER = '@@raw-value@@';
  const copy = structuredClone(request);
  let node: any = copy;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== 'object') node[key] = typeof key === 'number' ? [] : {};
    node = node[key];
  }
  node[path[path.length - 1]] = PLACEHOLDER;
  return JSON.stringify(copy).replace(`"${PLACEHOLDER}"`, raw);
}

const MAX_JAVA_INT = 2_147_483_647;

/**
 * What AWS answers for a request that is valid but for the value at `path`: SerializationException
 * for a JSON type the model does not allow there (null included, inside a list), ValidationException
 * for a constraint of the member itself; undefined where the answer depends on more (handlers).
 */
function expectedError(members: Members, path: Path, value: unknown): string | undefined {
  let shape: Shape & { required?: boolean } = { type: 'structure', members };
  for (const key of path) {
    if (shape.type === 'structure') shape = shape.members[key as string];
    else if (shape.type === 'list') shape = shape.member;
    else if (shape.type === 'map') shape = shape.value;
  }
  if (value === null)
    return typeof path[path.length - 1] === 'number'
      ? 'SerializationException'
      : shape.required
        ? 'ValidationException'
        : undefined;
  if (!typeMatches(shape, value)) return 'SerializationException';
  if (shape.type === 'string') {
    const text = value as string;
    const violated =
      (shape.min !== undefined && text.length < shape.min) ||
      (shape.max !== undefined && text.length > shape.max) ||
      (shape.pattern !== undefined && !shape.pattern.test(text)) ||
      (shape.enum !== undefined && !shape.enum.includes(text));
    return violated ? 'ValidationException' : undefined;
  }
  if (shape.type === 'integer' && Number.isFinite(value)) {
    const n = Math.min(Math.floor(value as number), MAX_JAVA_INT);
    return (shape.min !== undefined && n < shape.min) || (shape.max !== undefined && n > shape.max)
      ? 'ValidationException'
      : undefined;
  }
  return undefined;
}

function typeMatches(shape: Shape, value: unknown): boolean {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  switch (shape.type) {
    case 'string':
    case 'blob':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'timestamp':
      return typeof value === 'number' || typeof value === 'string';
    case 'list':
      return Array.isArray(value) && value.every((item) => item !== null && typeMatches(shape.member, item));
    case 'map':
      return isObject && Object.values(value).every((entry) => entry === null || typeMatches(shape.value, entry));
    case 'structure':
      return (
        isObject &&
        Object.entries(shape.members).every(([name, member]) => {
          const entry = (value as Record<string, unknown>)[name];
          return entry === undefined || entry === null || typeMatches(member, entry);
        })
      );
  }
}

describe('deeply nested and very wide JSON bodies (engine child process)', () => {
  let engine: EngineProcess | undefined;

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-hardening-') });
    await kinesis(engine.url, 'CreateStream', { StreamName: 'nest', ShardCount: 1 });
  });
  after(() => engine?.stop(5_000));

  it(
    '8 concurrent 14 MiB bodies of `[` or `{},`: 400 SerializationException at once, /health stays fast, ' +
      'memory stays bounded',
    async () => {
      const MiB = 1024 * 1024;
      const bombs = [
        ...Array.from({ length: 6 }, () => Buffer.alloc(14 * MiB, '[')),
        Buffer.from('[' + '{},'.repeat((14 * MiB) / 3) + '{}]'),
        Buffer.from('{"StreamName":"nest","Records":[' + '[],'.repeat((14 * MiB) / 3) + '[]]}'),
      ];
      const health = healthLatencies(engine!.url);
      const started = Date.now();
      const answers = await Promise.all(bombs.map((body) => rawExchange(engine!.port, 'PutRecords', body)));
      health.stop();
      for (const answer of answers) {
        assert.equal(answer.status, 400, answer.text);
        assert.equal(JSON.parse(answer.text).__type, 'SerializationException', answer.text);
        assert.ok(answer.firstByteMs < 2_000, `the refusal took ${answer.firstByteMs} ms`);
      }
      const latencies = await health.done;
      assert.ok(
        latencies.length > 0 && Math.max(...latencies) < 1_000,
        `/health latencies during the bodies (ms): ${latencies.join(', ')} (all ${Date.now() - started} ms)`,
      );
      const memory = memoryStatus(engine!.pid)!;
      assert.ok(memory.vmHWMKiB < 300 * 1024, `engine peak RSS ${(memory.vmHWMKiB / 1024).toFixed(0)} MiB`);
    },
  );

  it(
    'brackets, quotes and backslashes inside strings are not nesting: 500 such records go in ' + 'and come back',
    async () => {
      const key = (i: number) => `${'['.repeat(100)}\\"{${'{'.repeat(100)}\\${i}`;
      const records = Array.from({ length: 500 }, (_, i) => ({
        PartitionKey: key(i),
        Data: Buffer.from(`["${'['.repeat(70)}`).toString('base64'),
      }));
      const output = await kinesis(engine!.url, 'PutRecords', { StreamName: 'nest', Records: records });
      assert.equal(output.FailedRecordCount, 0);
      const stored = await readShardFromStart(engine!.url, 'nest', 'shardId-000000000000');
      assert.deepEqual(stored.map((r) => r.PartitionKey).sort(), records.map((r) => r.PartitionKey).sort());
    },
  );
});

describe('the nesting guard on text split anywhere', () => {
  const verdict = (text: string, chunkBytes: number) => {
    const guard = new JsonShapeGuard();
    const bytes = Buffer.from(text);
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      const error = guard.feed(bytes.subarray(offset, offset + chunkBytes));
      if (error) return error.code;
    }
    return 'accepted';
  };

  it('brackets, escaped quotes and backslashes inside strings never count; the 65th level does', () => {
    const strings = [
      '[[[{{{',
      '\\"[{',
      '\\',
      '"'.repeat(70),
      '\\'.repeat(33) + '[',
      'x'.repeat(200) + '"[' + '\\"'.repeat(40),
      'é€😀[',
    ];
    const legit = JSON.stringify({
      strings,
      deep: JSON.parse('['.repeat(MAX_JSON_DEPTH - 1) + ']'.repeat(MAX_JSON_DEPTH - 1)),
    });
    const tooDeep = JSON.stringify({
      strings,
      deep: JSON.parse('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)),
    });
    for (const chunkBytes of [1, 2, 3, 5, 47, 49, 64, 1 << 20]) {
      assert.equal(verdict(legit, chunkBytes), 'accepted', `64 levels, in chunks of ${chunkBytes}`);
      assert.equal(verdict(tooDeep, chunkBytes), 'SerializationException', `65 levels, in chunks of ${chunkBytes}`);
    }
  });
});

/** GET /health every 20 ms until stopped; the latency of each, in ms. */
function healthLatencies(url: string): { stop(): void; done: Promise<number[]> } {
  let running = true;
  const done = (async () => {
    const latencies: number[] = [];
    while (running) {
      const t0 = Date.now();
      const response = await fetch(url + '/health');
      await response.text();
      latencies.push(Date.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return latencies;
  })();
  return { stop: () => (running = false), done };
}

/** One POST over its own HTTP/1.1 connection, the whole body written; the answer and when it began. */
function rawExchange(
  port: number,
  action: string,
  body: Buffer,
): Promise<{ status: number; text: string; firstByteMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let firstByteMs = -1;
    let received = Buffer.alloc(0);
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\nX-Amz-Target: ` +
          `${TARGET}.${action}\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body);
    });
    socket.setTimeout(60_000, () => socket.destroy(new Error('no answer within 60 s')));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      if (firstByteMs < 0) firstByteMs = Date.now() - started;
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.subarray(0, headEnd).toString('latin1');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (received.length < headEnd + 4 + length) return;
      socket.destroy();
      resolve({
        status: Number(head.split(' ')[1]),
        text: received.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8'),
        firstByteMs,
      });
    });
  });
}
