import path from 'node:path';

/**
 * Relative paths (filePattern, excludePattern, checkpointFile, engine.dataDir) are resolved against
 * the directory of the file that contains them. The Java agent resolves them against its working
 * directory, which for the packaged service is `/`; tying them to the file makes `check` and the
 * service agree wherever they are run from.
 */
export function resolvePath(value: string, containingFile: string): string {
  return path.resolve(path.dirname(containingFile), value);
}

/**
 * Absolute patterns keep their `.` and `..` segments, as Java's Path does, so that the flow id —
 * the checkpoint key — is the Java agent's; only repeated slashes collapse, again like Path.
 */
export function resolveFilePattern(pattern: string, containingFile: string): string {
  return path.isAbsolute(pattern) ? pattern.replace(/\/{2,}/g, '/') : resolvePath(pattern, containingFile);
}
