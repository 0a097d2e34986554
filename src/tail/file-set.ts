import { stat, type FileHandle } from 'node:fs/promises';
import type { Span } from '../acknowledge/file-progress.js';
import type { DirtyCheckpoints } from '../checkpoint/dirty-checkpoints.js';
import type { ResumePoints } from '../checkpoint/resume.js';
import type { DiscoveredFile } from '../discover/scan.js';
import type { AgentEvents } from '../observe/events.js';
import { CompressedFiles } from './compressed-files.js';
import { CopyDetector } from './copy-detection.js';
import { FileIntake, type FileReadingSettings } from './file-intake.js';
import { FINGERPRINT_BYTES, headOf, identityKey, isCopyOf, sameIdentity } from './identity.js';
import type { OpenFiles } from './open-files.js';
import type { ReadBuffers } from './read-buffers.js';
import { MULTI_LINE_FLUSH_MS } from './multi-line-framer.js';
import type { FramedChunk } from './records.js';
import { MAX_IDLE_POLL_MS, TrackedFile } from './tracked-file.js';

/** How long a file that left the glob (rotated away, deleted) must stay idle before it is let go. */
const LET_GO_IDLE_MS = 1000;

export interface FileSetOptions extends FileReadingSettings {
  events: AgentEvents;
  openFiles: OpenFiles;
  buffers: ReadBuffers;
  resume: ResumePoints;
  checkpoints: DirtyCheckpoints;
  /** A chunk of records read from `file`, to process, charge and batch. */
  onChunk: (file: TrackedFile, chunk: FramedChunk) => void;
  /** Every record of a span was delivered. */
  onSpanComplete: (span: Span) => void;
  now?: () => number;
}

/** Where the first bytes of a file are read to, each time they are compared: one buffer, reused. */
const scratchHead = Buffer.alloc(FINGERPRINT_BYTES);

/**
 * The files one flow tails: taking files on as discovery lists them (new ones, renamed ones, ones
 * that got a deleted file's inode), reading a chunk of one file when the read loop asks (and what
 * truncation, copies and the end of a file mean for it), and letting files go.
 */
export class FileSet {
  private readonly files = new Map<string, TrackedFile>();
  /** The same files by the path they are tailed under, for watcher events (which name paths). */
  private readonly byPath = new Map<string, TrackedFile>();
  /**
   * The files to read at the next round: woken by an event or a scan, due for a poll, or still
   * with bytes to read. The read loop goes through these only, not through thousands of idle ones.
   */
  private readonly ready = new Set<TrackedFile>();
  /** Identities being opened right now, so two concurrent discoveries do not both take a file on. */
  private readonly tracking = new Set<string>();
  /** Which compressed files are read (gzip, in a backfill), which are skipped, which failed to decompress. */
  readonly compressed: CompressedFiles;
  private readonly copies: CopyDetector;
  private readonly intake: FileIntake;
  private readonly now: () => number;
  /** Files this set has taken on since it started. */
  filesSeen = 0;
  /** Bytes the files taken on had to read when taken on (a gzip file's by its size trailer): a backfill's total. */
  plannedBytes = 0;
  /** Counts of files already let go, so the totals do not shrink when a file is. */
  private readonly retired = { records: 0, bytes: 0 };

  constructor(private readonly options: FileSetOptions) {
    this.now = options.now ?? Date.now;
    this.copies = new CopyDetector(options.events, this.now);
    this.compressed = new CompressedFiles({
      events: options.events,
      resume: options.resume,
      backfill: options.backfill,
      buffers: options.buffers,
    });
    this.intake = new FileIntake({
      ...options,
      compressed: this.compressed,
      copies: this.copies,
      onReady: (file) => this.ready.add(file),
      now: this.now,
    });
  }

  get size(): number {
    return this.files.size;
  }

  values(): IterableIterator<TrackedFile> {
    return this.files.values();
  }

  /** The files the read loop should read now, in the order they became ready. */
  readyFiles(): TrackedFile[] {
    return [...this.ready];
  }

