/**
 * The course's AWS CLI demos (seed 000), run with the real AWS CLI v2 (/usr/bin/aws) against the
 * engine as a child process. Scenarios use separate streams and run concurrently, because every
 * CLI call costs about a second of Python start-up; the steps inside a scenario run in order.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AWS_CLI, assertAwsCliInstalled, awsKinesis, awsKinesisFails, awsVersion } from '../support/aws-cli.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { stepper } from '../support/steps.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const MAX_HASH_KEY = (1n << 128n) - 1n;
/** The seed's --new-starting-hash-key: 2^127 - 1. */
const SEED_SPLIT_KEY = '170141183460469231731687303715884105727';
const RAW = ['--cli-binary-format', 'raw-in-base64-out'];

interface CliShard {
  ShardId: string;
  ParentShardId?: string;
  AdjacentParentShardId?: string;
  HashKeyRange: { StartingHashKey: string; EndingHashKey: string };
  SequenceNumberRange: { StartingSequenceNumber: string; EndingSequenceNumber?: string };
}

interface CliRecord {
  SequenceNumber: string;
  Data: string;
  PartitionKey: string;
  ApproximateArrivalTimestamp: string;
}

const md5Key = (partitionKey: string) => BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));
const decode = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');
const isOpen = (shard: CliShard) => shard.SequenceNumberRange.EndingSequenceNumber === undefined;
const byId = (shards: CliShard[], id: string) => {
  const shard = shards.find((s) => s.ShardId === id);
  assert.ok(shard, `shard ${id} missing from ${shards.map((s) => s.ShardId).join(', ')}`);
  return shard;
};

/** Open shards must cover [0, 2^128-1] exactly once: sorted by start, each begins one after the previous end. */
function assertTilesKeySpace(shards: CliShard[]): void {
  const open = shards
    .filter(isOpen)
    .sort((a, b) => (BigInt(a.HashKeyRange.StartingHashKey) < BigInt(b.HashKeyRange.StartingHashKey) ? -1 : 1));
  assert.ok(open.length > 0, 'no open shards');
  assert.equal(open[0].HashKeyRange.StartingHashKey, '0', 'the first open shard must start at 0');
  for (let i = 1; i < open.length; i++) {
    assert.equal(
      BigInt(open[i].HashKeyRange.StartingHashKey),
      BigInt(open[i - 1].HashKeyRange.EndingHashKey) + 1n,
      `gap or overlap between ${open[i - 1].ShardId} and ${open[i].ShardId}`,
    );
  }
  assert.equal(
    open[open.length - 1].HashKeyRange.EndingHashKey,
    MAX_HASH_KEY.toString(),
    'the last open shard must end at 2^128-1',
  );
}

