import type Database from 'better-sqlite3';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { formatSequence, sequencePrefix, shardIdOf } from './sequence.js';
import { openPrivateFile } from '../private-storage.js';
import {
  dataFilePath,
  decodeHeader,
  HOUR_MS,
  payloadCrc,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  type IndexedSegment,
  type SegmentHeader,
} from './segment-format.js';

/**
 * The start-up check of the data files against the index. Every data file is read once, front to
 * back, and every segment in it verified (header and CRC-32); the damaged stretches found, and
 * whatever the index expects beyond a file's end or in a missing file, are matched with the index
 * rows that point into them and reported as sequence-number ranges per shard. Damage between
 * segments that no index row points at (the part of a write that failed, never acknowledged) is
 * not reported. The headers also tell the highest counter of each shard and the highest stream id
 * even when the index was lost or is older than the data, so the engine never hands out a
 * sequence number twice. The index is read only in aggregates, so memory does not grow with it.
 */

/** Holds the highest stream id ever created, which outlives the directory of a deleted stream. */
const STREAM_ID_FLOOR_FILE = 'highest-stream-id';

export interface StorageProblem {
  level: 'error' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

export interface StartupCheck {
  problems: StorageProblem[];
  /** The highest counter seen per shard, in the index or in a data file; keyed `${streamId}/${shardIndex}`. */
  highestCounters: Map<string, number>;
  highestStreamId: number;
  /** Per data file, the end of its last indexed segment: appends go after it even if the file is shorter. */
  fileEnds: Map<string, number>;
}

interface DataFile {
  path: string;
  streamId: number;
  hour: number;
  /** Where the index's last segment in this file ends; 0 when the index knows none. */
  indexedEnd: number;
}

/** Bytes of a file that are not intact segments. */
interface BadStretch {
  from: number;
  to: number;
  reason: string;
}

interface DamagedRun {
  shardIndex: number;
  firstCounter: number;
  lastCounter: number;
  firstByte: number;
  endByte: number;
  segments: number;
  reason: string;
}

const WINDOW_BYTES = 4 * 1024 * 1024;

/** Reads a file front to back through one window, so that verifying many small segments costs few reads. */
class WindowedReader {
  private window = Buffer.allocUnsafe(WINDOW_BYTES);
  private start = 0;
  private end = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** Up to `length` bytes at `position` (fewer at the end of the file); valid until the next call. */
  bytes(position: number, length: number): Buffer {
    if (position < this.start || position + length > this.end) {
      if (length > this.window.length) this.window = Buffer.allocUnsafe(length);
      this.start = position;
      this.end = position + readSync(this.fd, this.window, 0, this.window.length, position);
    }
    return this.window.subarray(position - this.start, Math.max(0, Math.min(position + length, this.end) - this.start));
  }

