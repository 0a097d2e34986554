import { hash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowConfig } from '../config/agent-config.js';
import type { Logger } from '../log.js';
import { Batcher } from '../batch/batcher.js';
import { maxPartitionKeyBytes } from '../batch/partition-key.js';
import type { CheckpointStore, FileCheckpoint } from '../checkpoint/checkpoint-store.js';
import { DirectoryWatcher, type DirectoryEvent } from '../discover/directory-watcher.js';
import { MAX_FILES_PER_FLOW, scanFiles, type DiscoveredFile } from '../discover/scan.js';
import type { Destination } from '../send/destination.js';
import { Sender } from '../send/sender.js';
import { FileTailer } from '../tail/file-tailer.js';
import { ReadBuffers } from '../tail/read-buffers.js';
import type { Span } from '../acknowledge/file-progress.js';
import { HeadIndex, isCopyOf } from './head-index.js';
import { MemoryBudget } from './memory-budget.js';

export type RunMode = 'daemon' | 'backfill';

export interface FlowOptions {
  config: FlowConfig;
  destination: Destination;
  checkpoints: CheckpointStore;
  logger: Logger;
  mode: RunMode;
  /** The agent-wide byte budget this flow's budget draws on. */
  agentBudget: MemoryBudget;
  /** Batch calls of this flow in flight at once. */
  maxInFlight: number;
  /** Bytes per read(2). */
  chunkSize?: number;
  /** A batch was delivered in full: the moment to save checkpoints. */
  onBatchDelivered: () => void;
  /** Globs of the agent's own files (engine data, checkpoints), never tailed (see ownStateGlobs). */
  ownState: string[];
}

/** Bytes hashed to tell a file from another that got a recycled inode. */
export const FINGERPRINT_BYTES = 1024;
/**
 * A flow never holds more than this in memory, whatever publishQueueCapacity × maxBufferSizeBytes
 * says: read-ahead beyond a few batches does not make shipping faster, it only costs memory when
 * the destination is slower than the disk.
 */
const MAX_FLOW_BUDGET_BYTES = 8 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** How long a file that left the glob (rotated away, deleted) must stay idle before it is let go. */
const LET_GO_IDLE_MS = 1000;
/** Idle files are polled less and less often, down to this, so thousands of them cost little. */
const MAX_IDLE_POLL_MS = 2000;
/** Files grown this recently have their path checked on every poll, for rotations the watcher missed. */
const ACTIVE_FILE_MS = 5000;
/**
 * Files a flow keeps open at once. Beyond it, files that are idle at their end are closed and
 * reopened by identity (device and inode) when they grow, so a glob over thousands of files does
 * not exhaust descriptors.
 */
export const MAX_OPEN_FILES_PER_FLOW = 128;
/** Scans prompted by file events start at least this long after the one before. */
const RESCAN_COOLDOWN_MS = 100;
/** How often a glob whose base directory does not exist yet is looked at again. */
const MISSING_BASE_CHECK_MS = 1000;

interface TrackedFile {
  tailer: FileTailer;
  key: string;
  /** Hex fingerprint of the first FINGERPRINT_BYTES, '' until the file is that long. */
  fingerprint: string;
  /** The first bytes read so far (up to FINGERPRINT_BYTES), to recognise a copytruncate copy. */
  head: Buffer;
  /**
   * No reading until this moment: a copy of this file appeared and its truncation is awaited, or
   * this file is that suspected copy, waiting for the truncation that confirms it.
   */
  pausedUntilMs: number;
  /** Taken for a copytruncate copy of `original`: read from `offset` if the original is seen truncated, else from 0. */
  suspectedCopy?: { original: TrackedFile; offset: number };
  /** Still matched by the latest scan; a file that is not is read to its end, then let go. */
  listed: boolean;
  /** A change was seen (or a poll is due) since the last read found nothing. */
  wake: boolean;
  /** Size at the last stat, for how far behind the flow is. */
  size: number;
  /**
   * Modification time at the last stat: a closed file whose size did not move but whose mtime did
   * may be another file that got this one's inode (deleted, then recreated at the same path).
   */
  mtimeMs: number;
  lastGrowthMs: number;
  /** When it was last read from, for closing the least recently used idle file first. */
  lastReadMs: number;
  idlePollMs: number;
  nextPollMs: number;
  lettingGo: boolean;
}

export interface FlowStats {
  files: number;
  recordsParsed: number;
  bytesParsed: number;
  recordsTruncated: number;
  recordsSent: number;
  bytesSent: number;
  /** Bytes in tailed files not read yet. */
  bytesBehind: number;
}

function identityKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

/** The file's first bytes (up to FINGERPRINT_BYTES): what copies of it share. Read into `into` when given. */
function headOf(handle: FileHandle, into: Buffer = Buffer.allocUnsafe(FINGERPRINT_BYTES)): Buffer {
  const read = readSync(handle.fd, into, 0, FINGERPRINT_BYTES, 0);
  return into.subarray(0, read);
}

