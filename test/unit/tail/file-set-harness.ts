/** A FileSet on real files in a temporary directory, with an injected clock, for the file set's unit tests. */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { DirtyCheckpoints } from '../../../src/checkpoint/dirty-checkpoints.js';
import { ResumePoints } from '../../../src/checkpoint/resume.js';
import type { DiscoveredFile } from '../../../src/discover/scan.js';
import { FileSet, type FileSetOptions } from '../../../src/tail/file-set.js';
import { OpenFiles } from '../../../src/tail/open-files.js';
import { ReadBuffers } from '../../../src/tail/read-buffers.js';
import type { TrackedFile } from '../../../src/tail/tracked-file.js';
import { makeTempDir } from '../../support/tmp.js';
import { recordingEvents } from '../support.js';

export function discovered(file: string): DiscoveredFile {
  const info = statSync(file);
  return { path: file, dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
}

/** Where a chunk's records lie in its file: its start, each record's end, and its end (file offsets). */
export interface ChunkOffsets {
  startOffset: number;
  recordEnds: number[];
  endOffset: number;
}

export function harness(maxOpenFiles?: number, settings: Partial<FileSetOptions> = {}) {
  const dir = makeTempDir('shardtail-unit-files-');
  const recorder = recordingEvents();
  const clock = { ms: 1_000_000 };
  const shipped = new Map<string, string[]>();
  const offsets = new Map<string, ChunkOffsets[]>();
  const openFiles = new OpenFiles(maxOpenFiles);
  const set = new FileSet({
    events: recorder.events,
    openFiles,
    buffers: new ReadBuffers(64 * 1024),
    resume: new ResumePoints([], recorder.events),
    checkpoints: new DirtyCheckpoints('unit'),
    backfill: false,
    initialPosition: 'START_OF_FILE',
    maxRecordBytes: 4096,
    skipHeaderLines: 0,
    minPollMs: 10,
    onChunk: (file, chunk) => {
      const lines = shipped.get(file.path) ?? [];
      for (let i = 0; i < chunk.records.count; i++) lines.push(chunk.records.data(i).toString());
      shipped.set(file.path, lines);
      const chunks = offsets.get(file.path) ?? [];
      const { startOffset, endOffset } = chunk;
      chunks.push({ startOffset, recordEnds: [...chunk.ends].map((end) => startOffset + end), endOffset });
      offsets.set(file.path, chunks);
    },
    onSpanComplete: () => undefined,
    now: () => clock.ms,
    ...settings,
  });
  const file = (name: string) => path.join(dir, name);
  const tracked = (name: string): TrackedFile =>
    [...set.values()].find((f) => f.path === file(name)) ?? assert.fail(`${name} is not tracked`);
  /** Reads `name` until it has nothing more now. */
  const readAll = async (name: string) => {
    const target = tracked(name);
    while ((await set.read(target)) > 0);
  };
  const scan = (...names: string[]) =>
    set.reconcile(
      names.map((name) => discovered(file(name))),
      false,
    );
  return { dir, set, clock, shipped, offsets, openFiles, recorder, file, tracked, readAll, scan };
}
