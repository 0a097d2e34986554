import { stat, type FileHandle } from 'node:fs/promises';
import { FileProgress, type Span } from '../acknowledge/file-progress.js';
import type { DirtyCheckpoints } from '../checkpoint/dirty-checkpoints.js';
import { startOfNewFile, type ResumePoints } from '../checkpoint/resume.js';
import type { InitialPosition } from '../config/types.js';
import type { DiscoveredFile } from '../discover/scan.js';
import type { AgentEvents } from '../observe/events.js';
import { COPY_CONFIRM_MS, CopyDetector, type CopyStart } from './copy-detection.js';
import { compressionByName, compressionOf, decompressedHeadOf, decompressedSizeOf } from './compression.js';
import { FileTailer, type FileReader } from './file-tailer.js';
import { NewlineFramer } from './framer.js';
import { GzipReader } from './gzip-reader.js';
import { FINGERPRINT_BYTES, headOf, identityKey, isCopyOf, sameIdentity, type FileIdentity } from './identity.js';
import type { OpenFiles } from './open-files.js';
import type { ReadBuffers } from './read-buffers.js';
import type { FramedChunk } from './records.js';
import { MAX_IDLE_POLL_MS, TrackedFile } from './tracked-file.js';

/** How long a file that left the glob (rotated away, deleted) must stay idle before it is let go. */
const LET_GO_IDLE_MS = 1000;

export interface FileSetOptions {
  events: AgentEvents;
  openFiles: OpenFiles;
  buffers: ReadBuffers;
  resume: ResumePoints;
  checkpoints: DirtyCheckpoints;
  /** A backfill reads every file to its end once and lets it go; a daemon tails on. */
  backfill: boolean;
  initialPosition: InitialPosition;
  /** Longest record the framer keeps (the destination's limit). */
  maxRecordBytes: number;
  skipHeaderLines: number;
  minPollMs: number;
  /** A chunk of records read from `file`, to process, charge and batch. */
  onChunk: (file: TrackedFile, chunk: FramedChunk) => void;
  /** Every record of a span was delivered. */
  onSpanComplete: (span: Span) => void;
  now?: () => number;
}

