/**
 * Engine benchmark: our Kinesis-compatible engine (durable, SQLite) against kinesalite (in-memory),
 * each as a separate child process on 127.0.0.1. Prints figures; it is not a test, but it exits 1
 * if a read-back does not match what was acknowledged.
 *
 *   npm run bench:engine                       # full run (a few minutes)
 *   npm run bench:engine -- --quick            # smoke run
 *   npm run bench:engine -- --records 500000   # cap per write run for our engine (kinesalite: N/10)
 *
 * Other flags: --seconds S (time cap per write run), --read-seconds S, --kinesalite-records N,
 * --connections N, --only ours|kinesalite, --sizes 100,1024, --shards 1,4, --skip-read,
 * --profile (run our engine under node --cpu-prof and print its hotspots), --keep (keep the data dir).
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { formatProfileSummary, summarizeProfile } from './support/cpuprofile.js';
import {
  buildPutRecordsBodies,
  failedRecordCount,
  KinesisHttp,
  pageInfo,
  scanGetRecords,
  type CallResult,
} from './support/kinesis-client.js';
import {
  cpuDelta,
  cpuSnapshot,
  directoryBytes,
  loadAverage,
  machineInfo,
  processStatusKiB,
  uptimeLine,
} from './support/proc.js';
import { startServer, type ServerHandle } from './support/servers.js';
import { fixed, int, markdownTable, percentile, sig } from './support/stats.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const RECORDS_PER_CALL = 500;
const GET_RECORDS_LIMIT = 10_000;
const DISTINCT_BODIES = 8;
const MiB = 1024 * 1024;

type ServerKind = 'ours' | 'kinesalite';

interface Options {
  quick: boolean;
  records: Record<ServerKind, number>;
  warmupRecords: Record<ServerKind, number>;
  seconds: number;
  readSeconds: number;
  connections: number;
  servers: ServerKind[];
  sizes: number[];
  shards: number[];
  skipRead: boolean;
  profile: boolean;
  keep: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      records: { type: 'string' },
      'kinesalite-records': { type: 'string' },
      seconds: { type: 'string' },
      'read-seconds': { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string' },
      sizes: { type: 'string' },
      shards: { type: 'string' },
      'skip-read': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const positive = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${text}`);
    return n;
  };
  const list = (name: string, text: string | undefined, fallback: number[]) =>
    text === undefined ? fallback : text.split(',').map((t) => positive(name, t.trim(), 0));
  const quick = values.quick;
  const ours = positive('records', values.records, quick ? 20_000 : 200_000);
  const kinesalite = positive(
    'kinesalite-records',
    values['kinesalite-records'],
    values.records !== undefined ? Math.max(RECORDS_PER_CALL, Math.round(ours / 10)) : quick ? 2_000 : 20_000,
  );
  if (values.only !== undefined && values.only !== 'ours' && values.only !== 'kinesalite')
    throw new Error('--only must be ours or kinesalite');
  return {
    quick,
    records: { ours, kinesalite },
    warmupRecords: { ours: quick ? 2_000 : 10_000, kinesalite: quick ? 1_000 : 3_000 },
    seconds: positive('seconds', values.seconds, quick ? 5 : 15),
    readSeconds: positive('read-seconds', values['read-seconds'], quick ? 20 : 60),
    connections: positive('connections', values.connections, 4),
    servers: values.only === undefined ? ['ours', 'kinesalite'] : [values.only],
    sizes: list('sizes', values.sizes, [100, 1024]),
    shards: list('shards', values.shards, [1, 4]),
    skipRead: values['skip-read'],
    profile: values.profile,
    keep: values.keep,
  };
}

interface Row {
  server: ServerKind;
  op: 'write' | 'read';
  recordBytes: number;
  shards: number;
  records: number;
  calls: number;
  wallS: number;
  serverCpuS: number;
  clientCpuS: number;
  otherCpuS: number;
  latenciesMs: number[];
  resets: number;
  failedCalls: number;
  load1: number;
  note: string;
}

interface Check {
  server: ServerKind;
  stream: string;
  recordBytes: number;
  shards: number;
  acked: number;
  failedRecords: number;
  read: number;
  dataBytes: number;
  wrongSize: number;
  outOfOrder: number;
  truncated: boolean;
  resetsDuringWrite: number;
}

const progress = (text: string) => process.stderr.write(`… ${text}\n`);

/** What a write or read phase measures alike: wall time, CPU (server, client, others), resets, failed calls, load. */
class PhaseMeter {
  readonly latenciesMs: number[] = [];
  private readonly resets0: number;
  private readonly failed0: number;
  private readonly load1 = loadAverage()[0];
  private readonly before: ReturnType<typeof cpuSnapshot>;
  readonly startedMs: number;

