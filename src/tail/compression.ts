import type { FileHandle } from 'node:fs/promises';
import { constants, gunzipSync } from 'node:zlib';
import { FINGERPRINT_BYTES } from './identity.js';

/** Compressed formats told by their first bytes: rotated logs are often compressed without the usual name. */
export type Compression = 'gzip' | 'bzip2' | 'zstd' | 'zip';

/** What a file's first bytes say it is compressed with, undefined for a plain file. */
export function compressionOf(head: Buffer): Compression | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  // "BZh" and a block size digit: a plain text line may begin with "BZh" alone.
  if (head.length >= 4 && head.toString('latin1', 0, 3) === 'BZh' && head[3] >= 0x31 && head[3] <= 0x39) {
    return 'bzip2';
  }
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
  return undefined;
}

const COMPRESSED_NAMES: Array<[RegExp, Compression]> = [
  [/\.gz$/i, 'gzip'],
  [/\.bz2$/i, 'bzip2'],
  [/\.zst$/i, 'zstd'],
  [/\.zip$/i, 'zip'],
];

/**
 * What a file's name says it is compressed with. A daemon goes by the name too, as the Java agent
 * does: logrotate creates a .gz empty and writes it, and an empty file has no magic bytes yet.
 */
export function compressionByName(path: string): Compression | undefined {
  return COMPRESSED_NAMES.find(([pattern]) => pattern.test(path))?.[1];
}

/**
 * The first FINGERPRINT_BYTES of a gzip file's decompressed content: what the same log had as a
 * plain file, so its fingerprint matches that file's checkpoint. Compressed input is read in
 * growing steps, so a highly compressible file does not inflate megabytes to give one KiB.
 */
export async function decompressedHeadOf(handle: FileHandle, size: number): Promise<Buffer> {
  for (const step of [512, 8192, 131_072]) {
    const wanted = Math.min(step, size);
    const input = Buffer.allocUnsafe(wanted);
    const { bytesRead } = await handle.read(input, 0, wanted, 0);
    let output: Buffer;
    try {
      // A sync flush gives what the input so far decompresses to instead of failing on its missing end.
      output = gunzipSync(input.subarray(0, bytesRead), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      output = Buffer.alloc(0);
    }
    if (output.length >= FINGERPRINT_BYTES || wanted === size)
      return Buffer.from(output.subarray(0, FINGERPRINT_BYTES));
  }
  return Buffer.alloc(0);
}

/**
 * A gzip file's decompressed size as its trailer tells it (ISIZE, mod 2^32, of its last member):
 * exact for the usual single-member file under 4 GiB; above, the first candidate not clearly below
 * the compressed size (deflate grows incompressible data by well under 1 %). An estimate, for progress.
 */
export async function decompressedSizeOf(handle: FileHandle, size: number): Promise<number> {
  if (size < 18) return 0;
  const trailer = Buffer.alloc(4);
  const { bytesRead } = await handle.read(trailer, 0, 4, size - 4);
  if (bytesRead !== 4) return 0;
  let estimate = trailer.readUInt32LE(0);
  while (estimate < size * 0.99 - 1024) estimate += 2 ** 32;
  return estimate;
}
