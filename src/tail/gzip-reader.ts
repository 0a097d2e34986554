import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { FileReader } from './file-tailer.js';
import type { RecordFramer } from './framer.js';
import type { FramedChunk } from './records.js';

/**
 * Reads a gzip file as the plain file it was, chunk by chunk: offsets are offsets in the
 * decompressed stream, so a checkpoint taken of the plain file before it was compressed tells
 * where its .gz is read on from. Decompression is pulled one chunk at a time, so memory stays
 * what the memory budget lets the read loop hold, however large the file.
 */
export class GzipReader implements FileReader {
  /** Next decompressed byte to hand on. */
  private offset: number;
  /** Decompressed bytes produced so far by the current stream (below `offset` while skipping to it). */
  private produced = 0;
  private source: { handle: FileHandle; raw: Readable; gunzip: Gunzip; chunks: AsyncIterator<Buffer> } | undefined;
  private ended: boolean;
  recordsRead = 0;
  bytesRead = 0;
  readonly compressed = true;

  constructor(
    private readonly framer: RecordFramer,
    /** Most decompressed bytes per chunk. */
    private readonly chunkBytes: number,
    startOffset: number,
    /** Its checkpoint says it was read to its end: nothing to decompress. */
    finished = false,
  ) {
    this.offset = startOffset;
    this.ended = finished;
  }

  get readOffset(): number {
    return this.offset;
  }

  get recordEndOffset(): number {
    return this.framer.recordEndOffset;
  }

  hasMore(): boolean {
    return !this.ended;
  }

  /** The next decompressed chunk's records; undefined at the end. Throws on a corrupt or cut-off file. */
  async readChunk(handle: FileHandle): Promise<FramedChunk | undefined> {
    if (this.ended) return undefined;
    // A file closed and reopened under a new descriptor is decompressed again from its start, up to where it was.
    if (this.source?.handle !== handle) this.open(handle);
    for (;;) {
      const next = await this.source!.chunks.next();
      if (next.done === true) {
        this.finish();
        return undefined;
      }
      const data = next.value;
      const start = this.produced;
      this.produced += data.length;
      if (this.produced <= this.offset) continue;
      const fresh = start >= this.offset ? data : data.subarray(this.offset - start);
      const chunk = this.framer.frame(fresh, fresh.length, this.offset);
      this.offset += fresh.length;
      this.recordsRead += chunk.records.count;
      this.bytesRead += chunk.bytes;
      return chunk;
    }
  }

  private open(handle: FileHandle): void {
    this.close();
    const gunzip = createGunzip({ chunkSize: this.chunkBytes });
    // The descriptor is the file set's to close; the stream only reads through it.
    const raw = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 64 * 1024 });
    // A read error destroys the gunzip stream with it, so the pending chunk rejects instead of waiting forever.
    pipeline(raw, gunzip, () => undefined);
    this.source = { handle, raw, gunzip, chunks: gunzip[Symbol.asyncIterator]() };
    this.produced = 0;
  }

  private finish(): void {
    this.ended = true;
    this.close();
  }

  private close(): void {
    this.source?.raw.destroy();
    this.source?.gunzip.destroy();
    this.source = undefined;
  }

  flushUnterminated(): FramedChunk | undefined {
    this.close();
    const chunk = this.framer.flush(this.offset);
    if (chunk !== undefined) {
      this.recordsRead += chunk.records.count;
      this.bytesRead += chunk.bytes;
    }
    return chunk;
  }

  skipTo(offset: number): void {
    if (this.offset !== 0 || this.recordsRead > 0) throw new Error('cannot move the start of a file already read from');
    this.offset = offset;
    this.framer.restartAt(offset);
  }

  /** A compressed file is not truncated while read; should it be, it is read again from its start. */
  restartFromZero(): void {
    this.close();
    this.offset = 0;
    this.ended = false;
    this.framer.restartAt(0);
  }
}
