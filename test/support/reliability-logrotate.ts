/**
 * Debian's logrotate, driven by the tests: a config and a state file in a temp dir, `logrotate -f`
 * each time a rotation is wanted. Also reads back every line still on disk (rotated copies
 * decompressed), to tell lines the rotation tool itself destroyed (copytruncate's copy-then-truncate
 * window) from lines the agent failed to ship.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { idOf } from './agent-process.js';

export const LOGROTATE = '/usr/sbin/logrotate';

export function logrotateAvailable(): boolean {
  return existsSync(LOGROTATE);
}

export interface LogrotateSetup {
  configFile: string;
  stateFile: string;
}

export interface LogrotateOptions {
  /** The file logrotate rotates. */
  logFile: string;
  mode: 'create' | 'copytruncate';
  /** Rotated files go to this directory instead of next to the log. */
  olddir?: string;
  compress?: boolean;
  delaycompress?: boolean;
  /** Rotated files kept (logrotate's `rotate N`); more than the scenario rotates, so none is removed. */
  keep?: number;
  /** Where the config and the state file are written. */
  dir: string;
}

export function writeLogrotateConfig(options: LogrotateOptions): LogrotateSetup {
  const lines = [
    `${options.logFile} {`,
    `  rotate ${options.keep ?? 2000}`,
    '  missingok',
    '  nodateext',
    options.mode === 'create' ? '  create 0644 root root' : '  copytruncate',
    options.compress === false ? '  nocompress' : '  compress',
    options.delaycompress === false ? '' : '  delaycompress',
    options.olddir ? `  olddir ${options.olddir}` : '',
    '}',
  ].filter(Boolean);
  const configFile = path.join(options.dir, 'logrotate.conf');
  // logrotate refuses a config that others can write to: 0644.
  writeFileSync(configFile, lines.join('\n') + '\n', { mode: 0o644 });
  return { configFile, stateFile: path.join(options.dir, 'logrotate.state') };
}

/** `logrotate -f -s STATE CONFIG`; rejects with its output if it fails. */
export function runLogrotate(setup: LogrotateSetup): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      LOGROTATE,
      ['-f', '-s', setup.stateFile, setup.configFile],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`logrotate failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
  });
}

/** Ids of every line in the files of `dirs` (a `.gz` is decompressed). */
export function idsOnDisk(dirs: string[]): { ids: Set<string>; torn: Map<string, Buffer> } {
  const ids = new Set<string>();
  const torn = new Map<string, Buffer>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      let data: Buffer;
      try {
        data = readFileSync(path.join(dir, name));
        if (name.endsWith('.gz')) data = gunzipSync(data);
      } catch {
        continue; // a .gz being written right now, or gone
      }
      let start = 0;
      for (let newline = data.indexOf(0x0a); newline !== -1; newline = data.indexOf(0x0a, start)) {
        const id = idOf(data.subarray(start, Math.min(newline, start + 200)));
        if (id !== undefined) ids.add(id);
        start = newline + 1;
      }
      const tail = data.subarray(start);
      const tailId = idOf(tail);
      if (tailId !== undefined) torn.set(tailId, Buffer.from(tail));
    }
  }
  return { ids, torn };
}
