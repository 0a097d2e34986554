import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Temporary directories that are removed again: explicitly with `removeTempDirs()` (call it from an
 * `after` hook) and, as a last resort, when the test process exits.
 */
const created = new Set<string>();

process.once('exit', () => removeTempDirsSync());

export function makeTempDir(prefix = 'shardtail-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  created.delete(dir);
}

export function removeTempDirsSync(): void {
  for (const dir of [...created]) removeTempDir(dir);
}

/** For `after(removeTempDirs)`. */
export async function removeTempDirs(): Promise<void> {
  removeTempDirsSync();
}
