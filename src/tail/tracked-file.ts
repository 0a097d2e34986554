import { stat, type FileHandle } from 'node:fs/promises';
import { FileProgress } from '../acknowledge/file-progress.js';
import type { FileReader } from './file-tailer.js';
import {
  FINGERPRINT_BYTES,
  fingerprintOf,
  headOf,
  identityKey,
  isCopyOf,
  sameIdentity,
  type FileIdentity,
} from './identity.js';
import type { OpenFiles } from './open-files.js';

/**
 * Where a tracked file is in its life:
 * - `tailing`: matched by the glob; read whenever it may have grown.
 * - `leaving`: no longer matched (rotated away, deleted): read to its end, then let go.
 * - `gone`: let go; nothing more is read, though its last records may still be in flight.
 */
export type TrackedPhase = 'tailing' | 'leaving' | 'gone';

/** Where the first bytes of a file at a path are read to, to compare them with a tracked file's: one buffer, reused. */
const scratchHead = Buffer.alloc(FINGERPRINT_BYTES);

/** Idle files are polled less and less often, down to this, so thousands of them cost little. */
export const MAX_IDLE_POLL_MS = 2000;

/**
 * One file a flow tails: its reader, its delivery progress, its descriptor (when open), what it
 * began with, and when it should be read next. It says itself whether it should be read now.
 */
export class TrackedFile {
  phase: TrackedPhase = 'tailing';
  readonly key: string;
  /** Delivery accounting of what was read; replaced when the file is read again from 0. */
  progress: FileProgress;
  /** Open, or closed to save descriptors (reopened by identity when it grows). */
  private openHandle: FileHandle | undefined;
  /** The first bytes read so far (up to FINGERPRINT_BYTES), to recognise a copytruncate copy. */
  head: Buffer;
  /** Hex fingerprint of the head; what the checkpoint stores. */
  fingerprint: string;
  /**
   * No reading until this moment: a copy of this file appeared and its truncation is awaited, or
   * this file is that suspected copy, waiting for the truncation that confirms it.
   */
  pausedUntilMs = 0;
  /**
   * Its head is the start of another file's: it may be a copytruncate copy still being written, not read until decided.
   */
  headPending = false;
  /**
   * A copy read on from this offset, not yet read past it. While it is shorter, logrotate is still
   * writing it (or the original grew after it was copied): it has nothing to read, and it was not truncated.
   */
  copyFrom: number | undefined;
  /**
   * Taken for a copytruncate copy of `original`: read on from where the original was read to if it is seen truncated,
   * else from 0.
   */
  suspectedCopy: { original: TrackedFile } | undefined;
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
  /** A change was seen (or a poll is due) since the last read found nothing. */
  private woken = true;
  private idlePollMs: number;
  private nextPollMs = 0;

  constructor(
    public path: string,
    readonly identity: FileIdentity,
    readonly tailer: FileReader,
    progress: FileProgress,
    head: Buffer,
    stats: { size: number; mtimeMs: number; nowMs: number },
    /** How soon an idle file is polled again at first (minTimeBetweenFilePollsMillis). */
    private readonly minPollMs: number,
    /** It should be read at the next round now (the file set keeps these apart from the idle ones). */
    private readonly onReady: (file: TrackedFile) => void = () => undefined,
  ) {
    this.key = identityKey(identity);
    this.progress = progress;
    this.head = head;
    this.fingerprint = fingerprintOf(head);
    this.size = stats.size;
    this.mtimeMs = stats.mtimeMs;
    this.lastGrowthMs = stats.nowMs;
    this.lastReadMs = stats.nowMs;
    this.idlePollMs = minPollMs;
  }

  get handle(): FileHandle | undefined {
    return this.openHandle;
  }

  /** Only OpenFiles, which counts descriptors, opens and closes files. */
  attach(handle: FileHandle): void {
    this.openHandle = handle;
  }

  detach(): FileHandle | undefined {
    const handle = this.openHandle;
    this.openHandle = undefined;
    return handle;
  }

