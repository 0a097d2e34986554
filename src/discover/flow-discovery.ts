import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentEvents } from '../observe/events.js';
import type { FileIdentity } from '../tail/identity.js';
import { DirectoryWatcher, type DirectoryEvent } from './directory-watcher.js';
import { MAX_FILES_PER_FLOW, scanFiles, type DiscoveredFile } from './scan.js';

/** Scans prompted by file events start at least this long after the one before. */
const RESCAN_COOLDOWN_MS = 100;
/** How often a glob whose base directory does not exist yet is looked at again. */
const MISSING_BASE_CHECK_MS = 1000;

/** What discovery tells the flow. */
export interface DiscoveryListener {
  /** A full listing of what the glob matches now; `initial` for the first one at the flow's first start. */
  listed(files: DiscoveredFile[], initial: boolean): Promise<void>;
  /** A file was written to (a watcher event): wake it if tracked; false if this identity is not tracked. */
  written(identity: FileIdentity): boolean;
  /** After a listing or a wake: time to read. */
  changed(): void;
}

export interface FlowDiscoveryOptions {
  filePattern: string;
  excludePatterns: string[];
  /** Globs of the agent's own state, never tailed. */
  ownState: string[];
  /** Periodic scans (maxTimeBetweenFileTrackerRefreshMillis). */
  refreshMs: number;
  /** Watch directories for changes (a daemon); a backfill scans once. */
  watch: boolean;
  events: AgentEvents;
  listener: DiscoveryListener;
}

/**
 * Finds a flow's files: glob scans at start, periodically and (at most every RESCAN_COOLDOWN_MS)
 * when a watched directory reports an entry created, deleted or moved; writes reported by the
 * watcher wake their file. Scans are the source of truth, events only make them prompt.
 */
export class FlowDiscovery {
  private readonly watcher: DirectoryWatcher | undefined;
  /** Paths whose 'modified' event is being looked up, so a busy file costs one stat at a time. */
  private readonly changing = new Set<string>();
  private scanning: Promise<void> | undefined;
  private rescanQueued: Promise<void> | undefined;
  private lastScanStartMs = 0;
  private scanTimer: NodeJS.Timeout | undefined;
  private baseTimer: NodeJS.Timeout | undefined;
  private checkingPaths = false;
  private stopped = false;

  constructor(private readonly options: FlowDiscoveryOptions) {
    if (options.watch) {
      this.watcher = new DirectoryWatcher({
        onEvent: (kind, path) => this.onEvent(kind, path),
        onError: (directory, error) => options.events.watchFailed(directory, error),
      });
    }
  }

  /** The first scan; then, for a daemon, the periodic ones. */
  async start(initial: boolean): Promise<void> {
    await this.runScan(initial);
    if (this.options.watch) this.scheduleScan();
  }

  private scheduleScan(): void {
    this.scanTimer = setTimeout(() => {
      if (this.stopped) return;
      void this.rescan().then(() => {
        if (!this.stopped) this.scheduleScan();
      });
    }, this.options.refreshMs);
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

  private async scan(initial: boolean): Promise<void> {
    const { options } = this;
    let files: DiscoveredFile[];
    try {
      const result = await scanFiles({
        filePattern: options.filePattern,
        excludePatterns: options.excludePatterns,
        ownState: options.ownState,
        maxFiles: MAX_FILES_PER_FLOW,
        withDirectories: this.watcher !== undefined,
      });
      files = result.files;
      if (result.truncated) options.events.tooManyFiles(options.filePattern, MAX_FILES_PER_FLOW);
      if (this.watcher !== undefined && !this.stopped) this.watchDirectories(result.directories);
    } catch (error) {
      options.events.scanFailed(options.filePattern, error);
      return;
    }
    await options.listener.listed(files, initial);
    options.listener.changed();
  }

  /**
   * Watches the directories the scan found. Files created in a directory between the scan's walk
   * and its watch would wait for the next periodic scan, so newly watched directories are scanned
   * once more; a base directory that does not exist yet is looked for every second.
   */
  private watchDirectories(directories: string[]): void {
    if (this.watcher!.update(directories) > 0) void this.rescan();
    if (this.watcher!.watching === 0 && this.baseTimer === undefined) {
      this.baseTimer = setTimeout(() => {
        this.baseTimer = undefined;
        if (!this.stopped) void this.rescan();
      }, MISSING_BASE_CHECK_MS);
      this.baseTimer.unref();
    }
  }

  private onEvent(kind: DirectoryEvent, path: string): void {
    if (this.stopped) return;
    if (kind === 'renamed') {
      void this.rescan();
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
        if (!this.options.listener.written(info)) return this.rescan();
        this.options.listener.changed();
      })
      .catch(() => undefined)
      .finally(() => this.changing.delete(path));
  }

  /**
   * File events can be late or missing; a file written to recently is where rotation happens, so
   * its path is checked on every poll, and a path that now holds another file prompts a scan
   * before the new file can be moved out of the glob unseen.
   */
  checkActivePaths(active: Array<{ path: string; identity: FileIdentity }>): void {
    if (active.length === 0 || this.scanning !== undefined || this.checkingPaths || this.stopped) return;
    this.checkingPaths = true;
    void (async () => {
      for (const file of active) {
        const info = await stat(file.path).catch(() => undefined);
        if (info === undefined || info.dev !== file.identity.dev || info.ino !== file.identity.ino) {
          await this.rescan();
          return;
        }
      }
    })().finally(() => {
      this.checkingPaths = false;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.scanTimer);
    clearTimeout(this.baseTimer);
    this.watcher?.close();
    await this.scanning?.catch(() => undefined);
  }
}
