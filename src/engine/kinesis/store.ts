import Database from 'better-sqlite3';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, unlinkSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Durable state of the stream engine in one SQLite database (WAL mode).
 *
 * Why SQLite: a put is answered only after its transaction commits, and with WAL and
 * synchronous=NORMAL a commit is a single append to the WAL file: it survives kill -9 of the
 * process (the bytes are in the kernel), without an fsync per request. `fsync: true` switches to
 * synchronous=FULL for hosts that must also survive power loss.
 *
 * Records are stored as segments: all records one request wrote to one shard, with consecutive
 * counters and one arrival time. A segment's bytes are appended to a data file, one per stream and
 * hour of arrival (`records/<stream id>/<hour>.log`), and SQLite keeps only a small index row
 * pointing at them. The bytes are written before the index row commits, so an indexed segment is
 * always complete; a crash in between leaves unreferenced bytes, never a dangling row. Retention
 * deletes index rows and then whole hour files, which gives the space back to the file system.
 *
 * The index is small (one row per shard per request), so SQLite's own WAL checkpoints, with their
 * fsync, are rare and run in line.
 */
export interface StreamRow {
  id: number;
  name: string;
  created_ms: number;
  mode: string;
  retention_hours: number;
  max_record_kib: number;
  tags: string;
  status: string;
  status_until_ms: number;
}

export interface ShardRow {
  stream_id: number;
  shard_index: number;
  parent_index: number | null;
  adjacent_parent_index: number | null;
  start_hash: string;
  end_hash: string;
  created_ms: number;
  closed_ms: number | null;
  next_counter: number;
}

export interface SegmentRow {
  first_counter: number;
  last_counter: number;
  arrival_ms: number;
  file_offset: number;
  length: number;
}

