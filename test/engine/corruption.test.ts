/**
 * Damaged storage, on an engine child process: data files overwritten, truncated (and written
 * again) or deleted behind the engine's back, and an index that is lost or older than the data.
 * The engine must never answer altered or other records for an acknowledged sequence number, must
 * name the damaged shard, range and file in its start-up log and in the GetRecords error, must let
 * readers get past the damage with AFTER_SEQUENCE_NUMBER, and must never hand a number out twice.
 *
 * The damage is aimed with the index rows (offsets of segments in their hour file), read with
 * SQLite while the engine is stopped or between its commits.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertCliBuilt, startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import {
  assertAwsError,
  drainShard,
  expectAwsError,
  kinesis,
  kinesisRequest,
  type GetRecordsOutput,
} from '../support/kinesis-http.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

const STREAM = 'damaged';
const SHARD = 'shardId-000000000000';
const REQUESTS = 5;
const RECORDS_PER_REQUEST = 3;

interface Written {
  SequenceNumber: string;
  PartitionKey: string;
  Data: string;
}

interface Segment {
  file: string;
  offset: number;
  first: string;
  last: string;
}

let serial = 0;
const engines: EngineProcess[] = [];

before(assertCliBuilt);
after(async () => {
  for (const engine of engines) await engine.stop(5_000);
  await removeTempDirs();
});

async function start(dataDir: string): Promise<EngineProcess> {
  const engine = await startEngineProcess({ dataDir });
  engines.push(engine);
  return engine;
}

/** One PutRecords per request: on a 1-shard stream each is one segment in the data file. */
async function put(url: string, requests: number): Promise<Written[][]> {
  const batches: Written[][] = [];
  for (let r = 0; r < requests; r++) {
    const entries = Array.from({ length: RECORDS_PER_REQUEST }, () => ({
      PartitionKey: `pk-${++serial}`,
      Data: Buffer.from(`record ${serial} `.repeat(8)).toString('base64'),
    }));
    const output = await kinesis(url, 'PutRecords', { StreamName: STREAM, Records: entries });
    assert.equal(output.FailedRecordCount, 0);
    batches.push(entries.map((entry, i) => ({ ...entry, SequenceNumber: output.Records[i].SequenceNumber })));
  }
  return batches;
}

/** The index's segments, oldest first, with the data file each is in; the engine must be stopped. */
function segmentsOf(dataDir: string, prefix: string): Segment[] {
  const db = new Database(path.join(dataDir, 'kinesis.db'), { readonly: true });
  try {
    const rows = db
      .prepare(
        'SELECT stream_id, first_counter, last_counter, arrival_ms, file_offset FROM segments ORDER BY first_counter',
      )
      .all() as Array<Record<string, number>>;
    return rows.map((row) => ({
      file: path.join(dataDir, 'records', String(row.stream_id), `${Math.floor(row.arrival_ms / 3_600_000)}.log`),
      offset: row.file_offset,
      first: prefix + String(row.first_counter).padStart(20, '0'),
      last: prefix + String(row.last_counter).padStart(20, '0'),
    }));
  } finally {
    db.close();
  }
}

/** A fresh engine with a 1-shard stream holding REQUESTS segments in one hour file; stopped, with its segments. */
async function writtenAndStopped(
  name: string,
  attempt = 1,
): Promise<{ dataDir: string; batches: Written[][]; segments: Segment[] }> {
  const dataDir = makeTempDir(`shardtail-corruption-${name}-`);
  const engine = await start(dataDir);
  await kinesis(engine.url, 'CreateStream', { StreamName: STREAM, ShardCount: 1 });
  const batches = await put(engine.url, REQUESTS);
  await engine.stop();
  const segments = segmentsOf(dataDir, batches[0][0].SequenceNumber.slice(0, 20));
  assert.equal(segments.length, REQUESTS, 'one segment per request');
  // Writes that straddle the turn of an hour go to two files; the damage below is aimed at one.
  if (new Set(segments.map((s) => s.file)).size > 1 && attempt === 1) return writtenAndStopped(name, 2);
  return { dataDir, batches, segments };
}

async function iterator(url: string, type: string, sequenceNumber?: string): Promise<string> {
  const body = {
    StreamName: STREAM,
    ShardId: SHARD,
    ShardIteratorType: type,
    ...(sequenceNumber === undefined ? {} : { StartingSequenceNumber: sequenceNumber }),
  };
  return (await kinesis<{ ShardIterator: string }>(url, 'GetShardIterator', body)).ShardIterator;
}

const plain = (records: Written[] | GetRecordsOutput['Records']) =>
  records.map(({ SequenceNumber, PartitionKey, Data }) => ({ SequenceNumber, PartitionKey, Data }));

