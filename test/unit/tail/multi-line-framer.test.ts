import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProcessingPipeline } from '../../../src/process/processor.js';
import { RecordLimit } from '../../../src/process/record-limit.js';
import { FooterFramer, footerPatternOf } from '../../../src/tail/footer-framer.js';
import { NewlineFramer, type RecordFramer } from '../../../src/tail/framer.js';
import { MultiLineFramer, startPatternOf } from '../../../src/tail/multi-line-framer.js';
import type { FramedChunk } from '../../../src/tail/records.js';

const TIMESTAMP = '^\\d{4}-\\d{2}-\\d{2} ';

function framer(options: { maxRecordBytes?: number; skipHeaderLines?: number; pattern?: string } = {}) {
  return new MultiLineFramer({
    maxRecordBytes: options.maxRecordBytes ?? 1024,
    skipHeaderLines: options.skipHeaderLines ?? 0,
    startOffset: 0,
    recordStart: startPatternOf(options.pattern ?? TIMESTAMP),
  });
}

/** Frames `parts` as consecutive chunks read from offset `start`. */
function frameAll(f: RecordFramer, parts: string[], start = 0): FramedChunk[] {
  let offset = start;
  return parts.map((part) => {
    const bytes = Buffer.from(part);
    const chunk = f.frame(bytes, bytes.length, offset);
    offset += bytes.length;
    return chunk;
  });
}

function texts(chunk: FramedChunk | undefined): string[] {
  if (chunk === undefined) return [];
  return Array.from({ length: chunk.records.count }, (_, i) => chunk.records.data(i).toString());
}

const TRACE_A =
  '2024-05-01 12:00:00 ERROR boom\n' +
  'java.lang.IllegalStateException: boom\n' +
  '\tat com.example.A.run(A.java:10)\n' +
  '\tat com.example.B.run(B.java:20)\n';
const TRACE_B = '2024-05-01 12:00:01 ERROR again\n\tat com.example.C.run(C.java:30)\n';
const LINE_C = '2024-05-01 12:00:02 INFO fine\n';

