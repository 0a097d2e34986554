import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { FramedReader, type FileReader } from './file-tailer.js';
import type { RecordFramer } from './framer.js';
import type { FramedChunk } from './records.js';

/**
 * Reads a gzip file as the plain file it was, chunk by chunk: offsets are offsets in the
 * decompressed stream, so a checkpoint taken of the plain file before it was compressed tells
 * where its .gz is read on from. Decompression is pulled one chunk at a time, so memory stays
 * what the memory budget lets the read loop hold, however large the file.
 */
export class GzipReader extends FramedReader implements FileReader {
  /** Decompressed bytes produced so far by the current stream (below `offset` while skipping to it). */
  private produced = 0;
  private source: { handle: FileHandle; raw: Readable; gunzip: Gunzip; chunks: AsyncIterator<Buffer> } | undefined;
  private ended: boolean;
  readonly compressed = true;

  constructor(
    framer: RecordFramer,
    /** Most decompressed bytes per chunk. */
    private readonly chunkBytes: number,
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
    for (;;) {
      const next = await this.source!.chunks.next();
      if (next.done === true) {
        this.ended = true;
        this.close();
        return undefined;
      }
      const data = next.value;
      const start = this.produced;
      this.produced += data.length;
      if (this.produced <= this.offset) continue;
      const fresh = start >= this.offset ? data : data.subarray(this.offset - start);
      return this.frame(fresh, fresh.length);
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

  private close(): void {
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
