import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentEvents } from '../observe/events.js';
import type { FileIdentity } from '../tail/identity.js';
import { DirectoryWatcher, type DirectoryEvent } from './directory-watcher.js';
import { MAX_FILES_PER_FLOW, pathMatcher, scanFiles, type DiscoveredFile } from './scan.js';

/** Scans prompted by file events start at least this long after the one before. */
const RESCAN_COOLDOWN_MS = 100;
/** How often a glob whose base directory does not exist yet is looked at again. */
const MISSING_BASE_CHECK_MS = 1000;

/** What discovery tells the flow. */
export interface DiscoveryListener {
  /** A full listing of what the glob matches now; `initial` for the first one at the flow's first start. */
  listed(files: DiscoveredFile[], initial: boolean): Promise<void>;
  /** A watcher event named a file the glob matches (created, or moved there). */
  noticed(file: DiscoveredFile): Promise<void>;
  /** A watcher event named a path that holds nothing now (a file deleted, or moved away). */
  gone(path: string): void;
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
 * Finds a flow's files: glob scans at start, periodically, and (at most every RESCAN_COOLDOWN_MS)
 * when a directory appears; in between, each watcher event is looked at by one stat of the path it
 * names (a file created, moved, deleted or written), so that files coming and going by the
 * hundred per second cost an event each, not a scan each. Scans stay the source of truth: events
 * are missed on network file systems and in overflow, and a scan settles what they got wrong.
 */
export class FlowDiscovery {
  private readonly watcher: DirectoryWatcher | undefined;
  /**
   * Paths whose event is being looked at, so a busy file costs one stat at a time; the value is
   * the event that came meanwhile, looked at once more afterwards.
   */
  private readonly looking = new Map<string, DirectoryEvent | undefined>();
  private scanning: Promise<void> | undefined;
  private rescanQueued: Promise<void> | undefined;
  private lastScanStartMs = 0;
  private scanTimer: NodeJS.Timeout | undefined;
  private baseTimer: NodeJS.Timeout | undefined;
  private checkingPaths = false;
  private stopped = false;
  private readonly matches: (path: string) => boolean;

  constructor(private readonly options: FlowDiscoveryOptions) {
    this.matches = pathMatcher(options);
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
    if (this.looking.has(path)) {
      // A rename or create matters more than a write: it is the one looked at again.
      if (this.looking.get(path) !== 'renamed') this.looking.set(path, kind);
      return;
    }
    this.looking.set(path, undefined);
    void this.lookAt(kind, path)
      .catch(() => undefined)
      .finally(() => {
        const again = this.looking.get(path);
        this.looking.delete(path);
        if (again !== undefined) this.onEvent(again, path);
      });
  }

  /**
   * What an event at `path` means, by one stat, not a scan: a directory may hold new files (a scan
   * finds them and watches it); a file the glob matches that was created or moved there is taken
   * on, or was written to and is woken; nothing there any more is a file deleted or moved away.
   * A rename and a create at the same path in quick succession (logrotate's create mode) can reach
   * us as a mere change: the stat tells the new file.
   */
  private async lookAt(kind: DirectoryEvent, path: string): Promise<void> {
    const { listener } = this.options;
    let info;
    try {
      info = await stat(path);
    } catch {
      if (kind === 'renamed') listener.gone(path);
      return;
    }
    if (info.isDirectory()) {
      if (kind === 'renamed') await this.rescan();
      return;
    }
    if (!info.isFile() || !this.matches(path)) return;
    if (kind === 'modified' && listener.written(info)) {
      listener.changed();
      return;
    }
    await listener.noticed({ path, dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs });
    listener.changed();
  }

  /**
   * File events can be late or missing; a file written to recently is where rotation happens, so
   * its path is checked on every poll: a path that now holds another file prompts a scan before the
   * new file can be moved out of the glob unseen, and one that holds nothing is a file gone.
   */
  checkActivePaths(active: Array<{ path: string; identity: FileIdentity }>): void {
    if (active.length === 0 || this.scanning !== undefined || this.checkingPaths || this.stopped) return;
    this.checkingPaths = true;
    void (async () => {
      for (const file of active) {
        const info = await stat(file.path).catch(() => undefined);
        if (info === undefined) this.options.listener.gone(file.path);
        else if (info.dev !== file.identity.dev || info.ino !== file.identity.ino) {
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
