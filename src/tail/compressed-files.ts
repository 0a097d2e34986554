import type { FileHandle } from 'node:fs/promises';
import type { ResumePoints } from '../checkpoint/resume.js';
import type { DiscoveredFile } from '../discover/scan.js';
import type { AgentEvents } from '../observe/events.js';
import { compressionByName, compressionOf, decompressedHeadOf, decompressedSizeOf } from './compression.js';
import type { RecordFramer } from './framer.js';
import { GzipReader } from './gzip-reader.js';
import { identityKey, type FileIdentity } from './identity.js';
import type { ReadBuffers } from './read-buffers.js';
import type { FramedChunk } from './records.js';
import type { TrackedFile } from './tracked-file.js';

export interface CompressedFilesOptions {
  events: AgentEvents;
  resume: ResumePoints;
  /** A backfill reads gzip files (by content only); a daemon tails no compressed file, as the Java agent. */
  backfill: boolean;
  /** The flow's read buffers, which gzip files are decompressed into. */
  buffers: ReadBuffers;
}

/** Where a gzip file is read from and how much it holds, in its decompressed content. */
export interface GzipStart {
  /** Its decompressed first bytes: the fingerprint of the plain file it was. */
  head: Buffer;
  offset: number;
  /** Its decompressed size, by its trailer: what it adds to a backfill's total. */
  size: number;
  reader: (framer: RecordFramer) => GzipReader;
}

function notReadKey(file: { dev: number; ino: number; path: string }): string {
  return `${identityKey(file)} ${file.path}`;
}

/**
 * A flow's compressed files: which of them are read (gzip, in a backfill) and which are not (every
 * one in a daemon; bzip2, zstd and zip in a backfill), named once; where a gzip file is read from
 * (its checkpoint, or that of the plain file it was compressed from); and which failed to decompress.
 */
export class CompressedFiles {
  /**
   * Compressed files not read, by identity and path: an inode of a deleted .gz may go to a new
   * plain log, which is read.
   */
  private readonly notRead = new Set<string>();
  /** Compressed files of formats a backfill does not read (bzip2, zstd), skipped. */
  readonly unsupported: string[] = [];
  /** Gzip files that failed to decompress (corrupt, cut off): not read to their end. */
  readonly undecompressable: string[] = [];

  constructor(private readonly options: CompressedFilesOptions) {}

  /** Whether `file` was found compressed and is not read, so it is not opened again while it is listed. */
  skipped(file: DiscoveredFile): boolean {
    return this.notRead.has(notReadKey(file));
  }

  /** Compressed files rotated away are forgotten, so the set stays the size of what the glob matches. */
  forgetUnlisted(found: DiscoveredFile[]): void {
    const listed = new Set(found.map(notReadKey));
    for (const key of this.notRead) if (!listed.has(key)) this.notRead.delete(key);
  }

  /**
   * How a file just opened is read, by its first bytes (and, in a daemon, its name): 'plain',
   * 'gzip', or 'skip' for a compressed file that is not read (reported once).
   */
  classify(path: string, identity: FileIdentity, head: Buffer): 'plain' | 'gzip' | 'skip' {
    const { backfill, events } = this.options;
    // A backfill goes by content only: what is not gzip there is read as the plain file it is.
    const compression = compressionOf(head) ?? (backfill ? undefined : compressionByName(path));
    if (compression === undefined) return 'plain';
    if (backfill && compression === 'gzip') return 'gzip';
    this.notRead.add(notReadKey({ ...identity, path }));
    if (backfill) {
      this.unsupported.push(path);
      events.compressionNotSupported(path, compression);
    } else events.compressedNotTailed(path, compression);
    return 'skip';
  }

  /**
   * Where a gzip file is read from (offsets in its decompressed content): its own checkpoint, else
   * that of the plain file it was compressed from (found by content), else its start.
   */
  async start(path: string, identity: FileIdentity, handle: FileHandle, fileSize: number): Promise<GzipStart> {
    const head = await decompressedHeadOf(handle, fileSize);
    const resume = this.options.resume;
    const offset = resume.take(identity, path, head, Infinity) ?? resume.takeByContent(path, head) ?? 0;
    const size = await decompressedSizeOf(handle, fileSize);
    return {
      head,
      offset,
      size,
      reader: (framer) => new GzipReader(framer, this.options.buffers, offset, offset > 0 && offset === size),
    };
  }

  /**
   * The next chunk of a gzip file; undefined at its end. A compressed file does not change: no
   * truncation or copy to look for. One that fails to decompress is named, and 'failed' says to let it go.
   */
  async readChunk(file: TrackedFile, handle: FileHandle): Promise<FramedChunk | undefined | 'failed'> {
    try {
      return await file.tailer.readChunk(handle, file.size);
    } catch (error) {
      this.options.events.readFailed(file.path, error);
      this.undecompressable.push(file.path);
      return 'failed';
    }
  }
}
