/**
 * `shardtail stream create|list|describe|put|read` as real child processes against the engine as a
 * child process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeAggregate } from '../../src/client/kpl-format.js';
import { runCli, spawnCli, type LongRunningCli } from '../support/cli-process.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { kinesis } from '../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const HALF = (1n << 127n).toString();

interface JsonLine {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  arrivalTime: string;
  data: string;
  dataBase64: string;
}

describe('shardtail stream against the engine child process', () => {
  let engine: EngineProcess | undefined;
  let url = '';
  const followers: LongRunningCli[] = [];
  const stream = (...args: string[]) => runCli(['stream', ...args, '--endpoint', url]);
  const putBatch = async (name: string, records: Array<{ key: string; data: string | Buffer }>) => {
    const output = await kinesis(url, 'PutRecords', {
      StreamName: name,
      Records: records.map((r) => ({ PartitionKey: r.key, Data: Buffer.from(r.data).toString('base64') })),
    });
    assert.equal(output.FailedRecordCount, 0);
    return output.Records as Array<{ ShardId: string; SequenceNumber: string }>;
  };
  /** stdout lines of a finished command that must have succeeded. */
  const linesOf = (result: { code: number | null; stdout: string; stderr: string }) => {
    assert.equal(result.code, 0, `exit ${result.code}; stderr: ${result.stderr}`);
    return result.stdout.split('\n').slice(0, -1);
  };

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-stream-cli-') });
    url = engine.url;
  });

  after(async () => {
    for (const follower of followers) follower.child.kill('SIGKILL');
    await engine?.stop(5_000);
    await removeTempDirs();
  });

  it('create, list, describe and put', async () => {
    const created = await stream('create', 'cli-stream', '--shards', '2');
    assert.deepEqual(linesOf(created), ['created stream cli-stream']);

    const again = await stream('create', 'cli-stream');
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr,
      'shardtail stream: ResourceInUseException: Stream cli-stream under account 000000000000 already exists.\n',
    );

    assert.ok(linesOf(await stream('list')).includes('cli-stream'));

    const described = JSON.parse((await stream('describe', 'cli-stream')).stdout);
    assert.equal(described.StreamName, 'cli-stream');
    assert.equal(described.StreamStatus, 'ACTIVE');
    assert.equal(described.OpenShardCount, 2);
    assert.equal(described.RetentionPeriodHours, 24);
    assert.deepEqual(
      described.Shards.map((s: { ShardId: string }) => s.ShardId),
      ['shardId-000000000000', 'shardId-000000000001'],
    );
    assert.deepEqual(described.Shards[1].HashKeyRange, {
      StartingHashKey: HALF,
      EndingHashKey: ((1n << 128n) - 1n).toString(),
    });

    const put = linesOf(await stream('put', 'cli-stream', '--partition-key', 'k1', '--data', 'hello from the cli'));
    assert.equal(put.length, 1);
    const [shardId, sequenceNumber] = put[0].split(' ');
    assert.match(shardId, /^shardId-00000000000[01]$/);
    assert.match(sequenceNumber, /^\d+$/);
    const { ShardIterator } = await kinesis(url, 'GetShardIterator', {
      StreamName: 'cli-stream',
      ShardId: shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: sequenceNumber,
    });
    const { Records } = await kinesis(url, 'GetRecords', { ShardIterator });
    assert.equal(Buffer.from(Records[0].Data, 'base64').toString(), 'hello from the cli');
    assert.equal(Records[0].PartitionKey, 'k1');
  });

  it('read prints each record as a line, every shard, in order per shard', async () => {
    const records = Array.from({ length: 20 }, (_, i) => ({ key: `key-${i % 5}`, data: `line ${i}` }));
    await putBatch('cli-stream', records);
    await putBatch('cli-stream', [{ key: 'nl', data: 'ends with a newline\n' }]);
    const lines = linesOf(await stream('read', 'cli-stream'));
    const expected = ['hello from the cli', ...records.map((r) => r.data), 'ends with a newline'];
    assert.deepEqual(
      [...lines].sort(),
      [...expected].sort(),
      'each record once, and no blank line after data that ends in a newline',
    );
    for (let k = 0; k < 5; k++) {
      const ofKey = records.filter((r) => r.key === `key-${k}`).map((r) => r.data);
      assert.deepEqual(
        lines.filter((l) => ofKey.includes(l)),
        ofKey,
        `order of key-${k}`,
      );
    }
  });

  it('read --json: shardId, sequenceNumber, partitionKey, arrivalTime, data, dataBase64', async () => {
    await kinesis(url, 'CreateStream', { StreamName: 'json-stream', ShardCount: 1 });
    const before = Date.now();
    const binary = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    const acks = await putBatch('json-stream', [
      { key: 'text-key', data: 'plain text' },
      { key: 'binary-key', data: binary },
    ]);
    const after = Date.now();
    const lines = linesOf(await stream('read', 'json-stream', '--json')).map((l) => JSON.parse(l) as JsonLine);
    assert.equal(lines.length, 2);
    for (const line of lines)
      assert.deepEqual(Object.keys(line).sort(), [
        'arrivalTime',
        'data',
        'dataBase64',
        'partitionKey',
        'sequenceNumber',
        'shardId',
      ]);
    assert.deepEqual(
      lines.map((l) => [l.shardId, l.sequenceNumber, l.partitionKey, l.dataBase64]),
      [
        [acks[0].ShardId, acks[0].SequenceNumber, 'text-key', Buffer.from('plain text').toString('base64')],
        [acks[1].ShardId, acks[1].SequenceNumber, 'binary-key', binary.toString('base64')],
      ],
    );
    assert.equal(lines[0].data, 'plain text');
    for (const line of lines) {
      const arrival = Date.parse(line.arrivalTime);
      assert.match(line.arrivalTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.ok(
        arrival >= before - 1000 && arrival <= after + 1000,
        `arrivalTime ${line.arrivalTime} outside the put (${new Date(before).toISOString()} .. ` +
          `${new Date(after).toISOString()})`,
      );
    }
  });

  it('read de-aggregates KPL records; --json gives each user record its key and sub-sequence number', async () => {
    await kinesis(url, 'CreateStream', { StreamName: 'kpl-stream', ShardCount: 1 });
    const aggregate = encodeAggregate([
      { partitionKey: 'k-a', data: Buffer.from('first user record\n') },
      { partitionKey: 'k-b', explicitHashKey: '12345', data: Buffer.from('second, no newline') },
      { partitionKey: 'k-a', data: Buffer.from([0xff, 0x00]) },
    ]);
    const corrupt = Buffer.from(aggregate);
    corrupt[10] ^= 0xff;
    const acks = await putBatch('kpl-stream', [
      { key: 'outer', data: aggregate },
      { key: 'plain-key', data: 'a plain record' },
      { key: 'bad', data: corrupt },
    ]);

    const text = await stream('read', 'kpl-stream');
    assert.equal(text.code, 0, text.stderr);
    const asLine = (data: Buffer) => (data.at(-1) === 0x0a ? data : Buffer.concat([data, Buffer.from('\n')]));
    assert.equal(
      text.stdout,
      Buffer.concat([
        Buffer.from('first user record\nsecond, no newline\n'),
        Buffer.from([0xff, 0x00, 0x0a]),
        Buffer.from('a plain record\n'),
        asLine(corrupt),
      ]).toString('utf8'),
      'each user record a line, then the plain record, then the corrupt aggregate as stored',
    );
    assert.equal(
      text.stderr,
      `shardtail stream: record ${acks[2].SequenceNumber} of shardId-000000000000 starts like a KPL aggregated ` +
        'record, but its MD5 does not match its body: printed as stored\n',
    );

    const json = linesOf(await stream('read', 'kpl-stream', '--json')).map(
      (l) => JSON.parse(l) as JsonLine & { subSequenceNumber?: number; explicitHashKey?: string },
    );
    assert.deepEqual(
      json.map((l) => [l.sequenceNumber, l.subSequenceNumber, l.partitionKey, l.explicitHashKey, l.dataBase64]),
      [
        [acks[0].SequenceNumber, 0, 'k-a', undefined, Buffer.from('first user record\n').toString('base64')],
        [acks[0].SequenceNumber, 1, 'k-b', '12345', Buffer.from('second, no newline').toString('base64')],
        [acks[0].SequenceNumber, 2, 'k-a', undefined, Buffer.from([0xff, 0x00]).toString('base64')],
        [acks[1].SequenceNumber, undefined, 'plain-key', undefined, Buffer.from('a plain record').toString('base64')],
        [acks[2].SequenceNumber, undefined, 'bad', undefined, corrupt.toString('base64')],
      ],
    );
    assert.equal(json[0].arrivalTime, json[2].arrivalTime, "user records carry their aggregate's arrival time");

    const stored = linesOf(await stream('read', 'kpl-stream', '--json', '--no-deaggregate')).map(
      (l) => JSON.parse(l) as JsonLine,
    );
    assert.deepEqual(
      stored.map((l) => [l.partitionKey, l.dataBase64]),
      [
        ['outer', aggregate.toString('base64')],
        ['plain-key', Buffer.from('a plain record').toString('base64')],
        ['bad', corrupt.toString('base64')],
      ],
    );
  });

  it('read across a split and a merge: parents before children, per-key order kept', async () => {
    await kinesis(url, 'CreateStream', { StreamName: 'resharded', ShardCount: 1 });
    const keys = Array.from({ length: 8 }, (_, i) => `user-${i}`);
    const round = (n: number) => keys.map((key) => ({ key, data: `${key}:${n}` }));
    await putBatch('resharded', [...round(0), ...round(1)]);
    await kinesis(url, 'SplitShard', {
      StreamName: 'resharded',
      ShardToSplit: 'shardId-000000000000',
      NewStartingHashKey: HALF,
    });
    await putBatch('resharded', [...round(2), ...round(3)]);
    await kinesis(url, 'MergeShards', {
      StreamName: 'resharded',
      ShardToMerge: 'shardId-000000000001',
      AdjacentShardToMerge: 'shardId-000000000002',
    });
    await putBatch('resharded', [...round(4), ...round(5)]);

    const lines = linesOf(await stream('read', 'resharded', '--json')).map((l) => JSON.parse(l) as JsonLine);
    assert.equal(lines.length, keys.length * 6);
    for (const key of keys) {
      assert.deepEqual(
        lines.filter((l) => l.partitionKey === key).map((l) => l.data),
        [0, 1, 2, 3, 4, 5].map((n) => `${key}:${n}`),
        `order of ${key} across the split and the merge`,
      );
    }
    const generation = (shardId: string) =>
      ({ 'shardId-000000000000': 0, 'shardId-000000000001': 1, 'shardId-000000000002': 1, 'shardId-000000000003': 2 })[
        shardId
      ];
    const generations = lines.map((l) => generation(l.shardId));
    assert.ok(!generations.includes(undefined), `unexpected shards: ${[...new Set(lines.map((l) => l.shardId))]}`);
    assert.deepEqual(
      generations,
      [...generations].sort(),
      'the parent is read to its end before the children, the children before the merged shard',
    );
    assert.deepEqual([...new Set(lines.map((l) => l.shardId))].sort(), [
      'shardId-000000000000',
      'shardId-000000000001',
      'shardId-000000000002',
      'shardId-000000000003',
    ]);
  });

  it('read --from latest prints nothing that was already there', async () => {
    const result = await stream('read', 'cli-stream', '--from', 'latest');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
  });

  it('read --from latest --follow prints only records put after it started', async () => {
    const follower = spawnCli(['stream', 'read', 'cli-stream', '--from', 'latest', '--follow', '--endpoint', url]);
    followers.push(follower);
    // There is no "ready" signal: keep putting numbered records (one key, so one shard and one
    // order) until the reader shows one. Whatever it shows must be a run of those, in order.
    let sent = 0;
    await waitFor(
      async () => {
        await putBatch('cli-stream', [{ key: 'follow-key', data: `new-${sent++}` }]);
        return follower.lines.length > 0;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 100,
        message: () => `the follower to print a new record (stderr: ${follower.stderr()})`,
      },
    );
    await putBatch('cli-stream', [{ key: 'follow-key', data: 'final' }]);
    await waitFor(() => follower.lines.includes('final'), {
      timeoutMs: 10_000,
      message: () => `"final" (printed: ${JSON.stringify(follower.lines)})`,
    });
    follower.child.kill('SIGTERM');
    const exit = await follower.exited;
    assert.deepEqual(
      exit,
      { code: 0, signal: null },
      `SIGTERM should end the reader cleanly; stderr: ${follower.stderr()}`,
    );
    const first = Number(follower.lines[0].replace('new-', ''));
    assert.match(follower.lines[0], /^new-\d+$/, `nothing old may be printed: ${JSON.stringify(follower.lines)}`);
    assert.deepEqual(follower.lines, [...Array.from({ length: sent - first }, (_, i) => `new-${first + i}`), 'final']);
  });

  it('read --follow sees records put after it started, also after a split', async () => {
    await kinesis(url, 'CreateStream', { StreamName: 'follow-stream', ShardCount: 1 });
    await putBatch('follow-stream', [{ key: 'a', data: 'old-1' }]);
    const follower = spawnCli(['stream', 'read', 'follow-stream', '--follow', '--endpoint', url]);
    followers.push(follower);
    await waitFor(() => follower.lines.includes('old-1'), {
      timeoutMs: 15_000,
      message: () => `the old record (stderr: ${follower.stderr()})`,
    });

    assert.equal((await stream('put', 'follow-stream', '--partition-key', 'a', '--data', 'new-1')).code, 0);
    await waitFor(() => follower.lines.includes('new-1'), {
      timeoutMs: 10_000,
      message: () => `new-1 (printed: ${JSON.stringify(follower.lines)})`,
    });

    await kinesis(url, 'SplitShard', {
      StreamName: 'follow-stream',
      ShardToSplit: 'shardId-000000000000',
      NewStartingHashKey: HALF,
    });
    await putBatch('follow-stream', [
      { key: 'a', data: 'after-split-a' },
      { key: 'b', data: 'after-split-b' },
    ]);
    await waitFor(() => follower.lines.includes('after-split-a') && follower.lines.includes('after-split-b'), {
      timeoutMs: 10_000,
      message: () => `the records written to the children (printed: ${JSON.stringify(follower.lines)})`,
    });

    follower.child.kill('SIGTERM');
    const exit = await follower.exited;
    assert.deepEqual(
      exit,
      { code: 0, signal: null },
      `SIGTERM should end the reader cleanly; stderr: ${follower.stderr()}`,
    );
    assert.deepEqual(follower.lines.slice(0, 2), ['old-1', 'new-1']);
    assert.deepEqual([...follower.lines.slice(2)].sort(), ['after-split-a', 'after-split-b']);
  });

  it('a missing stream: read, describe and put exit 1 with a message naming it', async () => {
    for (const args of [
      ['read', 'no-such-stream'],
      ['describe', 'no-such-stream'],
      ['put', 'no-such-stream', '--partition-key', 'k', '--data', 'x'],
    ]) {
      const result = await stream(...args);
      assert.equal(result.code, 1, `${args.join(' ')}: exit ${result.code}`);
      assert.equal(result.stdout, '', `${args.join(' ')} prints nothing on stdout`);
      assert.match(
        result.stderr,
        /^shardtail stream: ResourceNotFoundException: Stream no-such-stream under account 000000000000 not found\.\n$/,
        `${args.join(' ')}: ${result.stderr}`,
      );
    }
  });
});