describe('AWS CLI v2 demos against the engine child process', { concurrency: true }, () => {
  let engine: EngineProcess | undefined;
  let url = '';

  before(async () => {
    assertAwsCliInstalled();
    const [started, version] = await Promise.all([
      startEngineProcess({ dataDir: makeTempDir('shardtail-awscli-') }),
      awsVersion(),
    ]);
    engine = started;
    url = started.url;
    assert.match(version, /^aws-cli\/2\./, `${AWS_CLI} must be the AWS CLI v2, got: ${version}`);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    // How the engine stops on SIGTERM is durability.test.ts's subject; here it only has to go away.
    await engine?.stop(5_000);
    await removeTempDirs();
  });

  it(
    'demo-stream: create, describe, put, iterate, get-records, split, merge, update-shard-count, ' + 'list, delete',
    async (t) => {
      const step = stepper(t);
      const S = ['--stream-name', 'demo-stream'];
      const puts: Array<{ key: string; data: string; seq: string }> = [];

      await step('create-stream demo-stream with 1 shard', async () => {
        const output = await awsKinesis(url, 'create-stream', ...S, '--shard-count', '1');
        assert.deepEqual(output, {});
      });

      await step('describe-stream: ACTIVE, one shard over the whole hash key range', async () => {
        const { StreamDescription: d } = await awsKinesis(url, 'describe-stream', ...S);
        assert.equal(d.StreamName, 'demo-stream');
        assert.equal(d.StreamARN, 'arn:aws:kinesis:us-east-1:000000000000:stream/demo-stream');
        assert.equal(d.StreamStatus, 'ACTIVE');
        assert.equal(d.RetentionPeriodHours, 24);
        assert.equal(d.Shards.length, 1);
        const [shard] = d.Shards as CliShard[];
        assert.equal(shard.ShardId, 'shardId-000000000000');
        assert.deepEqual(shard.HashKeyRange, { StartingHashKey: '0', EndingHashKey: MAX_HASH_KEY.toString() });
        assert.match(shard.SequenceNumberRange.StartingSequenceNumber, /^\d+$/);
        assert.equal(shard.SequenceNumberRange.EndingSequenceNumber, undefined, 'a new shard is open');
        assert.equal(shard.ParentShardId, undefined);
      });

      await step(
        'put-record --partition-key 1 --data "hello" --cli-binary-format raw-in-base64-out, then two more',
        async () => {
          const output = await awsKinesis(url, 'put-record', ...S, '--partition-key', '1', '--data', 'hello', ...RAW);
          assert.equal(output.ShardId, 'shardId-000000000000');
          assert.match(output.SequenceNumber, /^\d+$/);
          puts.push({ key: '1', data: 'hello', seq: output.SequenceNumber });
          const more = [
            { key: '2', data: 'world' },
            { key: '3', data: 'third' },
          ];
          const batch = await awsKinesis(
            url,
            'put-records',
            ...S,
            '--records',
            JSON.stringify(more.map((m) => ({ PartitionKey: m.key, Data: m.data }))),
            ...RAW,
          );
          assert.equal(batch.FailedRecordCount, 0);
          batch.Records.forEach((r: { ShardId: string; SequenceNumber: string }, i: number) => {
            assert.equal(r.ShardId, 'shardId-000000000000');
            puts.push({ ...more[i], seq: r.SequenceNumber });
          });
          assert.ok(
            BigInt(puts[0].seq) < BigInt(puts[1].seq) && BigInt(puts[1].seq) < BigInt(puts[2].seq),
            `sequence numbers must increase: ${puts.map((p) => p.seq)}`,
          );
        },
      );

      let iterator = '';
      await step('get-shard-iterator TRIM_HORIZON on shardId-000000000000', async () => {
        const output = await awsKinesis(
          url,
          'get-shard-iterator',
          ...S,
          '--shard-iterator-type',
          'TRIM_HORIZON',
          '--shard-id',
          'shardId-000000000000',
        );
        assert.equal(typeof output.ShardIterator, 'string');
        assert.ok(
          output.ShardIterator.length >= 1 && output.ShardIterator.length <= 512,
          `iterator length ${output.ShardIterator.length}`,
        );
        assert.match(output.ShardIterator, /^AAAAAAAAAAE/);
        iterator = output.ShardIterator;
      });

      await step(
        'get-records --limit 2: hello (aGVsbG8=) and world, then the NextShardIterator yields the third',
        async () => {
          const first = await awsKinesis(url, 'get-records', '--limit', '2', '--shard-iterator', iterator);
          const records = first.Records as CliRecord[];
          assert.equal(records.length, 2, `--limit 2 must return 2 of the 3 records: ${JSON.stringify(records)}`);
          assert.equal(records[0].Data, 'aGVsbG8=');
          assert.equal(decode(records[0].Data), 'hello');
          assert.equal(records[0].PartitionKey, '1');
          assert.equal(records[0].SequenceNumber, puts[0].seq);
          assert.ok(
            !Number.isNaN(Date.parse(records[0].ApproximateArrivalTimestamp)),
            `ApproximateArrivalTimestamp: ${records[0].ApproximateArrivalTimestamp}`,
          );
          assert.equal(decode(records[1].Data), 'world');
          assert.equal(records[1].SequenceNumber, puts[1].seq);
          assert.equal(typeof first.NextShardIterator, 'string');
          assert.ok(
            first.MillisBehindLatest > 0,
            `one record is still unread, so MillisBehindLatest must be > 0, got ${first.MillisBehindLatest}`,
          );

          const second = await awsKinesis(
            url,
            'get-records',
            '--limit',
            '2',
            '--shard-iterator',
            first.NextShardIterator,
          );
          assert.deepEqual(
            (second.Records as CliRecord[]).map((r) => [r.SequenceNumber, r.PartitionKey, decode(r.Data)]),
            [[puts[2].seq, '3', 'third']],
          );
          assert.equal(second.MillisBehindLatest, 0);
          assert.equal(typeof second.NextShardIterator, 'string', 'an open shard always has a next iterator');
        },
      );

      await step('split-shard --new-starting-hash-key 170141183460469231731687303715884105727', async () => {
        const output = await awsKinesis(
          url,
          'split-shard',
          ...S,
          '--shard-to-split',
          'shardId-000000000000',
          '--new-starting-hash-key',
          SEED_SPLIT_KEY,
        );
        assert.deepEqual(output, {});
      });

      const split = BigInt(SEED_SPLIT_KEY);
      const entries = Array.from({ length: 40 }, (_, i) => ({ key: `user-${i}`, data: `event-${i}` }));
      const childOf = (key: string) => (md5Key(key) < split ? 'shardId-000000000001' : 'shardId-000000000002');
      const sent = new Map<string, { key: string; data: string; shard: string }>();

      // These two are independent; they run side by side to keep the scenario short (each CLI call costs ~1 s).
      const describeAfterSplit = async () => {
        const { StreamDescription: d } = await awsKinesis(url, 'describe-stream', ...S);
        assert.equal(d.StreamStatus, 'ACTIVE');
        const shards = d.Shards as CliShard[];
        assert.deepEqual(
          shards.map((s) => s.ShardId),
          ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'],
        );
        const parent = byId(shards, 'shardId-000000000000');
        assert.match(
          parent.SequenceNumberRange.EndingSequenceNumber ?? '',
          /^\d+$/,
          'the split parent must be closed (EndingSequenceNumber)',
        );
        assert.ok(
          BigInt(parent.SequenceNumberRange.EndingSequenceNumber!) > BigInt(puts[2].seq),
          'EndingSequenceNumber must be above every record of the parent',
        );
        const [left, right] = [byId(shards, 'shardId-000000000001'), byId(shards, 'shardId-000000000002')];
        for (const child of [left, right]) {
          assert.equal(child.ParentShardId, 'shardId-000000000000');
          assert.equal(child.AdjacentParentShardId, undefined);
          assert.ok(isOpen(child), `${child.ShardId} must be open`);
          assert.ok(
            BigInt(child.SequenceNumberRange.StartingSequenceNumber) > BigInt(puts[2].seq),
            "child numbers must sort after the parent's records",
          );
        }
        assert.deepEqual(left.HashKeyRange, {
          StartingHashKey: '0',
          EndingHashKey: (BigInt(SEED_SPLIT_KEY) - 1n).toString(),
        });
        assert.deepEqual(right.HashKeyRange, {
          StartingHashKey: SEED_SPLIT_KEY,
          EndingHashKey: MAX_HASH_KEY.toString(),
        });
        assertTilesKeySpace(shards);
      };
      const putManyKeys = async () => {
        const expectedShards = new Set(entries.map((e) => childOf(e.key)));
        assert.equal(expectedShards.size, 2, 'test keys must hash to both halves');
        const records = JSON.stringify(entries.map((e) => ({ Data: e.data, PartitionKey: e.key })));
        const output = await awsKinesis(url, 'put-records', ...S, '--records', records, ...RAW);
        assert.equal(output.FailedRecordCount, 0);
        assert.equal(output.Records.length, entries.length);
        output.Records.forEach((r: { ShardId: string; SequenceNumber: string; ErrorCode?: string }, i: number) => {
          assert.equal(r.ErrorCode, undefined);
          assert.equal(r.ShardId, childOf(entries[i].key), `record ${entries[i].key} routed to the wrong shard`);
          sent.set(r.SequenceNumber, { ...entries[i], shard: r.ShardId });
        });
        assert.equal(sent.size, entries.length, 'sequence numbers must be unique');
      };
      await step(
        'describe-stream after the split (parent closed, children with exact ranges) and put-records with 40 ' +
          'partition keys (each on the child owning md5(key))',
        async () => {
          await Promise.all([describeAfterSplit(), putManyKeys()]);
        },
      );

      await step(
        'read both children with get-shard-iterator/get-records: together exactly the records put',
        async () => {
          const readShard = async (shardId: string) => {
            const { ShardIterator } = await awsKinesis(
              url,
              'get-shard-iterator',
              ...S,
              '--shard-iterator-type',
              'TRIM_HORIZON',
              '--shard-id',
              shardId,
            );
            return awsKinesis(url, 'get-records', '--shard-iterator', ShardIterator);
          };
          const [left, right] = await Promise.all(['shardId-000000000001', 'shardId-000000000002'].map(readShard));

          const union = new Map<string, { key: string; data: string; shard: string }>();
          for (const [shardId, output] of [
            ['shardId-000000000001', left],
            ['shardId-000000000002', right],
          ] as const) {
            const records = output.Records as CliRecord[];
            assert.ok(records.length > 0, `${shardId} must hold some of the records`);
            for (const r of records) {
              assert.ok(!union.has(r.SequenceNumber), `duplicate sequence number ${r.SequenceNumber}`);
              union.set(r.SequenceNumber, { key: r.PartitionKey, data: decode(r.Data), shard: shardId });
            }
            // Request order is kept within a shard.
            assert.deepEqual(
              records.map((r) => r.PartitionKey),
              entries.filter((e) => childOf(e.key) === shardId).map((e) => e.key),
            );
          }
          assert.deepEqual(union, sent, 'the records read from both children must be exactly the records put');
        },
      );

      await step('merge-shards of the two children; list-streams (meanwhile) includes demo-stream', async () => {
        const listStreams = async () => {
          const output = await awsKinesis(url, 'list-streams');
          assert.ok(output.StreamNames.includes('demo-stream'), JSON.stringify(output.StreamNames));
          assert.deepEqual(output.StreamNames, [...output.StreamNames].sort(), 'StreamNames are sorted');
          const summary = output.StreamSummaries.find((s: { StreamName: string }) => s.StreamName === 'demo-stream');
          assert.equal(summary?.StreamStatus, 'ACTIVE');
          assert.equal(summary?.StreamARN, 'arn:aws:kinesis:us-east-1:000000000000:stream/demo-stream');
        };
        const merge = async () => {
          assert.deepEqual(
            await awsKinesis(
              url,
              'merge-shards',
              ...S,
              '--shard-to-merge',
              'shardId-000000000001',
              '--adjacent-shard-to-merge',
              'shardId-000000000002',
            ),
            {},
          );
        };
        await Promise.all([merge(), listStreams()]);
      });

      await step('update-shard-count --target-shard-count 2 --scaling-type UNIFORM_SCALING', async () => {
        const output = await awsKinesis(
          url,
          'update-shard-count',
          ...S,
          '--target-shard-count',
          '2',
          '--scaling-type',
          'UNIFORM_SCALING',
        );
        assert.equal(output.StreamName, 'demo-stream');
        assert.equal(output.CurrentShardCount, 1, 'the merge left one open shard');
        assert.equal(output.TargetShardCount, 2);
      });

      await step('list-shards: the merge child of 001+002, and 2 open shards tiling the key space', async () => {
        const { Shards } = await awsKinesis(url, 'list-shards', ...S);
        const shards = Shards as CliShard[];
        assert.equal(shards[0].ShardId, 'shardId-000000000000');
        for (const id of ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'])
          assert.ok(!isOpen(byId(shards, id)), `${id} must be closed`);
        const merged = byId(shards, 'shardId-000000000003');
        assert.equal(merged.ParentShardId, 'shardId-000000000001');
        assert.equal(merged.AdjacentParentShardId, 'shardId-000000000002');
        assert.deepEqual(merged.HashKeyRange, { StartingHashKey: '0', EndingHashKey: MAX_HASH_KEY.toString() });
        assert.ok(!isOpen(merged), 'the merged shard is closed by the scaling');
        const open = shards.filter(isOpen);
        assert.equal(open.length, 2, `open shards: ${JSON.stringify(open)}`);
        assertTilesKeySpace(shards);
        for (const shard of open)
          assert.equal(shard.ParentShardId, 'shardId-000000000003', 'the new shards descend from the merged shard');
      });

      await step('delete-stream: gone from list-streams', async () => {
        assert.deepEqual(await awsKinesis(url, 'delete-stream', ...S), {});
        const output = await awsKinesis(url, 'list-streams');
        assert.ok(!output.StreamNames.includes('demo-stream'), JSON.stringify(output.StreamNames));
      });
    },
  );

  it("merge-shards with the seed's literal ids shardId-0000000000001 / shardId-0000000000002", async (t) => {
    const step = stepper(t);
    const S = ['--stream-name', 'seed-ids-stream'];
    await step('create and split the same way as the demo', async () => {
      await awsKinesis(url, 'create-stream', ...S, '--shard-count', '1');
      await awsKinesis(
        url,
        'split-shard',
        ...S,
        '--shard-to-split',
        'shardId-000000000000',
        '--new-starting-hash-key',
        SEED_SPLIT_KEY,
      );
    });
    await step(
      'merge-shards --shard-to-merge shardId-0000000000001 --adjacent-shard-to-merge shardId-0000000000002',
      async () => {
        assert.deepEqual(
          await awsKinesis(
            url,
            'merge-shards',
            ...S,
            '--shard-to-merge',
            'shardId-0000000000001',
            '--adjacent-shard-to-merge',
            'shardId-0000000000002',
          ),
          {},
        );
        const { Shards } = await awsKinesis(url, 'list-shards', ...S);
        const shards = Shards as CliShard[];
        assert.deepEqual(
          shards.map((s) => s.ShardId),
          ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'],
        );
        const merged = byId(shards, 'shardId-000000000003');
        assert.equal(merged.ParentShardId, 'shardId-000000000001', 'ids are normalised to 12 digits');
        assert.equal(merged.AdjacentParentShardId, 'shardId-000000000002');
        assert.deepEqual(merged.HashKeyRange, { StartingHashKey: '0', EndingHashKey: MAX_HASH_KEY.toString() });
        assert.deepEqual(
          shards.filter(isOpen).map((s) => s.ShardId),
          ['shardId-000000000003'],
        );
      },
    );
  });

  it('describe-stream on a 120-shard stream returns all 120 shards (Limit / HasMoreShards paging)', async (t) => {
    const step = stepper(t);
    const S = ['--stream-name', 'wide-stream'];
    const expectedIds = Array.from({ length: 120 }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
    await step('create-stream --shard-count 120', async () => {
      await awsKinesis(url, 'create-stream', ...S, '--shard-count', '120');
    });
    await step('describe-stream (default page of 100, then ExclusiveStartShardId)', async () => {
      const { StreamDescription: d } = await awsKinesis(url, 'describe-stream', ...S);
      const shards = d.Shards as CliShard[];
      assert.equal(shards.length, 120, `the CLI paginator must collect all 120 shards, got ${shards.length}`);
      assert.deepEqual(
        shards.map((s) => s.ShardId),
        expectedIds,
      );
      assertTilesKeySpace(shards);
    });
    await step('describe-stream --page-size 7 (Limit=7 on every page)', async () => {
      const { StreamDescription: d } = await awsKinesis(url, 'describe-stream', ...S, '--page-size', '7');
      assert.deepEqual(
        (d.Shards as CliShard[]).map((s) => s.ShardId),
        expectedIds,
      );
    });
  });

  it('get-shard-iterator AT_TIMESTAMP, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER and LATEST', async (t) => {
    const step = stepper(t);
    const S = ['--stream-name', 'iterator-types-stream'];
    const shard = ['--shard-id', 'shardId-000000000000'];
    const seqs: string[] = [];
    let boundaryMs = 0;
    const put = async (data: string) => {
      const output = await awsKinesis(url, 'put-record', ...S, '--partition-key', 'k', '--data', data, ...RAW);
      seqs.push(output.SequenceNumber);
    };
    const dataOf = (output: { Records: CliRecord[] }) => output.Records.map((r) => decode(r.Data));

    await step('create, put r1, then (in a later second) r2 and r3', async () => {
      await awsKinesis(url, 'create-stream', ...S, '--shard-count', '1');
      await put('r1');
      // The CLI sends timestamps in whole seconds, so r2 must arrive in a later second than r1.
      boundaryMs = Math.floor(Date.now() / 1000) * 1000 + 1000;
      await waitFor(() => Date.now() >= boundaryMs, { message: 'the next whole second' });
      const batch = await awsKinesis(
        url,
        'put-records',
        ...S,
        '--records',
        JSON.stringify([
          { PartitionKey: 'k', Data: 'r2' },
          { PartitionKey: 'k', Data: 'r3' },
        ]),
        ...RAW,
      );
      assert.equal(batch.FailedRecordCount, 0);
      seqs.push(...batch.Records.map((r: { SequenceNumber: string }) => r.SequenceNumber));
    });

    const iterators: Record<string, string> = {};
    await step('get-shard-iterator of each type', async () => {
      const types: Array<[string, string[]]> = [
        ['AT_TIMESTAMP', ['--timestamp', new Date(boundaryMs).toISOString()]],
        ['AT_SEQUENCE_NUMBER', ['--starting-sequence-number', seqs[1]]],
        ['AFTER_SEQUENCE_NUMBER', ['--starting-sequence-number', seqs[1]]],
        ['LATEST', []],
      ];
      await Promise.all(
        types.map(async ([type, extra]) => {
          const output = await awsKinesis(
            url,
            'get-shard-iterator',
            ...S,
            ...shard,
            '--shard-iterator-type',
            type,
            ...extra,
          );
          assert.equal(typeof output.ShardIterator, 'string', `${type}: ${JSON.stringify(output)}`);
          iterators[type] = output.ShardIterator;
        }),
      );
    });

    await step('AT_TIMESTAMP starts at r2, AT_SEQUENCE_NUMBER(r2) at r2, AFTER_SEQUENCE_NUMBER(r2) at r3', async () => {
      const [atTimestamp, atSequence, afterSequence] = await Promise.all(
        ['AT_TIMESTAMP', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'].map((type) =>
          awsKinesis(url, 'get-records', '--shard-iterator', iterators[type]),
        ),
      );
      assert.deepEqual(dataOf(atTimestamp), ['r2', 'r3'], 'AT_TIMESTAMP');
      assert.deepEqual(dataOf(atSequence), ['r2', 'r3'], 'AT_SEQUENCE_NUMBER');
      assert.deepEqual(
        atSequence.Records.map((r: CliRecord) => r.SequenceNumber),
        [seqs[1], seqs[2]],
      );
      assert.deepEqual(dataOf(afterSequence), ['r3'], 'AFTER_SEQUENCE_NUMBER');
    });

    await step('LATEST sees only a record put after the iterator was taken', async () => {
      await put('r4');
      const output = await awsKinesis(url, 'get-records', '--shard-iterator', iterators.LATEST);
      assert.deepEqual(dataOf(output), ['r4']);
      assert.equal(output.Records[0].SequenceNumber, seqs[3]);
    });
  });

  it('tags (add/list/remove) and increase/decrease-stream-retention-period', async (t) => {
    const step = stepper(t);
    const S = ['--stream-name', 'tagged-stream'];
    await step('create-stream', async () => {
      await awsKinesis(url, 'create-stream', ...S, '--shard-count', '1');
    });
    await step('add-tags-to-stream, remove-tags-from-stream, list-tags-for-stream', async () => {
      assert.deepEqual(await awsKinesis(url, 'add-tags-to-stream', ...S, '--tags', 'team=data,env=test,tmp=1'), {});
      assert.deepEqual(await awsKinesis(url, 'remove-tags-from-stream', ...S, '--tag-keys', 'tmp'), {});
      const output = await awsKinesis(url, 'list-tags-for-stream', ...S);
      assert.deepEqual(output.Tags, [
        { Key: 'env', Value: 'test' },
        { Key: 'team', Value: 'data' },
      ]);
      assert.equal(output.HasMoreTags, false);
    });
    await step('increase-stream-retention-period 48, decrease-stream-retention-period 36', async () => {
      assert.deepEqual(
        await awsKinesis(url, 'increase-stream-retention-period', ...S, '--retention-period-hours', '48'),
        {},
      );
      // Only allowed if the increase took effect: 36 is longer than the default 24.
      assert.deepEqual(
        await awsKinesis(url, 'decrease-stream-retention-period', ...S, '--retention-period-hours', '36'),
        {},
      );
      const { StreamDescriptionSummary } = await awsKinesis(url, 'describe-stream-summary', ...S);
      assert.equal(StreamDescriptionSummary.RetentionPeriodHours, 36);
    });
    await step('decrease-stream-retention-period 12 is refused (InvalidArgumentException, exit 254)', async () => {
      const failure = await awsKinesisFails(
        url,
        'InvalidArgumentException',
        'decrease-stream-retention-period',
        ...S,
        '--retention-period-hours',
        '12',
      );
      assert.match(failure.stderr, /Minimum allowed retention period is 24 hours/);
    });
  });
});
