/**
 * What the engine acknowledges it keeps: records are written through PutRecords and PutRecord to a
 * 3-shard stream on an engine child process, which is then killed with SIGKILL (some requests
 * still in flight) and restarted on the same data dir. Every acknowledged record must come back
 * with its sequence number, shard, key and bytes; new numbers must sort above all old ones; and
 * iterators handed out before the kill must still work.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { drainShard, kinesis, readShardFromStart, type GetRecordsOutput } from '../support/kinesis-http.js';
import { stepper } from '../support/steps.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const STREAM = 'durable-stream';
const SHARDS = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'];

interface Attempt {
  partitionKey: string;
  data: Buffer;
}

interface Acked extends Attempt {
  shardId: string;
  sequenceNumber: string;
}

type ReadRecord = GetRecordsOutput['Records'][number];

let serial = 0;
function attempt(size?: number): Attempt {
  serial++;
  // Unique keys spread over all three shards; data is random bytes, not text, and sometimes empty.
  const length = size ?? (serial % 37 === 0 ? 0 : 1 + ((serial * 7919) % 3000));
  return { partitionKey: `pk-${serial}-${randomBytes(4).toString('hex')}`, data: randomBytes(length) };
}

const maxBig = (values: string[]) => values.reduce((max, v) => (BigInt(v) > max ? BigInt(v) : max), -1n);

describe('durability: kill -9 and restart on the same data dir (engine child process)', () => {
  const dataDir = makeTempDir('shardtail-durability-');
  let engine: EngineProcess | undefined;

  after(async () => {
    await engine?.stop(5_000);
    await removeTempDirs();
  });

  it('keeps every acknowledged record, never reuses a sequence number, honours old iterators', async (t) => {
    const step = stepper(t);
    /** Everything ever sent, by partition key: whatever is read back must be one of these. */
    const attempted = new Map<string, Attempt>();
    const acked = new Map<string, Acked>();
    let url = '';

    const putRecords = async (entries: Attempt[]): Promise<void> => {
      for (const entry of entries) attempted.set(entry.partitionKey, entry);
      const output = await kinesis(url, 'PutRecords', {
        StreamName: STREAM,
        Records: entries.map((e) => ({ PartitionKey: e.partitionKey, Data: e.data.toString('base64') })),
      });
      assert.equal(output.FailedRecordCount, 0);
      assert.equal(output.Records.length, entries.length);
      output.Records.forEach((r: { SequenceNumber: string; ShardId: string }, i: number) => {
        assert.ok(!acked.has(r.SequenceNumber), `sequence number ${r.SequenceNumber} handed out twice`);
        acked.set(r.SequenceNumber, { ...entries[i], shardId: r.ShardId, sequenceNumber: r.SequenceNumber });
      });
    };
    const putRecord = async (entry: Attempt, explicitHashKey?: string): Promise<Acked> => {
      attempted.set(entry.partitionKey, entry);
      const output = await kinesis(url, 'PutRecord', {
        StreamName: STREAM,
        PartitionKey: entry.partitionKey,
        Data: entry.data.toString('base64'),
        ...(explicitHashKey === undefined ? {} : { ExplicitHashKey: explicitHashKey }),
      });
      assert.ok(!acked.has(output.SequenceNumber), `sequence number ${output.SequenceNumber} handed out twice`);
      const record = { ...entry, shardId: output.ShardId, sequenceNumber: output.SequenceNumber };
      acked.set(output.SequenceNumber, record);
      return record;
    };

    await step('start the engine and create a 3-shard stream', async () => {
      engine = await startEngineProcess({ dataDir });
      url = engine.url;
      await kinesis(url, 'CreateStream', { StreamName: STREAM, ShardCount: 3 });
      const { Shards } = await kinesis(url, 'ListShards', { StreamName: STREAM });
      assert.deepEqual(
        Shards.map((s: { ShardId: string }) => s.ShardId),
        SHARDS,
      );
    });

    await step('PutRecords batches (every shard in each batch) and PutRecord calls, all acknowledged', async () => {
      for (let batch = 0; batch < 8; batch++) await putRecords(Array.from({ length: 100 }, () => attempt()));
      await Promise.all(Array.from({ length: 30 }, () => putRecord(attempt())));
      const perShard = SHARDS.map((id) => [...acked.values()].filter((r) => r.shardId === id).length);
      assert.ok(
        perShard.every((n) => n > 100),
        `records per shard: ${perShard}`,
      );
    });

    // Iterators taken before the kill: shard 0 from the start, shard 1 after its first 5 records,
    // shard 2 at LATEST (it must return exactly what was written to shard 2 after this point).
    let trimHorizonIterator = '';
    let midShardIterator = '';
    let firstFive: ReadRecord[] = [];
    let latestIterator = '';
    let shard2MaxBeforeLatest = -1n;
    await step('take iterators before the kill', async () => {
      trimHorizonIterator = (
        await kinesis(url, 'GetShardIterator', {
          StreamName: STREAM,
          ShardId: SHARDS[0],
          ShardIteratorType: 'TRIM_HORIZON',
        })
      ).ShardIterator;
      const start = (
        await kinesis(url, 'GetShardIterator', {
          StreamName: STREAM,
          ShardId: SHARDS[1],
          ShardIteratorType: 'TRIM_HORIZON',
        })
      ).ShardIterator;
      const firstPage = await kinesis<GetRecordsOutput>(url, 'GetRecords', { ShardIterator: start, Limit: 5 });
      assert.equal(firstPage.Records.length, 5);
      firstFive = firstPage.Records;
      midShardIterator = firstPage.NextShardIterator!;
      latestIterator = (
        await kinesis(url, 'GetShardIterator', { StreamName: STREAM, ShardId: SHARDS[2], ShardIteratorType: 'LATEST' })
      ).ShardIterator;
      shard2MaxBeforeLatest = maxBig(
        [...acked.values()].filter((r) => r.shardId === SHARDS[2]).map((r) => r.sequenceNumber),
      );
    });

    await step('keep writing from 6 connections and SIGKILL the engine mid-stream', async () => {
      let killing = false;
      let ackedBatches = 0;
      const failuresBeforeKill: string[] = [];
      const ackedBefore = acked.size;
      const writers = Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; !killing; i++) {
          try {
            if (i % 3 === 2) await putRecord(attempt());
            else {
              // Large batches keep the engine busy, so the kill lands while it is handling requests.
              await putRecords(Array.from({ length: 250 }, () => attempt()));
              ackedBatches++;
            }
          } catch (error) {
            // Once the engine is gone requests fail; their records may or may not have been stored.
            if (!killing) failuresBeforeKill.push(`writer ${w}: ${(error as Error).message}`);
            return;
          }
        }
      });
      try {
        await waitFor(() => ackedBatches >= 8 || failuresBeforeKill.length > 0, {
          timeoutMs: 30_000,
          message: '8 acknowledged batches',
        });
        assert.deepEqual(failuresBeforeKill, [], 'requests failed before the kill');
      } finally {
        killing = true;
      }
      // Requests are in flight on all six connections right now.
      const exit = await engine!.kill();
      await Promise.all(writers);
      assert.deepEqual(exit, { code: null, signal: 'SIGKILL' });
      assert.ok(acked.size > ackedBefore, 'records were acknowledged while writing up to the kill');
      engine = undefined;
    });

    const readBack = new Map<string, ReadRecord & { shardId: string }>();
    await step(
      'restart on the same data dir: every acknowledged record is there, with its number, shard, key and bytes',
      async () => {
        engine = await startEngineProcess({ dataDir });
        url = engine.url;
        const { Shards } = await kinesis(url, 'ListShards', { StreamName: STREAM });
        assert.deepEqual(
          Shards.map((s: { ShardId: string }) => s.ShardId),
          SHARDS,
        );
        for (const shardId of SHARDS) {
          const records = await readShardFromStart(url, STREAM, shardId);
          for (let i = 0; i < records.length; i++) {
            const r = records[i];
            if (i > 0)
              assert.ok(
                BigInt(r.SequenceNumber) > BigInt(records[i - 1].SequenceNumber),
                `${shardId}: sequence numbers out of order at ${i}`,
              );
            assert.ok(!readBack.has(r.SequenceNumber), `sequence number ${r.SequenceNumber} read twice`);
            readBack.set(r.SequenceNumber, { ...r, shardId });
            // Nothing may appear that was never sent, or with other bytes than were sent.
            const sent = attempted.get(r.PartitionKey);
            assert.ok(sent, `record ${r.SequenceNumber} with unknown partition key ${r.PartitionKey}`);
            assert.ok(
              Buffer.from(r.Data, 'base64').equals(sent.data),
              `record ${r.SequenceNumber} (${r.PartitionKey}) came back with other bytes`,
            );
          }
        }
        const missing: string[] = [];
        for (const record of acked.values()) {
          const found = readBack.get(record.sequenceNumber);
          if (!found) {
            missing.push(record.sequenceNumber);
            continue;
          }
          assert.equal(found.shardId, record.shardId, `record ${record.sequenceNumber} moved shards`);
          assert.equal(
            found.PartitionKey,
            record.partitionKey,
            `record ${record.sequenceNumber} has another partition key`,
          );
          assert.ok(
            Buffer.from(found.Data, 'base64').equals(record.data),
            `record ${record.sequenceNumber} has other bytes`,
          );
        }
        assert.deepEqual(
          missing.slice(0, 10),
          [],
          `${missing.length} of ${acked.size} acknowledged records are gone after kill -9`,
        );
        const unacknowledged = attempted.size - acked.size;
        const storedAnyway = readBack.size - acked.size;
        t.diagnostic(
          `${acked.size} acknowledged, ${unacknowledged} in flight at the kill, ${storedAnyway} of those stored`,
        );
        // Each partition key was sent once, so it is stored at most once.
        const keys = [...readBack.values()].map((r) => r.PartitionKey);
        assert.equal(new Set(keys).size, keys.length, 'a record was stored twice');
      },
    );

    await step('iterators from before the kill still work after the restart', async () => {
      const shard0 = [...readBack.values()].filter((r) => r.shardId === SHARDS[0]).map((r) => r.SequenceNumber);
      const fromOld = await drainShard(url, trimHorizonIterator);
      assert.deepEqual(
        fromOld.records.map((r) => r.SequenceNumber),
        shard0,
        'TRIM_HORIZON iterator of shard 0',
      );

      const shard1 = [...readBack.values()].filter((r) => r.shardId === SHARDS[1]).map((r) => r.SequenceNumber);
      assert.deepEqual(
        shard1.slice(0, 5),
        firstFive.map((r) => r.SequenceNumber),
      );
      const fromMiddle = await drainShard(url, midShardIterator);
      assert.deepEqual(
        fromMiddle.records.map((r) => r.SequenceNumber),
        shard1.slice(5),
        'NextShardIterator after 5 records of shard 1',
      );

      const shard2After = [...readBack.values()]
        .filter((r) => r.shardId === SHARDS[2] && BigInt(r.SequenceNumber) > shard2MaxBeforeLatest)
        .map((r) => r.SequenceNumber);
      assert.ok(shard2After.length > 0, 'the writes after the LATEST iterator reached shard 2');
      const fromLatest = await drainShard(url, latestIterator);
      assert.deepEqual(
        fromLatest.records.map((r) => r.SequenceNumber),
        shard2After,
        'LATEST iterator of shard 2',
      );
    });

    await step('new records get numbers above every earlier number of their shard', async () => {
      const { Shards } = await kinesis(url, 'ListShards', { StreamName: STREAM });
      // Everything acknowledged was read back (previous step), so readBack holds each shard's highest number.
      const before = new Map(
        SHARDS.map((id) => [
          id,
          maxBig([...readBack.values()].filter((r) => r.shardId === id).map((r) => r.SequenceNumber)),
        ]),
      );
      for (const shard of Shards as Array<{ ShardId: string; HashKeyRange: { StartingHashKey: string } }>) {
        const single = await putRecord(attempt(16), shard.HashKeyRange.StartingHashKey);
        assert.equal(single.shardId, shard.ShardId);
        assert.ok(
          BigInt(single.sequenceNumber) > before.get(shard.ShardId)!,
          `${shard.ShardId}: new number ${single.sequenceNumber} is not above ${before.get(shard.ShardId)}`,
        );
      }
      const sizeBefore = acked.size;
      await putRecords(Array.from({ length: 60 }, () => attempt()));
      for (const record of [...acked.values()].slice(sizeBefore)) {
        assert.ok(
          BigInt(record.sequenceNumber) > before.get(record.shardId)!,
          `${record.shardId}: batch number ${record.sequenceNumber} is not above ${before.get(record.shardId)}`,
        );
      }
    });

    await step('SIGTERM stops the engine cleanly, and a second restart still has everything', async () => {
      const exit = await engine!.stop(10_000);
      assert.deepEqual(exit, { code: 0, signal: null, forced: false }, `engine output:\n${engine!.output.join('\n')}`);
      assert.ok(
        engine!.logs.some((l) => l.msg === 'engine stopped'),
        'the engine logs "engine stopped"',
      );
      engine = await startEngineProcess({ dataDir });
      url = engine.url;
      const all = new Set<string>();
      for (const shardId of SHARDS)
        for (const r of await readShardFromStart(url, STREAM, shardId)) all.add(r.SequenceNumber);
      const lost = [...acked.keys()].filter((seq) => !all.has(seq));
      assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged records are gone after a clean restart`);
    });
  });
});
