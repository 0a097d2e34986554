import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPartitionKeys, parseJqPath } from '../../../../src/engine/firehose/transform/metadata-extraction.js';

const record = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('parseJqPath', () => {
  const paths: Array<[string, string[]]> = [
    ['.customer_id', ['customer_id']],
    ['.type.device', ['type', 'device']],
    ['  .a.b  ', ['a', 'b']],
    ['.a["b-c"]', ['a', 'b-c']],
    ['.a[ "b c" ].d', ['a', 'b c', 'd']],
    ['."b-c".d', ['b-c', 'd']],
    ['.["a"]', ['a']],
    ['.a["say \\"hi\\""]', ['a', 'say "hi"']],
    ['.', []],
  ];
  for (const [text, keys] of paths)
    it(`reads ${text} as ${JSON.stringify(keys)}`, () => assert.deepEqual(parseJqPath(text), keys));

  for (const text of [
    '',
    'customer_id',
    '.a.',
    '..a',
    '.a b',
    '.a[0]',
    '.a["b"',
    '.a[b]',
    '.1a',
    '.event_timestamp|strftime("%Y")',
    '.a | .b',
  ])
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseJqPath(text), undefined));
});

describe('extractPartitionKeys', () => {
  const event = {
    type: { device: 'mobile', event: 'user_clicked_submit_button' },
    customer_id: '1234567890',
    event_timestamp: 1565382027,
    'odd-key': { vip: true },
    nothing: null,
    tags: ['a'],
  };

  it('takes every key from the record, numbers and booleans as jq prints them', () => {
    const queries = {
      customer: '.customer_id',
      device: '.type.device',
      ts: '.event_timestamp',
      vip: '.["odd-key"].vip',
    };
    assert.deepEqual(extractPartitionKeys(record(event), queries), {
      ok: true,
      keys: { customer: '1234567890', device: 'mobile', ts: '1565382027', vip: 'true' },
    });
  });

  it('reads a record with a trailing newline', () => {
    assert.deepEqual(extractPartitionKeys(Buffer.from('{"a":"x"}\n'), { a: '.a' }), { ok: true, keys: { a: 'x' } });
  });

  const failures: Array<[string, Buffer, string, RegExp]> = [
    ['a record that is not JSON', Buffer.from('100'.concat(' not json')), '.a', /Non JSON record/],
    ['a missing key', record(event), '.region', /evaluated to null/],
    ['a key under a missing one', record(event), '.missing.deeper', /evaluated to null/],
    ['a null value', record(event), '.nothing', /evaluated to null/],
    ['an object value', record(event), '.type', /evaluated to an object/],
    ['an array value', record(event), '.tags', /evaluated to an array/],
    ['a path through a string', record(event), '.customer_id.x', /cannot index string with "x"/],
    ['a path into an array', record(event), '.tags.x', /cannot index array with "x"/],
    ['a record that is a JSON number', record(100), '.a', /cannot index number with "a"/],
    ['a query that is not a path', record(event), '.a | .b', /not a supported jq path/],
  ];
  for (const [what, data, query, message] of failures)
    it(`fails the record for ${what}`, () => {
      const extraction = extractPartitionKeys(data, { key: query });
      assert.equal(extraction.ok, false);
      assert.ok(!extraction.ok);
      assert.equal(extraction.errorCode, 'DynamicPartitioning.MetadataExtractionFailed');
      assert.match(extraction.errorMessage, message);
    });

  it('does not take keys from the prototype', () => {
    const extraction = extractPartitionKeys(record({}), { key: '.constructor' });
    assert.equal(extraction.ok, false);
  });
});
