import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkResponse } from '../../../../src/engine/firehose/transform/transform-response.js';

const IDS = ['id-0', 'id-1'];
const ok = (recordId: string, extra: Record<string, unknown> = {}) => ({
  recordId,
  result: 'Ok',
  data: 'eA==',
  ...extra,
});

describe("checkResponse: the function's answer, checked as Firehose checks it", () => {
  it('takes every record once, in any order, with its result', () => {
    const checked = checkResponse(
      {
        records: [
          { recordId: 'id-1', result: 'Dropped' },
          ok('id-0', { data: 'eWVz', metadata: { partitionKeys: { a: '1' } } }),
        ],
      },
      IDS,
    );
    assert.ok(checked.ok);
    assert.deepEqual(checked.results.get('id-0'), {
      result: 'Ok',
      data: Buffer.from('yes'),
      partitionKeys: { a: '1' },
    });
    assert.deepEqual(checked.results.get('id-1'), { result: 'Dropped' });
  });

  it('accepts base64 without padding and empty data', () => {
    const checked = checkResponse({ records: [ok('id-0', { data: 'eWVzIQ' }), ok('id-1', { data: '' })] }, IDS);
    assert.ok(checked.ok);
    assert.deepEqual(checked.results.get('id-0'), {
      result: 'Ok',
      data: Buffer.from('yes!'),
      partitionKeys: undefined,
    });
  });

  const wrongAnswers: Array<[string, unknown, string]> = [
    ['a record left out', { records: [ok('id-0')] }, 'Lambda.MissingRecordId'],
    [
      'an id it was not sent, instead of one it was',
      { records: [ok('id-0'), ok('stranger')] },
      'Lambda.MissingRecordId',
    ],
    ['a record twice', { records: [ok('id-0'), ok('id-1'), ok('id-1')] }, 'Lambda.DuplicatedRecordId'],
    ['not an object', 'Processing completed.', 'Lambda.JsonProcessingException'],
    ['null (a handler that answered nothing)', null, 'Lambda.JsonProcessingException'],
    ['records not an array', { records: 'none' }, 'Lambda.JsonProcessingException'],
    ['a record that is not an object', { records: [ok('id-0'), 'id-1'] }, 'Lambda.JsonProcessingException'],
    [
      'a recordId that is not a string',
      { records: [ok('id-0'), ok('id-1', { recordId: 1 })] },
      'Lambda.JsonProcessingException',
    ],
    ['an unknown result', { records: [ok('id-0'), ok('id-1', { result: 'Maybe' })] }, 'Lambda.JsonProcessingException'],
    [
      'Ok without data',
      { records: [ok('id-0'), { recordId: 'id-1', result: 'Ok' }] },
      'Lambda.JsonProcessingException',
    ],
    [
      'data that is not base64',
      { records: [ok('id-0'), ok('id-1', { data: 'not base64!' })] },
      'Lambda.JsonProcessingException',
    ],
    [
      'a partition key that is not a string',
      { records: [ok('id-0'), ok('id-1', { metadata: { partitionKeys: { n: 42 } } })] },
      'Lambda.JsonProcessingException',
    ],
  ];
  for (const [what, payload, errorCode] of wrongAnswers)
    it(`refuses an answer with ${what}: ${errorCode}`, () => {
      const checked = checkResponse(payload, IDS);
      assert.ok(!checked.ok);
      assert.equal(checked.errorCode, errorCode);
      assert.ok(checked.errorMessage.length > 0);
    });
});
