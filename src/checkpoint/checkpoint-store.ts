import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where each flow got to in each file, durable in SQLite. A row says: in flow F, the file with this
 * identity (device, inode, and a fingerprint of its first bytes) is delivered up to `offset`.
 * Offsets only ever describe acknowledged records; the tailer reads on from there after a restart.
 */
export interface FileCheckpoint {
  flowId: string;
  path: string;
  dev: number;
  ino: number;
  /** Hex digest of the file's first bytes ('' while the file is shorter than the fingerprint size). */
  fingerprint: string;
  offset: number;
  updatedMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS file_checkpoints (
  flow_id TEXT NOT NULL,
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  path TEXT NOT NULL,
  offset INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (flow_id, dev, ino)
);
CREATE TABLE IF NOT EXISTS flows (flow_id TEXT PRIMARY KEY, first_started_ms INTEGER NOT NULL);
`;

interface Row {
  flow_id: string;
  dev: number;
  ino: number;
  fingerprint: string;
  path: string;
  offset: number;
  updated_ms: number;
}

/**
 * The checkpoints name every log file the agent reads, and where: they are the agent's own, 0600
 * in a 0700 directory when it creates one, whatever the umask. SQLite gives its -wal and -shm
 * files the mode of the database, so the database file is made first.
 */
function createPrivately(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  // A store written before files were private keeps its mode otherwise.
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  }
}

/** better-sqlite3's name for a database that lives only as long as the process. */
const IN_MEMORY = ':memory:';

export class CheckpointStore {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;

  /**
   * Opens the store; one that cannot be read as a checkpoint database (corrupt, truncated, not
   * SQLite, unreadable) is moved aside and replaced by an empty one, so a bad file costs a re-read
   * of the logs, never a daemon stuck in a crash loop. Where no store can be opened at all (a
   * read-only or missing directory that cannot be created), the agent runs with checkpoints kept
   * in memory: it ships, but a restart starts over as if it had none. `onReset` is told where the
   * old file went and why; `onUnavailable`, why there is no store on disk.
   */
  static openOrReset(
    file: string,
    events: { onReset: (movedTo: string, error: unknown) => void; onUnavailable: (error: unknown) => void },
  ): CheckpointStore {
    let openError: unknown;
    try {
      return new CheckpointStore(file);
    } catch (error) {
      openError = error;
    }
    try {
      const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      let moved = false;
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(file + suffix)) {
          renameSync(file + suffix, movedTo + suffix);
          moved = true;
        }
      }
      if (moved) events.onReset(movedTo, openError);
      return new CheckpointStore(file);
    } catch (error) {
      events.onUnavailable(error);
      return new CheckpointStore(IN_MEMORY);
    }
  }

  constructor(readonly file: string) {
    if (file !== IN_MEMORY) createPrivately(file);
    this.db = new Database(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.exec(SCHEMA);
      // Reads every page, so a damaged file is found now rather than in the middle of a save.
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`checkpoint database fails its integrity check: ${String(check)}`);
    } catch (error) {
      this.db.close();
      throw error;
    }
    // Saved after every delivered batch, so no fsync each time: a committed save survives kill -9
    // of the agent (WAL); a power cut can lose the last saves, which resends lines, never loses them.
    this.db.pragma('synchronous = NORMAL');
    // One small transaction per delivered batch: fold the WAL back (with an fsync) rarely.
    this.db.pragma('wal_autocheckpoint = 16384');
    this.upsert = this.db.prepare(
      `INSERT INTO file_checkpoints (flow_id, dev, ino, fingerprint, path, offset, updated_ms)
       VALUES (@flowId, @dev, @ino, @fingerprint, @path, @offset, @updatedMs)
       ON CONFLICT (flow_id, dev, ino) DO UPDATE SET fingerprint = excluded.fingerprint, path = excluded.path,
         offset = excluded.offset, updated_ms = excluded.updated_ms`,
    );
  }

  load(flowId: string): FileCheckpoint[] {
    const rows = this.db.prepare('SELECT * FROM file_checkpoints WHERE flow_id = ?').all(flowId) as Row[];
    return rows.map((row) => ({
      flowId: row.flow_id,
      dev: row.dev,
      ino: row.ino,
      fingerprint: row.fingerprint,
      path: row.path,
      offset: row.offset,
      updatedMs: row.updated_ms,
    }));
  }

  /** Saves all given checkpoints in one transaction. */
  save(checkpoints: FileCheckpoint[]): void {
    if (checkpoints.length === 0) return;
    this.db.transaction(() => {
      for (const checkpoint of checkpoints) this.upsert.run(checkpoint);
    })();
  }

  /**
   * Records that the flow has run; true only the first time. initialPosition applies to the files
   * present then: files that appear later, even while the agent is stopped, are read from the start.
   */
  markFlowStarted(flowId: string, nowMs: number): boolean {
    return (
      this.db.prepare('INSERT OR IGNORE INTO flows (flow_id, first_started_ms) VALUES (?, ?)').run(flowId, nowMs)
        .changes === 1
    );
  }

  /** Drops rows not updated for `ttlDays`; returns how many. */
  expire(ttlDays: number, nowMs: number): number {
    return this.db.prepare('DELETE FROM file_checkpoints WHERE updated_ms < ?').run(nowMs - ttlDays * 86_400_000)
      .changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
