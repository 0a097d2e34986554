import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closestMatch, editDistance } from '../../src/config/suggest.js';

describe('editDistance', () => {
  for (const [a, b, distance] of [
    ['', '', 0],
    ['abc', 'abc', 0],
    ['', 'abc', 3],
    ['initialPostion', 'initialPosition', 1], // deletion
    ['kinesisStreams', 'kinesisStream', 1], // insertion
    ['delimeter', 'delimiter', 1], // substitution
    ['filePatetrn', 'filePattern', 1], // swapped neighbours count once
    ['kitten', 'sitting', 3],
  ] as const) {
    test(`${JSON.stringify(a)} → ${JSON.stringify(b)} is ${distance}`, () => {
      assert.equal(editDistance(a, b), distance);
      assert.equal(editDistance(b, a), distance);
    });
  }
});

describe('closestMatch', () => {
  const keys = ['filePattern', 'initialPosition', 'kinesisStream', 'deliveryStream', 'port', 'host'];

  test('suggests the nearest key', () => {
    assert.equal(closestMatch('initialPostion', keys), 'initialPosition');
    assert.equal(closestMatch('delivery_stream', keys), 'deliveryStream');
  });

  test('ignores case, since a wrongly cased key is a typo too', () => {
    assert.equal(closestMatch('FILEPATTERN', keys), 'filePattern');
  });

  test('suggests nothing when no key is plausibly meant', () => {
    assert.equal(closestMatch('checkpointFile', keys), undefined);
    assert.equal(closestMatch('xy', keys), undefined);
  });

  test('short words tolerate one edit only', () => {
    assert.equal(closestMatch('prot', keys), 'port');
    assert.equal(closestMatch('pxrx', keys), undefined);
  });
});
