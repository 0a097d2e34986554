/**
 * Multi-line records, header lines and footers in the file set, on real files with an injected
 * clock: when a record held back is shipped (the next start line, the file idle for
 * MULTI_LINE_FLUSH_MS, the file let go), and where the checkpoint may go meanwhile.
 */
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { MULTI_LINE_FLUSH_MS } from '../../../src/tail/multi-line-framer.js';
import { removeTempDirs } from '../../support/tmp.js';
import { harness } from './file-set-harness.js';

after(removeTempDirs);

const START = '^\\d{2}:\\d{2} ';

function traceOf(time: string, frames = 2): { head: string; rest: string; whole: string } {
  const head = `${time} ERROR failed\n`;
  let rest = 'java.lang.RuntimeException: failed\n';
  for (let i = 0; i < frames; i++) rest += `\tat com.example.Frame${i}.run(Frame${i}.java:${i + 1})\n`;
  return { head, rest, whole: head + rest };
}

/** The records shipped from app.log so far. */
function shippedFrom(h: ReturnType<typeof harness>): string[] {
  return h.shipped.get(h.file('app.log')) ?? [];
}

async function tailing(settings: Parameters<typeof harness>[1] = {}) {
  const h = harness(undefined, { multiLineStartPattern: START, ...settings });
  writeFileSync(h.file('app.log'), '');
  await h.scan('app.log');
  return h;
}

describe('FileSet with multiLineStartPattern', () => {
  it('keeps continuation lines written a second after the first line in its record', async () => {
    const h = await tailing();
    const first = traceOf('10:00');
    appendFileSync(h.file('app.log'), first.head);
    await h.readAll('app.log');
    h.clock.ms += 1000;
    appendFileSync(h.file('app.log'), first.rest);
    await h.readAll('app.log');
    assert.deepEqual(shippedFrom(h), [], 'held back until the next start line');
    const second = traceOf('10:01');
    appendFileSync(h.file('app.log'), second.head);
    await h.readAll('app.log');
    assert.deepEqual(shippedFrom(h), [first.whole]);
    for (const chunk of h.offsets.get(h.file('app.log')) ?? [])
      assert.ok(chunk.endOffset <= first.whole.length, 'no end offset past the start of the record held back');
  });

  it('ships the record held back once the file stayed idle for MULTI_LINE_FLUSH_MS, on the poll then due', async () => {
    const h = await tailing();
    const trace = traceOf('10:00');
    appendFileSync(h.file('app.log'), trace.whole);
    await h.readAll('app.log');
    const file = h.tracked('app.log');
    const due = h.clock.ms + MULTI_LINE_FLUSH_MS;
    // Polled as the agent's poll timer does, every 10 ms: idle polls grow apart, up to 2 s.
    let shippedAt: number | undefined;
    for (; h.clock.ms < due + 2000 && shippedAt === undefined; h.clock.ms += 10) {
      if (file.pollIfDue(h.clock.ms)) await h.set.read(file);
      if (shippedFrom(h).length > 0) shippedAt = h.clock.ms;
    }
    assert.deepEqual(shippedFrom(h), [trace.whole]);
    assert.ok(shippedAt! >= due && shippedAt! <= due + 10, `shipped ${shippedAt! - due} ms after it was due`);
    assert.deepEqual(h.offsets.get(h.file('app.log')), [
      { startOffset: 0, recordEnds: [], endOffset: 0 },
      { startOffset: 0, recordEnds: [trace.whole.length], endOffset: trace.whole.length },
    ]);
    const late = '\tat a line come too late\n';
    appendFileSync(h.file('app.log'), late + traceOf('10:05').head);
    await h.readAll('app.log');
    assert.deepEqual(shippedFrom(h), [trace.whole, late], 'a record of its own');
  });

  it('ships the record held back when its file is rotated away and let go', async () => {
    const h = await tailing();
    const trace = traceOf('10:00');
    appendFileSync(h.file('app.log'), trace.whole);
    await h.readAll('app.log');
    renameSync(h.file('app.log'), h.file('app.log.1'));
    await h.scan();
    const file = h.tracked('app.log');
    await h.set.read(file);
    assert.deepEqual(shippedFrom(h), [], 'read to its end first');
    h.clock.ms += 1000;
    await h.set.read(file);
    assert.equal(file.phase, 'gone');
    assert.deepEqual(shippedFrom(h), [trace.whole]);
  });

  it('skips header lines on every file read from 0: a new one, one truncated, one rotated in', async () => {
    const h = await tailing({ skipHeaderLines: 1 });
    appendFileSync(h.file('app.log'), `#Fields: time message\n10:00 one\n10:01 two\n`);
    await h.readAll('app.log');
    assert.deepEqual(shippedFrom(h), ['10:00 one\n']);
    truncateSync(h.file('app.log'), 0);
    appendFileSync(h.file('app.log'), '#Fields\n10:02 a\n');
    await h.readAll('app.log');
    assert.deepEqual(shippedFrom(h), ['10:00 one\n'], 'the record held back went with the old content');
    appendFileSync(h.file('app.log'), '10:03 b\n');
    await h.readAll('app.log');
    assert.deepEqual(shippedFrom(h), ['10:00 one\n', '10:02 a\n']);
    renameSync(h.file('app.log'), h.file('app.log.1'));
    writeFileSync(h.file('app.log'), '10:09 header of the new file\n10:10 c\n10:11 d\n');
    await h.scan('app.log');
    const rotatedIn = h.set.byIdentity(statSync(h.file('app.log'))) ?? assert.fail('the new file is not tracked');
    while ((await h.set.read(rotatedIn)) > 0);
    assert.deepEqual(shippedFrom(h), ['10:00 one\n', '10:02 a\n', '10:10 c\n']);
  });

  it('fileFooterPattern: the footer is not shipped, nor what was read after it; the event names the file', async () => {
    const h = await tailing({ multiLineStartPattern: undefined, fileFooterPattern: '#EOF' });
    appendFileSync(h.file('app.log'), 'a\nb\n#EOF\nc\n');
    await h.readAll('app.log');
    appendFileSync(h.file('app.log'), 'd\n');
    await h.readAll('app.log');
    assert.deepEqual(shippedFrom(h), ['a\n', 'b\n', 'd\n']);
    assert.deepEqual(h.recorder.named('footerFound'), [[h.file('app.log'), 9, 2]]);
  });
});
