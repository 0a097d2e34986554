import { open, type FileHandle } from 'node:fs/promises';
import { sameIdentity } from './identity.js';
import type { TrackedFile } from './tracked-file.js';

/**
 * Files a flow keeps open at once. Beyond it, files that are idle at their end are closed and
 * reopened by identity (device and inode) when they grow, so a glob over thousands of files does
 * not exhaust descriptors.
 */
export const MAX_OPEN_FILES_PER_FLOW = 128;

/**
 * The descriptors of a flow's files, at most `limit` (transient ones included: a file being
 * opened to be looked at counts too). When one more is needed, the least recently read file that
 * is idle at its end gives up its descriptor.
 */
export class OpenFiles {
  /** Descriptors held, tracked files' and transient ones. */
  private descriptors = 0;
  /** The tracked files holding one, at most `limit`. */
  private readonly holders = new Set<TrackedFile>();

  constructor(private readonly limit = MAX_OPEN_FILES_PER_FLOW) {}

  get count(): number {
    return this.descriptors;
  }

  get overLimit(): boolean {
    return this.descriptors > this.limit;
  }

  /**
   * Opens `path` for reading; throws as open(2) does. At the limit an idle file's descriptor is
   * closed first (and its close awaited), so that even a transient open does not take the flow past
   * it; when every open file is busy the caller gets one over, and gives a descriptor back once the
   * new file is held (see FileSet). The slot is counted before the open is awaited, so that opens
   * in flight at once each make room for themselves.
   */
  async open(path: string): Promise<FileHandle> {
    if (this.descriptors >= this.limit) await this.closeIdle();
    this.descriptors++;
    try {
      return await open(path, 'r');
    } catch (error) {
      this.descriptors--;
      throw error;
    }
  }

  async release(handle: FileHandle): Promise<void> {
    this.descriptors--;
    await handle.close().catch(() => undefined);
  }

  /** `file` now reads through `handle` (one that open() gave). */
  hold(file: TrackedFile, handle: FileHandle): void {
    file.attach(handle);
    this.holders.add(file);
  }

  async close(file: TrackedFile): Promise<void> {
    const handle = file.detach();
    if (handle === undefined) return;
    this.holders.delete(file);
    await this.release(handle);
  }

  /** Closes the least recently read file that is idle at its end; false if every open file is busy. */
  async closeIdle(): Promise<boolean> {
    let victim: TrackedFile | undefined;
    for (const file of this.holders) {
      if (!file.idleAtEnd) continue;
      if (victim === undefined || file.lastReadMs < victim.lastReadMs) victim = file;
    }
    if (victim === undefined) return false;
    await this.close(victim);
    return true;
  }

  /**
   * Makes sure the file is open, reopening it by path only if that path still holds the same
   * identity (a rotated file is found again under its new name by the next scan).
   */
  async reopen(file: TrackedFile): Promise<boolean> {
    if (file.handle !== undefined) return true;
    if (this.descriptors >= this.limit && !(await this.closeIdle())) return false;
    let handle: FileHandle;
    try {
      handle = await this.open(file.path);
    } catch {
      return false;
    }
    const info = await handle.stat().catch(() => undefined);
    if (info === undefined || !sameIdentity(info, file.identity)) {
      await this.release(handle);
      return false;
    }
    this.hold(file, handle);
    return true;
  }
}
