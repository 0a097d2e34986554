import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DataFiles, type PlacedSegment, type SegmentToWrite } from './data-files.js';
import { checkDataFiles, writeStreamIdFloor, type StorageProblem } from './startup-check.js';
import { DamagedSegmentError, type IndexedSegment } from './segment-format.js';
import { makePrivateDir, storageOpenError } from '../private-storage.js';
import { openIndex, STORAGE_FORMAT } from './store-open.js';

/**
 * Durable state of the stream engine: hourly data files with the records, and a SQLite index
 * (`kinesis.db`, WAL mode) of streams, shards and where each segment is.
 *
 * Why SQLite: a put is answered only after its transaction commits, and with WAL and
 * synchronous=NORMAL a commit is a single append to the WAL file: it survives kill -9 of the
 * process (the bytes are in the kernel), without an fsync per request. `fsync: true` switches to
 * synchronous=FULL (and fsyncs the data files) for hosts that must also survive power loss.
 *
 * Records are stored as segments: all records one request wrote to one shard, with consecutive
 * counters and one arrival time. A segment (a header with its CRC-32, see segment-format.ts, then
 * the records) is written to a data file, one per stream and hour of arrival
 * (`records/<stream id>/<hour>.log`, see data-files.ts), and SQLite keeps only a small index row
 * pointing at it. The
 * bytes are written before the index row commits, so an indexed segment is complete unless the
 * file was damaged later; a crash in between leaves unreferenced bytes, never a dangling row.
 * Reads verify each segment, and the start-up check verifies them all (startup-check.ts).
 * Retention deletes index rows and then whole hour files, which gives the space back to the file
 * system.
 *
 * Everything is created private (0700 directories, 0600 files): the records are shipped log lines.
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

export type SegmentRow = IndexedSegment;

/** A run of consecutive damaged segments of one shard, as GetRecords reports it. */
export interface DamagedRange {
  firstCounter: number;
  lastCounter: number;
  file: string;
  reason: string;
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
  length INTEGER NOT NULL,
  crc INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_by_position
  ON segments (stream_id, shard_index, last_counter, first_counter, arrival_ms);
`;

/**
 * How far past a damaged segment a read looks for more damage, to report the damaged run as one
 * range; bounded, because every GetRecords at the damage does it again.
 */
const MAX_DAMAGED_RUN_SEGMENTS = 1_000;
const MAX_DAMAGED_RUN_BYTES = 64 * 1024 * 1024;

export class KinesisStore {
  readonly db: Database.Database;
  private readonly insertSegment: Database.Statement;
  private readonly indexSegments: (placed: PlacedSegment[]) => void;
  private readonly selectSegments: Database.Statement;
  private readonly selectFirstAtTime: Database.Statement;
  private readonly upsertShard: Database.Statement;
  private readonly upsertStream: Database.Statement;
  private readonly recordsDir: string;
  private readonly fsync: boolean;
  private readonly files: DataFiles;
  private readonly highestCounters: Map<string, number>;
  private highestStreamId: number;
  private readonly secret: Buffer;
  /** What the start-up check found: damaged ranges and data no stream owns, for the log. */
  readonly problems: StorageProblem[];

  /** Throws StorageOpenError, naming the file and what is wrong, when the storage cannot be opened. */
  constructor(dataDir: string, options: { fsync?: boolean } = {}) {
    this.recordsDir = join(dataDir, 'records');
    this.fsync = options.fsync ?? false;
    this.db = openIndex(dataDir, { fsync: this.fsync });
    try {
      this.db.exec(SCHEMA);
      this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('storage_format', ?)").run(STORAGE_FORMAT);
      this.secret = this.loadIteratorSecret();
      makePrivateDir(this.recordsDir);
      const streamNames = new Map(this.loadStreams().map((row) => [row.id, row.name]));
      const check = checkDataFiles(this.db, this.recordsDir, streamNames);
      this.problems = check.problems;
      this.files = new DataFiles(this.recordsDir, this.fsync, check.fileEnds);
      this.highestCounters = check.highestCounters;
      this.highestStreamId = check.highestStreamId;
    } catch (error) {
      this.db.close();
      throw storageOpenError(dataDir, join(dataDir, 'kinesis.db'), error);
    }
    this.insertSegment = this.db.prepare(
      'INSERT INTO segments (stream_id, shard_index, first_counter, last_counter, arrival_ms, file_offset, ' +
        'length, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // One path for one segment and for several: a branch that single-shard writes never take would,
    // inlined into the write path, deoptimize it when a stream of several shards first writes.
    const insertAll = (placed: PlacedSegment[]) => {
      for (const { segment: s, offset, crc } of placed) {
        this.insertSegment.run(
          s.streamId,
          s.shardIndex,
          s.firstCounter,
          s.lastCounter,
          s.arrivalMs,
          offset,
          s.payload.length,
          crc,
        );
      }
    };
    const insertAllAtOnce = this.db.transaction(insertAll);
    // One row commits by itself; an explicit BEGIN and COMMIT around it cost two more statements a put.
    this.indexSegments = (placed) => (placed.length === 1 ? insertAll(placed) : insertAllAtOnce(placed));
    this.selectSegments = this.db.prepare(
      'SELECT shard_index, first_counter, last_counter, arrival_ms, file_offset, length, crc FROM segments ' +
        'WHERE stream_id = ? AND shard_index = ? AND last_counter >= ? ORDER BY last_counter',
    );
    this.selectFirstAtTime = this.db.prepare(
      'SELECT first_counter FROM segments WHERE stream_id = ? AND shard_index = ? AND arrival_ms >= ? ORDER BY ' +
        'last_counter LIMIT 1',
    );
    this.upsertShard = this.db.prepare(
      `INSERT INTO shards (stream_id, shard_index, parent_index, adjacent_parent_index, start_hash, end_hash,
         created_ms, closed_ms, next_counter)
       VALUES (@stream_id, @shard_index, @parent_index, @adjacent_parent_index, @start_hash, @end_hash,
         @created_ms, @closed_ms, @next_counter)
       ON CONFLICT (stream_id, shard_index) DO UPDATE SET closed_ms = excluded.closed_ms,
         next_counter = max(next_counter, excluded.next_counter)`,
    );
    this.upsertStream = this.db.prepare(
      `UPDATE streams SET retention_hours = @retention_hours, max_record_kib = @max_record_kib, tags = @tags,
       status = @status,
       status_until_ms = @status_until_ms, mode = @mode WHERE id = @id`,
    );
  }

  /** A random secret kept with the data, so iterators stay valid across restarts and forged ones fail. */
  iteratorSecret(): Buffer {
    return this.secret;
  }

  private loadIteratorSecret(): Buffer {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'iterator_secret'").get() as
      { value: string } | undefined;
    if (row) return Buffer.from(row.value, 'base64');
    const secret = randomBytes(32);
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('iterator_secret', ?)").run(secret.toString('base64'));
    return secret;
  }

  loadStreams(): StreamRow[] {
    return this.db.prepare('SELECT * FROM streams ORDER BY id').all() as StreamRow[];
  }

  /**
   * Shards with next_counter raised past any segment found in the index or the data files, in case
   * a crash beat the last counter save or the index is older than the data.
   */
  loadShards(): ShardRow[] {
    const rows = this.db.prepare('SELECT * FROM shards ORDER BY stream_id, shard_index').all() as ShardRow[];
    for (const row of rows)
      row.next_counter = Math.max(
        row.next_counter,
        (this.highestCounters.get(`${row.stream_id}/${row.shard_index}`) ?? 0) + 1,
      );
    return rows;
  }

  /**
   * Stream ids go into every sequence number, so a new stream's id is above every id the index, the
   * data files and the highest-stream-id file know of: a lost index cannot make numbers repeat.
   */
  insertStream(row: Omit<StreamRow, 'id'>, shards: Array<Omit<ShardRow, 'stream_id'>>): number {
    const indexed =
      (this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'streams'").pluck().get() as number | undefined) ??
      0;
    const id = Math.max(indexed, this.highestStreamId) + 1;
    writeStreamIdFloor(this.recordsDir, id, this.fsync);
    this.highestStreamId = id;
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO streams (id, name, created_ms, mode, retention_hours, max_record_kib, tags, status,
             status_until_ms)
           VALUES (@id, @name, @created_ms, @mode, @retention_hours, @max_record_kib, @tags, @status,
             @status_until_ms)`,
        )
        .run({ ...row, id });
      for (const shard of shards) this.upsertShard.run({ ...shard, stream_id: id });
    })();
    return id;
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
    this.files.deleteStream(streamId);
    this.reclaimSpace();
  }

  /**
   * Appends the segments (each with its header), then commits their index rows in one transaction.
   * Throws (and indexes nothing) if the bytes could not all be written, e.g. on a full disk.
   */
  writeSegments(segments: SegmentToWrite[]): void {
    this.indexSegments(this.files.append(segments));
  }

  /** The records of one segment, as written by writeSegments; DamagedSegmentError unless they are intact. */
  readPayload(streamId: number, segment: SegmentRow): Buffer {
    return this.files.read(streamId, segment);
  }

  /** The damaged segment `first` and the damaged ones right after it in its shard, as one range. */
  damagedRange(streamId: number, first: SegmentRow, error: DamagedSegmentError): DamagedRange {
    let lastCounter = first.last_counter;
    let checked = 0;
    let bytes = 0;
    for (const segment of this.segmentsFrom(streamId, first.shard_index, first.last_counter + 1)) {
      if (++checked > MAX_DAMAGED_RUN_SEGMENTS || (bytes += segment.length) > MAX_DAMAGED_RUN_BYTES) break;
      try {
        this.readPayload(streamId, segment);
        break;
      } catch (next) {
        if (!(next instanceof DamagedSegmentError)) throw next;
        lastCounter = segment.last_counter;
      }
    }
    return { firstCounter: first.first_counter, lastCounter, file: error.file, reason: error.reason };
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
      return this.db.prepare('DELETE FROM segments WHERE stream_id = ? AND arrival_ms < ?').run(streamId, cutoffMs)
        .changes;
    })();
    this.files.deleteHoursBefore(streamId, cutoffMs);
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
    const dataBytes = this.files.totalBytes();
    return total - free + Math.ceil(dataBytes / 4096);
  }

  close(): void {
    if (!this.db.open) return;
    this.files.closeAll();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      // On a full disk the checkpoint fails; the WAL keeps every commit and the next start reads it.
      this.db.close();
    }
  }
}