describe('MultiLineFramer', () => {
  it('makes one record of a start line and the lines after it, holding the last one back', () => {
    const f = framer();
    const [chunk] = frameAll(f, [TRACE_A + TRACE_B + LINE_C]);
    assert.deepEqual(texts(chunk), [TRACE_A, TRACE_B]);
    assert.deepEqual([...chunk.ends], [TRACE_A.length, TRACE_A.length + TRACE_B.length]);
    const pendingStart = TRACE_A.length + TRACE_B.length;
    assert.equal(chunk.endOffset, pendingStart, 'the checkpoint stops at the start of the record held back');
    assert.equal(f.recordEndOffset, pendingStart);
    assert.ok(f.holding);
    assert.equal(chunk.records.positionOf(0)?.start, 0, 'a record read in one chunk is a slice of the read buffer');
  });

  it('puts a record together across chunk boundaries, mid-line too, and ends it at the next start line', () => {
    const f = framer();
    const text = TRACE_A + TRACE_B + LINE_C;
    const cuts = [7, 40, 41, 90, 150];
    const parts = cuts.map((cut, i) => text.slice(i === 0 ? 0 : cuts[i - 1], cut)).concat(text.slice(150));
    const chunks = frameAll(f, parts);
    assert.deepEqual(chunks.flatMap(texts), [TRACE_A, TRACE_B]);
    for (let i = 1; i < chunks.length; i++) assert.equal(chunks[i].startOffset, chunks[i - 1].endOffset);
    const last = chunks.findLast((chunk) => chunk.records.count > 0)!;
    assert.equal(last.startOffset + last.ends[last.ends.length - 1], TRACE_A.length + TRACE_B.length);
    assert.deepEqual(texts(f.release()), [LINE_C]);
  });

  it('never moves the end offset past the start of a record still coming in', () => {
    const f = framer();
    const [first, second, third] = frameAll(f, [
      TRACE_A.slice(0, 31),
      TRACE_A.slice(31, 70),
      TRACE_A.slice(70) + TRACE_B,
    ]);
    assert.deepEqual([first.endOffset, second.endOffset], [0, 0]);
    assert.deepEqual(texts(third), [TRACE_A]);
    assert.equal(third.endOffset, TRACE_A.length);
  });

  it('release() ships the record held back as it is, and what follows starts a record whatever it is', () => {
    const f = framer();
    const [chunk] = frameAll(f, ['2024-05-01 12:00:00 ERROR x\n\tat one\n']);
    assert.deepEqual(texts(chunk), []);
    const released = f.release();
    assert.ok(released);
    assert.deepEqual(texts(released), ['2024-05-01 12:00:00 ERROR x\n\tat one\n']);
    assert.equal(released.startOffset, 0);
    assert.deepEqual([...released.ends], [36]);
    assert.equal(released.endOffset, 36);
    assert.equal(f.holding, false);
    assert.equal(f.release(), undefined);
    const [late] = frameAll(f, ['\tat two\n2024-05-01 12:00:09 INFO y\n'], 36);
    assert.deepEqual(texts(late), ['\tat two\n']);
    assert.equal(late.startOffset, 36);
  });

  it('lines before the first start line are a record of their own, as the Java agent takes them', () => {
    const [chunk] = frameAll(framer(), ['\tat orphan\ncontinued\n' + LINE_C + LINE_C]);
    assert.deepEqual(texts(chunk), ['\tat orphan\ncontinued\n', LINE_C]);
  });

  it('matches the pattern at the start of the line as a prefix, `$` before the line end, \\r\\n lines too', () => {
    const [chunk] = frameAll(framer({ pattern: 'ERROR|WARN$' }), ['ERROR a\r\n b\r\nWARN\r\nx WARN\r\nERROR\r\n']);
    assert.deepEqual(texts(chunk), ['ERROR a\r\n b\r\n', 'WARN\r\nx WARN\r\n']);
  });

  it('skips header lines on a file read from 0, and again after a restart at 0', () => {
    const f = framer({ skipHeaderLines: 1 });
    const [chunk] = frameAll(f, ['#header\n' + TRACE_A + LINE_C]);
    assert.deepEqual(texts(chunk), [TRACE_A]);
    assert.equal(chunk.startOffset, 0);
    assert.deepEqual([...chunk.ends], [8 + TRACE_A.length], 'the header is covered by the first record');
    f.restartAt(0);
    assert.equal(f.holding, false, 'a restart forgets the record held back');
    const [again] = frameAll(f, ['2024-05-01 00:00:00 header lookalike\n' + LINE_C + LINE_C]);
    assert.deepEqual(texts(again), [LINE_C]);
  });

  it('flush() ships the record held back and an unterminated last line: joined, or apart if it starts one', () => {
    const joined = framer();
    frameAll(joined, [TRACE_B + '\tat partial']);
    const last = joined.flush(TRACE_B.length + 11);
    assert.deepEqual(texts(last), [TRACE_B + '\tat partial']);
    assert.deepEqual([last?.startOffset, last?.endOffset], [0, TRACE_B.length + 11]);
    const apart = framer();
    frameAll(apart, [TRACE_B + '2024-05-01 half']);
    const both = apart.flush(TRACE_B.length + 15);
    assert.deepEqual(texts(both), [TRACE_B, '2024-05-01 half']);
    assert.deepEqual([...(both?.ends ?? [])], [TRACE_B.length, TRACE_B.length + 15]);
    assert.equal(apart.flush(TRACE_B.length + 15), undefined);
  });

  it('keeps the first maxRecordBytes of a longer record, drops the rest as read, and marks it cut', () => {
    const f = framer({ maxRecordBytes: 40 });
    const long = `2024-05-01 12:00:00 ERROR long\n${'\tat frame\n'.repeat(20)}`;
    const chunks = frameAll(f, [long.slice(0, 25), long.slice(25, 120), long.slice(120) + LINE_C]);
    const [record] = chunks.flatMap(texts);
    assert.equal(record, long.slice(0, 40));
    const last = chunks[2];
    assert.deepEqual([...(last.cut ?? [])], [[0, long.length]], 'cut, with its length on disk');
    assert.deepEqual([...last.ends], [long.length], 'it still ends where it ends on disk');
    assert.equal(last.bytes, 40);
  });

  it('a record over the limit is truncated by the record limit, with truncatedRecordTerminator, and counted', () => {
    const f = framer({ maxRecordBytes: 40 });
    const long = `2024-05-01 12:00:00 ERROR long\n${'\tat frame\n'.repeat(20)}`;
    const [chunk] = frameAll(f, [long + LINE_C]);
    const truncated: Array<[number, number]> = [];
    const pipeline = new ProcessingPipeline([], new RecordLimit(40, Buffer.from(' [cut]\n')));
    const shipped = pipeline.run(chunk, (originalBytes, limit) => truncated.push([originalBytes, limit]));
    assert.deepEqual(texts(shipped), [`${long.slice(0, 33)} [cut]\n`]);
    assert.deepEqual(truncated, [[long.length, 40]]);
  });

  it('a single line over the limit in a record is cut too, and the record with it', () => {
    const f = framer({ maxRecordBytes: 30 });
    const [chunk] = frameAll(f, [`2024-05-01 a\n${'x'.repeat(50)}\nmore\n${LINE_C}`]);
    assert.deepEqual(texts(chunk), [`2024-05-01 a\n${'x'.repeat(17)}`]);
    assert.deepEqual([...(chunk.cut ?? [])], [[0, 13 + 51 + 5]]);
  });

  it('copies what it holds back out of the read buffer, which is reused once delivered', () => {
    const f = framer();
    const buffer = Buffer.from(TRACE_A.slice(0, 60));
    f.frame(buffer, buffer.length, 0);
    buffer.fill(0x21);
    const rest = Buffer.from(TRACE_A.slice(60) + LINE_C);
    assert.deepEqual(texts(f.frame(rest, rest.length, 60)), [TRACE_A]);
  });
});

