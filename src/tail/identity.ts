import { hash } from 'node:crypto';
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * A file is known by its device and inode, plus a fingerprint of its first bytes: an inode that a
 * deleted file had may be given to a new file, which then shows itself by other first bytes.
 */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** Bytes hashed to tell a file from another that got a recycled inode. */
export const FINGERPRINT_BYTES = 1024;

export function identityKey(identity: FileIdentity): string {
  return `${identity.dev}:${identity.ino}`;
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The file's first bytes (up to FINGERPRINT_BYTES): what copies of it share. Read into `into` when given. */
export function headOf(handle: FileHandle, into: Buffer = Buffer.allocUnsafe(FINGERPRINT_BYTES)): Buffer {
  const read = readSync(handle.fd, into, 0, FINGERPRINT_BYTES, 0);
  return into.subarray(0, read);
}

/**
 * `<length>:<sha1 of the first length bytes>`. A file shorter than FINGERPRINT_BYTES gets a
 * provisional fingerprint of what it has, replaced as it grows; a file that got a recycled inode
 * shows itself by different first bytes, whatever its size.
 */
export function fingerprintOf(head: Buffer): string {
  return head.length === 0 ? '' : `${head.length}:${hash('sha1', head, 'hex')}`;
}

/** Whether a file whose first bytes are `head` can be the one a checkpoint's fingerprint was taken of. */
export function matchesFingerprint(head: Buffer, fingerprint: string): boolean {
  if (fingerprint === '') return true;
  const colon = fingerprint.indexOf(':');
  const length = colon === -1 ? FINGERPRINT_BYTES : Number(fingerprint.slice(0, colon));
  const digest = colon === -1 ? fingerprint : fingerprint.slice(colon + 1);
  return head.length >= length && hash('sha1', head.subarray(0, length), 'hex') === digest;
}

/**
 * A copy holds at least everything the original had when its head was taken, so the copy's head
 * must start with the whole of the original's: a new file that merely begins like another (a
 * shared timestamp prefix) is not taken for its copy. The same test tells whether a file still
 * is the one whose head was taken (it has only grown since).
 */
export function isCopyOf(copyHead: Buffer, originalHead: Buffer): boolean {
  return (
    originalHead.length > 0 &&
    copyHead.length >= originalHead.length &&
    copyHead.compare(originalHead, 0, originalHead.length, 0, originalHead.length) === 0
  );
}