/** Where a file's current first bytes are read to on every read of new data, to compare with its head. */
const scratchHead = Buffer.alloc(FINGERPRINT_BYTES);

/**
 * `<length>:<sha1 of the first length bytes>`. A file shorter than FINGERPRINT_BYTES gets a
 * provisional fingerprint of what it has, replaced as it grows; a file that got a recycled inode
 * shows itself by different first bytes, whatever its size.
 */
function fingerprintOf(head: Buffer): string {
  return head.length === 0 ? '' : `${head.length}:${hash('sha1', head, 'hex')}`;
}

/** Whether a file whose first bytes are `head` can be the one a checkpoint's fingerprint was taken of. */
function matchesFingerprint(head: Buffer, fingerprint: string): boolean {
  if (fingerprint === '') return true;
  const colon = fingerprint.indexOf(':');
  const length = colon === -1 ? FINGERPRINT_BYTES : Number(fingerprint.slice(0, colon));
  const digest = colon === -1 ? fingerprint : fingerprint.slice(colon + 1);
  return head.length >= length && hash('sha1', head.subarray(0, length), 'hex') === digest;
}

/** A file that shrank (copytruncate): where reading stopped, and the head its old content had. */
interface Truncation {
  head: Buffer;
  offset: number;
  atMs: number;
}

/** How long a truncation waits for its copy to show up, and a possible original for its truncation. */
const COPY_WINDOW_MS = 30_000;
const ORIGINAL_PAUSE_MS = 2_000;
/** A suspected copy waits this long for its original's truncation: long enough for the original's pause to show it. */
const COPY_CONFIRM_MS = ORIGINAL_PAUSE_MS + 1_000;

/** Where a newly tracked file is read from, and whether that waits on a copy's confirmation. */
interface StartPosition {
  offset: number;
  suspectedCopy?: { original: TrackedFile; offset: number };
}

/**
 * One flow of agent.json: the files of one glob, tailed concurrently, cut into records, batched
 * and sent to one stream, with checkpoints that follow acknowledgements.
 */
export class Flow {
  readonly config: FlowConfig;
  private readonly logger: Logger;
  private readonly files = new Map<string, TrackedFile>();
  /** The tracked files with a descriptor open, at most MAX_OPEN_FILES_PER_FLOW. */
  private readonly openTracked = new Set<TrackedFile>();
  private readonly heads = new HeadIndex<TrackedFile>();
  /** Files let go whose last records are still in flight (with their fingerprints): their checkpoints still move. */
  private readonly retiring = new Map<FileTailer, string>();
  private readonly batcher: Batcher;
  readonly sender: Sender;
  readonly budget: MemoryBudget;
  private readonly readBuffers: ReadBuffers;
  private readonly watcher: DirectoryWatcher | undefined;
  /** Paths whose 'modified' event is being looked up, so a busy file costs one stat at a time. */
  private readonly changing = new Set<string>();
  private baseTimer: NodeJS.Timeout | undefined;
  private tooManyReported = false;
  private readonly maxRecordBytes: number;
  private readonly terminator: Buffer;
  private checkpointsByKey = new Map<string, FileCheckpoint>();
  private scanTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;
  private stopped = false;
  private scanning: Promise<void> | undefined;
  private rescanQueued: Promise<void> | undefined;
  private lastScanStartMs = 0;
  private checkingPaths = false;
  private unreadable = new Set<string>();
  private openFiles = 0;
  private truncations: Truncation[] = [];
  /** Identities being opened right now, so two concurrent discoveries do not both take a file on. */
  private readonly tracking = new Set<string>();
  private recordsTruncated = 0;
  /** Counts of files already let go, so the flow's totals do not shrink when a file is. */
  private retiredTotals = { records: 0, bytes: 0 };