/** Reads from TRIM_HORIZON: the healthy records up to the damage, then the error that names it. */
async function readUpToDamage(url: string, first: string, last: string): Promise<GetRecordsOutput['Records']> {
  const records: GetRecordsOutput['Records'] = [];
  let current = await iterator(url, 'TRIM_HORIZON');
  for (let calls = 0; ; calls++) {
    assert.ok(calls < 20, 'the damage was never reported');
    const response = await kinesisRequest(url, 'GetRecords', { ShardIterator: current });
    if (response.status !== 200) {
      assertDamageError(response, first, last);
      return records;
    }
    records.push(...response.json.Records);
    current = response.json.NextShardIterator;
  }
}

function assertDamageError(response: Awaited<ReturnType<typeof kinesisRequest>>, first: string, last: string): void {
  assertAwsError(response, {
    status: 500,
    type: 'InternalFailureException',
    message: new RegExp(
      `^Records ${first} to ${last} of shard ${SHARD} in stream ${STREAM} ` +
        `.*damaged.*records/\\d+/\\d+\\.log.*AFTER_SEQUENCE_NUMBER with StartingSequenceNumber ${last}\\.$`,
    ),
  });
}

/** The start-up log line that names the damage: stream, shard, range and file (logged before "engine listening"). */
function damageLogged(engine: EngineProcess, first: string, last: string, file: string): Record<string, unknown> {
  const entry = engine.logs.find((e) => e.firstSequenceNumber === first);
  assert.ok(entry, `a start-up line for ${first}; output:\n${engine.output.join('\n')}`);
  assert.deepEqual(
    { stream: entry.stream, shard: entry.shard, last: entry.lastSequenceNumber, file: entry.file, level: entry.level },
    { stream: STREAM, shard: SHARD, last, file, level: 50 },
  );
  assert.match(
    String(entry.msg),
    new RegExp(`${SHARD} of stream ${STREAM}, sequence numbers ${first} to ${last}, in ${file.replace(/[.]/g, '\\.')}`),
  );
  return entry;
}

function overwrite(file: string, offset: number, bytes: string): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, offset);
  } finally {
    closeSync(fd);
  }
}

describe('engine storage: damaged data files', { timeout: 60_000 }, () => {
  it(
    '4 overwritten record bytes are reported (while running and at start), never served, and can ' + 'be skipped',
    async () => {
      const { dataDir, batches, segments } = await writtenAndStopped('overwrite');
      let engine = await start(dataDir);
      // The last 4 bytes of segment 2 are the end of its last record's data, in any layout.
      overwrite(segments[1].file, segments[2].offset - 4, 'XXXX');
      assert.deepEqual(plain(await readUpToDamage(engine.url, segments[1].first, segments[1].last)), plain(batches[0]));
      await engine.stop();

      engine = await start(dataDir);
      damageLogged(engine, segments[1].first, segments[1].last, segments[1].file);
      assert.deepEqual(plain(await readUpToDamage(engine.url, segments[1].first, segments[1].last)), plain(batches[0]));
      const past = await drainShard(engine.url, await iterator(engine.url, 'AFTER_SEQUENCE_NUMBER', segments[1].last));
      assert.deepEqual(
        plain(past.records),
        plain(batches.slice(2).flat()),
        'past the damage, the healthy records as written',
      );
      const inside = await kinesisRequest(engine.url, 'GetRecords', {
        ShardIterator: await iterator(engine.url, 'AT_SEQUENCE_NUMBER', batches[1][1].SequenceNumber),
      });
      assertDamageError(inside, segments[1].first, segments[1].last);
    },
  );

  it('a truncated file, written again, never answers new records for old numbers', async () => {
    const { dataDir, batches, segments } = await writtenAndStopped('truncate');
    truncateSync(segments[2].file, segments[2].offset + 5);
    const engine = await start(dataDir);
    damageLogged(engine, segments[2].first, segments[4].last, segments[2].file);
    const fresh = (await put(engine.url, 2)).flat();
    const old = batches.flat().map((r) => BigInt(r.SequenceNumber));
    for (const record of fresh)
      assert.ok(
        old.every((n) => BigInt(record.SequenceNumber) > n),
        `${record.SequenceNumber} must sort above every acknowledged number`,
      );

    for (let k = 2; k < REQUESTS; k++) {
      for (const record of batches[k]) {
        const response = await kinesisRequest(engine.url, 'GetRecords', {
          ShardIterator: await iterator(engine.url, 'AT_SEQUENCE_NUMBER', record.SequenceNumber),
        });
        assertDamageError(response, segments[k].first, segments[4].last);
      }
    }
    assert.deepEqual(
      plain(await readUpToDamage(engine.url, segments[2].first, segments[4].last)),
      plain(batches.slice(0, 2).flat()),
    );
    const past = await drainShard(engine.url, await iterator(engine.url, 'AFTER_SEQUENCE_NUMBER', segments[4].last));
    assert.deepEqual(
      plain(past.records),
      plain(fresh),
      'past the damage: exactly the records written after the truncation',
    );
  });

  it('a deleted data file is reported as missing, and new records after it are read', async () => {
    const { dataDir, batches, segments } = await writtenAndStopped('deleted');
    rmSync(segments[0].file);
    const engine = await start(dataDir);
    const entry = damageLogged(engine, segments[0].first, segments[4].last, segments[0].file);
    assert.match(String(entry.reason), /missing/);
    const fresh = (await put(engine.url, 1)).flat();
    assert.deepEqual(await readUpToDamage(engine.url, segments[0].first, segments[4].last), []);
    const past = await drainShard(engine.url, await iterator(engine.url, 'AFTER_SEQUENCE_NUMBER', segments[4].last));
    assert.deepEqual(plain(past.records), plain(fresh));
    assert.ok(batches.flat().every((r) => !fresh.some((f) => f.SequenceNumber === r.SequenceNumber)));
  });
});

