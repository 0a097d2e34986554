import { chmodSync, closeSync, constants, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The engine's files, whichever service keeps them: private modes whatever the umask (records are
 * shipped log lines, which may come from root-only files), SQLite opened with the same pragmas, and
 * errors that say which file is wrong and what to do about it.
 */

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
 * Opens (or creates) an SQLite file of the engine's, 0600 before SQLite sees it, because SQLite gives
 * the -wal and -shm files the mode of the database file. WAL with synchronous NORMAL survives a
 * crash of the process; FULL (fsync) also survives one of the machine.
 */
export function openPrivateDatabase(file: string, options: { fsync: boolean }): Database.Database {
  closeSync(openPrivateFile(file, true));
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function notAnIndex(file: string, detail: string, cause?: unknown): StorageOpenError {
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
