/**
 * Firehose benchmark: our engine's PutRecordBatch into its durable buffer, beside Kinesis PutRecords
 * into the same engine (the reference: the same records, connections and disk, in the same run);
 * then delivery of a buffered backlog to the directory destination, uncompressed and GZIP, beside
 * this process writing the same bytes itself (fsync'd files, and gzip + files): the ceilings.
 *
 *   npm run bench:firehose              # full run (about 2 minutes)
 *   npm run bench:firehose -- --quick   # smoke run
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { KinesisHttp, TARGETS } from './support/kinesis-client.js';
import { cpuDelta, cpuSnapshot, directoryBytes, machineInfo } from './support/proc.js';
import { startServer, type ServerHandle } from './support/servers.js';
import { fixed, int, markdownTable, percentile } from './support/stats.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const RECORDS_PER_CALL = 500;
const MiB = 1024 * 1024;
const OBJECT_MiB = 8;

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } }, strict: true });
const quick = values.quick;
const ingestMiB = quick ? 8 : 48;
const deliveryMiB = quick ? 16 : 64;
const connections = 4;

interface Row {
  phase: string;
  who: string;
  recordBytes: number;
  records: number;
  wallS: number;
  serverCpuS: number | undefined;
  latenciesMs: number[];
}

const progress = (text: string) => process.stderr.write(`… ${text}\n`);
const S3_DESTINATION = (name: string, hints: { SizeInMBs: number; IntervalInSeconds: number }, gzip = false) => ({
  RoleARN: 'arn:aws:iam::000000000000:role/bench',
  BucketARN: `arn:aws:s3:::${name}`,
  BufferingHints: hints,
  CompressionFormat: gzip ? 'GZIP' : 'UNCOMPRESSED',
});
const HOLD = { SizeInMBs: 128, IntervalInSeconds: 900 };

/** PutRecordBatch / PutRecords bodies of 500 records each, a few distinct ones sent round-robin. */
function bodies(api: 'kinesis' | 'firehose', name: string, recordBytes: number): string[] {
  return Array.from({ length: 4 }, () => {
    const records = Array.from({ length: RECORDS_PER_CALL }, () => {
      const Data = randomBytes(recordBytes).toString('base64');
      return api === 'firehose' ? { Data } : { Data, PartitionKey: randomBytes(12).toString('hex') };
    });
    return JSON.stringify(
      api === 'firehose' ? { DeliveryStreamName: name, Records: records } : { StreamName: name, Records: records },
    );
  });
}

