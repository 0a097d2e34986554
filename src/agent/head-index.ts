/**
 * A copy holds at least everything the original had when its head was taken, so the copy's head
 * must start with the whole of the original's: a new file that merely begins like another (a
 * shared timestamp prefix) is not taken for its copy.
 */
export function isCopyOf(copyHead: Buffer, originalHead: Buffer): boolean {
  return originalHead.length > 0 && copyHead.length >= originalHead.length && copyHead.compare(originalHead, 0, originalHead.length, 0, originalHead.length) === 0;
}

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
}
