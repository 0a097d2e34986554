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
 * The descriptors of a flow's files, never more than `limit` open at once (transient ones included:
 * a file being opened to be looked at counts too). When one more is needed, a tracked file gives
 * up its descriptor: the least recently read one that is idle at its end, or, when a new file must
 * be looked at and every open one is busy, the least recently read of all (it is reopened by
 * identity when it is read next, as an idle one is when it grows).
 */
export class OpenFiles {
  /** Descriptors open or about to be: a slot is taken before open(2) and given back after close(2). */
  private descriptors = 0;
  /** The tracked files holding one. */
  private readonly holders = new Set<TrackedFile>();
  /** Files being read now: their descriptors are not taken from under the read. */
  private readonly inUse = new Set<TrackedFile>();
  /** Opens waiting for a slot: every slot is transient or in use; woken when that may have changed. */
  private waiting: (() => void)[] = [];

  constructor(private readonly limit = MAX_OPEN_FILES_PER_FLOW) {}

  get count(): number {
    return this.descriptors;
  }

  /**
   * Opens `path` for reading; throws as open(2) does. At the limit the slot of an evicted file is
   * handed over to this open (taken in the same tick, so opens in flight at once cannot both count
   * on one freed slot), and the evicted descriptor is closed before `path` is opened. When every
   * slot is transient or being read, this waits for one to free up.
   */
  async open(path: string): Promise<FileHandle> {
    await this.takeSlot(true);
    return this.openInSlot(path);
  }

  /**
   * Counts one more descriptor, making room first at the limit; false if there is no room to make
   * without closing a busy file and `evenBusy` is not set.
   */
  private async takeSlot(evenBusy: boolean): Promise<boolean> {
    for (;;) {
      if (this.descriptors < this.limit) {
        this.descriptors++;
        return true;
      }
      const evicted = this.evict(evenBusy);
      if (evicted !== undefined) {
        await evicted.close().catch(() => undefined);
        return true;
      }
      if (!evenBusy) return false;
      // No slot holder opens another while it holds its own, so a slot frees up when one finishes.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private wakeWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  /** Runs a read of `file`, whose descriptor stays its own until the read is over. */
  async reading<T>(file: TrackedFile, read: () => Promise<T>): Promise<T> {
    this.inUse.add(file);
    try {
      return await read();
    } finally {
      this.inUse.delete(file);
      if (this.waiting.length > 0) this.wakeWaiting();
    }
  }

  private async openInSlot(path: string): Promise<FileHandle> {
    try {
      return await open(path, 'r');
    } catch (error) {
      this.descriptors--;
      throw error;
    }
  }

  async release(handle: FileHandle): Promise<void> {
    await handle.close().catch(() => undefined);
    this.descriptors--;
    if (this.waiting.length > 0) this.wakeWaiting();
  }

  /** `file` now reads through `handle` (one that open() gave). */
  hold(file: TrackedFile, handle: FileHandle): void {
    file.attach(handle);
    this.holders.add(file);
    if (this.waiting.length > 0) this.wakeWaiting();
  }

  async close(file: TrackedFile): Promise<void> {
    const handle = file.detach();
    if (handle === undefined) return;
    this.holders.delete(file);
    await this.release(handle);
  }

  /**
   * Takes the descriptor from the least recently read holder that is idle at its end (or, if
   * `evenBusy`, from the least recently read of all), keeping its slot counted; the caller closes
   * it and uses the slot.
   */
  private evict(evenBusy: boolean): FileHandle | undefined {
    let victim: TrackedFile | undefined;
    let idle = false;
    for (const file of this.holders) {
      if (this.inUse.has(file)) continue;
      const fileIdle = file.idleAtEnd;
      if (!fileIdle && !evenBusy) continue;
      if (victim === undefined || (fileIdle && !idle) || (fileIdle === idle && file.lastReadMs < victim.lastReadMs)) {
        victim = file;
        idle = fileIdle;
      }
    }
    if (victim === undefined) return undefined;
    this.holders.delete(victim);
    return victim.detach();
  }

  /**
   * Makes sure the file is open, reopening it by path only if that path still holds the same
   * identity (a rotated file is found again under its new name by the next scan). A busy file is
   * not closed to reopen another: at the limit only an idle one makes room, else this waits.
   */
  async reopen(file: TrackedFile): Promise<boolean> {
    if (file.handle !== undefined) return true;
    if (!(await this.takeSlot(false))) return false;
    let handle: FileHandle;
    try {
      handle = await this.openInSlot(file.path);
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
