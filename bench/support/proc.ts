/** Linux /proc readers for the benchmark: per-process CPU and memory, system CPU, load, machine. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** sysconf(_SC_CLK_TCK): the unit of utime/stime in /proc/<pid>/stat and of /proc/stat (100 on Linux). */
export const CLK_TCK = 100;

/** utime + stime of a process (all its threads), in clock ticks. */
export function processCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) may contain spaces or parentheses; the fields after the last ')' start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // fields 14 and 15: utime, stime
}

/** A `Vm*` line of /proc/<pid>/status in KiB (VmHWM is the peak resident set size). */
export function processStatusKiB(pid: number, key: string): number | undefined {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : undefined;
}

export interface SystemCpu {
  busy: number;
  total: number;
}

/** Busy (everything but idle and iowait) and total ticks over all CPUs, from /proc/stat. */
export function systemCpuTicks(): SystemCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - values[3] - values[4], total };
}

/** The 1-, 5- and 15-minute load averages as printed by uptime. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a, b, c];
}

export function uptimeLine(): string {
  const [a, b, c] = loadAverage();
  return `load average: ${a.toFixed(2)}, ${b.toFixed(2)}, ${c.toFixed(2)}`;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpuModel = match[1].trim();
  } catch {
    cpuModel = os.cpus()[0]?.model ?? 'unknown';
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    memGiB: os.totalmem() / 1024 ** 3,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
  };
}

/** Total size of the files under a directory (the engine's SQLite database and WAL). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** What a phase cost: the server's CPU, the benchmark client's CPU and everybody else's, in seconds. */
export interface CpuSnapshot {
  serverTicks: number;
  system: SystemCpu;
  client: NodeJS.CpuUsage;
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  return { serverTicks: processCpuTicks(serverPid), system: systemCpuTicks(), client: process.cpuUsage() };
}

export interface CpuDelta {
  serverSeconds: number;
  clientSeconds: number;
  /** Busy CPU of every other process on the machine during the phase (tests run by others, etc.). */
  otherSeconds: number;
}

export function cpuDelta(before: CpuSnapshot, serverPid: number): CpuDelta {
  const after = cpuSnapshot(serverPid);
  const serverSeconds = (after.serverTicks - before.serverTicks) / CLK_TCK;
  const usage = process.cpuUsage(before.client);
  const clientSeconds = (usage.user + usage.system) / 1e6;
  const busySeconds = (after.system.busy - before.system.busy) / CLK_TCK;
  return { serverSeconds, clientSeconds, otherSeconds: Math.max(0, busySeconds - serverSeconds - clientSeconds) };
}