export interface SegmentToWrite {
  streamId: number;
  shardIndex: number;
  firstCounter: number;
  lastCounter: number;
  arrivalMs: number;
  payload: Buffer;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  mode TEXT NOT NULL,
  retention_hours INTEGER NOT NULL,
  max_record_kib INTEGER NOT NULL,
  tags TEXT NOT NULL,
  status TEXT NOT NULL,
  status_until_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS shards (
  stream_id INTEGER NOT NULL,
  shard_index INTEGER NOT NULL,
  parent_index INTEGER,
  adjacent_parent_index INTEGER,
  start_hash TEXT NOT NULL,
  end_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  closed_ms INTEGER,
  next_counter INTEGER NOT NULL,
  PRIMARY KEY (stream_id, shard_index)
);
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL,
  shard_index INTEGER NOT NULL,
  first_counter INTEGER NOT NULL,
  last_counter INTEGER NOT NULL,
  arrival_ms INTEGER NOT NULL,
  file_offset INTEGER NOT NULL,
  length INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_by_position ON segments (stream_id, shard_index, last_counter, first_counter, arrival_ms);
`;

const HOUR_MS = 3_600_000;
/** Data files kept open for reading and appending; the least recently used is closed first. */
const MAX_OPEN_DATA_FILES = 32;

export class KinesisStore {
  readonly db: Database.Database;
  private readonly insertSegment: Database.Statement;
  private readonly selectSegments: Database.Statement;
  private readonly selectFirstAtTime: Database.Statement;
  private readonly upsertShard: Database.Statement;
  private readonly upsertStream: Database.Statement;
  private readonly recordsDir: string;
  private readonly fsync: boolean;
  /** Open data files by path, least recently used first, with the size each will be appended at. */
  private readonly dataFiles = new Map<string, { fd: number; size: number }>();

  constructor(dataDir: string, options: { fsync?: boolean } = {}) {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'kinesis.db');
    this.recordsDir = join(dataDir, 'records');
    this.fsync = options.fsync ?? false;
    this.db = new Database(file);
    // auto_vacuum must be chosen before the first table exists; it lets retention give space back.
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    const synchronous = options.fsync ? 'FULL' : 'NORMAL';
    this.db.pragma(`synchronous = ${synchronous}`);
    // Every put commits one small index transaction; folding the WAL back (with an fsync) every
    // 64 MiB instead of SQLite's 4 MiB keeps that fsync off the request path almost always.
    this.db.pragma('wal_autocheckpoint = 16384');
    this.db.exec(SCHEMA);
    this.insertSegment = this.db.prepare(
      'INSERT INTO segments (stream_id, shard_index, first_counter, last_counter, arrival_ms, file_offset, length) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.selectSegments = this.db.prepare(
      'SELECT first_counter, last_counter, arrival_ms, file_offset, length FROM segments WHERE stream_id = ? AND shard_index = ? AND last_counter >= ? ORDER BY last_counter',
    );
    this.selectFirstAtTime = this.db.prepare(
      'SELECT first_counter FROM segments WHERE stream_id = ? AND shard_index = ? AND arrival_ms >= ? ORDER BY last_counter LIMIT 1',
    );
    this.upsertShard = this.db.prepare(
      `INSERT INTO shards (stream_id, shard_index, parent_index, adjacent_parent_index, start_hash, end_hash, created_ms, closed_ms, next_counter)
       VALUES (@stream_id, @shard_index, @parent_index, @adjacent_parent_index, @start_hash, @end_hash, @created_ms, @closed_ms, @next_counter)
       ON CONFLICT (stream_id, shard_index) DO UPDATE SET closed_ms = excluded.closed_ms, next_counter = max(next_counter, excluded.next_counter)`,
    );
    this.upsertStream = this.db.prepare(
      `UPDATE streams SET retention_hours = @retention_hours, max_record_kib = @max_record_kib, tags = @tags, status = @status,
       status_until_ms = @status_until_ms, mode = @mode WHERE id = @id`,
    );
  }

  /** A random secret kept with the data, so iterators stay valid across restarts and forged ones fail. */
  iteratorSecret(): Buffer {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'iterator_secret'").get() as { value: string } | undefined;
    if (row) return Buffer.from(row.value, 'base64');
    const secret = randomBytes(32);
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('iterator_secret', ?)").run(secret.toString('base64'));
    return secret;
  }

  loadStreams(): StreamRow[] {
    return this.db.prepare('SELECT * FROM streams ORDER BY id').all() as StreamRow[];
  }

  /** Shards with next_counter raised past any segment still stored, in case a crash beat the last counter save. */
  loadShards(): ShardRow[] {
    return this.db
      .prepare(
        `SELECT s.stream_id, s.shard_index, s.parent_index, s.adjacent_parent_index, s.start_hash, s.end_hash, s.created_ms, s.closed_ms,
           max(s.next_counter, coalesce((SELECT max(last_counter) + 1 FROM segments g WHERE g.stream_id = s.stream_id AND g.shard_index = s.shard_index), 0)) AS next_counter
         FROM shards s ORDER BY s.stream_id, s.shard_index`,
      )
      .all() as ShardRow[];
  }

  insertStream(row: Omit<StreamRow, 'id'>, shards: Array<Omit<ShardRow, 'stream_id'>>): number {
    return this.db.transaction(() => {
      const result = this.db
        .prepare(
          `INSERT INTO streams (name, created_ms, mode, retention_hours, max_record_kib, tags, status, status_until_ms)
           VALUES (@name, @created_ms, @mode, @retention_hours, @max_record_kib, @tags, @status, @status_until_ms)`,
        )
        .run(row);
      const id = Number(result.lastInsertRowid);
      for (const shard of shards) this.upsertShard.run({ ...shard, stream_id: id });
      return id;
    })();
  }

  saveStream(row: StreamRow, shards: ShardRow[] = []): void {
    this.db.transaction(() => {
      this.upsertStream.run(row);
      for (const shard of shards) this.upsertShard.run(shard);
    })();
  }

  deleteStream(streamId: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM segments WHERE stream_id = ?').run(streamId);
      this.db.prepare('DELETE FROM shards WHERE stream_id = ?').run(streamId);
      this.db.prepare('DELETE FROM streams WHERE id = ?').run(streamId);
    })();
    const dir = this.streamDir(streamId);
    for (const path of [...this.dataFiles.keys()]) if (path.startsWith(dir + '/')) this.closeDataFile(path);
    rmSync(dir, { recursive: true, force: true });
    this.reclaimSpace();
  }

  private streamDir(streamId: number): string {
    return join(this.recordsDir, String(streamId));
  }

  private dataPath(streamId: number, arrivalMs: number): string {
    return join(this.streamDir(streamId), `${Math.floor(arrivalMs / HOUR_MS)}.log`);
  }

  private dataFile(path: string): { fd: number; size: number } {
    let file = this.dataFiles.get(path);
    if (file !== undefined) {
      this.dataFiles.delete(path);
      this.dataFiles.set(path, file);
      return file;
    }
    mkdirSync(join(path, '..'), { recursive: true });
    const fd = openSync(path, 'a+');
    file = { fd, size: fstatSync(fd).size };
    this.dataFiles.set(path, file);
    if (this.dataFiles.size > MAX_OPEN_DATA_FILES) this.closeDataFile(this.dataFiles.keys().next().value!);
    return file;
  }

  private closeDataFile(path: string): void {
    const file = this.dataFiles.get(path);
    if (file === undefined) return;
    this.dataFiles.delete(path);
    closeSync(file.fd);
  }

  /**
   * Appends the segments' bytes, then commits their index rows in one transaction. Throws (and
   * indexes nothing) if the bytes could not all be written, e.g. on a full disk.
   */
  writeSegments(segments: SegmentToWrite[]): void {
    const placed: Array<{ segment: SegmentToWrite; offset: number }> = [];
    const byFile = new Map<string, SegmentToWrite[]>();
    for (const segment of segments) {
      const path = this.dataPath(segment.streamId, segment.arrivalMs);
      const list = byFile.get(path);
      if (list) list.push(segment);
      else byFile.set(path, [segment]);
    }
    for (const [path, list] of byFile) {
      const file = this.dataFile(path);
      let expected = 0;
      for (const segment of list) {
        placed.push({ segment, offset: file.size + expected });
        expected += segment.payload.length;
      }
      try {
        const written = writevSync(file.fd, list.map((segment) => segment.payload));
        if (written !== expected) throw new Error(`short write to ${path}: ${written} of ${expected} bytes`);
        if (this.fsync) fsyncSync(file.fd);
      } catch (error) {
        // Whatever part did land stays unreferenced; later appends start after it.
        file.size = fstatSync(file.fd).size;
        throw error;
      }
      file.size += expected;
    }
    const insertAll = () => {
      for (const { segment: s, offset } of placed) {
        this.insertSegment.run(s.streamId, s.shardIndex, s.firstCounter, s.lastCounter, s.arrivalMs, offset, s.payload.length);
      }
    };
    if (placed.length === 1) insertAll();
    else this.db.transaction(insertAll)();
  }

  /** The bytes of one segment, as written by writeSegments. */
  readPayload(streamId: number, segment: SegmentRow): Buffer {
    const path = this.dataPath(streamId, segment.arrival_ms);
    const payload = Buffer.allocUnsafe(segment.length);
    const read = readSync(this.dataFile(path).fd, payload, 0, segment.length, segment.file_offset);
    if (read !== segment.length) throw new Error(`data file ${path} ends before the segment at ${segment.file_offset} (+${segment.length} bytes)`);
    return payload;
  }

  /** Segments holding counters >= `fromCounter`, oldest first; iterate lazily, callers stop early. */
  segmentsFrom(streamId: number, shardIndex: number, fromCounter: number): IterableIterator<SegmentRow> {
    return this.selectSegments.iterate(streamId, shardIndex, fromCounter) as IterableIterator<SegmentRow>;
  }

  firstCounterAtOrAfter(streamId: number, shardIndex: number, arrivalMs: number): number | undefined {
    const row = this.selectFirstAtTime.get(streamId, shardIndex, arrivalMs) as { first_counter: number } | undefined;
    return row?.first_counter;
  }

  /**
   * Deletes segments that arrived before `cutoffMs` (shard counters are saved in the same
   * transaction, so no number is reused), then the hour files that hold nothing newer.
   */
  expireSegments(streamId: number, cutoffMs: number, shards: ShardRow[]): number {
    const deleted = this.db.transaction(() => {
      for (const shard of shards) this.upsertShard.run(shard);
      return this.db.prepare('DELETE FROM segments WHERE stream_id = ? AND arrival_ms < ?').run(streamId, cutoffMs).changes;
    })();
    const dir = this.streamDir(streamId);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // No data file was ever written for this stream.
    }
    for (const name of names) {
      const hour = Number(name.replace(/\.log$/, ''));
      if (!Number.isInteger(hour) || (hour + 1) * HOUR_MS > cutoffMs) continue;
      const path = join(dir, name);
      this.closeDataFile(path);
      unlinkSync(path);
    }
    if (deleted > 0) this.reclaimSpace();
    return deleted;
  }

  deleteShards(streamId: number, shardIndexes: number[]): void {
    const statement = this.db.prepare('DELETE FROM shards WHERE stream_id = ? AND shard_index = ?');
    this.db.transaction(() => {
      for (const index of shardIndexes) statement.run(streamId, index);
    })();
  }

  reclaimSpace(): void {
    this.db.pragma('incremental_vacuum');
  }

  /** Storage in use, in 4 KiB pages (index pages plus data files), for checks that retention gives space back. */
  pageCount(): number {
    const total = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    let dataBytes = 0;
    let streams: string[] = [];
    try {
      streams = readdirSync(this.recordsDir);
    } catch {
      // Nothing written yet.
    }
    for (const stream of streams) {
      for (const name of readdirSync(join(this.recordsDir, stream))) dataBytes += statSync(join(this.recordsDir, stream, name)).size;
    }
    return total - free + Math.ceil(dataBytes / 4096);
  }

  close(): void {
    if (!this.db.open) return;
    for (const path of [...this.dataFiles.keys()]) this.closeDataFile(path);
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
