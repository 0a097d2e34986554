/**
 * Agent benchmark: `shardtail backfill` ships N lines of about 100 bytes from the start of one file
 * to the embedded engine (durable storage, in the agent's own process), as Fluent Bit's figures in
 * ../shared/research/perf-baseline.md were measured: wall time, lines/s, CPU seconds (user + sys of
 * the whole process, engine included), lines per CPU-second and peak RSS.
 *
 * Then the same file with LOGTOJSON and with KPL aggregation: lines/s, lines per CPU-second and
 * Kinesis records per line beside collection alone.
 *
 *   npm run bench:agent [-- --lines 1000000 --runs 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runBackfill, verify, writeLog, type RunResult } from './support/backfill-run.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
  },
});
const lineCount = Number(values.lines);
/** LOGTOJSON with a pattern for writeLog's lines, so that every line converts. */
const LOG_TO_JSON = {
  optionName: 'LOGTOJSON',
  logFormat: 'COMMONAPACHELOG',
  matchPattern: '^(\\S+) (\\S+) +\\[(\\S+)\\] (\\S+) (\\S+) status=(\\d+) latency_ms=(\\d+) seq=(\\d+)$',
  customFieldNames: ['time', 'level', 'worker', 'method', 'path', 'status', 'latency_ms', 'seq'],
};
const runs = Number(values.runs);

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
  const collected = await verify(dir, lineCount);
  console.log('\n' + collected.message);

  // Record shaping on the same file: each shape's runs, then its stream read back and checked.
  const shapes: Array<{ name: string; flow: Record<string, unknown> }> = [
    { name: 'LOGTOJSON (matchPattern, 8 fields)', flow: { dataProcessingOptions: [LOG_TO_JSON] } },
    { name: 'KPL aggregation (51,200-byte aggregates)', flow: { aggregation: true } },
  ];
  const rows = [{ name: 'one record per line (collection)', results, check: collected }];
  for (const shape of shapes) {
    const shaped: RunResult[] = [];
    for (let i = 0; i < runs; i++) shaped.push(await runBackfill(dir, logPath, false, shape.flow));
    rows.push({ name: shape.name, results: shaped, check: await verify(dir, lineCount) });
  }
  console.log('');
  console.log(
    '| shape (median, min–max) | lines/s, shipping window | lines per CPU-second | Kinesis records per line |',
  );
  console.log('|---|---|---|---|');
  for (const row of rows)
    console.log(
      `| ${row.name} | ${stat(
        row.results.map((r) => lineCount / r.windowSeconds),
        0,
      )} | ${stat(
        row.results.map((r) => lineCount / r.cpuSeconds),
        0,
      )} | ${(row.check.kinesisRecords / lineCount).toFixed(5)} |`,
    );
  console.log('every shape: all lines read back from the stream, each seq exactly once');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
