/** Running `shardtail backfill` for benchmarks, and checking what reached the stream. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const CLOCK_TICKS = 100;

/** The baseline's line shape: timestamp, level, worker, request, and a sequence number to check delivery by. */
export function writeLog(path: string, count: number, firstSeq = 0): number {
  const levels = ['INFO ', 'INFO ', 'INFO ', 'DEBUG', 'WARN ', 'ERROR'];
  const fd = openSync(path, 'w');
  let chunk = '';
  let bytes = 0;
  for (let i = firstSeq; i < firstSeq + count; i++) {
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
export function childrenCpuSeconds(): number {
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

export interface RunResult {
  wallSeconds: number;
  windowSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  records: number;
}

/**
 * One `shardtail backfill` of the files `logPath` (a glob) matches into an embedded engine in
 * `dir`: from scratch, or with `keepState` on the engine and checkpoints of the runs before.
 */
export async function runBackfill(
  dir: string,
  logPath: string,
  keepState = false,
  /** More keys of the flow (dataProcessingOptions, aggregation). */
  flowSettings: Record<string, unknown> = {},
): Promise<RunResult> {
  if (!keepState) {
    rmSync(join(dir, 'engine'), { recursive: true, force: true });
    rmSync(join(dir, 'checkpoints.db'), { force: true });
    rmSync(join(dir, 'checkpoints.db-wal'), { force: true });
    rmSync(join(dir, 'checkpoints.db-shm'), { force: true });
  }
  const config = join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      engine: { embedded: true, port: 0, dataDir: join(dir, 'engine') },
      checkpointFile: join(dir, 'checkpoints.db'),
      'cloudwatch.emitMetrics': false,
      flows: [
        {
          filePattern: logPath,
          kinesisStream: 'bench',
          initialPosition: 'START_OF_FILE',
          maxBufferAgeMillis: 100,
          ...flowSettings,
        },
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

export interface DeliveryCheck {
  message: string;
  /** Records the stream holds (an aggregate is one, however many lines it carries). */
  kinesisRecords: number;
}

/**
 * Reads the stream back through a standalone engine on the same data and checks every seq once:
 * `seq=N` in a line, or `"seq":"N"` in what LOGTOJSON made of one. Throws when one is missing or doubled.
 */
export async function verify(dir: string, count: number): Promise<DeliveryCheck> {
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
  const endpoint = `http://127.0.0.1:${port}`;
  const reader = spawn(process.execPath, [cli, 'stream', 'read', 'bench', '--endpoint', endpoint, '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = new Uint8Array(count);
  let lines = 0;
  let duplicates = 0;
  let unreadable = 0;
  let kinesisRecords = 0;
  let lastSequence = '';
  let rest = '';
  reader.stdout.setEncoding('utf8');
  reader.stdout.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      lines++;
      const entry = JSON.parse(line) as { sequenceNumber: string; dataBase64: string };
      // The user records of one aggregate share its sequence number, one after another.
      if (entry.sequenceNumber !== lastSequence) kinesisRecords++;
      lastSequence = entry.sequenceNumber;
      const match = /seq(?:=|":")(\d+)/.exec(Buffer.from(entry.dataBase64, 'base64').toString('utf8'));
      if (match === null) {
        unreadable++;
        continue;
      }
      const seq = Number(match[1]);
      if (seen[seq]) duplicates++;
      seen[seq] = 1;
    }
  });
  await new Promise((resolve) => reader.on('exit', resolve));
  engine.kill('SIGTERM');
  const missing = seen.reduce((n, v) => n + (v ? 0 : 1), 0);
  if (missing > 0 || duplicates > 0 || unreadable > 0)
    throw new Error(
      `delivery check failed: ${lines} lines read, ${missing} missing, ${duplicates} duplicated, ` +
        `${unreadable} without a seq`,
    );
  return {
    message:
      `delivery check: all ${count.toLocaleString('en-US')} lines read back from the stream, ` +
      'each seq exactly once',
    kinesisRecords,
  };
}
