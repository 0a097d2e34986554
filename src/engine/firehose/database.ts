import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { makePrivateDir, openPrivateDatabase, storageOpenError } from '../private-storage.js';

/**
 * Opens (or creates) `<dataDir>/firehose.db`: the delivery streams and their buffered records. Each
 * module that keeps tables there creates them itself.
 */
export function openFirehoseDatabase(dataDir: string, options: { fsync: boolean }): Database.Database {
  const file = join(dataDir, 'firehose.db');
  try {
    makePrivateDir(dataDir);
    return openPrivateDatabase(file, options);
  } catch (error) {
    throw storageOpenError(dataDir, file, error);
  }
}
