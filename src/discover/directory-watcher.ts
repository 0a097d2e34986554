import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/** `renamed`: an entry of the directory was created, deleted or moved; `modified`: a file in it was written. */
export type DirectoryEvent = 'renamed' | 'modified';

export interface DirectoryWatcherEvents {
  onEvent(kind: DirectoryEvent, path: string): void;
  /**
   * A directory cannot be watched (the inotify limits, say): its files are found by the periodic scans. Called for
   * each.
   */
  onError(directory: string, error: NodeJS.ErrnoException): void;
}

/** inotify watches are a per-user kernel resource (fs.inotify.max_user_watches); a flow takes at most this many. */
export const MAX_WATCHED_DIRECTORIES = 4096;

/**
 * File-system events for the directories a flow's glob can find files in, one watch per directory
 * (inotify reports the creation, removal and writes of every entry in it). An event costs a
 * callback, whatever the directory holds: watchers that watch each file and re-read a directory on
 * every change (chokidar does both) spent more time than reading the files when thousands of them
 * come and go. Events only wake the flow: its scans stay the source of truth, since inotify misses
 * events on network file systems and in overflow.
 */
export class DirectoryWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    private readonly events: DirectoryWatcherEvents,
    private readonly maxDirectories = MAX_WATCHED_DIRECTORIES,
  ) {}

  get watching(): number {
    return this.watchers.size;
  }

  /** Watches exactly `directories` from now on; returns how many were not watched before. */
  update(directories: Iterable<string>): number {
    if (this.closed) return 0;
    const wanted = new Set(directories);
    for (const [directory, watcher] of this.watchers) {
      if (wanted.has(directory)) continue;
      watcher.close();
      this.watchers.delete(directory);
    }
    let added = 0;
    for (const directory of wanted) {
      if (this.watchers.has(directory)) continue;
      if (this.watchers.size >= this.maxDirectories) {
        this.events.onError(
          directory,
          Object.assign(new Error(`more than ${this.maxDirectories} directories to watch`), { code: 'ETOOMANY' }),
        );
        break;
      }
      if (this.add(directory)) added++;
    }
    return added;
  }

  private add(directory: string): boolean {
    let watcher: FSWatcher;
    try {
      watcher = watch(directory, { persistent: false }, (type, name) => {
        this.events.onEvent(type === 'change' ? 'modified' : 'renamed', name ? join(directory, name) : directory);
      });
    } catch (error) {
      // Gone since the scan listed it: the next scan settles it.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.events.onError(directory, error as NodeJS.ErrnoException);
      return false;
    }
    watcher.on('error', (error: NodeJS.ErrnoException) => {
      watcher.close();
      if (this.watchers.get(directory) === watcher) this.watchers.delete(directory);
      if (error.code !== 'ENOENT' && error.code !== 'EPERM') this.events.onError(directory, error);
    });
    this.watchers.set(directory, watcher);
    return true;
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
