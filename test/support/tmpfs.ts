import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/**
 * Mounts a tmpfs of its own on `dir` (an existing, empty directory) with `options` (e.g.
 * 'size=1m' for a disk that fills up), unmounted when the test ends. False, with the test skipped
 * and the reason given, where mounting is not allowed (it needs root with CAP_SYS_ADMIN).
 */
export function mountTmpfs(t: TestContext, dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    t.skip(`cannot mount a tmpfs: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`);
    return false;
  }
  t.after(() => execFileSync('umount', ['-l', dir]));
  return true;
}
