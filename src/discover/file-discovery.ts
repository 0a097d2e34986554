import { stat } from 'node:fs/promises';
import fg from 'fast-glob';
import type { FSWatcher } from 'chokidar';
import { existsSync } from 'node:fs';

export interface DiscoveredFile {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

const BASE_DIRECTORY_CHECK_MS = 1000;

/** Rotated-and-compressed copies are never tailed, as in the Java agent (their lines were read before compression). */
const COMPRESSED = /\.(gz|bz2|zip)$/i;

/** Exclude patterns without a slash match file names anywhere, as the flow config documents. */
function ignoreGlobs(excludePatterns: string[]): string[] {
  return excludePatterns.map((pattern) => (pattern.includes('/') ? pattern : `**/${pattern}`));
}

/** Every regular file matching the flow's glob right now, with the identity the tailers key on. */
export async function scanFiles(filePattern: string, excludePatterns: string[]): Promise<DiscoveredFile[]> {
  const paths = await fg(filePattern, {
    absolute: true,
    onlyFiles: true,
    followSymbolicLinks: true,
    suppressErrors: true,
    dot: true,
    ignore: ignoreGlobs(excludePatterns),
  });
  const files: DiscoveredFile[] = [];
  await Promise.all(
    paths
      .filter((path) => !COMPRESSED.test(path))
      .map(async (path) => {
        try {
          const info = await stat(path);
          if (info.isFile()) files.push({ path, dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs });
        } catch {
          // Gone between the listing and the stat: the next scan settles it.
        }
      }),
  );
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files;
}

/** The directory a glob cannot reach above: what to watch for changes. */
export function globBase(filePattern: string): string {
  return fg.generateTasks([filePattern])[0]?.base ?? '/';
}

/**
 * File-system events for a flow's glob, so new and growing files are picked up before the next
 * periodic scan. Events only wake the flow: the scans stay the source of truth (inotify misses
 * events on network file systems and in overflow).
 */
export class ChangeWatcher {
  private watcher: FSWatcher | undefined;
  private starting = false;
  private closed = false;
  private baseTimer: NodeJS.Timeout | undefined;
  private readonly base: string;
  private readonly depth: number | undefined;

  constructor(
    filePattern: string,
    private readonly onChange: (kind: 'add' | 'change' | 'unlink', path: string) => void,
    private readonly onError: (error: unknown) => void,
    /** The initial directory walk is done: files created before it were not reported as events. */
    private readonly onReady: () => void,
  ) {
    this.base = globBase(filePattern);
    const below = filePattern.slice(this.base.length).split('/').filter(Boolean);
    this.depth = below.includes('**') ? undefined : Math.max(0, below.length - 1);
  }

  /** Starts watching once the base directory exists; call again after scans until it does. */
  ensureStarted(): void {
    if (this.watcher !== undefined || this.starting || this.closed) return;
    if (!existsSync(this.base)) {
      // Checked each second until the directory appears; once watched, the ready event rescans.
      this.baseTimer ??= setTimeout(() => {
        this.baseTimer = undefined;
        this.ensureStarted();
      }, BASE_DIRECTORY_CHECK_MS);
      this.baseTimer.unref();
      return;
    }
    this.starting = true;
    // chokidar loads on first use: a backfill never watches, and start-up time matters.
    void import('chokidar')
      .then(({ watch }) => {
        if (this.closed) return;
        // atomic: false, so that a rename and a create at one path (log rotation) are reported at once as
        // unlink and add, not merged into a change 100 ms later.
        const watcher = watch(this.base, { ignoreInitial: true, depth: this.depth, persistent: false, followSymlinks: true, atomic: false });
        watcher.on('add', (path) => this.onChange('add', path));
        watcher.on('change', (path) => this.onChange('change', path));
        watcher.on('unlink', (path) => this.onChange('unlink', path));
        watcher.on('error', (error) => this.onError(error));
        watcher.on('ready', () => this.onReady());
        this.watcher = watcher;
      })
      .catch((error) => this.onError(error))
      .finally(() => {
        this.starting = false;
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.baseTimer);
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