  has(key: string): boolean {
    return this.files.has(key);
  }

  byIdentity(identity: { dev: number; ino: number }): TrackedFile | undefined {
    return this.files.get(identityKey(identity));
  }

  /**
   * Takes a full listing of what the glob matches: new files are taken on, renamed ones followed,
   * and files no longer listed are read to their end, then let go. `initial`: the flow's first
   * start, where initialPosition applies.
   */
  async reconcile(found: DiscoveredFile[], initial: boolean): Promise<void> {
    const seen = new Set<string>();
    for (const file of found) {
      seen.add(identityKey(file));
      // A file reached by several paths (a symlink and its target) stays under the one it has.
      await this.take(file, initial, (tracked) => file.alsoAt?.includes(tracked.path) ?? false);
    }
    for (const [key, tracked] of this.files) {
      if (!seen.has(key) && tracked.phase === 'tailing') this.leave(tracked);
    }
    this.compressed.forgetUnlisted(found);
  }

  /** A file a watcher event named, at a path the glob matches: taken on, or followed if it moved. */
  async noticed(file: DiscoveredFile): Promise<void> {
    // One path at a time: a file still at the path it has is reached by another one too (a link).
    await this.take(file, false, async (tracked) => {
      const own = await stat(tracked.path).catch(() => undefined);
      return own !== undefined && sameIdentity(own, tracked.identity);
    });
  }

  /** A watcher event found nothing at `path` any more: the file tailed there was deleted or moved away. */
  gone(path: string): void {
    const tracked = this.byPath.get(path);
    if (tracked?.phase === 'tailing') this.leave(tracked);
  }

  /** Read to its end, then let go. */
  private leave(file: TrackedFile): void {
    file.phase = 'leaving';
    file.wake();
    this.options.events.leftGlob(file.path);
  }

  /**
   * One file found at `file.path`: a new one is taken on; a tracked one found under another path
   * was renamed there, unless `isAlias` says the tracked path reaches it too, or its inode went
   * to a new file after it was deleted.
   */
  private async take(
    file: DiscoveredFile,
    initial: boolean,
    isAlias: (tracked: TrackedFile) => boolean | Promise<boolean>,
  ): Promise<void> {
    const tracked = this.files.get(identityKey(file));
    if (tracked === undefined) {
      await this.track(file, initial);
      return;
    }
    const elsewhere = tracked.path !== file.path && !(await isAlias(tracked));
    const moved = elsewhere ? await tracked.foundAt(file.path, this.options.openFiles) : undefined;
    if (moved === 'unknown') return;
    if (moved === 'reused') {
      // The tracked file was deleted while closed and its inode went to this new file: the old
      // one is over (nothing more can be read from it), the new one is read from its start.
      this.options.events.inodeReused(file.path, tracked.path);
      await this.letGo(tracked);
      await this.track(file, initial);
      return;
    }
    if (tracked.phase === 'leaving') tracked.phase = 'tailing';
    if (moved === 'same') {
      this.options.events.renamed(tracked.path, file.path);
      this.movePath(tracked, file.path);
    }
    tracked.size = file.size;
    if (file.size !== tracked.tailer.readOffset || file.mtimeMs !== tracked.mtimeMs) tracked.wake();
  }

  private movePath(file: TrackedFile, path: string): void {
    if (this.byPath.get(file.path) === file) this.byPath.delete(file.path);
    file.path = path;
    this.byPath.set(path, file);
  }

  /** Takes a file on (once, whichever discovery finds it first). `listed`: matched by the glob. */
  async track(file: DiscoveredFile, initial: boolean, listed = true): Promise<void> {
    const key = identityKey(file);
    if (this.files.has(key) || this.tracking.has(key) || this.compressed.skipped(file)) return;
    this.tracking.add(key);
    try {
      await this.open(file, initial, listed);
    } finally {
      this.tracking.delete(key);
    }
  }