  /** The header at `position` when it and its records are intact. */
  intactAt(position: number): SegmentHeader | undefined {
    const header = decodeHeader(this.bytes(position, SEGMENT_HEADER_BYTES));
    if (header === undefined || position + SEGMENT_HEADER_BYTES + header.length > this.size) return undefined;
    return payloadCrc(this.bytes(position + SEGMENT_HEADER_BYTES, header.length)) === header.crc ? header : undefined;
  }
}

export function checkDataFiles(
  db: Database.Database,
  recordsDir: string,
  streamNames: Map<number, string>,
): StartupCheck {
  const check: StartupCheck = {
    problems: [],
    highestCounters: new Map(),
    highestStreamId: readStreamIdFloor(recordsDir),
    fileEnds: new Map(),
  };
  const raise = (streamId: number, shardIndex: number, counter: number) => {
    const key = `${streamId}/${shardIndex}`;
    if (counter > (check.highestCounters.get(key) ?? 0)) check.highestCounters.set(key, counter);
    if (streamId > check.highestStreamId) check.highestStreamId = streamId;
  };
  for (const row of db
    .prepare('SELECT stream_id, shard_index, max(last_counter) AS last FROM segments GROUP BY stream_id, shard_index')
    .all() as Array<Record<string, number>>) {
    raise(row.stream_id, row.shard_index, row.last);
  }

  const files = new Map<string, DataFile>();
  const perFile = db.prepare(
    `SELECT stream_id, CAST(arrival_ms / ${HOUR_MS} AS INTEGER) AS hour, max(file_offset + length) + ` +
      `${SEGMENT_HEADER_BYTES} AS indexed_end FROM segments GROUP BY stream_id, hour`,
  );
  for (const row of perFile.all() as Array<Record<string, number>>) {
    const path = dataFilePath(recordsDir, row.stream_id, row.hour * HOUR_MS);
    files.set(path, { path, streamId: row.stream_id, hour: row.hour, indexedEnd: row.indexed_end });
    check.fileEnds.set(path, row.indexed_end);
  }
  const streamDirs = listNumeric(recordsDir, '');
  for (const streamId of streamDirs) {
    if (streamId > check.highestStreamId) check.highestStreamId = streamId;
    for (const hour of listNumeric(join(recordsDir, String(streamId)), '.log')) {
      const path = dataFilePath(recordsDir, streamId, hour * HOUR_MS);
      if (!files.has(path)) files.set(path, { path, streamId, hour, indexedEnd: 0 });
    }
  }

  const rowsIn = db.prepare(
    'SELECT shard_index, first_counter, last_counter, file_offset, length FROM segments WHERE stream_id = ? ' +
      'AND arrival_ms >= ? AND arrival_ms < ? AND file_offset >= ? AND file_offset < ? ORDER BY file_offset',
  );
  const unindexed = new Map<number, number>();
  for (const file of files.values()) {
    const highest = new Map<number, number>();
    let segments = 0;
    const onHeader = (header: SegmentHeader, intact: boolean) => {
      if (intact) segments++;
      if (header.streamId !== file.streamId) raise(header.streamId, header.shardIndex, header.lastCounter);
      else if (header.lastCounter > (highest.get(header.shardIndex) ?? 0))
        highest.set(header.shardIndex, header.lastCounter);
    };
    const stretches = scanFile(file, onHeader);
    for (const [shardIndex, counter] of highest) raise(file.streamId, shardIndex, counter);
    if (!streamNames.has(file.streamId)) unindexed.set(file.streamId, (unindexed.get(file.streamId) ?? 0) + segments);
    const runs = damagedRuns(
      stretches,
      (stretch) =>
        rowsIn.all(
          file.streamId,
          file.hour * HOUR_MS,
          (file.hour + 1) * HOUR_MS,
          stretch.from,
          stretch.to,
        ) as DamagedRow[],
    );
    const streamName = streamNames.get(file.streamId) ?? `(id ${file.streamId})`;
    for (const run of runs) check.problems.push(describeRun(file.path, file.streamId, streamName, run));
  }
  for (const streamId of streamDirs) {
    if (streamNames.has(streamId)) continue;
    const dir = join(recordsDir, String(streamId));
    const segments = unindexed.get(streamId) ?? 0;
    check.problems.push({
      level: 'warn',
      fields: { dir, streamId, segments },
      message:
        `${dir} holds ${segments} segments of a stream that the index does not know (was kinesis.db ` +
        `lost or replaced?); they are kept but not served, and new streams get higher ids so that no sequence ` +
        `number is handed out twice`,
    });
  }
  return check;
}

/** Called with every header found; `intact` when its records are too. */
type OnHeader = (header: SegmentHeader, intact: boolean) => void;

/** Walks the file's segments, reporting every header found; returns the stretches that are not intact segments. */
function scanFile(file: DataFile, onHeader: OnHeader): BadStretch[] {
  let fd: number;
  try {
    fd = openSync(file.path, constants.O_RDONLY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return [{ from: 0, to: file.indexedEnd, reason: 'the data file is missing' }];
  }
  const stretches: BadStretch[] = [];
  try {
    const reader = new WindowedReader(fd, fstatSync(fd).size);
    let position = 0;
    while (position < reader.size) {
      const header = reader.intactAt(position);
      if (header !== undefined) {
        onHeader(header, true);
        position += SEGMENT_HEADER_BYTES + header.length;
        continue;
      }
      const damaged = decodeHeader(reader.bytes(position, SEGMENT_HEADER_BYTES));
      // A damaged segment's header still tells which counters were handed out.
      if (damaged !== undefined) onHeader(damaged, false);
      const reason =
        damaged === undefined
          ? position + SEGMENT_HEADER_BYTES > reader.size
            ? 'the file ends inside the segment'
            : 'the segment header is damaged'
          : position + SEGMENT_HEADER_BYTES + damaged.length > reader.size
            ? 'the file ends inside the segment'
            : 'the checksum of the records does not match';
      const next = nextIntact(reader, position + 1, onHeader);
      stretches.push({ from: position, to: next, reason });
      position = next;
    }
    if (file.indexedEnd > reader.size) {
      const last = stretches[stretches.length - 1];
      if (last !== undefined && last.to === reader.size) last.to = file.indexedEnd;
      else stretches.push({ from: reader.size, to: file.indexedEnd, reason: 'the file ends before the segment' });
    }
  } finally {
    closeSync(fd);
  }
  return stretches;
}

/** Where the next intact segment starts at or after `from` (the file's size if none does). */
function nextIntact(reader: WindowedReader, from: number, onHeader: OnHeader): number {
  let position = from;
  while (position + SEGMENT_HEADER_BYTES <= reader.size) {
    const ahead = reader.bytes(position, Math.min(WINDOW_BYTES, reader.size - position));
    const found = ahead.indexOf(SEGMENT_MAGIC);
    if (found < 0) {
      // A magic number cut by the window's end is found by the next look, which starts just before it.
      position += Math.max(1, ahead.length - SEGMENT_MAGIC.length + 1);
      continue;
    }
    position += found;
    if (reader.intactAt(position) !== undefined) return position;
    const damaged = decodeHeader(reader.bytes(position, SEGMENT_HEADER_BYTES));
    if (damaged !== undefined) onHeader(damaged, false);
    position++;
  }
  return reader.size;
}

type DamagedRow = Pick<IndexedSegment, 'shard_index' | 'first_counter' | 'last_counter' | 'file_offset' | 'length'>;

/** The index rows that point into bad stretches, as runs of consecutive counters per shard. */
function damagedRuns(stretches: BadStretch[], rowsIn: (stretch: BadStretch) => DamagedRow[]): DamagedRun[] {
  const runs: DamagedRun[] = [];
  const open = new Map<number, DamagedRun>();
  for (const stretch of stretches) {
    for (const row of rowsIn(stretch)) {
      const run = open.get(row.shard_index);
      const endByte = row.file_offset + SEGMENT_HEADER_BYTES + row.length;
      if (run !== undefined && run.lastCounter + 1 === row.first_counter) {
        run.lastCounter = row.last_counter;
        run.endByte = endByte;
        run.segments++;
        continue;
      }
      const next = {
        shardIndex: row.shard_index,
        firstCounter: row.first_counter,
        lastCounter: row.last_counter,
        firstByte: row.file_offset,
        endByte,
        segments: 1,
        reason: stretch.reason,
      };
      runs.push(next);
      open.set(row.shard_index, next);
    }
  }
  return runs;
}

function describeRun(path: string, streamId: number, streamName: string, run: DamagedRun): StorageProblem {
  const prefix = sequencePrefix(streamId, run.shardIndex);
  const first = formatSequence(prefix, run.firstCounter);
  const last = formatSequence(prefix, run.lastCounter);
  const shard = shardIdOf(run.shardIndex);
  return {
    level: 'error',
    fields: {
      stream: streamName,
      shard,
      firstSequenceNumber: first,
      lastSequenceNumber: last,
      file: path,
      bytes: `${run.firstByte}-${run.endByte}`,
      segments: run.segments,
      reason: run.reason,
    },
    message:
      `damaged records: ${shard} of stream ${streamName}, sequence numbers ${first} to ${last}, in ${path} ` +
      `(bytes ${run.firstByte} to ${run.endByte}: ${run.reason}); ` +
      `GetRecords reports them as damaged, and readers get past them with an iterator AFTER_SEQUENCE_NUMBER ${last}`,
  };
}

function listNumeric(dir: string, suffix: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const numbers: number[] = [];
  for (const name of names) {
    if (!name.endsWith(suffix)) continue;
    const text = name.slice(0, name.length - suffix.length);
    if (/^\d+$/.test(text)) numbers.push(Number(text));
  }
  return numbers;
}

function readStreamIdFloor(recordsDir: string): number {
  try {
    const value = Number(readFileSync(join(recordsDir, STREAM_ID_FLOOR_FILE), 'utf8').trim());
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  } catch {
    // None yet (no stream was created with this layout), or unreadable: the directories still count.
    return 0;
  }
}

/** Replaces the highest-stream-id file (0600), before the stream with that id is committed. */
export function writeStreamIdFloor(recordsDir: string, id: number, fsync: boolean): void {
  const path = join(recordsDir, STREAM_ID_FLOOR_FILE);
  const temporary = `${path}.tmp`;
  rmSync(temporary, { force: true });
  const fd = openPrivateFile(temporary, true);
  try {
    writeSync(fd, `${id}\n`);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
