import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { FileCheckpoint } from '../../../src/checkpoint/checkpoint-store.js';
import { ResumePoints } from '../../../src/checkpoint/resume.js';
import {
  compressionByName,
  compressionOf,
  decompressedHeadOf,
  decompressedSizeOf,
} from '../../../src/tail/compression.js';
import { NewlineFramer } from '../../../src/tail/framer.js';
import { GzipReader } from '../../../src/tail/gzip-reader.js';
import { ReadBuffers } from '../../../src/tail/read-buffers.js';
import { FINGERPRINT_BYTES, fingerprintOf } from '../../../src/tail/identity.js';
import { makeTempDir, removeTempDirs } from '../../support/tmp.js';
import { recordingEvents } from '../support.js';

after(removeTempDirs);

const LINES = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 40)}\n`).join(''));

function gzipFile(content: Buffer, name = 'app.log.1.gz'): string {
  const file = path.join(makeTempDir('shardtail-unit-gzip-'), name);
  writeFileSync(file, gzipSync(content));
  return file;
}

/** Every record a reader yields from `start`, and the offsets it ends at. */
async function readAll(file: string, start: number, chunkBytes = 4096) {
  const handle = await open(file, 'r');
  try {
    const framer = new NewlineFramer({ maxRecordBytes: 1 << 20, skipHeaderLines: 0, startOffset: start });
    const reader = new GzipReader(framer, new ReadBuffers(chunkBytes), start);
    const records: Buffer[] = [];
    let chunks = 0;
    for (let chunk = await reader.readChunk(handle); chunk; chunk = await reader.readChunk(handle)) {
      chunks++;
      for (let i = 0; i < chunk.records.count; i++) records.push(Buffer.from(chunk.records.data(i)));
    }
    return { records: Buffer.concat(records), chunks, reader };
  } finally {
    await handle.close();
  }
}

describe('compression', () => {
  it('is told by magic bytes, and by name for a daemon', () => {
    assert.equal(compressionOf(gzipSync('x')), 'gzip');
    assert.equal(compressionOf(Buffer.from('BZh91AY&SY')), 'bzip2');
    assert.equal(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
    assert.equal(compressionOf(Buffer.from('BZh is how this line starts\n')), undefined);
    assert.equal(compressionOf(Buffer.from('plain log line\n')), undefined);
    assert.equal(compressionByName('/var/log/syslog.2.gz'), 'gzip');
    assert.equal(compressionByName('/var/log/syslog.1'), undefined);
  });

  it("a gzip file's fingerprint head is its decompressed content's; its trailer, the decompressed size", async () => {
    const file = gzipFile(LINES);
    const handle = await open(file, 'r');
    try {
      const size = (await handle.stat()).size;
      const head = await decompressedHeadOf(handle, size);
      assert.deepEqual(head, LINES.subarray(0, FINGERPRINT_BYTES));
      assert.equal(await decompressedSizeOf(handle, size), LINES.length);
    } finally {
      await handle.close();
    }
  });
});

describe('GzipReader', () => {
  it('yields the decompressed lines, chunk by chunk, with offsets in the decompressed stream', async () => {
    const { records, chunks, reader } = await readAll(gzipFile(LINES), 0);
    assert.ok(records.equals(LINES));
    assert.ok(chunks > 10, `read in ${chunks} chunks of at most 4 KiB`);
    assert.equal(reader.readOffset, LINES.length);
    assert.equal(reader.hasMore(), false);
  });

  it("starts at an offset in the decompressed stream (a plain file's checkpoint)", async () => {
    const start = LINES.indexOf('line 3000 ');
    const { records } = await readAll(gzipFile(LINES), start);
    assert.ok(records.equals(LINES.subarray(start)));
  });

  it('throws on a file cut off in the middle', async () => {
    const whole = gzipSync(LINES);
    const file = path.join(makeTempDir('shardtail-unit-gzip-cut-'), 'cut.gz');
    writeFileSync(file, whole.subarray(0, whole.length >> 1));
    await assert.rejects(readAll(file, 0));
  });
});

describe('ResumePoints by content', () => {
  const checkpoint = (head: Buffer, offset: number): FileCheckpoint => ({
    flowId: 'f',
    path: '/logs/app.log',
    dev: 1,
    ino: 2,
    fingerprint: fingerprintOf(head),
    offset,
    updatedMs: 0,
  });

  it("gives a compressed file the offset of the plain file whose head it has, not a mere prefix's", () => {
    const { events } = recordingEvents();
    const head = LINES.subarray(0, FINGERPRINT_BYTES);
    const points = new ResumePoints([checkpoint(head, 9000), checkpoint(Buffer.from('line 0 \n'), 8)], events);
    assert.equal(points.takeByContent('/logs/app.log.1.gz', head), 9000);
    assert.equal(points.takeByContent('/logs/other.gz', Buffer.from('line 0 \nline 1 x\n')), undefined);
    assert.equal(points.takeByContent('/logs/short.gz', Buffer.from('line 0 \n')), 8);
  });
});