async function ingest(
  engine: ServerHandle,
  api: 'kinesis' | 'firehose',
  name: string,
  recordBytes: number,
  records: number,
): Promise<Row> {
  const client = new KinesisHttp(engine.url, connections, TARGETS[api]);
  const operation = api === 'firehose' ? 'PutRecordBatch' : 'PutRecords';
  const calls = bodies(api, name, recordBytes);
  const latenciesMs: number[] = [];
  let sent = 0;
  const before = cpuSnapshot(engine.pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (sent < records) {
        const body = calls[(sent / RECORDS_PER_CALL) % calls.length];
        sent += RECORDS_PER_CALL;
        const callStarted = performance.now();
        const { status, body: answer } = await client.call(operation, body);
        latenciesMs.push(performance.now() - callStarted);
        if (status !== 200 || !/"(FailedPutCount|FailedRecordCount)":0/.test(answer.toString()))
          throw new Error(`${operation} failed: HTTP ${status} ${answer.toString().slice(0, 300)}`);
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const cpu = cpuDelta(before, engine.pid);
  await client.close();
  const who = api === 'firehose' ? 'ours: Firehose PutRecordBatch' : 'reference: Kinesis PutRecords, 1 shard';
  return { phase: 'ingest', who, recordBytes, records: sent, wallS, serverCpuS: cpu.serverSeconds, latenciesMs };
}

/** Buffers a backlog with the hints held back, then lets it go and times until the buffer is empty. */
async function deliver(engine: ServerHandle, dataDir: string, gzip: boolean): Promise<Row> {
  const name = gzip ? 'bench-gzip' : 'bench-plain';
  const firehose = new KinesisHttp(engine.url, connections, TARGETS.firehose);
  await firehose.json('CreateDeliveryStream', {
    DeliveryStreamName: name,
    ExtendedS3DestinationConfiguration: S3_DESTINATION(name, HOLD, gzip),
  });
  const recordBytes = 1024;
  const records = Math.ceil((deliveryMiB * MiB) / recordBytes / RECORDS_PER_CALL) * RECORDS_PER_CALL;
  await ingest(engine, 'firehose', name, recordBytes, records);
  const index = new Database(join(dataDir, 'firehose.db'), { readonly: true });
  const waiting = index.prepare('SELECT count(*) FROM firehose_records WHERE stream = ?').pluck();
  const before = cpuSnapshot(engine.pid);
  const started = performance.now();
  await firehose.json('UpdateDestination', {
    DeliveryStreamName: name,
    CurrentDeliveryStreamVersionId: '1',
    DestinationId: 'destinationId-000000000001',
    ExtendedS3DestinationUpdate: { BufferingHints: { SizeInMBs: OBJECT_MiB, IntervalInSeconds: 0 } },
  });
  while ((waiting.get(name) as number) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  const wallS = (performance.now() - started) / 1000;
  const cpu = cpuDelta(before, engine.pid);
  index.close();
  await firehose.close();
  const onDisk = directoryBytes(join(dataDir, 's3', name));
  const who = `ours: to the directory${gzip ? ', GZIP' : ''} (${fixed(onDisk / MiB, 1)} MiB on disk)`;
  return { phase: 'deliver', who, recordBytes, records, wallS, serverCpuS: cpu.serverSeconds, latenciesMs: [] };
}

/** What the disk (and gzip) allow: the same bytes in 8 MiB objects, fsync'd and renamed into place. */
function ceiling(gzip: boolean, scratch: string): Row {
  const total = deliveryMiB * MiB;
  const chunk = randomBytes(OBJECT_MiB * MiB);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let written = 0, n = 0; written < total; written += chunk.length, n++) {
    const body = gzip ? gzipSync(chunk) : chunk;
    const temporary = join(scratch, `.object-${n}.tmp`);
    const fd = openSync(temporary, 'w');
    writeSync(fd, body);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, join(scratch, `object-${n}`));
  }
  const usage = process.cpuUsage(cpuBefore);
  const who = `reference: this process writes the bytes itself${gzip ? ', gzip' : ''}`;
  const records = total / 1024;
  const wallS = (performance.now() - started) / 1000;
  return {
    phase: 'deliver',
    who,
    recordBytes: 1024,
    records,
    wallS,
    serverCpuS: (usage.user + usage.system) / 1e6,
    latenciesMs: [],
  };
}

function cells(row: Row): string[] {
  const mib = (row.records * row.recordBytes) / MiB;
  const latency =
    row.latenciesMs.length === 0
      ? ''
      : `${fixed(percentile(row.latenciesMs, 50), 1)} / ${fixed(percentile(row.latenciesMs, 99), 1)}`;
  return [
    row.phase,
    row.who,
    int(row.recordBytes),
    int(row.records),
    fixed(row.wallS, 2),
    int(row.records / row.wallS),
    fixed(mib / row.wallS, 1),
    row.serverCpuS === undefined ? '' : fixed(row.serverCpuS, 2),
    latency,
  ];
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shardtail-bench-firehose-'));
  const scratch = mkdtempSync(join(tmpdir(), 'shardtail-bench-ceiling-'));
  const engine = await startServer({
    name: 'ours',
    command: process.execPath,
    args: [join(ROOT, 'dist/cli.js'), 'engine', '--port', '0', '--data-dir', dataDir],
    readyMsg: 'engine listening',
  });
  const rows: Row[] = [];
  try {
    const control = {
      kinesis: new KinesisHttp(engine.url, 1),
      firehose: new KinesisHttp(engine.url, 1, TARGETS.firehose),
    };
    for (const recordBytes of [100, 1024]) {
      const records = Math.ceil((ingestMiB * MiB) / recordBytes / RECORDS_PER_CALL) * RECORDS_PER_CALL;
      const stream = `bench-kinesis-${recordBytes}`;
      const deliveryStream = `bench-ingest-${recordBytes}`;
      await control.kinesis.json('CreateStream', { StreamName: stream, ShardCount: 1 });
      await control.firehose.json('CreateDeliveryStream', {
        DeliveryStreamName: deliveryStream,
        ExtendedS3DestinationConfiguration: S3_DESTINATION(deliveryStream, HOLD),
      });
      progress(`ingest ${recordBytes} B × ${int(records)}`);
      rows.push(await ingest(engine, 'kinesis', stream, recordBytes, records));
      rows.push(await ingest(engine, 'firehose', deliveryStream, recordBytes, records));
    }
    await control.kinesis.close();
    await control.firehose.close();
    for (const gzip of [false, true]) {
      progress(`deliver ${deliveryMiB} MiB${gzip ? ', GZIP' : ''}`);
      rows.push(await deliver(engine, dataDir, gzip));
      rows.push(ceiling(gzip, scratch));
    }
  } finally {
    await engine.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
  const machine = machineInfo();
  console.log(
    `\nFirehose benchmark (${quick ? 'quick' : 'full'}), ${machine.nproc} × ${machine.cpuModel}, ` +
      `${fixed(machine.memGiB, 0)} GiB, Node ${machine.node}`,
  );
  console.log(
    markdownTable(
      ['phase', 'who', 'record B', 'records', 'wall s', 'records/s', 'MiB/s', 'server CPU s', 'call ms p50 / p99'],
      rows.map(cells),
    ),
  );
  console.log(
    `\nIngest: ${connections} connections of 500-record calls; every call acknowledged only after it is committed. ` +
      `Deliver: ${deliveryMiB} MiB of 1 KiB records buffered, then let go in ${OBJECT_MiB} MiB objects ` +
      '(time from UpdateDestination until the buffer is empty); "server CPU s" is the engine\'s (or this process\'s).',
  );
}

await main();