function notReadKey(file: { dev: number; ino: number; path: string }): string {
  return `${identityKey(file)} ${file.path}`;
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
  private readonly unreadable = new Set<string>();
  /**
   * Compressed files not read (a daemon tails no compressed file; a backfill reads gzip only), by
   * identity and path: an inode of a deleted .gz may go to a new plain log, which is read.
   */
  private readonly notRead = new Set<string>();
  /** Compressed files of formats a backfill does not read (bzip2, zstd), skipped. */
  readonly unsupported: string[] = [];
  /** Gzip files that failed to decompress (corrupt, cut off): not read to their end. */
  readonly undecompressable: string[] = [];
  private readonly copies: CopyDetector;
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
    // Compressed files rotated away are forgotten, so the set stays the size of what the glob matches.
    const listed = new Set(found.map(notReadKey));
    for (const key of this.notRead) if (!listed.has(key)) this.notRead.delete(key);
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
    const moved = elsewhere ? await this.sameFileAt(tracked, file.path) : undefined;
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

  /**
   * Whether `path`, listed with the identity (device, inode) of `file`, holds that very file
   * ('same'), a new file that got its inode after it was deleted ('reused'), or nothing that can be
   * told now ('unknown': gone again, or another file by now; the next scan settles it). A listing
   * can be older than what the file set knows (a scan of thousands of files takes a while): the path
   * is looked at now. An inode cannot be recycled while it is open, so an open file found there is
   * itself; a closed one is itself only if it still begins with the bytes it began with.
   */
  private async sameFileAt(file: TrackedFile, path: string): Promise<'same' | 'reused' | 'unknown'> {
    if (file.handle !== undefined) {
      const info = await stat(path).catch(() => undefined);
      return info !== undefined && sameIdentity(info, file.identity) ? 'same' : 'unknown';
    }
    const openFiles = this.options.openFiles;
    const handle = await openFiles.open(path).catch(() => undefined);
    if (handle === undefined) return 'unknown';
    try {
      const info = await handle.stat();
      if (!sameIdentity(info, file.identity)) return 'unknown';
      // A file closed before it had any bytes may be this one moved or another that got its inode:
      // nothing was read from it, so taking it afresh is right either way.
      return file.head.length > 0 && isCopyOf(headOf(handle, scratchHead), file.head) ? 'same' : 'reused';
    } finally {
      await openFiles.release(handle);
    }
  }

  /** Takes a file on (once, whichever discovery finds it first). `listed`: matched by the glob. */
  async track(file: DiscoveredFile, initial: boolean, listed = true): Promise<void> {
    const key = identityKey(file);
    if (this.files.has(key) || this.tracking.has(key) || this.notRead.has(notReadKey(file))) return;
    this.tracking.add(key);
    try {
      await this.open(file, initial, listed);
    } finally {
      this.tracking.delete(key);
    }
  }

  private async open(file: DiscoveredFile, initial: boolean, listed: boolean): Promise<void> {
    const { openFiles, events } = this.options;
    let handle: FileHandle;
    try {
      handle = await openFiles.open(file.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (!this.unreadable.has(file.path)) {
        this.unreadable.add(file.path);
        events.cannotOpen(file.path, code);
      }
      return;
    }
    this.unreadable.delete(file.path);
    const info = await handle.stat();
    const identity = { dev: info.dev, ino: info.ino };
    if (this.files.has(identityKey(identity))) {
      await openFiles.release(handle);
      return;
    }
    let head = headOf(handle);
    // A backfill goes by content only: what is not gzip there is read as the plain file it is.
    const compression = compressionOf(head) ?? (this.options.backfill ? undefined : compressionByName(file.path));
    if (compression !== undefined && (!this.options.backfill || compression !== 'gzip')) {
      this.notRead.add(notReadKey({ ...identity, path: file.path }));
      if (this.options.backfill) {
        this.unsupported.push(file.path);
        events.compressionNotSupported(file.path, compression);
      } else events.compressedNotTailed(file.path, compression);
      await openFiles.release(handle);
      return;
    }
    if (compression === 'gzip') head = await decompressedHeadOf(handle, info.size);
    const { offset, suspectedCopy, headPending, isCopy } =
      compression === 'gzip'
        ? { offset: this.startOfCompressed(file.path, identity, head) }
        : await this.startFor(file.path, identity, handle, info.size, head, initial);
    const framer = new NewlineFramer({
      maxRecordBytes: this.options.maxRecordBytes,
      skipHeaderLines: this.options.skipHeaderLines,
      startOffset: offset,
    });
    const expected = compression === 'gzip' ? await decompressedSizeOf(handle, info.size) : info.size;
    const reader: FileReader =
      compression === 'gzip'
        ? new GzipReader(framer, this.options.buffers.size, offset, offset > 0 && offset === expected)
        : new FileTailer(framer, this.options.buffers, offset);
    if (reader.hasMore(info.size)) this.plannedBytes += Math.max(0, expected - offset);
    const progress = new FileProgress(offset, this.options.onSpanComplete);
    // Saved at once, whatever the start offset: a restart before the first record is delivered must
    // not take a file skipped by END_OF_FILE for a new one and ship it from the start.
    progress.touch();
    const now = this.now();
    const tracked = new TrackedFile(
      file.path,
      identity,
      reader,
      progress,
      head,
      { size: info.size, mtimeMs: info.mtimeMs, nowMs: now },
      this.options.minPollMs,
      (ready) => this.ready.add(ready),
    );
    tracked.suspectedCopy = suspectedCopy;
    if (isCopy) tracked.copyFrom = offset;
    tracked.headPending = headPending ?? false;
    if (suspectedCopy !== undefined || headPending) tracked.pausedUntilMs = now + COPY_CONFIRM_MS;
    if (!listed) tracked.phase = 'leaving';
    this.filesSeen++;
    this.files.set(tracked.key, tracked);
    this.byPath.set(tracked.path, tracked);
    this.ready.add(tracked);
    openFiles.hold(tracked, handle);
    if (compression === undefined) this.copies.add(tracked);
  }

  /**
   * Where reading a newly tracked file starts: its own checkpoint, where its original was read to (a copy), or
   * initialPosition.
   */
  private async startFor(
    path: string,
    identity: FileIdentity,
    handle: FileHandle,
    size: number,
    head: Buffer,
    initial: boolean,
  ): Promise<CopyStart> {
    const resumed = this.options.resume.take(identity, path, head, size);
    if (resumed !== undefined) return { offset: resumed };
    // Copies are made while the agent runs; at start, and in a backfill, every file without a
    // checkpoint is a file of its own.
    const copy = initial || this.options.backfill ? undefined : this.copies.startOf(head);
    if (copy !== undefined) return copy;
    return {
      offset: await startOfNewFile(handle, size, {
        presentAtFirstStart: initial,
        backfill: this.options.backfill,
        initialPosition: this.options.initialPosition,
      }),
    };
  }

  /**
   * Where a gzip file is read from (offsets in its decompressed content): its own checkpoint, else
   * that of the plain file it was compressed from (found by content), else its start.
   */
  private startOfCompressed(path: string, identity: FileIdentity, head: Buffer): number {
    const resume = this.options.resume;
    return resume.take(identity, path, head, Infinity) ?? resume.takeByContent(path, head) ?? 0;
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

  /** A compressed file does not change: no truncation or copy to look for; one that fails to decompress is let go. */
  private async readCompressed(file: TrackedFile, handle: FileHandle): Promise<number> {
    const before = file.tailer.readOffset;
    let chunk;
    try {
      chunk = await file.tailer.readChunk(handle, file.size);
    } catch (error) {
      this.options.events.readFailed(file.path, error);
      this.undecompressable.push(file.path);
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

  /** Nothing more to read for now: let the file go if its time has come, else poll it later. */
  private async atEndOfFile(file: TrackedFile): Promise<number> {
    const now = this.now();
    const leaving = file.phase === 'leaving';
    if (this.options.backfill || (leaving && now - file.lastGrowthMs >= LET_GO_IDLE_MS)) {
      await this.letGo(file);
      return 0;
    }
    file.idle(now, leaving ? file.lastGrowthMs + LET_GO_IDLE_MS : undefined);
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
      behind += Math.max(0, file.size - file.tailer.readOffset);
    }
    return { records, bytes, behind };
  }
}
