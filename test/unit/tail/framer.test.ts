import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NewlineFramer } from '../../../src/tail/framer.js';
import type { FramedChunk } from '../../../src/tail/records.js';

function framer(
  options: { maxRecordBytes?: number; skipHeaderLines?: number; startOffset?: number } = {},
): NewlineFramer {
  return new NewlineFramer({
    maxRecordBytes: options.maxRecordBytes ?? 1024,
    skipHeaderLines: options.skipHeaderLines ?? 0,
    startOffset: options.startOffset ?? 0,
  });
}

/** Frames `parts` as consecutive chunks read from offset `start`. */
function frameAll(f: NewlineFramer, parts: Array<string | Buffer>, start = 0): FramedChunk[] {
  let offset = start;
  return parts.map((part) => {
    const bytes = Buffer.isBuffer(part) ? part : Buffer.from(part);
    const chunk = f.frame(bytes, bytes.length, offset);
    offset += bytes.length;
    return chunk;
  });
}

function texts(chunk: FramedChunk): string[] {
  return Array.from({ length: chunk.records.count }, (_, i) => chunk.records.data(i).toString('latin1'));
}

describe('NewlineFramer', () => {
  it("cuts lines at \\n, keeping it, with each record's end offset", () => {
    const [chunk] = frameAll(framer(), ['a\nbb\nccc\n']);
    assert.deepEqual(texts(chunk), ['a\n', 'bb\n', 'ccc\n']);
    assert.equal(chunk.startOffset, 0);
    assert.deepEqual([...chunk.ends], [2, 5, 9]);
    assert.equal(chunk.endOffset, 9);
    assert.equal(chunk.bytes, 9);
  });

  it('holds a partial line until its newline comes in a later chunk, and ends it there', () => {
    const f = framer();
    const [first, second, third] = frameAll(f, ['one\ntw', 'o and', ' more\nthree\n']);
    assert.deepEqual(texts(first), ['one\n']);
    assert.equal(first.endOffset, 4, 'the checkpoint may not pass the partial line');
    assert.deepEqual(texts(second), [], 'no newline: no record yet');
    assert.equal(second.endOffset, 4);
    assert.deepEqual(texts(third), ['two and more\n', 'three\n']);
    assert.equal(third.startOffset, 4);
    assert.deepEqual([...third.ends], [13, 19]);
    assert.equal(f.recordEndOffset, 23);
  });

  it('keeps records as positions in the read buffer, copying only lines that span chunks', () => {
    const buffer = Buffer.from('xx\nyy\n');
    const chunk = framer().frame(buffer, buffer.length, 0);
    assert.equal(chunk.records.positionOf(0)?.buffer, buffer);
    assert.deepEqual(chunk.records.positionOf(1), { buffer, start: 3, stop: 6 });
    const f = framer();
    frameAll(f, ['par']);
    const [joined] = frameAll(f, ['tial\n'], 3);
    assert.equal(joined.records.positionOf(0), undefined, 'a line begun in an earlier chunk is a copy');
  });

  it('frames only the first `length` bytes of a larger buffer, and counts the whole buffer as held', () => {
    const buffer = Buffer.alloc(64, 0x20);
    buffer.write('ab\ncd\n');
    const chunk = framer({ startOffset: 100 }).frame(buffer, 6, 100);
    assert.deepEqual(texts(chunk), ['ab\n', 'cd\n']);
    assert.equal(chunk.heldBytes, 64);
    assert.equal(chunk.endOffset, 106);
  });

  it('cuts a line longer than the limit to its first maxRecordBytes and marks it with its length on disk', () => {
    const long = `${'x'.repeat(30)}\n`;
    const [chunk] = frameAll(framer({ maxRecordBytes: 10 }), [`ok\n${long}end\n`]);
    assert.deepEqual(texts(chunk), ['ok\n', 'x'.repeat(10), 'end\n']);
    assert.deepEqual([...(chunk.cut ?? [])], [[1, 31]]);
    assert.deepEqual([...chunk.ends], [3, 34, 38], 'the cut line still ends where it ends on disk');
  });

  it('drops the rest of an oversized line as it is read, across chunks, in bounded memory', () => {
    const f = framer({ maxRecordBytes: 8 });
    const chunks = frameAll(f, ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccc\nnext\n']);
    assert.deepEqual(texts(chunks[0]), []);
    assert.deepEqual(texts(chunks[1]), []);
    assert.deepEqual(texts(chunks[2]), ['aaaaaaaa', 'next\n']);
    assert.deepEqual([...(chunks[2].cut ?? [])], [[0, 29]]);
    assert.deepEqual([...chunks[2].ends], [29, 34]);
  });

  it('passes binary data and invalid UTF-8 through byte for byte', () => {
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0xc3, 0x28, 0x0a]);
    const [chunk] = frameAll(framer(), [binary]);
    assert.equal(chunk.records.count, 2);
    assert.ok(chunk.records.data(0).equals(binary.subarray(0, 5)));
    assert.ok(chunk.records.data(1).equals(binary.subarray(5)));
  });

  it('skips header lines only when framing from offset 0, and again after a restart at 0', () => {
    const f = framer({ skipHeaderLines: 2 });
    const [chunk] = frameAll(f, ['h1\nh2\nbody\n']);
    assert.deepEqual(texts(chunk), ['body\n']);
    assert.equal(chunk.startOffset, 0);
    assert.deepEqual([...chunk.ends], [11], "the skipped headers are covered by the first record's acknowledgement");
    const resumed = framer({ skipHeaderLines: 2, startOffset: 50 });
    assert.deepEqual(texts(resumed.frame(Buffer.from('x\n'), 2, 50)), ['x\n'], 'no header to skip mid-file');
    f.restartAt(0);
    assert.deepEqual(texts(f.frame(Buffer.from('h\nh\nb\n'), 6, 0)), ['b\n']);
  });

  it('flushes an unterminated last line as a record of its own, and nothing when there is none', () => {
    const f = framer();
    frameAll(f, ['done\nhalf a li', 'ne']);
    const last = f.flush(16);
    assert.ok(last);
    assert.deepEqual(texts(last), ['half a line']);
    assert.equal(last.startOffset, 5);
    assert.deepEqual([...last.ends], [11]);
    assert.equal(last.endOffset, 16);
    assert.equal(f.flush(16), undefined);
  });

  it('forgets a partial line when it restarts (a truncated file)', () => {
    const f = framer();
    frameAll(f, ['partial']);
    f.restartAt(0);
    const [chunk] = frameAll(f, ['new\n']);
    assert.deepEqual(texts(chunk), ['new\n']);
    assert.equal(chunk.startOffset, 0);
  });
});
