import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { FramedReader, type FileReader } from './file-tailer.js';
import type { RecordFramer } from './framer.js';
import type { ReadBuffers } from './read-buffers.js';
import type { FramedChunk } from './records.js';

/**
 * What gunzip gives at a time, copied out at once into a read buffer. Small: its output buffers
 * are allocated afresh, and 1 MiB ones freed at the rate of decompression fragmented the native
 * heap (peak RSS grew by tens of MiB per gzip file read at once).
 */
const GUNZIP_CHUNK_BYTES = 64 * 1024;

/**
 * Reads a gzip file as the plain file it was, chunk by chunk: offsets are offsets in the
 * decompressed stream, so a checkpoint taken of the plain file before it was compressed tells
 * where its .gz is read on from. Decompression is pulled one chunk at a time, so memory stays
 * what the memory budget lets the read loop hold, however large the file. What gunzip gives is
 * copied into the flow's reused read buffers: its own output buffers then die young, where kept
 * by records until acknowledged they would outlive the young generation and pile up as garbage
 * until a full collection (tens of MiB per file read at once).
 */
export class GzipReader extends FramedReader implements FileReader {
  /** Decompressed bytes produced so far by the current stream (below `offset` while skipping to it). */
  private produced = 0;
  private source: { handle: FileHandle; raw: Readable; gunzip: Gunzip; chunks: AsyncIterator<Buffer> } | undefined;
  /** Decompressed bytes past the offset that did not fit in the last chunk. */
  private leftover: Buffer | undefined;
  /** Decompression reached the end; the last chunk may still be unread. */
  private drained = false;
  private ended: boolean;
  readonly compressed = true;

  constructor(
    framer: RecordFramer,
    /** Where chunks are decompressed into; their size is the most decompressed bytes per chunk. */
    private readonly buffers: ReadBuffers,
    startOffset: number,
    /** Its checkpoint says it was read to its end: nothing to decompress. */
    finished = false,
  ) {
    super(framer, startOffset);
    this.ended = finished;
  }

  hasMore(): boolean {
    return !this.ended;
  }

  /** The next decompressed chunk's records; undefined at the end. Throws on a corrupt or cut-off file. */
  async readChunk(handle: FileHandle): Promise<FramedChunk | undefined> {
    if (this.ended) return undefined;
    // A file closed and reopened under a new descriptor is decompressed again from its start, up to where it was.
    if (this.source?.handle !== handle) this.open(handle);
    const buffer = this.buffers.take(this.buffers.size);
    let filled = 0;
    try {
      while (filled < buffer.length) {
        const data = this.leftover ?? (await this.nextFresh());
        if (data === undefined) break;
        const copied = data.copy(buffer, filled);
        filled += copied;
        this.leftover = copied < data.length ? data.subarray(copied) : undefined;
      }
    } catch (error) {
      this.buffers.give(buffer);
      throw error;
    }
    if (filled === 0) {
      this.buffers.give(buffer);
      this.ended = true;
      this.close();
      return undefined;
    }
    return this.frame(buffer, filled);
  }

  /** Decompressed bytes past the offset, as gunzip gives them; undefined at the end of the stream. */
  private async nextFresh(): Promise<Buffer | undefined> {
    if (this.drained) return undefined;
    for (;;) {
      const next = await this.source!.chunks.next();
      if (next.done === true) {
        this.drained = true;
        return undefined;
      }
      const data = next.value;
      const start = this.produced;
      this.produced += data.length;
      if (this.produced <= this.offset) continue;
      return start >= this.offset ? data : data.subarray(this.offset - start);
    }
  }

  private open(handle: FileHandle): void {
    this.close();
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
    // The descriptor is the file set's to close; the stream only reads through it.
    const raw = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 64 * 1024 });
    // A read error destroys the gunzip stream with it, so the pending chunk rejects instead of waiting forever.
    pipeline(raw, gunzip, () => undefined);
    this.source = { handle, raw, gunzip, chunks: gunzip[Symbol.asyncIterator]() };
    this.produced = 0;
    this.drained = false;
  }

  private close(): void {
    this.leftover = undefined;
    this.source?.raw.destroy();
    this.source?.gunzip.destroy();
    this.source = undefined;
  }

  override flushUnterminated(): FramedChunk | undefined {
    this.close();
    return super.flushUnterminated();
  }

  /** A compressed file is not truncated while read; should it be, it is read again from its start. */
  override restartFromZero(): void {
    this.close();
    this.ended = false;
    super.restartFromZero();
  }
}