  constructor(private readonly options: FlowOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ flow: options.config.id });
    const config = options.config;
    const keyRoom = config.kind === 'kinesisStream' ? maxPartitionKeyBytes(config.partitioning) : 0;
    this.maxRecordBytes = options.destination.maxRecordBytes - keyRoom;
    this.terminator = Buffer.from(config.truncatedRecordTerminator, 'utf8');
    const budgetBytes = Math.min(MAX_FLOW_BUDGET_BYTES, Math.max(config.maxBufferSizeBytes, config.publishQueueCapacity * config.maxBufferSizeBytes));
    this.budget = new MemoryBudget(budgetBytes, options.agentBudget);
    this.readBuffers = new ReadBuffers(options.chunkSize ?? DEFAULT_CHUNK_BYTES);
    this.sender = new Sender({
      destination: options.destination,
      maxInFlight: options.maxInFlight,
      retryInitialBackoffMillis: config.retryInitialBackoffMillis,
      retryMaxBackoffMillis: config.retryMaxBackoffMillis,
      logger: this.logger,
      onDelivered: (span, index) => span.acknowledge(index),
      onBatchDone: () => options.onBatchDelivered(),
    });
    this.batcher = new Batcher({
      maxRecords: Math.min(config.maxBufferSizeRecords, options.destination.maxBatchRecords),
      maxBytes: Math.min(config.maxBufferSizeBytes, options.destination.maxBatchBytes),
      maxAgeMs: config.maxBufferAgeMillis,
      recordBytes: (span, index) => options.destination.recordBytes(span, index),
      onSealed: (batch) => this.sender.submit(batch),
    });
    if (options.mode === 'daemon') {
      this.watcher = new DirectoryWatcher({
        onEvent: (kind, path) => this.onFileEvent(kind, path),
        onError: (directory, error) =>
          this.logger.warn({ directory, code: error.code, err: error }, 'cannot watch a directory for changes; its files are found by the periodic scans'),
      });
    }
  }

  /** Loads checkpoints, finds the files, and starts reading. */
  async start(): Promise<void> {
    for (const checkpoint of this.options.checkpoints.load(this.config.id)) {
      this.checkpointsByKey.set(identityKey(checkpoint.dev, checkpoint.ino), checkpoint);
    }
    const firstStart = this.options.mode === 'daemon' && this.options.checkpoints.markFlowStarted(this.config.id, Date.now());
    await this.runScan(firstStart);
    if (this.options.mode === 'daemon') {
      this.scheduleScan();
      this.pollTimer = setInterval(() => this.pollIdleFiles(), this.config.minTimeBetweenFilePollsMillis);
      this.pollTimer.unref();
    }
    this.pump();
  }

  private scheduleScan(): void {
    this.scanTimer = setTimeout(async () => {
      if (this.stopped) return;
      await this.rescan();
      if (!this.stopped) this.scheduleScan();
    }, this.config.maxTimeBetweenFileTrackerRefreshMillis);
    this.scanTimer.unref();
  }

  /**
   * Runs one scan at a time. A call during a scan gets one more scan right after it, since the
   * running one may have listed the directory before the change that prompted the call; that one
   * starts at least RESCAN_COOLDOWN_MS after the one before, so a directory where files come and go
   * all the time costs a few scans a second, not one per event.
   */
  rescan(): Promise<void> {
    this.rescanQueued ??= (async () => {
      await this.scanning;
      const wait = this.lastScanStartMs + RESCAN_COOLDOWN_MS - Date.now();
      if (wait > 0) await sleep(wait, undefined, { ref: false });
      this.rescanQueued = undefined;
      if (!this.stopped) await this.runScan(false);
    })();
    return this.rescanQueued;
  }

  private runScan(initial: boolean): Promise<void> {
    this.lastScanStartMs = Date.now();
    this.scanning = this.scan(initial).finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private onFileEvent(kind: DirectoryEvent, path: string): void {
    if (this.stopped) return;
    if (kind === 'renamed') {
      void this.rescan().then(() => this.pump());
      return;
    }
    if (this.changing.has(path)) return;
    this.changing.add(path);
    // Found by identity, not by path: one stat instead of a walk over thousands of files. A rename
    // and a create at the same path in quick succession (logrotate's create mode) can reach us as a
    // mere change: if the path now holds a file we do not track, scan for it now.
    void stat(path)
      .then((info) => {
        if (!info.isFile()) return;
        const file = this.files.get(identityKey(info.dev, info.ino));
        if (file === undefined) return this.rescan().then(() => this.pump());
        file.wake = true;
        file.idlePollMs = this.config.minTimeBetweenFilePollsMillis;
        this.pump();
      })
      .catch(() => undefined)
      .finally(() => this.changing.delete(path));
  }

  private reportTooMany(truncated: boolean): void {
    if (truncated && !this.tooManyReported) {
      this.logger.error(
        { filePattern: this.config.filePattern, limit: MAX_FILES_PER_FLOW },
        `filePattern matches more than ${MAX_FILES_PER_FLOW} files; only the first ${MAX_FILES_PER_FLOW} found are tailed (narrow filePattern or use excludePattern)`,
      );
    }
    this.tooManyReported = truncated;
  }

  /**
   * Watches the directories the scan found. Files created in a directory between the scan's walk
   * and its watch would wait for the next periodic scan, so newly watched directories are scanned
   * once more; a base directory that does not exist yet is looked for every second.
   */
  private watchDirectories(directories: string[]): void {
    if (this.watcher!.update(directories) > 0) void this.rescan().then(() => this.pump());
    if (this.watcher!.watching === 0 && this.baseTimer === undefined) {
      this.baseTimer = setTimeout(() => {
        this.baseTimer = undefined;
        if (!this.stopped) void this.rescan().then(() => this.pump());
      }, MISSING_BASE_CHECK_MS);
      this.baseTimer.unref();
    }
  }

  private async scan(initial: boolean): Promise<void> {
    let found: DiscoveredFile[];
    try {
      const result = await scanFiles({
        filePattern: this.config.filePattern,
        excludePatterns: this.config.excludePatterns,
        ownState: this.options.ownState,
        maxFiles: MAX_FILES_PER_FLOW,
        withDirectories: this.watcher !== undefined,
      });
      found = result.files;
      this.reportTooMany(result.truncated);
      if (this.watcher !== undefined && !this.stopped) this.watchDirectories(result.directories);
    } catch (error) {
      this.logger.error({ err: error, filePattern: this.config.filePattern }, 'file scan failed; will retry at the next scan');
      return;
    }
    const seen = new Set<string>();
    for (const file of found) {
      const key = identityKey(file.dev, file.ino);
      seen.add(key);
      const tracked = this.files.get(key);
      // A file reached by several paths (a symlink and its target) stays under the one it has.
      const elsewhere = tracked !== undefined && tracked.tailer.path !== file.path && !file.alsoAt?.includes(tracked.tailer.path);
      const moved = elsewhere ? await this.sameFileAt(tracked, file.path) : undefined;
      if (moved === 'unknown') continue;
      if (moved === 'reused') {
        // The tracked file was deleted while closed and its inode went to this new file: the old
        // one is over (nothing more can be read from it), the new one is read from its start.
        this.logger.info({ path: file.path, previousPath: tracked!.tailer.path }, 'inode reused by a new file; reading it from the start');
        await this.letGo(tracked!);
      } else if (tracked) {
        tracked.listed = true;
        if (moved === 'same') {
          this.logger.info({ from: tracked.tailer.path, to: file.path }, 'file renamed; reading on by identity');
          tracked.tailer.path = file.path;
        }
        tracked.size = file.size;
        if (file.size !== tracked.tailer.readOffset || file.mtimeMs !== tracked.mtimeMs) tracked.wake = true;
        continue;
      }
      await this.track(file, initial);
    }
    for (const [key, tracked] of this.files) {
      if (!seen.has(key) && tracked.listed) {
        tracked.listed = false;
        tracked.wake = true;
        this.logger.info({ path: tracked.tailer.path }, 'file left the glob (rotated or deleted); reading it to its end');
      }
    }
    this.pump();
  }

  /**
   * Whether `path`, listed with the identity (device, inode) of `file`, holds that very file
   * ('same'), a new file that got its inode after it was deleted ('reused'), or nothing that can be
   * told now ('unknown': gone again, or another file by now; the next scan settles it). An inode
   * cannot be recycled while it is open, so an open file is itself; a closed one is itself only if
   * it still begins with the bytes it began with.
   */
  private async sameFileAt(file: TrackedFile, path: string): Promise<'same' | 'reused' | 'unknown'> {
    if (file.tailer.handle !== undefined) return 'same';
    const handle = await open(path, 'r').catch(() => undefined);
    if (handle === undefined) return 'unknown';
    try {
      const info = await handle.stat();
      if (info.dev !== file.tailer.identity.dev || info.ino !== file.tailer.identity.ino) return 'unknown';
      return file.head.length === 0 || isCopyOf(headOf(handle, scratchHead), file.head) ? 'same' : 'reused';
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  private async track(file: DiscoveredFile, initial: boolean, listed = true): Promise<void> {
    // Scans and copy lookups run concurrently; a file is taken on by one of them only.
    const discoveredKey = identityKey(file.dev, file.ino);
    if (this.files.has(discoveredKey) || this.tracking.has(discoveredKey)) return;
    this.tracking.add(discoveredKey);
    try {
      await this.trackFile(file, initial, listed);
    } finally {
      this.tracking.delete(discoveredKey);
    }
  }

  private async trackFile(file: DiscoveredFile, initial: boolean, listed: boolean): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(file.path, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (!this.unreadable.has(file.path)) {
        this.unreadable.add(file.path);
        this.logger.error({ path: file.path, code }, 'cannot open file; skipping it until it becomes readable');
      }
      return;
    }
    this.unreadable.delete(file.path);
    this.openFiles++;
    const info = await handle.stat();
    const key = identityKey(info.dev, info.ino);
    if (this.files.has(key)) {
      await this.closeHandle(handle);
      return;
    }
    const head = headOf(handle);
    const fingerprint = fingerprintOf(head);
    const { offset: startOffset, suspectedCopy } = await this.startFor(key, file.path, handle, info.size, head, initial);
    const tailer = new FileTailer({
      path: file.path,
      identity: { dev: info.dev, ino: info.ino },
      handle,
      startOffset,
      maxRecordBytes: this.maxRecordBytes,
      truncatedRecordTerminator: this.terminator,
      skipHeaderLines: this.config.skipHeaderLines,
      buffers: this.readBuffers,
      onRecords: (span) => this.batcher.add(span),
      onBytesPinned: (bytes) => this.budget.take(bytes),
      onSpanComplete: (span) => this.spanComplete(span),
      onTruncated: (originalBytes) => {
        this.recordsTruncated++;
        this.logger.warn({ path: file.path, originalBytes, limit: this.maxRecordBytes }, 'record longer than the API allows was truncated');
      },
    });
    // Saved at once, whatever the start offset: a restart before the first record is delivered must
    // not take a file skipped by END_OF_FILE for a new one and ship it from the start.
    tailer.progress.dirty = true;
    this.filesSeen++;
    const tracked: TrackedFile = {
      tailer,
      key,
      fingerprint,
      head,
      pausedUntilMs: suspectedCopy === undefined ? 0 : Date.now() + COPY_CONFIRM_MS,
      suspectedCopy,
      listed,
      wake: true,
      size: info.size,
      mtimeMs: info.mtimeMs,
      lastGrowthMs: Date.now(),
      lastReadMs: Date.now(),
      idlePollMs: this.config.minTimeBetweenFilePollsMillis,
      nextPollMs: 0,
      lettingGo: false,
    };
    this.files.set(key, tracked);
    this.openTracked.add(tracked);
    this.heads.add(tracked);
    if (this.openFiles > MAX_OPEN_FILES_PER_FLOW && !(await this.closeIdleFile())) {
      // Every open file is busy: this one waits, closed, for a descriptor to free up.
      await this.closeTracked(tracked);
    }
  }

  private async closeHandle(handle: FileHandle): Promise<void> {
    this.openFiles--;
    await handle.close().catch(() => undefined);
  }

  /** Closes the least recently read file that is idle at its end; false if every open file is busy. */
  private async closeIdleFile(): Promise<boolean> {
    let victim: TrackedFile | undefined;
    for (const file of this.openTracked) {
      if (file.lettingGo || file.tailer.readOffset < file.size) continue;
      if (victim === undefined || file.lastReadMs < victim.lastReadMs) victim = file;
    }
    if (victim === undefined) return false;
    await this.closeTracked(victim);
    return true;
  }

  private async closeTracked(file: TrackedFile): Promise<void> {
    const handle = file.tailer.handle;
    if (handle === undefined) return;
    file.tailer.handle = undefined;
    this.openTracked.delete(file);
    await this.closeHandle(handle);
  }

  /**
   * Makes sure the file is open, reopening it by path only if that path still holds the same
   * identity (a rotated file is found again under its new name by the next scan).
   */
  private async ensureOpen(file: TrackedFile): Promise<boolean> {
    const tailer = file.tailer;
    if (tailer.handle !== undefined) return true;
    if (this.openFiles >= MAX_OPEN_FILES_PER_FLOW && !(await this.closeIdleFile())) return false;
    let handle: FileHandle;
    try {
      handle = await open(tailer.path, 'r');
    } catch {
      return false;
    }
    this.openFiles++;
    const info = await handle.stat().catch(() => undefined);
    if (info === undefined || info.dev !== tailer.identity.dev || info.ino !== tailer.identity.ino) {
      await this.closeHandle(handle);
      return false;
    }
    tailer.handle = handle;
    this.openTracked.add(file);
    return true;
  }

  /**
   * copytruncate: logrotate copies the file and then truncates it. A new file whose head is that of
   * a file just truncated is that copy: it is read on from where the original was read to, so the
   * lines not yet read are shipped from the copy, and none twice. A new file whose head is that of
   * a file not truncated (yet) may be the copy, or merely another file that begins the same way (a
   * long common header): it waits, unread, for the original's truncation to confirm it, and is read
   * from its start if none comes. Undefined when the new file is no copy.
   */
  private copyOrigin(head: Buffer, size: number): StartPosition | undefined {
    const now = Date.now();
    this.truncations = this.truncations.filter((t) => now - t.atMs < COPY_WINDOW_MS);
    const truncated = this.truncations.findIndex((t) => isCopyOf(head, t.head));
    if (truncated !== -1) {
      const [truncation] = this.truncations.splice(truncated, 1);
      this.logger.info({ offset: truncation.offset }, 'found the copy of a truncated file; reading it on from where the original was read to');
      return { offset: Math.min(truncation.offset, size) };
    }
    for (const original of this.heads.originalsOf(head)) {
      if (original.lettingGo || original.tailer.readOffset === 0) continue;
      // Hold the original until its truncation shows, so that the bytes after this offset are read
      // from the copy only.
      original.pausedUntilMs = now + ORIGINAL_PAUSE_MS;
      this.logger.info({ original: original.tailer.path, offset: original.tailer.readOffset }, 'a file with the head of a tailed file appeared: a copytruncate copy if the original is truncated now');
      return { offset: 0, suspectedCopy: { original, offset: Math.min(original.tailer.readOffset, size) } };
    }
    return undefined;
  }

  /** The original of suspected copies was truncated: they are copies, read on from where it was read to. */
  private confirmCopiesOf(original: TrackedFile): void {
    for (const file of this.files.values()) {
      const suspected = file.suspectedCopy;
      if (suspected?.original !== original) continue;
      file.tailer.skipTo(suspected.offset);
      file.suspectedCopy = undefined;
      file.pausedUntilMs = 0;
      file.wake = true;
      this.logger.info({ path: file.tailer.path, original: original.tailer.path, offset: suspected.offset }, 'the copy of a truncated file (copytruncate); reading it on from where the original was read to');
    }
  }

  /**
   * The copy logrotate's copytruncate made may not match the glob (app.log → app.log.1 for a glob
   * of app.log). It is looked for beside the original, and if one has the truncated file's head,
   * what was not read yet is read from it (then it is let go, as a file outside the glob).
   */
  private async readCopyOutsideGlob(originalPath: string): Promise<void> {
    const directory = dirname(originalPath);
    let names: string[];
    try {
      names = await readdir(directory);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      const path = join(directory, name);
      if (path === originalPath || /\.(gz|bz2|zip)$/i.test(name)) continue;
      const info = await stat(path).catch(() => undefined);
      if (info === undefined || !info.isFile() || now - info.mtimeMs > COPY_WINDOW_MS || this.files.has(identityKey(info.dev, info.ino))) continue;
      const handle = await open(path, 'r').catch(() => undefined);
      if (handle === undefined) continue;
      const head = headOf(handle);
      await handle.close();
      if (!this.truncations.some((truncation) => isCopyOf(head, truncation.head))) continue;
      await this.track({ path, dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs }, false, false);
      this.pump();
      return;
    }
  }

  /** Where reading a newly tracked file starts: its own checkpoint, where its original was read to (a copy), or initialPosition. */
  private async startFor(key: string, path: string, handle: FileHandle, size: number, head: Buffer, initial: boolean): Promise<StartPosition> {
    const checkpoint = this.checkpointsByKey.get(key);
    if (checkpoint !== undefined) {
      this.checkpointsByKey.delete(key);
      if (!matchesFingerprint(head, checkpoint.fingerprint)) {
        this.logger.warn({ path, previousPath: checkpoint.path }, 'inode reused by a different file; reading it from the start');
        return { offset: 0 };
      }
      if (checkpoint.offset > size) {
        this.logger.warn({ path, offset: checkpoint.offset, size }, 'file is shorter than its checkpoint (truncated); reading it from the start');
        return { offset: 0 };
      }
      this.logger.info({ path, offset: checkpoint.offset }, 'resuming from checkpoint');
      return { offset: checkpoint.offset };
    }
    // Copies are made while the agent runs; at start every file without a checkpoint is a file of its own.
    const copy = initial ? undefined : this.copyOrigin(head, size);
    if (copy !== undefined) return copy;
    if (this.options.mode === 'backfill' || !initial || this.config.initialPosition === 'START_OF_FILE') return { offset: 0 };
    return { offset: await endOfLastLine(handle, size) };
  }

  private spanComplete(span: Span): void {
    this.readBuffers.give(span.records.releaseBuffer());
    this.budget.release(span.pinnedBytes);
  }

  private pollIdleFiles(): void {
    const now = Date.now();
    let due = false;
    const active: TrackedFile[] = [];
    for (const file of this.files.values()) {
      if (!file.wake && now >= file.nextPollMs) {
        file.wake = true;
        due = true;
      }
      if (file.listed && now - file.lastGrowthMs < ACTIVE_FILE_MS) active.push(file);
    }
    if (due) this.pump();
    if (active.length > 0 && this.scanning === undefined && !this.checkingPaths) {
      this.checkingPaths = true;
      void this.checkActivePaths(active).finally(() => {
        this.checkingPaths = false;
      });
    }
  }

  /**
   * File events can be late or missing; a file written to recently is where rotation happens, so
   * its path is checked on every poll, and a path that now holds another file prompts a scan
   * before the new file can be moved out of the glob unseen.
   */
  private async checkActivePaths(active: TrackedFile[]): Promise<void> {
    for (const file of active) {
      const info = await stat(file.tailer.path).catch(() => undefined);
      if (info === undefined || info.dev !== file.tailer.identity.dev || info.ino !== file.tailer.identity.ino) {
        await this.rescan();
        this.pump();
        return;
      }
    }
  }

  /** Reads every file that may have data, one chunk each in turn, until none has or the budget is full. */
  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.readRounds()
      .catch((error) => this.logger.error({ err: error }, 'read loop failed; will resume at the next poll'))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain && !this.stopped) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async readRounds(): Promise<void> {
    for (;;) {
      this.pumpAgain = false;
      let readSomething = false;
      for (const file of [...this.files.values()]) {
        if (this.stopped) return;
        if (this.budget.exhausted) {
          await this.budget.whenRoom();
          if (this.stopped) return;
        }
        if (!file.wake) continue;
        const bytes = await this.readFrom(file);
        if (bytes > 0) readSomething = true;
      }
      if (!readSomething && !this.pumpAgain) return;
    }
  }

  /** One chunk from one file; handles truncation, end of file, and letting go. */
  private async readFrom(file: TrackedFile): Promise<number> {
    const tailer = file.tailer;
    let reopened = false;
    if (tailer.handle === undefined) {
      // Closed while idle: a stat by path says whether it is worth a descriptor again.
      const info = await stat(tailer.path).catch(() => undefined);
      const same = info !== undefined && info.dev === tailer.identity.dev && info.ino === tailer.identity.ino;
      if (!same || (info.size === tailer.readOffset && info.mtimeMs === file.mtimeMs)) {
        return this.atEndOfFile(file);
      }
      if (!(await this.ensureOpen(file))) return 0;
      reopened = true;
    }
    file.lastReadMs = Date.now();
    let info: Stats;
    try {
      info = await tailer.handle!.stat();
    } catch (error) {
      this.logger.error({ path: tailer.path, err: error }, 'cannot stat open file; letting it go');
      await this.letGo(file);
      return 0;
    }
    const size = info.size;
    const modified = info.mtimeMs !== file.mtimeMs;
    file.size = size;
    file.mtimeMs = info.mtimeMs;
    // The file's first bytes as they are now, read once whenever its size or mtime moved, and on
    // every reopen: a file that no longer begins with its head was truncated even if it has grown
    // past the read offset since (copytruncate under load, which size alone would hide), or it is
    // a new file that got the inode of this one while it was closed; a short head grows with the file.
    const current = size === tailer.readOffset && !modified && !reopened ? undefined : headOf(tailer.handle!, scratchHead);
    const rewritten = current !== undefined && size >= tailer.readOffset && tailer.readOffset > 0 && file.head.length > 0 && !isCopyOf(current, file.head);
    if (size < tailer.readOffset || rewritten) {
      this.logger.warn(
        { path: tailer.path, size, offset: tailer.readOffset },
        rewritten
          ? 'file was truncated and written again past the read offset (copytruncate); reading it again from the start'
          : 'file shrank below the read offset (copytruncate); reading it again from the start',
      );
      if (file.pausedUntilMs === 0) {
        this.truncations.push({ head: file.head, offset: tailer.readOffset, atMs: Date.now() });
        void this.readCopyOutsideGlob(tailer.path);
      } else {
        this.confirmCopiesOf(file);
      }
      file.pausedUntilMs = 0;
      tailer.restartFromZero();
      this.setHead(file, Buffer.from(current ?? []));
    } else if (current !== undefined && file.head.length < FINGERPRINT_BYTES && !current.equals(file.head)) {
      this.setHead(file, Buffer.from(current));
    }
    if (file.pausedUntilMs > Date.now()) {
      file.wake = false;
      file.nextPollMs = Math.min(file.pausedUntilMs, Date.now() + this.config.minTimeBetweenFilePollsMillis);
      return 0;
    }
    file.pausedUntilMs = 0;
    if (file.suspectedCopy !== undefined) {
      this.logger.info({ path: tailer.path, original: file.suspectedCopy.original.tailer.path }, 'not a copy after all (its original was not truncated); reading it from its start');
      file.suspectedCopy = undefined;
    }
    if (size > tailer.readOffset) {
      let bytes: number;
      try {
        bytes = await tailer.readChunk(size);
      } catch (error) {
        this.logger.error({ path: tailer.path, err: error }, 'read failed; will retry');
        file.wake = false;
        file.nextPollMs = Date.now() + MAX_IDLE_POLL_MS;
        return 0;
      }
      if (bytes > 0) {
        file.lastGrowthMs = Date.now();
        file.idlePollMs = this.config.minTimeBetweenFilePollsMillis;
        return bytes;
      }
    }
    return this.atEndOfFile(file);
  }

  /** Nothing more to read for now: let the file go if its time has come, else poll it later. */
  private async atEndOfFile(file: TrackedFile): Promise<number> {
    file.wake = false;
    const now = Date.now();
    const finished = this.options.mode === 'backfill' || (!file.listed && now - file.lastGrowthMs >= LET_GO_IDLE_MS);
    if (finished) {
      await this.letGo(file);
      return 0;
    }
    file.nextPollMs = now + file.idlePollMs;
    file.idlePollMs = Math.min(MAX_IDLE_POLL_MS, file.idlePollMs * 2);
    if (!file.listed) file.nextPollMs = Math.min(file.nextPollMs, file.lastGrowthMs + LET_GO_IDLE_MS);
    return 0;
  }

  private async letGo(file: TrackedFile): Promise<void> {
    if (file.lettingGo) return;
    file.lettingGo = true;
    const tailer = file.tailer;
    tailer.flushUnterminated();
    this.files.delete(file.key);
    this.heads.remove(file);
    this.retiring.set(tailer, file.fingerprint);
    this.retiredTotals.records += tailer.recordsRead;
    this.retiredTotals.bytes += tailer.bytesRead;
    await this.closeTracked(file);
  }

  /** A file's head (and so its fingerprint) changed: it grew towards FINGERPRINT_BYTES, or was truncated. */
  private setHead(file: TrackedFile, head: Buffer): void {
    this.heads.remove(file);
    file.head = head;
    file.fingerprint = fingerprintOf(head);
    this.heads.add(file);
  }

  /**
   * Checkpoints whose offset moved since the last save. Call `saved()` once they are durable; until
   * then they stay dirty, so a failed save (a full disk) is retried at the next one.
   */
  dirtyCheckpoints(now: number): { checkpoints: FileCheckpoint[]; saved: () => void } {
    const checkpoints: FileCheckpoint[] = [];
    const progresses: Array<FileTailer['progress']> = [];
    const collect = (tailer: FileTailer, fingerprint: string) => {
      const progress = tailer.progress;
      if (!progress.dirty) return;
      progresses.push(progress);
      checkpoints.push({
        flowId: this.config.id,
        path: tailer.path,
        dev: tailer.identity.dev,
        ino: tailer.identity.ino,
        fingerprint,
        offset: progress.committedOffset,
        updatedMs: now,
      });
    };
    for (const file of this.files.values()) collect(file.tailer, file.fingerprint);
    for (const [tailer, fingerprint] of this.retiring) {
      // A file let go whose inode a tracked file has now: the row of that identity is the new file's.
      if (this.files.has(identityKey(tailer.identity.dev, tailer.identity.ino))) tailer.progress.dirty = false;
      else collect(tailer, fingerprint);
    }
    const saved = () => {
      for (const progress of progresses) progress.dirty = false;
      for (const tailer of this.retiring.keys()) {
        if (tailer.progress.outstanding === 0 && !tailer.progress.dirty) this.retiring.delete(tailer);
      }
    };
    return { checkpoints, saved };
  }

  /** Marks every tailed file's checkpoint for saving, which renews its age for checkpointTimeToLiveDays. */
  touchCheckpoints(): void {
    for (const file of this.files.values()) file.tailer.progress.dirty = true;
  }

  /** Seals the open batch so that what was read goes out now (shutdown, end of a backfill). */
  flush(): void {
    this.batcher.seal();
  }

  /** Every file found was read to its end and let go (what a backfill waits for before its last flush). */
  get readingFinished(): boolean {
    return this.files.size === 0 && !this.pumping;
  }

  /** Paths of files whose records are not all acknowledged (or not all read). */
  filesNotDelivered(): string[] {
    const paths = [...this.files.values()].map((file) => file.tailer.path);
    for (const tailer of this.retiring.keys()) if (tailer.progress.outstanding > 0) paths.push(tailer.path);
    return paths;
  }

  /** Files this flow has opened since it started. */
  filesSeen = 0;

  /** True once every file was read to its end and let go, and everything read was acknowledged. */
  get drained(): boolean {
    return this.files.size === 0 && [...this.retiring.keys()].every((t) => t.progress.outstanding === 0) && this.batcher.openRecords === 0 && this.sender.pending === 0;
  }

  stats(): FlowStats {
    let recordsParsed = this.retiredTotals.records;
    let bytesParsed = this.retiredTotals.bytes;
    let bytesBehind = 0;
    for (const file of this.files.values()) {
      recordsParsed += file.tailer.recordsRead;
      bytesParsed += file.tailer.bytesRead;
      bytesBehind += Math.max(0, file.size - file.tailer.readOffset);
    }
    return {
      files: this.files.size,
      recordsParsed,
      bytesParsed,
      recordsTruncated: this.recordsTruncated,
      recordsSent: this.sender.stats.recordsSent,
      bytesSent: this.sender.stats.bytesSent,
      bytesBehind,
    };
  }

  /** Stops finding and reading files; what was read can still be flushed and delivered. */
  async stopReading(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.scanTimer);
    clearTimeout(this.baseTimer);
    clearInterval(this.pollTimer);
    this.watcher?.close();
    await this.scanning?.catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.stopReading();
    this.sender.abandon();
    for (const file of this.files.values()) await this.closeTracked(file);
  }
}

/**
 * END_OF_FILE starts after the last complete line, so a line being written at startup is shipped
 * whole once its newline arrives instead of cut in half.
 */
async function endOfLastLine(handle: FileHandle, size: number): Promise<number> {
  const window = 64 * 1024;
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - window);
    const buffer = Buffer.allocUnsafe(end - start);
    const { bytesRead } = await handle.read(buffer, 0, end - start, start);
    const newline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline !== -1) return start + newline + 1;
    end = start;
  }
  return 0;
}