describe('FooterFramer', () => {
  function footered(inner: RecordFramer, pattern = '-- END --') {
    const found: Array<[number, number]> = [];
    const f = new FooterFramer(inner, footerPatternOf(pattern), (offset, dropped) => found.push([offset, dropped]));
    return { f, found };
  }
  const lines = () => new NewlineFramer({ maxRecordBytes: 1024, skipHeaderLines: 0, startOffset: 0 });

  it('drops the footer record and the rest of the chunk read with it, counting them as read', () => {
    const { f, found } = footered(lines());
    const text = 'a\nb\n  -- END --  \nc\nd';
    const [chunk] = frameAll(f, [text]);
    assert.deepEqual(texts(chunk), ['a\n', 'b\n']);
    assert.deepEqual([...chunk.ends], [2, 4]);
    assert.equal(chunk.endOffset, text.length, 'the checkpoint moves past what was dropped');
    assert.deepEqual(found, [[18, text.length - 18]]);
    const [next] = frameAll(f, ['e\n'], text.length);
    assert.deepEqual(texts(next), ['e\n'], 'reading goes on after the chunk');
    assert.equal(next.startOffset, text.length);
  });

  it('matches the whole trimmed record only', () => {
    const { f, found } = footered(lines(), 'END|END OF FILE');
    assert.deepEqual(texts(frameAll(f, ['END OF FILE?\nnot END\n'])[0]), ['END OF FILE?\n', 'not END\n']);
    assert.deepEqual(texts(frameAll(f, ['END OF FILE\nx\n'], 22)[0]), []);
    assert.deepEqual(found, [[34, 2]]);
  });

  it('drops a footer that ends a multi-line record only once that record is complete', () => {
    const { f, found } = footered(framer({ pattern: '\\S' }), '#EOF');
    const [chunk] = frameAll(f, ['first\n more\n#EOF\n']);
    assert.deepEqual(texts(chunk), ['first\n more\n']);
    assert.ok(f.holding, 'the footer is the record held back');
    assert.deepEqual(texts(f.release()), []);
    assert.deepEqual(found, [[17, 0]]);
  });
});
