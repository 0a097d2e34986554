import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileCheckpoint } from '../../../src/checkpoint/checkpoint-store.js';
import { ResumePoints } from '../../../src/checkpoint/resume.js';
import { FINGERPRINT_BYTES, fingerprintOf, isCopyOf, matchesFingerprint } from '../../../src/tail/identity.js';
import { recordingEvents } from '../support.js';

const identity = { dev: 7, ino: 42 };

function checkpoint(head: Buffer, offset: number): FileCheckpoint {
  return { flowId: 'f', path: '/logs/app.log', ...identity, fingerprint: fingerprintOf(head), offset, updatedMs: 0 };
}

describe('fingerprints', () => {
  it('a short file has a provisional fingerprint of what it has, which the grown file still matches', () => {
    const short = Buffer.from('first line\n');
    const grown = Buffer.concat([short, Buffer.alloc(2000, 0x61)]).subarray(0, FINGERPRINT_BYTES);
    assert.ok(fingerprintOf(short).startsWith(`${short.length}:`));
    assert.ok(matchesFingerprint(grown, fingerprintOf(short)));
    assert.ok(!matchesFingerprint(Buffer.from('other line\n'), fingerprintOf(short)));
    assert.ok(
      !matchesFingerprint(Buffer.from('first'), fingerprintOf(short)),
      'a file shorter than the fingerprinted bytes is not that file',
    );
    assert.ok(matchesFingerprint(Buffer.from('anything'), ''), 'a file that was empty matches anything');
  });

  it("a copy must begin with the whole of the original's head", () => {
    assert.ok(isCopyOf(Buffer.from('abc\ndef\n'), Buffer.from('abc\n')));
    assert.ok(!isCopyOf(Buffer.from('abc\n'), Buffer.from('abc\ndef\n')));
    assert.ok(!isCopyOf(Buffer.from('abX\n'), Buffer.from('abc\n')));
    assert.ok(!isCopyOf(Buffer.from('abc'), Buffer.alloc(0)));
  });
});

describe('ResumePoints', () => {
  it('resumes a file at its checkpoint, once', () => {
    const head = Buffer.from('line 1\nline 2\n');
    const { events, named } = recordingEvents();
    const points = new ResumePoints([checkpoint(head, 7)], events);
    assert.equal(points.take(identity, '/logs/app.log', head, 14), 7);
    assert.deepEqual(named('resumed'), [['/logs/app.log', 7]]);
    assert.equal(points.take(identity, '/logs/app.log', head, 14), undefined, 'a checkpoint is given once');
  });

  it(
    'reads from the start a file that got the checkpointed inode (different first bytes), short ' + 'files included',
    () => {
      const { events, named } = recordingEvents();
      const points = new ResumePoints([checkpoint(Buffer.from('old\n'), 4)], events);
      assert.equal(points.take(identity, '/logs/new.log', Buffer.from('new content that is longer\n'), 27), 0);
      assert.deepEqual(named('inodeReusedAtStart'), [['/logs/new.log', '/logs/app.log']]);
    },
  );

  it('reads from the start a file truncated while the agent was stopped', () => {
    const head = Buffer.from('same\n');
    const { events, named } = recordingEvents();
    const points = new ResumePoints([checkpoint(head, 500)], events);
    assert.equal(points.take(identity, '/logs/app.log', head, 100), 0);
    assert.deepEqual(named('truncatedWhileStopped'), [['/logs/app.log', 500, 100]]);
  });

  it('knows nothing of a file without a checkpoint', () => {
    const points = new ResumePoints([], recordingEvents().events);
    assert.equal(points.take(identity, '/logs/app.log', Buffer.from('x\n'), 2), undefined);
  });
});