  constructor(
    private readonly server: ServerHandle,
    private readonly client: KinesisHttp,
  ) {
    this.resets0 = client.resets;
    this.failed0 = client.failedCalls;
    this.before = cpuSnapshot(server.pid);
    this.startedMs = performance.now();
  }

  /** The phase is over: its row, timed up to now. */
  row(fields: Pick<Row, 'server' | 'op' | 'recordBytes' | 'shards' | 'records'>, notes: string[]): Row {
    const wallS = (performance.now() - this.startedMs) / 1000;
    const cpu = cpuDelta(this.before, this.server.pid);
    return {
      ...fields,
      calls: this.latenciesMs.length,
      wallS,
      serverCpuS: cpu.serverSeconds,
      clientCpuS: cpu.clientSeconds,
      otherCpuS: cpu.otherSeconds,
      latenciesMs: this.latenciesMs,
      resets: this.client.resets - this.resets0,
      failedCalls: this.client.failedCalls - this.failed0,
      load1: this.load1,
      note: notes.join('; '),
    };
  }
}

async function createStream(client: KinesisHttp, name: string, shards: number): Promise<void> {
  await client.json('CreateStream', { StreamName: name, ShardCount: shards });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const summary = await client.json<{ StreamDescriptionSummary: { StreamStatus: string } }>('DescribeStreamSummary', {
      StreamName: name,
    });
    if (summary.StreamDescriptionSummary.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`stream ${name} not ACTIVE after 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface WriteResult {
  row: Row;
  acked: number;
  failedRecords: number;
}

async function writePhase(
  server: ServerHandle,
  kind: ServerKind,
  client: KinesisHttp,
  stream: string,
  recordBytes: number,
  shards: number,
  maxRecords: number,
  maxSeconds: number,
  concurrency: number,
): Promise<WriteResult> {
  const bodies = buildPutRecordsBodies(stream, recordBytes, RECORDS_PER_CALL, DISTINCT_BODIES);
  const maxCalls = Math.ceil(maxRecords / RECORDS_PER_CALL);
  let issued = 0;
  let acked = 0;
  let failedRecords = 0;
  let errorCalls = 0;
  let firstError: string | undefined;
  const meter = new PhaseMeter(server, client);
  const latenciesMs = meter.latenciesMs;
  const deadline = meter.startedMs + maxSeconds * 1000;
  let stoppedBy = 'record cap';
  const worker = async () => {
    while (issued < maxCalls) {
      if (performance.now() >= deadline) {
        stoppedBy = 'time cap';
        return;
      }
      if (errorCalls >= 20 || server.exited()) return;
      const body = bodies[issued++ % bodies.length];
      const start = performance.now();
      try {
        const response = await client.call('PutRecords', body);
        latenciesMs.push(performance.now() - start);
        const failed = response.status === 200 ? failedRecordCount(response.body) : undefined;
        if (failed === undefined) {
          errorCalls++;
          firstError ??= `HTTP ${response.status}: ${response.body.toString('utf8', 0, 300)}`;
          continue;
        }
        failedRecords += failed;
        acked += RECORDS_PER_CALL - failed;
      } catch (error) {
        errorCalls++;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const notes = [`stopped by ${stoppedBy}`];
  if (failedRecords > 0) notes.push(`${failedRecords} records failed (FailedRecordCount)`);
  if (errorCalls > 0) notes.push(`${errorCalls} calls errored: ${firstError}`);
  return {
    acked,
    failedRecords,
    row: meter.row({ server: kind, op: 'write', recordBytes, shards, records: acked }, notes),
  };
}

interface ReadResult {
  row: Row;
  read: number;
  dataBytes: number;
  wrongSize: number;
  outOfOrder: number;
  truncated: boolean;
}

async function readPhase(
  server: ServerHandle,
  kind: ServerKind,
  client: KinesisHttp,
  stream: string,
  recordBytes: number,
  shards: number,
  maxSeconds: number,
): Promise<ReadResult> {
  const description = await client.json<{ StreamDescription: { Shards: Array<{ ShardId: string }> } }>(
    'DescribeStream',
    { StreamName: stream },
  );
  const shardIds = description.StreamDescription.Shards.map((s) => s.ShardId);
  const iterators: string[] = [];
  for (const shardId of shardIds) {
    const { ShardIterator } = await client.json<{ ShardIterator: string }>('GetShardIterator', {
      StreamName: stream,
      ShardId: shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    });
    iterators.push(ShardIterator);
  }
  let read = 0;
  let dataBytes = 0;
  let wrongSize = 0;
  let outOfOrder = 0;
  let truncated = false;
  let firstError: string | undefined;
  const meter = new PhaseMeter(server, client);
  const latenciesMs = meter.latenciesMs;
  const deadline = meter.startedMs + maxSeconds * 1000;
  // One iterator chain per shard (a chain is sequential by nature); shards are read concurrently.
  // The next page is requested before this one is scanned, so the client's scan overlaps the
  // server's work instead of adding to the wall time.
  const readShard = async (first: string) => {
    const request = (iterator: string) => {
      const start = performance.now();
      return client
        .call('GetRecords', JSON.stringify({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }))
        .then((response) => {
          latenciesMs.push(performance.now() - start);
          return response;
        });
    };
    let pending: Promise<CallResult> | undefined = request(first);
    let previous: string | undefined;
    let emptyBehind = 0;
    while (pending) {
      let response: CallResult;
      try {
        response = await pending;
      } catch (error) {
        firstError ??= String(error);
        return;
      }
      pending = undefined;
      if (response.status !== 200) {
        firstError ??= `HTTP ${response.status}: ${response.body.toString('utf8', 0, 300)}`;
        return;
      }
      const page = pageInfo(response.body);
      const more =
        page.nextShardIterator !== undefined && (!page.empty || (!!page.millisBehindLatest && ++emptyBehind <= 3));
      if (more && performance.now() >= deadline) truncated = true;
      else if (more) pending = request(page.nextShardIterator!);
      const scan = scanGetRecords(response.body, recordBytes, previous);
      read += scan.count;
      dataBytes += scan.dataBytes;
      wrongSize += scan.wrongSize;
      outOfOrder += scan.outOfOrder;
      previous = scan.lastSequence ?? previous;
    }
  };
  await Promise.all(iterators.map(readShard));
  const notes = [`${shardIds.length} shard chain(s), Limit ${GET_RECORDS_LIMIT}`];
  if (truncated) notes.push(`TRUNCATED at ${maxSeconds} s`);
  if (firstError) notes.push(`error: ${firstError}`);
  return {
    read,
    dataBytes,
    wrongSize,
    outOfOrder,
    truncated,
    row: meter.row({ server: kind, op: 'read', recordBytes, shards, records: read }, notes),
  };
}

interface ServerReport {
  kind: ServerKind;
  description: string;
  peakRssKiB?: number;
  rssAtEndKiB?: number;
  dataDirBytes?: number;
  errorLogs: number;
  exit: string;
  resetErrors: string[];
  stderrTail: string;
  kinesaliteUncaught?: unknown;
  profile?: string;
}

async function benchServer(
  kind: ServerKind,
  options: Options,
  rows: Row[],
  checks: Check[],
  workDir: string,
): Promise<ServerReport> {
  let server: ServerHandle;
  let description: string;
  let dataDir: string | undefined;
  let profileDir: string | undefined;
  if (kind === 'ours') {
    dataDir = join(workDir, 'engine-data');
    const nodeArgs: string[] = [];
    if (options.profile) {
      profileDir = join(workDir, 'cpu-profile');
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
    }
    server = await startServer({
      name: 'shardtail engine',
      command: process.execPath,
      args: [
        ...nodeArgs,
        join(ROOT, 'dist/cli.js'),
        'engine',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        dataDir,
      ],
      cwd: ROOT,
      readyMsg: 'engine listening',
    });
    description =
      `shardtail engine: \`node ${nodeArgs.join(' ')}${nodeArgs.length ? ' ' : ''}dist/cli.js ` +
      `engine --port 0 --data-dir ${dataDir}\` — DURABLE storage on disk with the engine's defaults (a put is ` +
      `written to the data dir before it is answered, so it survives kill -9; no fsync per put, as --fsync is ` +
      `not given)${options.profile ? ' — UNDER --cpu-prof (figures include profiler overhead)' : ''}`;
  } else {
    server = await startServer({
      name: 'kinesalite',
      command: process.execPath,
      args: [join(ROOT, 'bench/support/kinesalite-server.mjs'), '--port', '0'],
      cwd: ROOT,
      readyMsg: 'kinesalite listening',
    });
    description =
      'kinesalite 3.3.3: IN-MEMORY (its default and fastest store, no --path), createStreamMs 0, via ' +
      'bench/support/kinesalite-server.mjs (binds 127.0.0.1 and survives its note-7 request-error crash)';
  }
  progress(`${kind}: pid ${server.pid} listening on ${server.url}`);
  const client = new KinesisHttp(server.url, options.connections);
  try {
    // Warm-up (not reported): lets V8 optimise the put and get paths on both servers.
    const warm = `bench-warmup-${Date.now()}`;
    await createStream(client, warm, 1);
    const warmWrite = await writePhase(
      server,
      kind,
      client,
      warm,
      100,
      1,
      options.warmupRecords[kind],
      options.seconds,
      options.connections,
    );
    if (!options.skipRead) await readPhase(server, kind, client, warm, 100, 1, options.readSeconds);
    progress(`${kind}: warm-up wrote ${warmWrite.acked} records`);

    const shardCounts = kind === 'ours' ? options.shards : options.shards.filter((s) => s === 1);
    for (const shards of shardCounts) {
      for (const recordBytes of options.sizes) {
        const stream = `bench-${recordBytes}b-${shards}s-${Date.now()}`;
        await createStream(client, stream, shards);
        const write = await writePhase(
          server,
          kind,
          client,
          stream,
          recordBytes,
          shards,
          options.records[kind],
          options.seconds,
          options.connections,
        );
        rows.push(write.row);
        progress(
          `${kind} write ${recordBytes} B x ${shards} shard(s): ${int(write.acked / write.row.wallS)} ` +
            `records/s (${write.row.note})`,
        );
        if (options.skipRead) continue;
        const read = await readPhase(server, kind, client, stream, recordBytes, shards, options.readSeconds);
        rows.push(read.row);
        progress(`${kind} read  ${recordBytes} B x ${shards} shard(s): ${int(read.read / read.row.wallS)} records/s`);
        checks.push({
          server: kind,
          stream,
          recordBytes,
          shards,
          acked: write.acked,
          failedRecords: write.failedRecords,
          read: read.read,
          dataBytes: read.dataBytes,
          wrongSize: read.wrongSize,
          outOfOrder: read.outOfOrder,
          truncated: read.truncated,
          resetsDuringWrite: write.row.resets,
        });
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  const report: ServerReport = {
    kind,
    description,
    errorLogs: server.errorLogCount(),
    exit: '',
    resetErrors: client.resetErrors,
    stderrTail: '',
  };
  if (!server.exited()) {
    report.peakRssKiB = processStatusKiB(server.pid, 'VmHWM');
    report.rssAtEndKiB = processStatusKiB(server.pid, 'VmRSS');
  }
  const exit = await server.stop();
  report.exit = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
  if (exit.code === 13)
    report.exit += ' (Node: unsettled top-level await, i.e. the shutdown after SIGTERM never finished)';
  report.stderrTail = server.stderrTail().trim();
  if (dataDir && existsSync(dataDir)) report.dataDirBytes = directoryBytes(dataDir);
  if (kind === 'kinesalite') report.kinesaliteUncaught = server.logLines().find((l) => l.msg === 'kinesalite stopping');
  if (profileDir && existsSync(profileDir)) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const keptCopy = join(os.tmpdir(), `shardtail-engine-${Date.now()}.cpuprofile`);
      rmSync(keptCopy, { force: true });
      copyFileSync(join(profileDir, file), keptCopy);
      report.profile =
        `profile file: ` +
        `${keptCopy}\n\n${formatProfileSummary(summarizeProfile(keptCopy, { root: ROOT, top: 25 }))}`;
    } else {
      report.profile = 'no .cpuprofile was written (did the engine exit cleanly?)';
    }
  }
  return report;
}

function rowCells(row: Row): string[] {
  const perSecond = row.records / row.wallS;
  const mibPerSecond = (row.records * row.recordBytes) / MiB / row.wallS;
  const cpuPerRecordUs = row.records > 0 ? (row.serverCpuS * 1e6) / row.records : Number.NaN;
  return [
    row.server === 'ours' ? 'ours (durable)' : 'kinesalite (in-mem)',
    row.op,
    row.recordBytes === 1024 ? '1 KiB' : `${row.recordBytes} B`,
    String(row.shards),
    int(row.records),
    int(row.calls),
    fixed(row.wallS, 2),
    int(perSecond),
    fixed(mibPerSecond, 1),
    fixed(row.serverCpuS, 2),
    sig(cpuPerRecordUs),
    `${sig(percentile(row.latenciesMs, 50))} / ${sig(percentile(row.latenciesMs, 99))}`,
    fixed(row.clientCpuS, 2),
    `${fixed(row.otherCpuS, 2)} (${fixed((100 * row.otherCpuS) / (row.wallS * os.availableParallelism()), 0)}%)`,
    fixed(row.load1, 2),
    String(row.resets),
  ];
}

/** Which engine code was measured: the commit, and whether src/ had uncommitted changes (dist is built from them). */
function gitState(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' })
      .trimEnd()
      .split('\n')
      .filter(Boolean);
    const files = dirty.map((l) => l.slice(3)).join(', ');
    return (
      `commit ${head}` + (dirty.length ? ` + ${dirty.length} uncommitted file(s) in src/ (${files})` : ', src/ clean')
    );
  } catch {
    return 'unknown (git not available)';
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (!existsSync(join(ROOT, 'dist/cli.js')) && options.servers.includes('ours')) {
    throw new Error('dist/cli.js is missing: run `npm run build` first (npm run bench:engine does).');
  }
  const machine = machineInfo();
  const startedAt = new Date();
  const loadAtStart = uptimeLine();
  const codeVersion = gitState();
  const workDir = mkdtempSync(join(os.tmpdir(), 'shardtail-bench-'));
  const rows: Row[] = [];
  const checks: Check[] = [];
  const reports: ServerReport[] = [];
  try {
    for (const kind of options.servers) reports.push(await benchServer(kind, options, rows, checks, workDir));
  } finally {
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
  }
  const loadAtEnd = uptimeLine();

  const out: string[] = [];
  out.push(`# shardtail engine benchmark${options.quick ? ' (--quick smoke run)' : ''}`, '');
  out.push(
    `- when: ${startedAt.toISOString()}; machine: nproc ${machine.nproc}, ${machine.cpuModel}, ` +
      `${machine.memGiB.toFixed(1)} GiB RAM; ${machine.kernel}; node ${machine.node}`,
  );
  out.push(`- code: ${codeVersion}`);
  out.push(
    `- load (uptime) at start: ${loadAtStart}; at end: ${loadAtEnd}. Other engineers may share this 2-core ` +
      `machine: see the "others CPU s" column (busy CPU of all other processes during each phase, from /proc/stat).`,
  );
  for (const report of reports) out.push(`- ${report.description}`);
  out.push(
    `- client: this process, undici Pool with ${options.connections} keep-alive HTTP/1.1 connections and ` +
      `${options.connections} requests in flight; PutRecords of ${RECORDS_PER_CALL} records with random data ` +
      `and random 24-char partition keys, ${DISTINCT_BODIES} distinct bodies per run built once and sent ` +
      `round-robin; GetRecords from TRIM_HORIZON with Limit ${GET_RECORDS_LIMIT}, one iterator chain per shard.`,
    `- caps per write run: ours ${int(options.records.ours)} records, kinesalite ` +
      `${int(options.records.kinesalite)} records, and ${options.seconds} s each (whichever comes first); a ` +
      `warm-up of ${int(options.warmupRecords.ours)} / ${int(options.warmupRecords.kinesalite)} records per ` +
      `server is not reported. Server CPU is utime+stime from /proc/<pid>/stat (CLK_TCK 100, so ±0.01 s).`,
    '',
  );
  out.push(
    markdownTable(
      [
        'server',
        'op',
        'record',
        'shards',
        'records',
        'calls',
        'wall s',
        'records/s',
        'MiB/s payload',
        'server CPU s',
        'µs CPU/record',
        'p50 / p99 ms per call',
        'client CPU s',
        'others CPU s (% of all cores)',
        'load1',
        'resets',
      ],
      rows.map(rowCells),
    ),
    '',
  );
  const notes = rows
    .filter((r) => r.note)
    .map((r) => `- ${r.server} ${r.op} ${r.recordBytes} B × ${r.shards}: ${r.note}`);
  if (notes.length) out.push('Run notes:', ...notes, '');

  const writeRate = (server: ServerKind, bytes: number, shards: number) => {
    const row = rows.find(
      (r) => r.server === server && r.op === 'write' && r.recordBytes === bytes && r.shards === shards,
    );
    return row ? { perSecond: row.records / row.wallS, cpuUs: (row.serverCpuS * 1e6) / row.records } : undefined;
  };
  const ratioLines: string[] = [];
  for (const bytes of options.sizes) {
    const ours = writeRate('ours', bytes, 1);
    const theirs = writeRate('kinesalite', bytes, 1);
    if (!ours || !theirs) continue;
    const ratio = ours.perSecond / theirs.perSecond;
    const ours4 = writeRate('ours', bytes, 4);
    ratioLines.push(
      `- ${bytes === 1024 ? '1 KiB' : `${bytes} B`} records, 1 shard: ours / kinesalite write records/s = ` +
        `**${ratio.toFixed(1)}×** (${int(ours.perSecond)} vs ${int(theirs.perSecond)}; target ≥ 20×: ` +
        `${ratio >= 20 ? 'MET' : 'NOT MET'}); server CPU per record ${sig(ours.cpuUs)} vs ${sig(theirs.cpuUs)} ` +
        `µs (${(theirs.cpuUs / ours.cpuUs).toFixed(1)}× less)` +
        (ours4
          ? `; ours with 4 shards: ${int(ours4.perSecond)} records/s ` +
            `(${(ours4.perSecond / theirs.perSecond).toFixed(1)}×)`
          : ''),
    );
  }
  if (ratioLines.length)
    out.push('Ratio (write throughput, same record size, 1-shard stream on both):', ...ratioLines, '');
  const capacity = rows
    .filter((r) => r.op === 'write' && r.serverCpuS > 0)
    .map(
      (r) =>
        `${r.server} ${r.recordBytes === 1024 ? '1 KiB' : `${r.recordBytes} B`} × ${r.shards}: ` +
        `${int(r.records / r.serverCpuS)}`,
    );
  if (capacity.length) {
    out.push(
      'Write records per server CPU-second (what one fully available core would sustain; less sensitive to ' +
        'other load than records/s):',
      `- ${capacity.join('; ')}`,
      '',
    );
  }

  let allGood = true;
  if (checks.length) {
    out.push('Correctness (records read back from TRIM_HORIZON vs records acknowledged by PutRecords):', '');
    out.push(
      markdownTable(
        [
          'server',
          'record',
          'shards',
          'acked',
          'read back',
          'match',
          'payload bytes ok',
          'wrong-size records',
          'out-of-order/duplicate seq',
          'resets during write',
        ],
        checks.map((c) => {
          const match = c.read === c.acked && !c.truncated;
          const bytesOk = c.dataBytes === c.read * c.recordBytes;
          const good = match && bytesOk && c.wrongSize === 0 && c.outOfOrder === 0;
          if (!good) allGood = false;
          return [
            c.server,
            c.recordBytes === 1024 ? '1 KiB' : `${c.recordBytes} B`,
            String(c.shards),
            int(c.acked),
            int(c.read),
            match
              ? 'yes'
              : `**NO** (${c.read - c.acked > 0 ? '+' : ''}${c.read - c.acked}` +
                (c.truncated ? ', read truncated' : '') +
                (c.read > c.acked && c.resetsDuringWrite > 0
                  ? '; a reset batch stored before its answer was lost, then retried'
                  : '') +
                ')',
            bytesOk ? 'yes' : '**NO**',
            String(c.wrongSize),
            String(c.outOfOrder),
            String(c.resetsDuringWrite),
          ];
        }),
      ),
      '',
    );
  }

  out.push('Servers at the end of the run:');
  for (const r of reports) {
    const parts = [
      `peak RSS (VmHWM) ${r.peakRssKiB !== undefined ? `${fixed(r.peakRssKiB / 1024, 1)} MiB` : 'n/a (process gone)'}`,
      `RSS at end ${r.rssAtEndKiB !== undefined ? `${fixed(r.rssAtEndKiB / 1024, 1)} MiB` : 'n/a'}`,
      `exit ${r.exit}`,
    ];
    if (r.dataDirBytes !== undefined) parts.push(`data dir on disk ${fixed(r.dataDirBytes / MiB, 1)} MiB`);
    if (r.kind === 'ours') parts.push(`error log lines ${r.errorLogs}`);
    if (r.kinesaliteUncaught) parts.push(`wrapper: ${JSON.stringify(r.kinesaliteUncaught)}`);
    if (r.resetErrors.length) parts.push(`first resets: ${r.resetErrors.join(' | ')}`);
    out.push(`- ${r.kind}: ${parts.join('; ')}`);
    if (r.stderrTail) out.push(`  stderr: ${r.stderrTail.split('\n').slice(-5).join(' / ')}`);
  }
  for (const r of reports) if (r.profile) out.push('', `## CPU profile of our engine (node --cpu-prof)`, '', r.profile);
  console.log(out.join('\n'));
  if (!allGood) {
    console.log('\nCORRECTNESS CHECK FAILED (see the table above).');
    process.exitCode = 1;
  }
}

await main();