  private async open(found: DiscoveredFile, initial: boolean, listed: boolean): Promise<void> {
    const taken = await this.intake.take(found, initial, (identity) => this.files.has(identityKey(identity)));
    if (taken === undefined) return;
    const { file, handle } = taken;
    if (!listed) file.phase = 'leaving';
    this.filesSeen++;
    this.plannedBytes += taken.plannedBytes;
    this.files.set(file.key, file);
    this.byPath.set(file.path, file);
    this.ready.add(file);
    this.options.openFiles.hold(file, handle);
    if (!file.tailer.compressed) this.copies.add(file);
  }

  /** One chunk from one file; handles truncation, the end of the file, and letting go. Returns the bytes read. */
  async read(file: TrackedFile): Promise<number> {
    const bytes = await this.options.openFiles.reading(file, () => this.readOnce(file));
    if (!file.isReady) this.ready.delete(file);
    return bytes;
  }

  private async readOnce(file: TrackedFile): Promise<number> {
    const { openFiles, events } = this.options;
    const tailer = file.tailer;
    let reopened = false;
    if (file.handle === undefined) {
      // Closed while idle: a stat by path says whether it is worth a descriptor again.
      const info = await stat(file.path).catch(() => undefined);
      if (
        info === undefined ||
        !sameIdentity(info, file.identity) ||
        (info.size === tailer.readOffset && info.mtimeMs === file.mtimeMs)
      ) {
        return this.atEndOfFile(file);
      }
      if (!(await openFiles.reopen(file))) return 0;
      reopened = true;
    }
    const handle = file.handle!;
    file.lastReadMs = this.now();
    if (tailer.compressed) return this.readCompressed(file, handle);
    let info;
    try {
      info = await handle.stat();
    } catch (error) {
      events.statFailed(file.path, error);
      await this.letGo(file);
      return 0;
    }
    const size = info.size;
    const modified = info.mtimeMs !== file.mtimeMs;
    const grown = size > file.size;
    file.size = size;
    file.mtimeMs = info.mtimeMs;
    if (file.copyFrom !== undefined) {
      if (size < file.copyFrom) {
        // Still being copied: it is not let go while it grows.
        if (grown) file.grew(this.now());
        return this.atEndOfFile(file);
      }
      if (tailer.readOffset > file.copyFrom) file.copyFrom = undefined;
    }
    // The file's first bytes as they are now, read once whenever its size or mtime moved, and on
    // every reopen: a file that no longer begins with its head was truncated even if it has grown
    // past the read offset since (copytruncate under load, which size alone would hide), or it is
    // a new file that got the inode of this one while it was closed; a short head grows with the file.
    const current = size === tailer.readOffset && !modified && !reopened ? undefined : headOf(handle, scratchHead);
    const rewritten =
      current !== undefined &&
      size >= tailer.readOffset &&
      tailer.readOffset > 0 &&
      file.head.length > 0 &&
      !isCopyOf(current, file.head);
    if (size < tailer.readOffset || rewritten) {
      events.truncated(file.path, size, tailer.readOffset, rewritten ? 'rewritten' : 'shrank');
      // Its copy is read on from the end of the last whole line: a line cut off by the truncation is read whole from
      // the copy.
      if (!this.copies.truncated(file, tailer.recordEndOffset).paused) void this.trackCopyBeside(file.path);
      file.pausedUntilMs = 0;
      file.readAgainFromStart();
      this.copies.setHead(file, Buffer.from(current ?? []));
    } else if (current !== undefined && file.head.length < FINGERPRINT_BYTES && !current.equals(file.head)) {
      this.copies.setHead(file, Buffer.from(current));
    }
    const now = this.now();
    if (file.headPending) this.copies.decidePending(file, now >= file.pausedUntilMs);
    if (file.pausedUntilMs > now) {
      file.sleepUntil(Math.min(file.pausedUntilMs, now + this.options.minPollMs));
      return 0;
    }
    file.pausedUntilMs = 0;
    this.copies.notACopy(file);
    if (size > tailer.readOffset) {
      const before = tailer.readOffset;
      let chunk;
      try {
        chunk = await tailer.readChunk(handle, size);
      } catch (error) {
        events.readFailed(file.path, error);
        file.sleepUntil(this.now() + MAX_IDLE_POLL_MS);
        return 0;
      }
      if (chunk !== undefined) {
        this.options.onChunk(file, chunk);
        file.grew(this.now());
        return tailer.readOffset - before;
      }
    }
    return this.atEndOfFile(file);
  }

