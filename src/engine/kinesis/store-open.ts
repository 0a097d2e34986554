import Database from 'better-sqlite3';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDir, notAnIndex, openPrivateFile, StorageOpenError, storageOpenError } from '../private-storage.js';

/** Opening the Kinesis index, which also holds the iterator secret (see ../private-storage.ts for the modes). */

/** Bumped whenever the data files or the index change shape; older data dirs are refused, not misread. */
export const STORAGE_FORMAT = '2';

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
