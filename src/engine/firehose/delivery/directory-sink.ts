import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SinkError, type ObjectSink } from './object-sink.js';

/**
 * Modes of what the sink creates, through the umask like any tool writing output (cp, aws s3 cp):
 * delivered objects are the user's output, meant to be read by other programs, unlike the engine's
 * own files (0600/0700). Who can reach them is decided by the folder's own mode: nothing under a
 * 0700 root can be opened by others whatever its mode, and the default root (<dataDir>/s3/<bucket>)
 * is under the engine's private data dir. A user who wants a private bucket folder chmods it once.
 */
const DIRECTORY_MODE = 0o755;
const FILE_MODE = 0o644;

/**
 * Temporaries sit next to their object as `.<basename>.tmp-<16 hex>`: a dot-name that a glob or an
 * S3-style listing for the key does not take for an object, and a pattern that no key may have (see
 * keySegments), so that removing stale ones after a crash never removes an object.
 */
const TEMPORARY_NAME = /^\..+\.tmp-[0-9a-f]{16}$/;

function temporaryName(basename: string): string {
  return `.${basename}.tmp-${randomBytes(8).toString('hex')}`;
}

/** Opens the folder standing in for a bucket (creating it), after removing temporaries left by a crash. */
export async function openDirectorySink(root: string): Promise<ObjectSink> {
  try {
    await mkdir(root, { recursive: true, mode: DIRECTORY_MODE });
    await removeStaleTemporaries(root);
  } catch (error) {
    throw fileError(`cannot open the output directory ${root}`, error);
  }
  return new DirectorySink(root);
}

class DirectorySink implements ObjectSink {
  private closed = false;

  constructor(private readonly root: string) {}

  describe(): string {
    return `directory ${this.root}`;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Never a half-written object under its final name: write aside, fsync, rename, fsync the folder. */
  async put(key: string, body: Buffer): Promise<void> {
    if (this.closed) throw new SinkError('SinkClosed', `${this.describe()}: closed`, { retryable: false });
    const segments = keySegments(key);
    const basename = segments.pop()!;
    const folder = await this.makeFolders(key, segments);
    const temporary = join(folder, temporaryName(basename));
    try {
      const file = await open(temporary, 'wx', FILE_MODE);
      try {
        await file.writeFile(body);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, join(folder, basename));
      await syncDirectory(folder);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw fileError(`cannot write object ${JSON.stringify(key)} in ${this.root}`, error);
    }
  }

  /** Creates the key's folders one by one, each made durable in its parent before the object's rename. */
  private async makeFolders(key: string, segments: string[]): Promise<string> {
    let folder = this.root;
    for (const segment of segments) {
      const parent = folder;
      folder = join(folder, segment);
      try {
        await mkdir(folder, { mode: DIRECTORY_MODE });
        await syncDirectory(parent);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw fileError(`cannot create the folder ${folder} for object ${JSON.stringify(key)}`, error);
      }
    }
    return folder;
  }
}

/**
 * The key's path segments, refusing what would leave the folder or cannot be a file name: S3 keys
 * may hold `..` or `//`, but a directory can only stand in for a bucket whose keys are plain paths.
 */
export function keySegments(key: string): string[] {
  const refuse = (why: string) =>
    new SinkError('InvalidObjectKey', `object key ${JSON.stringify(key)} cannot be written to a directory: ${why}`, {
      retryable: false,
    });
  if (key === '') throw refuse('it is empty');
  if (key.includes('\0')) throw refuse('it contains a NUL character');
  if (key.startsWith('/')) throw refuse('it is absolute (starts with "/")');
  const segments = key.split('/');
  for (const segment of segments) {
    if (segment === '') throw refuse('it has an empty path segment ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') throw refuse(`it has a "${segment}" segment`);
    if (Buffer.byteLength(segment) > 255) throw refuse('a path segment is longer than 255 bytes');
  }
  if (TEMPORARY_NAME.test(segments.at(-1)!)) throw refuse("its name has the form of the sink's temporary files");
  return segments;
}

async function syncDirectory(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeStaleTemporaries(root: string): Promise<void> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (entry.isFile() && TEMPORARY_NAME.test(entry.name)) {
      await unlink(join(entry.parentPath, entry.name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }
}

/** Disk full or a file system gone read-only can pass; a key that names a folder (or the reverse) cannot. */
function fileError(what: string, error: unknown): SinkError {
  if (error instanceof SinkError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
  const why: Record<string, string> = {
    ENOTDIR: 'a folder on its path is an object (a file)',
    EISDIR: 'the key names an existing folder',
    EEXIST: 'a folder on its path is an object (a file)',
  };
  const retryable = !(code in why) && code !== 'EACCES' && code !== 'EPERM' && code !== 'ENAMETOOLONG';
  const detail = why[code] ?? (error as Error).message;
  return new SinkError(code, `${what}: ${detail}`, { retryable, cause: error });
}
