/**
 * What a running agent costs, read from /proc: resident memory (VmRSS, and VmHWM, the kernel's own
 * peak of it over the process's life) and open file descriptors (entries of /proc/<pid>/fd).
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

export interface MemoryStatus {
  /** Peak resident set size so far, KiB. */
  vmHWMKiB: number;
  /** Resident set size now, KiB. */
  vmRSSKiB: number;
}

/** VmHWM and VmRSS of a live process; undefined once it has gone. */
export function memoryStatus(pid: number): MemoryStatus | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const memory = { vmHWMKiB: field('VmHWM'), vmRSSKiB: field('VmRSS') };
  // A process that has exited but not been reaped (a zombie) has no memory lines left.
  return Number.isFinite(memory.vmHWMKiB) && Number.isFinite(memory.vmRSSKiB) ? memory : undefined;
}

/** Open file descriptors of a live process; undefined once it has gone. */
export function openFdCount(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The process's open descriptors: each one's /proc link and what it points to; [] once the process has gone. */
function openDescriptors(pid: number): Array<{ link: string; target: string }> {
  let entries: string[];
  try {
    entries = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const descriptors: Array<{ link: string; target: string }> = [];
  for (const entry of entries) {
    const link = `/proc/${pid}/fd/${entry}`;
    try {
      descriptors.push({ link, target: readlinkSync(link) });
    } catch {
      // closed meanwhile
    }
  }
  return descriptors;
}

/** Targets of the open descriptors (e.g. `/tmp/x/logs/a.log (deleted)`); [] once the process has gone. */
export function openFdTargets(pid: number): string[] {
  return openDescriptors(pid).map((descriptor) => descriptor.target);
}

/** The process's open descriptors on files under `dir`, as `path@inode` (`(deleted)` kept in the path). */
export function openFilesUnder(pid: number, dir: string): string[] {
  const files: string[] = [];
  for (const { link, target } of openDescriptors(pid)) {
    if (!target.startsWith(dir)) continue;
    try {
      files.push(`${target.slice(dir.length + 1)}@${statSync(link).ino}`);
    } catch {
      // closed meanwhile
    }
  }
  return files;
}

export const mib = (kib: number) => (kib / 1024).toFixed(1);

/** Samples a process every `intervalMs` and keeps the peaks; survives the process ending. */
export class ProcSampler {
  peakFds = 0;
  peakRssKiB = 0;
  lastHWMKiB = 0;
  lastFds = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Follow another process (the agent after a restart); peaks are kept. */
  follow(pid: number): void {
    this.pid = pid;
    this.sample();
  }

  sample(): void {
    const memory = memoryStatus(this.pid);
    const fds = openFdCount(this.pid);
    if (memory === undefined || fds === undefined) return;
    this.samples++;
    this.lastHWMKiB = memory.vmHWMKiB;
    this.peakRssKiB = Math.max(this.peakRssKiB, memory.vmRSSKiB, memory.vmHWMKiB);
    this.lastFds = fds;
    this.peakFds = Math.max(this.peakFds, fds);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