  /** A compressed file, read on; one that failed to decompress is let go. */
  private async readCompressed(file: TrackedFile, handle: FileHandle): Promise<number> {
    const before = file.tailer.readOffset;
    const chunk = await this.compressed.readChunk(file, handle);
    if (chunk === 'failed') {
      await this.letGo(file);
      return 0;
    }
    if (chunk === undefined) return this.atEndOfFile(file);
    this.options.onChunk(file, chunk);
    file.grew(this.now());
    return Math.max(1, file.tailer.readOffset - before);
  }

  /** What a copytruncate left outside the glob, read from where its original was read to, then let go. */
  private async trackCopyBeside(originalPath: string): Promise<void> {
    const copy = await this.copies.copyBeside(originalPath, this.options.openFiles, (identity) =>
      this.files.has(identityKey(identity)),
    );
    if (copy !== undefined) await this.track(copy, false, false);
  }

  /**
   * Nothing more to read for now: let the file go if its time has come, else poll it later, by the
   * time its held-back multi-line record is due at the latest (shipped then if no more came).
   */
  private async atEndOfFile(file: TrackedFile): Promise<number> {
    const now = this.now();
    const leaving = file.phase === 'leaving';
    if (this.options.backfill || (leaving && now - file.lastGrowthMs >= LET_GO_IDLE_MS)) {
      await this.letGo(file);
      return 0;
    }
    let pollBy = leaving ? file.lastGrowthMs + LET_GO_IDLE_MS : Infinity;
    if (file.tailer.holding) {
      const due = file.lastGrowthMs + MULTI_LINE_FLUSH_MS;
      const held = now >= due ? file.tailer.releaseHeld() : undefined;
      if (held !== undefined) this.options.onChunk(file, held);
      else pollBy = Math.min(pollBy, due);
    }
    file.idle(now, pollBy);
    return 0;
  }

  /** No more reading from `file`; an unterminated last record is shipped as it is. Its checkpoint still moves. */
  async letGo(file: TrackedFile): Promise<void> {
    if (file.phase === 'gone') return;
    file.phase = 'gone';
    const last = file.tailer.flushUnterminated();
    if (last !== undefined) this.options.onChunk(file, last);
    this.files.delete(file.key);
    this.ready.delete(file);
    if (this.byPath.get(file.path) === file) this.byPath.delete(file.path);
    this.copies.remove(file);
    this.options.checkpoints.retire(file);
    this.retired.records += file.tailer.recordsRead;
    this.retired.bytes += file.tailer.bytesRead;
    await this.options.openFiles.close(file);
    this.options.events.letGo(file.path);
  }

  async closeAll(): Promise<void> {
    for (const file of this.files.values()) await this.options.openFiles.close(file);
  }

  /** Records and bytes read so far (files let go included), and bytes in tailed files not read yet. */
  totals(): { records: number; bytes: number; behind: number } {
    let records = this.retired.records;
    let bytes = this.retired.bytes;
    let behind = 0;
    for (const file of this.files.values()) {
      records += file.tailer.recordsRead;
      bytes += file.tailer.bytesRead;
      behind += file.bytesBehind;
    }
    return { records, bytes, behind };
  }

  /** The `limit` files with the most bytes not read yet, most first; files read to their end are not among them. */
  mostBehind(limit: number): Array<{ path: string; bytesBehind: number }> {
    const behind: Array<{ path: string; bytesBehind: number }> = [];
    for (const file of this.files.values())
      if (file.bytesBehind > 0) behind.push({ path: file.path, bytesBehind: file.bytesBehind });
    return behind.sort((a, b) => b.bytesBehind - a.bytesBehind).slice(0, limit);
  }
}
