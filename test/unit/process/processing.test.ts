import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileProgress } from '../../../src/acknowledge/file-progress.js';
import { ChunkBuilder, ProcessingPipeline, type RecordProcessor } from '../../../src/process/processor.js';
import { RecordLimit } from '../../../src/process/record-limit.js';
import { NewlineFramer } from '../../../src/tail/framer.js';
import type { FramedChunk } from '../../../src/tail/records.js';

function framed(text: string, maxRecordBytes = 1024): FramedChunk {
  const buffer = Buffer.from(text);
  return new NewlineFramer({ maxRecordBytes, skipHeaderLines: 0, startOffset: 0 }).frame(buffer, buffer.length, 0);
}

function texts(chunk: FramedChunk): string[] {
  return Array.from({ length: chunk.records.count }, (_, i) => chunk.records.data(i).toString());
}

/** Drops lines starting with '#', upper-cases the rest, and merges lines ending in '\\' with the next. */
const testProcessor: RecordProcessor = {
  name: 'test',
  process(chunk) {
    const out = new ChunkBuilder(chunk);
    let pending: Buffer[] = [];
    for (let i = 0; i < chunk.records.count; i++) {
      const line = chunk.records.data(i).toString();
      if (line.startsWith('#')) continue;
      if (line.endsWith('\\\n')) {
        pending.push(Buffer.from(line.slice(0, -2)));
        continue;
      }
      if (pending.length > 0) {
        out.replace(i, Buffer.concat([...pending, Buffer.from(line)]));
        pending = [];
      } else if (line === line.toUpperCase()) out.keep(i);
      else out.replace(i, Buffer.from(line.toUpperCase()));
    }
    return out.build();
  },
};

const noTruncation = () => assert.fail('nothing is to be truncated');

describe('ProcessingPipeline', () => {
  it('without processors passes a chunk through as it is', () => {
    const chunk = framed('a\nb\n');
    const out = new ProcessingPipeline([], new RecordLimit(1024, Buffer.from('\n'))).run(chunk, noTruncation);
    assert.equal(out, chunk);
    assert.deepEqual(texts(out), ['a\n', 'b\n']);
  });

  it('replaces, drops and merges records; each output record ends where its last input record ends', () => {
    const out = new ProcessingPipeline([testProcessor], new RecordLimit(1024, Buffer.from('\n'))).run(
      framed('# c\none\\\ntwo\nKEEP\nlow\n'),
      noTruncation,
    );
    assert.deepEqual(texts(out), ['onetwo\n', 'KEEP\n', 'LOW\n']);
    assert.deepEqual([...out.ends], [13, 18, 22]);
    assert.equal(out.endOffset, 22);
    assert.ok(out.records.positionOf(1), 'a record kept as it is stays a position in the read buffer');
  });

  it('the checkpoint moves only over input bytes whose output records are acknowledged', () => {
    const out = new ProcessingPipeline([testProcessor], new RecordLimit(1024, Buffer.from('\n'))).run(
      framed('# c\none\\\ntwo\nKEEP\nlow\n'),
      noTruncation,
    );
    const progress = new FileProgress(0, () => undefined);
    const span = progress.openSpan(out.startOffset, out.ends, out.endOffset, out.heldBytes, out.records);
    span.acknowledge(1);
    assert.equal(
      progress.committedOffset,
      0,
      'the merged record (bytes 0-13, a dropped comment among them) is not delivered',
    );
    span.acknowledge(0);
    assert.equal(progress.committedOffset, 18);
    span.acknowledge(2);
    assert.equal(progress.committedOffset, 22);
  });

  it('cuts records to the limit after processing, ending them with the terminator, and says how long they were', () => {
    const grow: RecordProcessor = {
      name: 'grow',
      process(chunk) {
        const out = new ChunkBuilder(chunk);
        for (let i = 0; i < chunk.records.count; i++)
          out.replace(i, Buffer.from(`${'#'.repeat(20)}${chunk.records.data(i)}`));
        return out.build();
      },
    };
    const truncated: Array<[number, number]> = [];
    const out = new ProcessingPipeline([grow], new RecordLimit(12, Buffer.from('~\n'))).run(
      framed('ab\n'),
      (bytes, limit) => truncated.push([bytes, limit]),
    );
    assert.deepEqual(texts(out), [`${'#'.repeat(10)}~\n`]);
    assert.deepEqual(truncated, [[23, 12]]);
  });

  it('ends a line the framer cut at the limit with the terminator', () => {
    const truncated: number[] = [];
    const out = new ProcessingPipeline([], new RecordLimit(8, Buffer.from('|'))).run(
      framed(`${'x'.repeat(20)}\nok\n`, 8),
      (bytes) => truncated.push(bytes),
    );
    assert.deepEqual(texts(out), ['xxxxxxx|', 'ok\n']);
    assert.deepEqual(truncated, [21]);
    assert.deepEqual([...out.ends], [21, 24]);
  });
});
