import {
  closeSync,
  fstatSync,
  fsyncSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
  writevSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  dataFilePath,
  DamagedSegmentError,
  encodeHeader,
  HOUR_MS,
  payloadCrc,
  SEGMENT_HEADER_BYTES,
  segmentDamage,
  type IndexedSegment,
} from './segment-format.js';
import { makePrivateDir, openPrivateFile } from '../private-storage.js';

/**
 * The append-only data files that hold the segments, one per stream and hour of arrival
 * (`records/<stream id>/<hour>.log`): appending segments, reading one back verified, and deleting
 * a stream's files or the hours past retention. What points into them is the index (store.ts).
 */

export interface SegmentToWrite {
  streamId: number;
  shardIndex: number;
  firstCounter: number;
  lastCounter: number;
  arrivalMs: number;
  payload: Buffer;
}

/** Where a segment landed, for its index row. */
export interface PlacedSegment {
  segment: SegmentToWrite;
  offset: number;
  crc: number;
}

/** Data files kept open for reading and appending; the least recently used is closed first. */
const MAX_OPEN_DATA_FILES = 32;

export class DataFiles {
  /** Open data files by path, least recently used first, with the offset each is written at. */
  private readonly open = new Map<string, { fd: number; size: number }>();

  /** `fileEnds`: the end of the last byte written or indexed per data file, which no later write goes below. */
  constructor(
    readonly recordsDir: string,
    private readonly fsync: boolean,
    private readonly fileEnds: Map<string, number>,
  ) {}

  private streamDir(streamId: number): string {
    return join(this.recordsDir, String(streamId));
  }

  private pathOf(streamId: number, arrivalMs: number): string {
    return dataFilePath(this.recordsDir, streamId, arrivalMs);
  }

  /**
   * The open data file; created (0600, in a 0700 directory) only for writing. Writes go at the
   * larger of its size and the end of what was indexed in it, so a file that was truncated or
   * deleted behind the engine's back never gets new records at offsets an index row points at.
   */
  private file(path: string, forWriting: boolean): { fd: number; size: number } {
    let file = this.open.get(path);
    if (file !== undefined) {
      this.open.delete(path);
      this.open.set(path, file);
      return file;
    }
    let fd: number;
    try {
      fd = openPrivateFile(path, false);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (!forWriting) throw new DamagedSegmentError(path, 'the data file is missing');
      makePrivateDir(dirname(path));
      fd = openPrivateFile(path, true);
    }
    file = { fd, size: Math.max(fstatSync(fd).size, this.fileEnds.get(path) ?? 0) };
    this.open.set(path, file);
    if (this.open.size > MAX_OPEN_DATA_FILES) this.close(this.open.keys().next().value!);
    return file;
  }

  private forget(path: string): void {
    this.fileEnds.delete(path);
    this.close(path);
  }

  private close(path: string): void {
    const file = this.open.get(path);
    if (file === undefined) return;
    this.open.delete(path);
    closeSync(file.fd);
  }

  /**
   * Appends the segments, each behind its header, with one write per data file. Throws if the bytes
   * could not all be written (a full disk, say); what did land is then never pointed at.
   */
  append(segments: SegmentToWrite[]): PlacedSegment[] {
    const placed: PlacedSegment[] = [];
    const byFile = new Map<string, SegmentToWrite[]>();
    for (const segment of segments) {
      const path = this.pathOf(segment.streamId, segment.arrivalMs);
      const list = byFile.get(path);
      if (list) list.push(segment);
      else byFile.set(path, [segment]);
    }
    for (const [path, list] of byFile) {
      const file = this.file(path, true);
      const buffers: Buffer[] = [];
      let expected = 0;
      for (const s of list) {
        const crc = payloadCrc(s.payload);
        placed.push({ segment: s, offset: file.size + expected, crc });
        buffers.push(
          encodeHeader({
            streamId: s.streamId,
            shardIndex: s.shardIndex,
            firstCounter: s.firstCounter,
            lastCounter: s.lastCounter,
            arrivalMs: s.arrivalMs,
            length: s.payload.length,
            crc,
          }),
          s.payload,
        );
        expected += SEGMENT_HEADER_BYTES + s.payload.length;
      }
      try {
        const written = writevSync(file.fd, buffers, file.size);
        if (written !== expected) throw new Error(`short write to ${path}: ${written} of ${expected} bytes`);
        if (this.fsync) fsyncSync(file.fd);
      } catch (error) {
        // Whatever part did land stays unreferenced; later writes start after it.
        file.size = Math.max(file.size, fstatSync(file.fd).size);
        throw error;
      }
      file.size += expected;
      this.fileEnds.set(path, file.size);
    }
    return placed;
  }

  /** The payload of the segment an index row points at; DamagedSegmentError unless it is intact. */
  read(streamId: number, segment: IndexedSegment): Buffer {
    const path = this.pathOf(streamId, segment.arrival_ms);
    const bytes = Buffer.allocUnsafe(SEGMENT_HEADER_BYTES + segment.length);
    const read = readSync(this.file(path, false).fd, bytes, 0, bytes.length, segment.file_offset);
    const damage = segmentDamage(bytes, read, streamId, segment);
    if (damage !== undefined) throw new DamagedSegmentError(path, damage);
    return bytes.subarray(SEGMENT_HEADER_BYTES);
  }

  deleteStream(streamId: number): void {
    const dir = this.streamDir(streamId);
    for (const path of new Set([...this.fileEnds.keys(), ...this.open.keys()]))
      if (path.startsWith(dir + '/')) this.forget(path);
    rmSync(dir, { recursive: true, force: true });
  }

  /** Deletes the stream's hour files that hold nothing that arrived at or after `cutoffMs`. */
  deleteHoursBefore(streamId: number, cutoffMs: number): void {
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
      this.forget(path);
      unlinkSync(path);
    }
  }

  /** The size of every data file, in bytes. */
  totalBytes(): number {
    let bytes = 0;
    let streams: string[] = [];
    try {
      streams = readdirSync(this.recordsDir);
    } catch {
      // Nothing written yet.
    }
    for (const stream of streams) {
      if (!/^\d+$/.test(stream)) continue;
      for (const name of readdirSync(join(this.recordsDir, stream)))
        bytes += statSync(join(this.recordsDir, stream, name)).size;
    }
    return bytes;
  }

  closeAll(): void {
    for (const path of [...this.open.keys()]) this.close(path);
  }
}
