/**
 * Backfill benchmark over a directory of rotated logs, half of them gzip'd (`app.log`,
 * `app.log.1`, `app.log.2.gz`, …): `shardtail backfill` ships every line into the embedded engine,
 * then a rerun on the same checkpoints must ship nothing. Figures are printed beside a floor
 * measured in the same run: a plain Node process that reads (and gunzips) the same files and
 * counts their lines, which is the least any shipper must spend.
 *
 *   npm run bench:backfill [-- --files 50 --mb 200 --runs 3]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { childrenCpuSeconds, runBackfill, verify, writeLog, type RunResult } from './support/backfill-run.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '50' },
    mb: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
  },
});
const fileCount = Number(values.files);
const runs = Number(values.runs);
/** The line shape of writeLog is about 100 bytes. */
const linesPerFile = Math.round((Number(values.mb) * 1e6) / 100 / fileCount);

/** Reads every file (gunzipping the .gz ones) and counts newlines: what shipping them costs at the least. */
const FLOOR_SCRIPT = `
const { createReadStream } = require('node:fs');
const { createGunzip } = require('node:zlib');
let lines = 0;
(async () => {
  for (const file of process.argv.slice(1)) {
    let stream = createReadStream(file, { highWaterMark: 1 << 20 });
    if (file.endsWith('.gz')) stream = stream.pipe(createGunzip());
    for await (const chunk of stream) for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  console.log(lines);
})();
`;

async function runFloor(files: string[]): Promise<{ wallSeconds: number; cpuSeconds: number; lines: number }> {
  const cpuBefore = childrenCpuSeconds();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['-e', FLOOR_SCRIPT, ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => child.on('exit', resolve));
  return {
    wallSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: childrenCpuSeconds() - cpuBefore,
    lines: Number(output.trim()),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), 'shardtail-bench-backfill-'));
try {
  const logDir = join(dir, 'logs');
  mkdirSync(logDir);
  const files: string[] = [];
  let plainBytes = 0;
  let diskBytes = 0;
  for (let f = 0; f < fileCount; f++) {
    const name = f === 0 ? 'app.log' : `app.log.${f}`;
    const path = join(logDir, name);
    plainBytes += writeLog(path, linesPerFile, f * linesPerFile);
    if (f % 2 === 0) {
      files.push(path);
    } else {
      writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 6 }));
      rmSync(path);
      files.push(`${path}.gz`);
    }
    diskBytes += statSync(files.at(-1)!).size;
  }
  const lineCount = linesPerFile * fileCount;
  const mib = plainBytes / 2 ** 20;
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}`);
  console.log(
    `input: ${fileCount} rotated files (${Math.ceil(fileCount / 2)} plain, ${Math.floor(fileCount / 2)} gzip), ` +
      `${lineCount.toLocaleString('en-US')} lines, ${mib.toFixed(0)} MiB of lines, ` +
      `${(diskBytes / 2 ** 20).toFixed(0)} MiB on disk; ${runs} runs, ` +
      'each a backfill from scratch and a rerun on its checkpoints',
  );
  const glob = join(logDir, 'app.log*');
  const floors = [];
  const shipped: RunResult[] = [];
  const reruns: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    floors.push(await runFloor(files));
    const result = await runBackfill(dir, glob);
    if (result.records !== lineCount) throw new Error(`run shipped ${result.records} records, expected ${lineCount}`);
    shipped.push(result);
    const rerun = await runBackfill(dir, glob, true);
    if (rerun.records !== 0) throw new Error(`a rerun shipped ${rerun.records} records, expected none`);
    reruns.push(rerun);
  }
  for (const floor of floors)
    if (floor.lines !== lineCount) throw new Error(`the floor counted ${floor.lines} lines, expected ${lineCount}`);
  const row = (measure: string, backfill: number, floor: number | string, digits: number) =>
    console.log(
      `| ${measure} | ${backfill.toFixed(digits)} | ${typeof floor === 'number' ? floor.toFixed(digits) : floor} |`,
    );
  console.log('');
  console.log('| measure (median) | shardtail backfill | floor: read + gunzip + count lines |');
  console.log('|---|---|---|');
  row('wall time (s)', median(shipped.map((r) => r.wallSeconds)), median(floors.map((r) => r.wallSeconds)), 2);
  row(
    'MiB of lines / s',
    median(shipped.map((r) => mib / r.wallSeconds)),
    median(floors.map((r) => mib / r.wallSeconds)),
    1,
  );
  row('CPU s (user + sys)', median(shipped.map((r) => r.cpuSeconds)), median(floors.map((r) => r.cpuSeconds)), 2);
  row(
    'lines per CPU-second',
    median(shipped.map((r) => lineCount / r.cpuSeconds)),
    median(floors.map((r) => lineCount / r.cpuSeconds)),
    0,
  );
  row('peak RSS (MiB)', median(shipped.map((r) => r.peakRssMiB)), '–', 1);
  row('rerun: records shipped', 0, '–', 0);
  row('rerun: wall time (s)', median(reruns.map((r) => r.wallSeconds)), '–', 2);
  console.log('\n' + (await verify(dir, lineCount)).message);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