describe('engine storage: a lost or older index never makes a sequence number repeat', { timeout: 60_000 }, () => {
  for (const [how, loseIndex] of [
    ['deleted', (file: string) => rmSync(file)],
    ['emptied', (file: string) => truncateSync(file, 0)],
  ] as const) {
    it(`kinesis.db ${how}: a re-created stream gets new numbers and leaves the old data file alone`, async () => {
      const { dataDir, batches, segments } = await writtenAndStopped(`lost-${how}`);
      loseIndex(path.join(dataDir, 'kinesis.db'));
      rmSync(path.join(dataDir, 'kinesis.db-wal'), { force: true });
      rmSync(path.join(dataDir, 'kinesis.db-shm'), { force: true });
      const original = readFileSync(segments[0].file);

      const engine = await start(dataDir);
      const orphan = engine.logs.find((e) => e.dir === path.dirname(segments[0].file));
      assert.equal(
        orphan?.segments,
        REQUESTS,
        `a warning about the orphaned data; output:\n${engine.output.join('\n')}`,
      );
      await expectAwsError(engine.url, 'DescribeStream', { StreamName: STREAM }, { type: 'ResourceNotFoundException' });
      await kinesis(engine.url, 'CreateStream', { StreamName: STREAM, ShardCount: 1 });
      const fresh = (await put(engine.url, 2)).flat();
      const old = new Set(batches.flat().map((r) => r.SequenceNumber));
      for (const record of fresh)
        assert.ok(
          !old.has(record.SequenceNumber),
          `${record.SequenceNumber} was already acknowledged before the index was lost`,
        );
      assert.ok(
        BigInt(fresh[0].SequenceNumber) > BigInt(batches[REQUESTS - 1][RECORDS_PER_REQUEST - 1].SequenceNumber),
        'the new stream id sorts above the old one',
      );
      await expectAwsError(
        engine.url,
        'GetShardIterator',
        {
          StreamName: STREAM,
          ShardId: SHARD,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          StartingSequenceNumber: batches[0][0].SequenceNumber,
        },
        { type: 'InvalidArgumentException', message: /did not come from this stream/ },
      );
      assert.deepEqual(
        plain((await drainShard(engine.url, await iterator(engine.url, 'TRIM_HORIZON'))).records),
        plain(fresh),
      );
      assert.ok(readFileSync(segments[0].file).equals(original), 'the orphaned data file is left as it was');
    });
  }

  it('an index older than the data: counters continue above the records only the data files know', async () => {
    const dataDir = makeTempDir('shardtail-corruption-older-');
    let engine = await start(dataDir);
    await kinesis(engine.url, 'CreateStream', { StreamName: STREAM, ShardCount: 1 });
    const early = (await put(engine.url, 2)).flat();
    await engine.stop();
    const backup = path.join(makeTempDir('shardtail-corruption-backup-'), 'kinesis.db');
    copyFileSync(path.join(dataDir, 'kinesis.db'), backup);
    engine = await start(dataDir);
    const late = (await put(engine.url, 3)).flat();
    await engine.stop();
    const files = [...new Set(segmentsOf(dataDir, early[0].SequenceNumber.slice(0, 20)).map((s) => s.file))];
    const contents = files.map((file) => readFileSync(file));

    copyFileSync(backup, path.join(dataDir, 'kinesis.db'));
    engine = await start(dataDir);
    const fresh = (await put(engine.url, 1)).flat();
    const highest = BigInt(late[late.length - 1].SequenceNumber);
    for (const record of fresh)
      assert.ok(
        BigInt(record.SequenceNumber) > highest,
        `${record.SequenceNumber} must sort above ${highest}, acknowledged before the index was restored`,
      );
    files.forEach((file, i) =>
      assert.ok(
        readFileSync(file).subarray(0, contents[i].length).equals(contents[i]),
        `${file}: the bytes only the data files know are not written over`,
      ),
    );
    assert.deepEqual(
      plain(
        (
          await drainShard(
            engine.url,
            await iterator(engine.url, 'AFTER_SEQUENCE_NUMBER', late[late.length - 1].SequenceNumber),
          )
        ).records,
      ),
      plain(fresh),
    );
  });
});
