import type { FileHandle } from 'node:fs/promises';
import type { InitialPosition } from '../config/types.js';
import type { AgentEvents } from '../observe/events.js';
import {
  FINGERPRINT_BYTES,
  fingerprintOf,
  identityKey,
  matchesFingerprint,
  type FileIdentity,
} from '../tail/identity.js';
import type { FileCheckpoint } from './checkpoint-store.js';

/**
 * The checkpoints a flow started with, each given to the file it belongs to once: a file found
 * under a checkpointed identity resumes there, unless it is not that file any more (its inode was
 * given to a new file, or it was truncated while the agent was stopped).
 */
export class ResumePoints {
  private readonly byKey = new Map<string, FileCheckpoint>();
  /** Every checkpoint by fingerprint, taken or not: a compressed copy of a file is found by its content. */
  private readonly byFingerprint = new Map<string, FileCheckpoint>();

  constructor(
    checkpoints: Iterable<FileCheckpoint>,
    private readonly events: AgentEvents,
  ) {
    for (const checkpoint of checkpoints) {
      this.byKey.set(identityKey(checkpoint), checkpoint);
      const known = this.byFingerprint.get(checkpoint.fingerprint);
      if (checkpoint.fingerprint !== '' && (known === undefined || known.offset < checkpoint.offset)) {
        this.byFingerprint.set(checkpoint.fingerprint, checkpoint);
      }
    }
  }

  /**
   * Where a compressed file resumes whose decompressed content began as a checkpointed file did (the
   * .gz of a log shipped under its plain name): that file's offset. Only a whole fingerprint, or a
   * short file's whole content, counts: a file that merely begins with another's few bytes is not it.
   */
  takeByContent(path: string, head: Buffer): number | undefined {
    if (head.length === 0) return undefined;
    const checkpoint = this.byFingerprint.get(fingerprintOf(head));
    if (checkpoint === undefined || (head.length < FINGERPRINT_BYTES && checkpoint.offset > head.length)) {
      return undefined;
    }
    this.events.resumed(path, checkpoint.offset);
    return checkpoint.offset;
  }

  /**
   * Where the file resumes by its checkpoint: an offset, 0 if the checkpoint is not this file's, undefined if it has
   * none.
   */
  take(identity: FileIdentity, path: string, head: Buffer, size: number): number | undefined {
    const key = identityKey(identity);
    const checkpoint = this.byKey.get(key);
    if (checkpoint === undefined) return undefined;
    this.byKey.delete(key);
    if (!matchesFingerprint(head, checkpoint.fingerprint)) {
      this.events.inodeReusedAtStart(path, checkpoint.path);
      return 0;
    }
    if (checkpoint.offset > size) {
      this.events.truncatedWhileStopped(path, checkpoint.offset, size);
      return 0;
    }
    this.events.resumed(path, checkpoint.offset);
    return checkpoint.offset;
  }
}

/**
 * Where a file without a checkpoint starts. initialPosition applies to the files present at the
 * flow's first start; files that appear later, and every file of a backfill, are read from 0.
 */
export async function startOfNewFile(
  handle: FileHandle,
  size: number,
  rule: { presentAtFirstStart: boolean; backfill: boolean; initialPosition: InitialPosition },
): Promise<number> {
  if (rule.backfill || !rule.presentAtFirstStart || rule.initialPosition === 'START_OF_FILE') return 0;
  return endOfLastLine(handle, size);
}

/**
 * END_OF_FILE starts after the last complete line, so a line being written at startup is shipped
 * whole once its newline arrives instead of cut in half.
 */
async function endOfLastLine(handle: FileHandle, size: number): Promise<number> {
  const window = 64 * 1024;
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - window);
    const buffer = Buffer.allocUnsafe(end - start);
    const { bytesRead } = await handle.read(buffer, 0, end - start, start);
    const newline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline !== -1) return start + newline + 1;
    end = start;
  }
  return 0;
}
