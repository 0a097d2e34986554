import { stat } from 'node:fs/promises';
import fg, { type Entry } from 'fast-glob';
import picomatch from 'picomatch';

export interface DiscoveredFile {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** Other paths of the same file that the glob matched too (a symlink and its target, say). */
  alsoAt?: string[];
}

export interface ScanOptions {
  filePattern: string;
  excludePatterns: string[];
  /** Globs of what is never tailed, whatever filePattern says: the agent's own state (see ownStateGlobs). */
  ownState: string[];
  /** Files taken from one scan at most; the walk stops there. */
  maxFiles: number;
  /** Also list the directories the glob can find files in, for the watcher. */
  withDirectories: boolean;
}

export interface ScanResult {
  /** One entry per file (device and inode), sorted by path. */
  files: DiscoveredFile[];
  /** Directories that can hold matching files (when asked for). */
  directories: string[];
  /** The glob matched more than maxFiles files; only the first maxFiles are in `files`. */
  truncated: boolean;
}

/**
 * Files a flow tails at most. A glob that matches more (`/**`, say) is almost surely a mistake; it
 * is reported, and the walk stops there, so that it costs bounded memory rather than all of it.
 */
export const MAX_FILES_PER_FLOW = 20_000;

/** Pseudo file systems: nothing in them is a log, and walking them (/proc above all) never ends. */
const PSEUDO_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];
/** Stats of matched paths run this many at a time, so a walk of thousands of files stays bounded. */
const STAT_CONCURRENCY = 64;

function directoryGlobs(directory: string): string[] {
  const escaped = fg.escapePath(directory);
  return [escaped, `${escaped}/**`];
}

/**
 * What the agent writes itself: an engine's data directory (its data files end in .log, so a glob
 * over it would ship every record again, forever) and the checkpoint database with its WAL, shared
 * memory and moved-aside copies.
 */
export function ownStateGlobs(state: { directories: string[]; checkpointFile?: string }): string[] {
  const globs = state.directories.flatMap(directoryGlobs);
  if (state.checkpointFile !== undefined) {
    const escaped = fg.escapePath(state.checkpointFile);
    globs.push(escaped, `${escaped}-wal`, `${escaped}-shm`, `${escaped}.corrupt-*`);
  }
  return globs;
}

/** Exclude patterns without a slash match file names anywhere, as the flow config documents. */
function ignoreGlobs(excludePatterns: string[], ownState: string[]): string[] {
  const globs = excludePatterns.map((pattern) => (pattern.includes('/') ? pattern : `**/${pattern}`));
  return [...globs, ...PSEUDO_FILE_SYSTEMS.flatMap(directoryGlobs), ...ownState];
}

/**
 * Whether one path is a file a scan would list (by its name: the glob, the excludes, the agent's
 * own state); for watcher events, which name one path at a time. picomatch is
 * the matcher fast-glob walks with.
 */
export function pathMatcher(
  options: Pick<ScanOptions, 'filePattern' | 'excludePatterns' | 'ownState'>,
): (path: string) => boolean {
  const matches = picomatch(options.filePattern, {
    dot: true,
    ignore: ignoreGlobs(options.excludePatterns, options.ownState),
  });
  // Compressed files are listed too: the file set tells them by content (a daemon tails none, a backfill reads gzip).
  return matches;
}

/** The directory a glob cannot reach above: where its walk starts. */
export function globBase(filePattern: string): string {
  return fg.generateTasks([filePattern])[0]?.base ?? '/';
}

/**
 * `**` does not follow symbolic links to directories (as in bash's globstar): a link back up the
 * tree (`ln -s . self`) would otherwise make the walk endless. Other patterns have a fixed depth,
 * so links are followed there; links to files are taken everywhere.
 */
function followsDirectoryLinks(filePattern: string): boolean {
  return !filePattern.includes('**');
}

/**
 * The patterns of the directories a glob can find files in, below its base: `base/*\/app/*.log`
 * gives `base/*` and `base/*\/app`; `base/**\/*.log` gives `base/**`.
 */
function directoryPatterns(filePattern: string): string[] {
  const base = globBase(filePattern);
  const below = filePattern.slice(base.length).split('/').filter(Boolean).slice(0, -1);
  const patterns: string[] = [];
  for (let i = 1; i <= below.length; i++) patterns.push(`${base.replace(/\/$/, '')}/${below.slice(0, i).join('/')}`);
  return patterns;
}

function walkOptions(options: ScanOptions, onlyFiles: boolean) {
  return {
    absolute: true,
    onlyFiles,
    objectMode: true as const,
    followSymbolicLinks: followsDirectoryLinks(options.filePattern),
    suppressErrors: true,
    dot: true,
    ignore: ignoreGlobs(options.excludePatterns, options.ownState),
  };
}

/** Matched paths that are (or link to) regular files, at most maxFiles + 1 of them. */
async function matchedPaths(options: ScanOptions): Promise<string[]> {
  const paths: string[] = [];
  const entries = fg.stream(options.filePattern, walkOptions(options, false)) as AsyncIterable<Entry>;
  for await (const entry of entries) {
    if (entry.dirent.isDirectory()) continue;
    paths.push(entry.path);
    if (paths.length > options.maxFiles) break;
  }
  return paths;
}

/**
 * Every regular file matching the flow's glob right now, once per identity (device and inode),
 * with what the tailers key on. A file reached by several paths is listed under its shortest path
 * (then the first in order), the others in `alsoAt`.
 */
export async function scanFiles(options: ScanOptions): Promise<ScanResult> {
  const paths = await matchedPaths(options);
  const truncated = paths.length > options.maxFiles;
  if (truncated) paths.length = options.maxFiles;
  const byIdentity = new Map<string, DiscoveredFile>();
  for (let start = 0; start < paths.length; start += STAT_CONCURRENCY) {
    await Promise.all(
      paths.slice(start, start + STAT_CONCURRENCY).map(async (path) => {
        // gone between the listing and the stat: the next scan settles it
        const info = await stat(path).catch(() => undefined);
        if (info === undefined || !info.isFile()) return;
        const key = `${info.dev}:${info.ino}`;
        const known = byIdentity.get(key);
        if (known === undefined) {
          byIdentity.set(key, { path, dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs });
          return;
        }
        const [first, other] = preferredFirst(known.path, path);
        known.path = first;
        (known.alsoAt ??= []).push(other);
      }),
    );
  }
  const files = [...byIdentity.values()].sort((a, b) => compare(a.path, b.path));
  return { files, directories: options.withDirectories ? await matchedDirectories(options) : [], truncated };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function preferredFirst(a: string, b: string): [string, string] {
  return a.length < b.length || (a.length === b.length && a < b) ? [a, b] : [b, a];
}

async function matchedDirectories(options: ScanOptions): Promise<string[]> {
  const base = globBase(options.filePattern);
  const patterns = directoryPatterns(options.filePattern);
  const directories = [base];
  if (patterns.length > 0) {
    const entries = await fg(patterns, { ...walkOptions(options, false), onlyDirectories: true });
    for (const entry of entries) directories.push(entry.path);
  }
  return directories;
}