  /**
   * Whether `path`, listed with the identity (device, inode) of this file, holds it
   * ('same'), a new file that got its inode after it was deleted ('reused'), or nothing that can be
   * told now ('unknown': gone again, or another file by now; the next scan settles it). A listing
   * can be older than what the file set knows (a scan of thousands of files takes a while): the path
   * is looked at now. An inode cannot be recycled while it is open, so an open file found there is
   * itself; a closed one is itself only if it still begins with the bytes it began with.
   */
  async foundAt(path: string, openFiles: OpenFiles): Promise<'same' | 'reused' | 'unknown'> {
    if (this.openHandle !== undefined) {
      const info = await stat(path).catch(() => undefined);
      return info !== undefined && sameIdentity(info, this.identity) ? 'same' : 'unknown';
    }
    const handle = await openFiles.open(path).catch(() => undefined);
    if (handle === undefined) return 'unknown';
    try {
      const info = await handle.stat();
      if (!sameIdentity(info, this.identity)) return 'unknown';
      // A file closed before it had any bytes may be this one moved or another that got its inode:
      // nothing was read from it, so taking it afresh is right either way.
      return this.head.length > 0 && isCopyOf(headOf(handle, scratchHead), this.head) ? 'same' : 'reused';
    } finally {
      await openFiles.release(handle);
    }
  }

  get listed(): boolean {
    return this.phase === 'tailing';
  }

  /** Bytes of it not read yet, by its size at the last stat. */
  get bytesBehind(): number {
    return Math.max(0, this.size - this.tailer.readOffset);
  }

  /** Read to its end and nothing more to read: can give up its descriptor. */
  get idleAtEnd(): boolean {
    return this.phase !== 'gone' && !this.tailer.hasMore(this.size);
  }

  /**
   * A file nothing was read from yet starts at `offset` instead (a confirmed copy, read on from where its original
   * was).
   */
  skipTo(offset: number): void {
    this.tailer.skipTo(offset);
    this.progress = this.progress.restart(offset);
    this.copyFrom = offset;
  }

  /**
   * The file shrank below what was read (copytruncate): read it again from 0. Outstanding records
   * of the old content are still delivered, but their offsets no longer describe this file.
   */
  readAgainFromStart(): void {
    this.tailer.restartFromZero();
    this.progress = this.progress.restart(0);
  }

  setHead(head: Buffer): void {
    this.head = head;
    this.fingerprint = fingerprintOf(head);
  }

  /** Something may have changed (an event, a scan): read it at the next round, and poll it often again. */
  wake(): void {
    this.woken = true;
    this.onReady(this);
    this.idlePollMs = this.minPollMs;
  }

  shouldReadNow(nowMs: number): boolean {
    if (this.phase === 'gone') return false;
    if (!this.woken && nowMs >= this.nextPollMs) this.woken = true;
    return this.woken;
  }

  /** For the poll timer: if this idle file's next poll is due, it is to be read now; true if so. */
  pollIfDue(nowMs: number): boolean {
    if (this.phase === 'gone' || this.woken || nowMs < this.nextPollMs) return false;
    this.woken = true;
    this.onReady(this);
    return true;
  }

  /** Woken, or due: what the read loop reads. */
  get isReady(): boolean {
    return this.woken;
  }

  /** Bytes were read: poll it often. */
  grew(nowMs: number): void {
    this.lastGrowthMs = nowMs;
    this.idlePollMs = this.minPollMs;
  }

  /** Nothing to read until `untilMs` (paused, or a read failed). */
  sleepUntil(untilMs: number): void {
    this.woken = false;
    this.nextPollMs = untilMs;
  }

  /**
   * Nothing more to read for now: poll it again later, less often each time it stays idle, and by
   * `pollByMs` at the latest (when it is to be let go, or its held-back record is due).
   */
  idle(nowMs: number, pollByMs: number): void {
    this.woken = false;
    this.nextPollMs = Math.min(nowMs + this.idlePollMs, pollByMs);
    this.idlePollMs = Math.min(MAX_IDLE_POLL_MS, this.idlePollMs * 2);
  }
}
