/**
 * Agent benchmark: `shardtail backfill` ships N lines of about 100 bytes from the start of one file
 * to the embedded engine (durable storage, in the agent's own process), as Fluent Bit's figures in
 * ../shared/research/perf-baseline.md were measured: wall time, lines/s, CPU seconds (user + sys of
 * the whole process, engine included), lines per CPU-second and peak RSS.
 *
 *   npm run bench:agent [-- --lines 1000000 --runs 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    verify: { type: 'boolean', default: true },
  },
});
const lineCount = Number(values.lines);
const runs = Number(values.runs);
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const CLOCK_TICKS = 100;

/** The baseline's line shape: timestamp, level, worker, request, and a sequence number to check delivery by. */
function writeLog(path: string, count: number): number {
  const levels = ['INFO ', 'INFO ', 'INFO ', 'DEBUG', 'WARN ', 'ERROR'];
  const fd = openSync(path, 'w');
  let chunk = '';
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    chunk +=
      `2026-01-01T00:00:00.${String(i % 1000).padStart(3, '0')}Z ${levels[i % 6]} [worker-${i % 8}] GET ` +
      `/api/v1/orders/${(i * 7919) % 100000} status=200 latency_ms=${i % 500} seq=${i}\n`;
    if (chunk.length > 1 << 20) {
      bytes += writeSync(fd, chunk);
      chunk = '';
    }
  }
  bytes += writeSync(fd, chunk);
  closeSync(fd);
  return bytes;
}

/** CPU time of this process's reaped children (cutime + cstime), in seconds. */
function childrenCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

function peakRssKiB(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

interface RunResult {
  wallSeconds: number;
  windowSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  records: number;
}

async function runBackfill(dir: string, logPath: string): Promise<RunResult> {
  rmSync(join(dir, 'engine'), { recursive: true, force: true });
  rmSync(join(dir, 'checkpoints.db'), { force: true });
  rmSync(join(dir, 'checkpoints.db-wal'), { force: true });
  rmSync(join(dir, 'checkpoints.db-shm'), { force: true });
  const config = join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      engine: { embedded: true, port: 0, dataDir: join(dir, 'engine') },
      checkpointFile: join(dir, 'checkpoints.db'),
      'cloudwatch.emitMetrics': false,
      flows: [
        { filePattern: logPath, kinesisStream: 'bench', initialPosition: 'START_OF_FILE', maxBufferAgeMillis: 100 },
      ],
    }),
  );
  const cpuBefore = childrenCpuSeconds();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [cli, 'backfill', '-c', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, peakRssKiB(child.pid!));
  }, 10);
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
    peak = Math.max(peak, peakRssKiB(child.pid!));
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`backfill exited with ${code}: ${output}`);
  const summary = /backfill: \d+ files, (\d+) records, \d+ bytes in ([\d.]+) s/.exec(output);
  if (!summary) throw new Error(`no summary line in: ${output}`);
  return {
    wallSeconds,
    windowSeconds: Number(summary[2]),
    cpuSeconds: childrenCpuSeconds() - cpuBefore,
    peakRssMiB: peak / 1024,
    records: Number(summary[1]),
  };
}

/** Reads the stream back through a standalone engine on the same data and checks every seq= once. */
async function verify(dir: string, count: number): Promise<string> {
  const engine = spawn(process.execPath, [cli, 'engine', '--port', '0', '--data-dir', join(dir, 'engine')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    engine.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = /"port":(\d+)/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
    engine.on('exit', () => reject(new Error('engine exited')));
  });
  const reader = spawn(process.execPath, [cli, 'stream', 'read', 'bench', '--endpoint', `http://127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = new Uint8Array(count);
  let lines = 0;
  let duplicates = 0;
  let rest = '';
  reader.stdout.setEncoding('utf8');
  reader.stdout.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      lines++;
      const seq = Number(line.slice(line.lastIndexOf('seq=') + 4));
      if (seen[seq]) duplicates++;
      seen[seq] = 1;
    }
  });
  await new Promise((resolve) => reader.on('exit', resolve));
  engine.kill('SIGTERM');
  const missing = seen.reduce((n, v) => n + (v ? 0 : 1), 0);
  if (missing > 0 || duplicates > 0)
    throw new Error(`delivery check failed: ${lines} lines read, ${missing} missing, ${duplicates} duplicated`);
  return `delivery check: all ${count.toLocaleString('en-US')} lines read back from the stream, each seq exactly once`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function stat(values: number[], digits: number): string {
  return (
    `${median(values).toFixed(digits)} ` +
    `(${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
  );
}

const dir = mkdtempSync(join(tmpdir(), 'shardtail-bench-agent-'));
try {
  const logPath = join(dir, 'app.log');
  const bytes = writeLog(logPath, lineCount);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}`);
  console.log(
    `input: ${lineCount.toLocaleString('en-US')} lines, ${bytes.toLocaleString('en-US')} bytes ` +
      `(${(bytes / lineCount).toFixed(1)} B/line); 1 warm-up run, then ${runs} counted runs`,
  );
  await runBackfill(dir, logPath);
  // The fixed cost of a run (start-up: loading modules, opening stores; shutdown), from a 1-line file.
  const oneLineDir = mkdtempSync(join(dir, 'one-'));
  const oneLinePath = join(oneLineDir, 'one.log');
  writeLog(oneLinePath, 1);
  const fixed: RunResult[] = [];
  for (let i = 0; i < runs; i++) fixed.push(await runBackfill(oneLineDir, oneLinePath));
  const fixedCpu = median(fixed.map((r) => r.cpuSeconds));
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) results.push(await runBackfill(dir, logPath));
  for (const result of results)
    if (result.records !== lineCount) throw new Error(`run shipped ${result.records} records, expected ${lineCount}`);
  const wall = results.map((r) => r.wallSeconds);
  const cpu = results.map((r) => r.cpuSeconds);
  console.log('');
  console.log('| measure | median (min–max) |');
  console.log('|---|---|');
  console.log(`| wall time, whole process (s) | ${stat(wall, 3)} |`);
  console.log(
    `| shipping window, first read to last ack (s) | ${stat(
      results.map((r) => r.windowSeconds),
      3,
    )} |`,
  );
  console.log(
    `| lines/s, whole process | ${stat(
      results.map((r) => lineCount / r.wallSeconds),
      0,
    )} |`,
  );
  console.log(
    `| lines/s, shipping window | ${stat(
      results.map((r) => lineCount / r.windowSeconds),
      0,
    )} |`,
  );
  console.log(
    `| MB/s, whole process | ${stat(
      results.map((r) => bytes / 1e6 / r.wallSeconds),
      1,
    )} |`,
  );
  console.log(`| CPU s (user + sys, engine included) | ${stat(cpu, 3)} |`);
  console.log(
    `| lines per CPU-second | ${stat(
      results.map((r) => lineCount / r.cpuSeconds),
      0,
    )} |`,
  );
  console.log(
    `| peak RSS (MiB) | ${stat(
      results.map((r) => r.peakRssMiB),
      1,
    )} |`,
  );
  console.log(
    `| fixed cost: CPU s of a 1-line run (start-up and shutdown) | ${stat(
      fixed.map((r) => r.cpuSeconds),
      3,
    )} |`,
  );
  console.log(
    `| lines per CPU-second beyond that fixed cost | ${stat(
      results.map((r) => lineCount / (r.cpuSeconds - fixedCpu)),
      0,
    )} |`,
  );
  if (values.verify) console.log('\n' + (await verify(dir, lineCount)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
