import type { FileHandle } from 'node:fs/promises';
import { FileProgress, type Span } from '../acknowledge/file-progress.js';
import { startOfNewFile, type ResumePoints } from '../checkpoint/resume.js';
import type { InitialPosition } from '../config/types.js';
import type { DiscoveredFile } from '../discover/scan.js';
import type { AgentEvents } from '../observe/events.js';
import type { CompressedFiles } from './compressed-files.js';
import { COPY_CONFIRM_MS, type CopyDetector, type CopyStart } from './copy-detection.js';
import { FileTailer, type FileReader } from './file-tailer.js';
import { FooterFramer, footerPatternOf } from './footer-framer.js';
import { NewlineFramer, type RecordFramer } from './framer.js';
import { headOf, type FileIdentity } from './identity.js';
import { MultiLineFramer, startPatternOf } from './multi-line-framer.js';
import type { OpenFiles } from './open-files.js';
import type { ReadBuffers } from './read-buffers.js';
import { TrackedFile } from './tracked-file.js';

/** How a flow's files are started on and cut into records: the flow's settings, shared with FileSet. */
export interface FileReadingSettings {
  /** A backfill reads every file to its end once and lets it go; a daemon tails on. */
  backfill: boolean;
  initialPosition: InitialPosition;
  /** Longest record the framer keeps (the destination's limit). */
  maxRecordBytes: number;
  skipHeaderLines: number;
  /** A line it matches begins a record of several lines (multiLineStartPattern); unset: one record per line. */
  multiLineStartPattern?: string;
  /** A record it matches is not shipped, nor the rest of the chunk read with it (fileFooterPattern). */
  fileFooterPattern?: string;
  minPollMs: number;
}

export interface FileIntakeOptions extends FileReadingSettings {
  events: AgentEvents;
  openFiles: OpenFiles;
  buffers: ReadBuffers;
  resume: ResumePoints;
  compressed: CompressedFiles;
  copies: CopyDetector;
  onSpanComplete: (span: Span) => void;
  /** The file should be read at the next round. */
  onReady: (file: TrackedFile) => void;
  now: () => number;
}

/** A file taken on, with the descriptor it was opened with, for the file set to hold. */
export interface TakenFile {
  file: TrackedFile;
  handle: FileHandle;
  /** Bytes it has to read from where it starts (a gzip file's by its size trailer): its part of a backfill's total. */
  plannedBytes: number;
}

/**
 * Taking a file on: opening it (a file that cannot be opened is named once, not at every scan),
 * telling how it is read (plain, gzip, or not at all) and from where (its checkpoint, where the
 * original of a copy was read to, initialPosition), and making the TrackedFile that reads it.
 */
export class FileIntake {
  private readonly unreadable = new Set<string>();
  private readonly recordStart: RegExp | undefined;
  private readonly footer: RegExp | undefined;

  constructor(private readonly options: FileIntakeOptions) {
    const { multiLineStartPattern, fileFooterPattern } = options;
    this.recordStart = multiLineStartPattern === undefined ? undefined : startPatternOf(multiLineStartPattern);
    this.footer = fileFooterPattern === undefined ? undefined : footerPatternOf(fileFooterPattern);
  }

  /**
   * The file found at `found.path`, ready to be read; undefined when it is gone, cannot be opened,
   * is a compressed file not read, or is already tracked (`isTracked`) under another path.
   */
  async take(
    found: DiscoveredFile,
    initial: boolean,
    isTracked: (identity: FileIdentity) => boolean,
  ): Promise<TakenFile | undefined> {
    const { openFiles, events, compressed } = this.options;
    let handle: FileHandle;
    try {
      handle = await openFiles.open(found.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (!this.unreadable.has(found.path)) {
        this.unreadable.add(found.path);
        events.cannotOpen(found.path, code);
      }
      return undefined;
    }
    this.unreadable.delete(found.path);
    const info = await handle.stat();
    const identity = { dev: info.dev, ino: info.ino };
    if (isTracked(identity)) {
      await openFiles.release(handle);
      return undefined;
    }
    const plainHead = headOf(handle);
    const kind = compressed.classify(found.path, identity, plainHead);
    if (kind === 'skip') {
      await openFiles.release(handle);
      return undefined;
    }
    const gzip = kind === 'gzip' ? await compressed.start(found.path, identity, handle, info.size) : undefined;
    const head = gzip?.head ?? plainHead;
    const start: CopyStart = gzip ?? (await this.startFor(found.path, identity, handle, info.size, head, initial));
    // A footer is reported under the path the file has then: renamed files are followed.
    const tracked: { file?: TrackedFile } = {};
    const framer = this.framerFor(start.offset, (offset, droppedBytes) =>
      events.footerFound(tracked.file?.path ?? found.path, offset, droppedBytes),
    );
    const reader: FileReader = gzip?.reader(framer) ?? new FileTailer(framer, this.options.buffers, start.offset);
    const plannedBytes = reader.hasMore(info.size) ? Math.max(0, (gzip?.size ?? info.size) - start.offset) : 0;
    const progress = new FileProgress(start.offset, this.options.onSpanComplete);
    // Saved at once, whatever the start offset: a restart before the first record is delivered must
    // not take a file skipped by END_OF_FILE for a new one and ship it from the start.
    progress.touch();
    const now = this.options.now();
    const file = new TrackedFile(
      found.path,
      identity,
      reader,
      progress,
      head,
      { size: info.size, mtimeMs: info.mtimeMs, nowMs: now },
      this.options.minPollMs,
      this.options.onReady,
    );
    tracked.file = file;
    file.suspectedCopy = start.suspectedCopy;
    if (start.isCopy) file.copyFrom = start.offset;
    file.headPending = start.headPending ?? false;
    if (start.suspectedCopy !== undefined || start.headPending) file.pausedUntilMs = now + COPY_CONFIRM_MS;
    return { file, handle, plannedBytes };
  }

  /** How a file's bytes are cut into records, from `startOffset` on. */
  private framerFor(startOffset: number, onFooter: (offset: number, droppedBytes: number) => void): RecordFramer {
    const lines = {
      maxRecordBytes: this.options.maxRecordBytes,
      skipHeaderLines: this.options.skipHeaderLines,
      startOffset,
    };
    const records =
      this.recordStart === undefined
        ? new NewlineFramer(lines)
        : new MultiLineFramer({ ...lines, recordStart: this.recordStart });
    return this.footer === undefined ? records : new FooterFramer(records, this.footer, onFooter);
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
    const copy = initial || this.options.backfill ? undefined : this.options.copies.startOf(head);
    if (copy !== undefined) return copy;
    return {
      offset: await startOfNewFile(handle, size, {
        presentAtFirstStart: initial,
        backfill: this.options.backfill,
        initialPosition: this.options.initialPosition,
      }),
    };
  }
}
