import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DiscoveredFile } from '../discover/scan.js';
import type { AgentEvents } from '../observe/events.js';
import { HeadIndex, isProperStartOf } from './head-index.js';
import { FINGERPRINT_BYTES, headOf, isCopyOf, type FileIdentity } from './identity.js';
import type { OpenFiles } from './open-files.js';
import type { TrackedFile } from './tracked-file.js';

/** How long a truncation waits for its copy to show up, and a possible original for its truncation. */
const COPY_WINDOW_MS = 30_000;
const ORIGINAL_PAUSE_MS = 2_000;
/** A suspected copy waits this long for its original's truncation: long enough for the original's pause to show it. */
export const COPY_CONFIRM_MS = ORIGINAL_PAUSE_MS + 1_000;
const COMPRESSED = /\.(gz|bz2|zip)$/i;

/** A file that shrank (copytruncate): where reading stopped, and the head its old content had. */
interface Truncation {
  head: Buffer;
  offset: number;
  atMs: number;
}

/** Where a new file is read from when it is a copy, or may be one. */
export interface CopyStart {
  offset: number;
  suspectedCopy?: { original: TrackedFile };
  /** Its first bytes are the start of a tailed or truncated file's: it may be a copy still being written. */
  headPending?: boolean;
  /** The copy of a truncated file, read on from `offset`. */
  isCopy?: boolean;
}

/**
 * copytruncate: logrotate copies the file and then truncates it. A new file whose head is that of
 * a file just truncated is that copy: it is read on from where the original was read to, so the
 * lines not yet read are shipped from the copy, and none twice. A new file whose head is that of
 * a file not truncated (yet) may be the copy, or merely another file that begins the same way (a
 * long common header): it waits, unread, for the original's truncation to confirm it, and is read
 * from its start if none comes.
 */
export class CopyDetector {
  private truncations: Truncation[] = [];
  private readonly heads = new HeadIndex<TrackedFile>();
  private readonly suspects = new Set<TrackedFile>();

  constructor(
    private readonly events: AgentEvents,
    private readonly now: () => number = Date.now,
  ) {}

  add(file: TrackedFile): void {
    this.heads.add(file);
    if (file.suspectedCopy !== undefined) this.suspects.add(file);
  }

  remove(file: TrackedFile): void {
    this.heads.remove(file);
    this.suspects.delete(file);
  }

  /** A file's head changed (it grew towards the fingerprint size, or was truncated): the index must follow. */
  setHead(file: TrackedFile, head: Buffer): void {
    this.heads.remove(file);
    file.setHead(head);
    this.heads.add(file);
  }

  /** `original` shrank below `offset`: a copy of its old content may show up, or may be waiting already. */
  truncated(original: TrackedFile, offset: number): { paused: boolean } {
    if (original.pausedUntilMs === 0) {
      this.truncations.push({ head: original.head, offset, atMs: this.now() });
      return { paused: false };
    }
    this.confirmCopiesOf(original, offset);
    return { paused: true };
  }

  /** Where a new file with `head` is read from if it is (or may be) a copy; undefined when it is none. */
  startOf(head: Buffer): CopyStart | undefined {
    const now = this.now();
    this.truncations = this.truncations.filter((t) => now - t.atMs < COPY_WINDOW_MS);
    const truncated = this.truncations.findIndex((t) => isCopyOf(head, t.head));
    if (truncated !== -1) {
      const [truncation] = this.truncations.splice(truncated, 1);
      this.events.copyFound(truncation.offset);
      return { offset: truncation.offset, isCopy: true };
    }
    for (const original of this.heads.originalsOf(head)) {
      if (original.phase === 'gone' || original.tailer.readOffset === 0) continue;
      // Hold the original until its truncation shows, so that the bytes after where it was read
      // to then are read from the copy only.
      original.pausedUntilMs = now + ORIGINAL_PAUSE_MS;
      this.events.copySuspected(original.path, original.tailer.recordEndOffset);
      return { offset: 0, suspectedCopy: { original } };
    }
    // logrotate may still be writing the copy (a scan can see it a moment after it was created):
    // while its head is only the start of one it may be the copy of, it is not decided yet.
    if (
      head.length < FINGERPRINT_BYTES &&
      (this.truncations.some((t) => isProperStartOf(head, t.head)) || this.heads.anyBeginsWith(head))
    ) {
      return { offset: 0, headPending: true };
    }
    return undefined;
  }

  /**
   * A new file whose head was the start of another's has grown, or its wait is over: decides now
   * whether it is a copy (read on from its original's offset, or suspected) or a file of its own.
   */
  decidePending(file: TrackedFile, waitOver: boolean): void {
    const start = waitOver ? undefined : this.startOf(file.head);
    if (start?.headPending) return;
    file.headPending = false;
    file.pausedUntilMs = 0;
    if (start?.suspectedCopy !== undefined) {
      file.suspectedCopy = start.suspectedCopy;
      file.pausedUntilMs = this.now() + COPY_CONFIRM_MS;
      this.suspects.add(file);
    } else if (start !== undefined) {
      file.skipTo(start.offset);
    }
  }

  /**
   * The original of suspected copies was truncated, having been read to `offset`: they are copies,
   * read on from there. Where it was read to when the copy appeared is not enough: a read of it
   * may have been under way.
   */
  private confirmCopiesOf(original: TrackedFile, offset: number): void {
    for (const file of this.suspects) {
      if (file.suspectedCopy?.original !== original) continue;
      this.suspects.delete(file);
      file.skipTo(offset);
      file.suspectedCopy = undefined;
      file.pausedUntilMs = 0;
      file.wake();
      this.events.copyConfirmed(file.path, original.path, offset);
    }
  }

  /** A suspected copy's wait is over without its original's truncation: it is a file of its own. */
  notACopy(file: TrackedFile): void {
    const original = file.suspectedCopy?.original;
    if (original === undefined) return;
    file.suspectedCopy = undefined;
    this.suspects.delete(file);
    this.events.notACopy(file.path, original.path);
  }

  /**
   * The copy logrotate's copytruncate made may not match the glob (app.log → app.log.1 for a glob
   * of app.log). It is looked for beside the original: a recent file there that has a truncated
   * file's head, and that `isTracked` does not know yet.
   */
  async copyBeside(
    originalPath: string,
    openFiles: OpenFiles,
    isTracked: (identity: FileIdentity) => boolean,
  ): Promise<DiscoveredFile | undefined> {
    const directory = dirname(originalPath);
    const names = await readdir(directory).catch(() => [] as string[]);
    const now = this.now();
    for (const name of names) {
      const path = join(directory, name);
      if (path === originalPath || COMPRESSED.test(name)) continue;
      const info = await stat(path).catch(() => undefined);
      if (info === undefined || !info.isFile() || now - info.mtimeMs > COPY_WINDOW_MS || isTracked(info)) continue;
      const handle = await openFiles.open(path).catch(() => undefined);
      if (handle === undefined) continue;
      const head = headOf(handle);
      await openFiles.release(handle);
      if (this.truncations.some((truncation) => isCopyOf(head, truncation.head))) {
        return { path, dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
      }
    }
    return undefined;
  }
}
