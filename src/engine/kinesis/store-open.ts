import Database from 'better-sqlite3';
import { chmodSync, closeSync, constants, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Opening the engine's files: private modes whatever the umask (records are shipped log lines,
 * which may come from root-only files, and the index holds the iterator secret), the SQLite index
 * with its pragmas, and errors that say which file is wrong and what to do about it.
 */

/** Bumped whenever the data files or the index change shape; older data dirs are refused, not misread. */
export const STORAGE_FORMAT = '2';

/** Why the engine's storage cannot be opened, naming the file; the message is meant for the operator. */
export class StorageOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageOpenError';
  }
}

/** Creates `dir` (its parents with default modes) as 0700; an existing directory is left as it is. */
export function makePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw error;
    mkdirSync(dirname(dir), { recursive: true });
    mkdirSync(dir, { mode: 0o700 });
  }
  // mkdir's mode passes through the umask; chmod makes it exactly 0700.
  chmodSync(dir, 0o700);
}

/** Opens `path` for reading and writing; creates it 0600 (whatever the umask) when `create` says so. */
export function openPrivateFile(path: string, create: boolean): number {
  try {
    return openSync(path, constants.O_RDWR);
  } catch (error) {
    if (!create || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  try {
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    fchmodSync(fd, 0o600);
    return fd;
  } catch (error) {
    // Created by someone else in between: theirs to have chosen the mode.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return openSync(path, constants.O_RDWR);
    throw error;
  }
}

/**
 * Opens (or creates) `<dataDir>/kinesis.db`. The file is created 0600 before SQLite sees it,
 * because SQLite gives the -wal and -shm files the mode of the database file.
 */
export function openIndex(dataDir: string, options: { fsync: boolean }): Database.Database {
  const file = join(dataDir, 'kinesis.db');
  let db: Database.Database | undefined;
  try {
    makePrivateDir(dataDir);
    closeSync(openPrivateFile(file, true));
    db = new Database(file);
    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    if (tables.size > 0 && !tables.has('streams')) throw notAnIndex(file, 'it has no streams table');
    const format = tables.has('meta')
      ? (db.prepare("SELECT value FROM meta WHERE key = 'storage_format'").pluck().get() as string | undefined)
      : undefined;
    if (tables.has('segments') && format !== STORAGE_FORMAT) {
      throw new StorageOpenError(
        `${dataDir} holds engine data in an older storage layout (data files without checksums) that this ` +
          `version does not read: move the directory aside or delete it to start with an empty engine`,
      );
    }
    // auto_vacuum must be chosen before the first table exists; it lets retention give space back.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
    // Every put commits one small index transaction; folding the WAL back (with an fsync) every
    // 64 MiB instead of SQLite's 4 MiB keeps that fsync off the request path almost always.
    db.pragma('wal_autocheckpoint = 16384');
    return db;
  } catch (error) {
    db?.close();
    throw storageOpenError(dataDir, file, error);
  }
}

function notAnIndex(file: string, detail: string, cause?: unknown): StorageOpenError {
  return new StorageOpenError(
    `${file} is not an engine index (damaged or another file: ${detail}); move it aside to start empty`,
    { cause },
  );
}

/** Says what an error met while opening the storage means, and in which file. */
export function storageOpenError(dataDir: string, file: string, error: unknown): StorageOpenError {
  if (error instanceof StorageOpenError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const where = (error as NodeJS.ErrnoException).path ?? file;
  const message = (error as Error).message;
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC' || code === 'EDQUOT') {
    return new StorageOpenError(
      `${where}: the disk is full (${message}); free some space on the file system of ${dataDir} and start again`,
      { cause: error },
    );
  }
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) return notAnIndex(file, message, error);
  return new StorageOpenError(`cannot open the engine's storage ${where}: ${message}`, { cause: error });
}
