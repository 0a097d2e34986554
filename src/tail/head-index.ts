import { isCopyOf } from './identity.js';

/** Bytes of a head that key the index; heads shorter than this are few (tiny files) and kept apart. */
const KEY_BYTES = 64;

function keyOf(head: Buffer): string {
  return head.toString('latin1', 0, KEY_BYTES);
}

/**
 * Tracked files by the start of their head, so that a new file is checked against the few whose
 * copy it can be rather than against every tracked file (thousands of files made that quadratic).
 * A file's head must not change while it is in the index: remove it, change it, add it again.
 */
export class HeadIndex<T extends { head: Buffer }> {
  private readonly byKey = new Map<string, Set<T>>();
  private readonly short = new Set<T>();

  add(file: T): void {
    const head = file.head;
    if (head.length === 0) return;
    if (head.length < KEY_BYTES) {
      this.short.add(file);
      return;
    }
    const key = keyOf(head);
    let files = this.byKey.get(key);
    if (files === undefined) this.byKey.set(key, (files = new Set()));
    files.add(file);
  }

  remove(file: T): void {
    const head = file.head;
    if (head.length < KEY_BYTES) {
      this.short.delete(file);
      return;
    }
    const key = keyOf(head);
    const files = this.byKey.get(key);
    files?.delete(file);
    if (files?.size === 0) this.byKey.delete(key);
  }

  /** The indexed files that a file with head `copyHead` is a copy of. */
  originalsOf(copyHead: Buffer): T[] {
    const found: T[] = [];
    if (copyHead.length >= KEY_BYTES) {
      for (const file of this.byKey.get(keyOf(copyHead)) ?? []) if (isCopyOf(copyHead, file.head)) found.push(file);
    }
    for (const file of this.short) if (isCopyOf(copyHead, file.head)) found.push(file);
    return found;
  }

  /**
   * Whether some indexed file's head begins with all of `start` and goes on: `start` may be a copy of it still being
   * written.
   */
  anyBeginsWith(start: Buffer): boolean {
    const candidates = start.length >= KEY_BYTES ? (this.byKey.get(keyOf(start)) ?? []) : this.everyFile();
    for (const file of candidates) if (isProperStartOf(start, file.head)) return true;
    return false;
  }

  private *everyFile(): Iterable<T> {
    yield* this.short;
    for (const files of this.byKey.values()) yield* files;
  }
}

/** `start` is shorter than `head` and `head` begins with it. */
export function isProperStartOf(start: Buffer, head: Buffer): boolean {
  return start.length < head.length && head.compare(start, 0, start.length, 0, start.length) === 0;
}
