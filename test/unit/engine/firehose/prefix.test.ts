import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkPrefixes,
  errorPrefixTemplate,
  evaluatePrefix,
  PrefixRuleError,
  randomPrefixString,
  type PrefixRules,
} from '../../../../src/engine/firehose/prefix.js';

/** Custom S3 prefixes, spec firehose.md §6.3: each rule, the date patterns, and the guide's example table. */

const AT_1030 = Date.UTC(2018, 7, 27, 10, 30);
const fixed = (value: string) => () => value;
const main = (template: string, extra: Partial<Parameters<typeof evaluatePrefix>[1]> = {}) =>
  evaluatePrefix(template, { timestampMs: AT_1030, randomString: fixed('5abf82daaa5'), ...extra });
const failed = (template: string) =>
  evaluatePrefix(template, { timestampMs: AT_1030, errorOutputType: 'processing-failed', randomString: fixed('x') });

function rules(extra: Partial<PrefixRules>): PrefixRules {
  return {
    prefix: '',
    errorOutputPrefix: undefined,
    dynamicPartitioning: false,
    queryKeys: [],
    hasLambda: false,
    ...extra,
  };
}

function refused(extra: Partial<PrefixRules>, message: RegExp): void {
  assert.throws(
    () => checkPrefixes(rules(extra)),
    (error: unknown) => {
      assert.ok(error instanceof PrefixRuleError, String(error));
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('the example table of §6.3 (10:30 UTC, 2018-08-27)', () => {
  it('unset Prefix with an error prefix: the default time prefix, and the error type', () => {
    const errorOutputPrefix = 'myFirehoseFailures/!{firehose:error-output-type}/';
    checkPrefixes(rules({ errorOutputPrefix }));
    assert.equal(main(''), '2018/08/27/10/');
    assert.equal(failed(errorOutputPrefix), 'myFirehoseFailures/processing-failed/');
  });

  it('a Prefix with expressions and no ErrorOutputPrefix is invalid (rule 3)', () => {
    refused({ prefix: '!{timestamp:yyyy/MM/dd}' }, /ErrorOutputPrefix is required when Prefix contains expressions/);
  });

  it('year=/month=/day=/hour= with its error prefix', () => {
    const prefix = 'myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/';
    const errorOutputPrefix =
      'myErrorPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/' +
      '!{firehose:error-output-type}';
    checkPrefixes(rules({ prefix, errorOutputPrefix }));
    assert.equal(main(prefix), 'myPrefix/year=2018/month=08/day=27/hour=10/');
    assert.equal(failed(errorOutputPrefix), 'myErrorPrefix/year=2018/month=08/day=27/hour=10/processing-failed');
  });

  it('a random string, with the time prefix appended (rule 2)', () => {
    const prefix = 'rand=!{firehose:random-string}/';
    checkPrefixes(rules({ prefix, errorOutputPrefix: '!{firehose:error-output-type}/' }));
    assert.equal(main(prefix), 'rand=5abf82daaa5/2018/08/27/10/');
  });
});

describe('evaluation', () => {
  it('appends the time prefix to a Prefix without timestamp, as the rule says, slash or not', () => {
    assert.equal(main('logs/'), 'logs/2018/08/27/10/');
    assert.equal(main('logs'), 'logs2018/08/27/10/');
  });

  it('gives each random-string occurrence its own 11 characters', () => {
    const prefix = '!{firehose:random-string}/!{firehose:random-string}/';
    const [first, second] = evaluatePrefix(prefix, {
      timestampMs: AT_1030,
      randomString: () => randomPrefixString(),
    }).split('/');
    assert.match(first, /^[a-z0-9]{11}$/);
    assert.match(second, /^[a-z0-9]{11}$/);
    assert.notEqual(first, second);
  });

  it('formats the supported DateTimeFormatter letters in UTC, with quoted literals', () => {
    const at = Date.UTC(2024, 1, 3, 4, 5, 6);
    const pattern = "yy|yyyy|M|MM|d|dd|H|HH|m|mm|s|ss|DDD|'at'|''";
    assert.equal(
      evaluatePrefix(`!{timestamp:${pattern}}`, { timestampMs: at, randomString: fixed('') }),
      "24|2024|2|02|3|03|4|04|5|05|6|06|034|at|'",
    );
    assert.equal(main("!{timestamp:yyyy'-'MM'-'dd}"), '2018-08-27');
    assert.equal(main('!{timestamp:DDD}'), '239');
  });

  it('fills partition keys', () => {
    assert.equal(
      main('c=!{partitionKeyFromQuery:customer}/!{timestamp:HH}/', { partitionKeys: { customer: 'acme' } }),
      'c=acme/10/',
    );
  });

  it('rule 5: a plain Prefix and no ErrorOutputPrefix put errors under <Prefix><type>/yyyy/MM/dd/HH/', () => {
    assert.equal(failed(errorPrefixTemplate('logs/', undefined)), 'logs/processing-failed/2018/08/27/10/');
    assert.equal(errorPrefixTemplate('logs/', 'e/!{firehose:error-output-type}/'), 'e/!{firehose:error-output-type}/');
  });
});

describe('rules checked at create', () => {
  const errorOutputPrefix = 'e/!{firehose:error-output-type}/';

  it('rule 1: !{ only starts an expression', () => {
    refused({ prefix: 'a/!{timestamp:yyyy', errorOutputPrefix }, /'!\{' at position 2 that starts no expression/);
  });

  it('refuses unknown namespaces and firehose values', () => {
    refused({ prefix: '!{time:yyyy}', errorOutputPrefix }, /unknown namespace 'time'/);
    refused({ prefix: '!{firehose:uuid}', errorOutputPrefix }, /unknown firehose expression/);
  });

  it('error-output-type only in ErrorOutputPrefix', () => {
    refused({ prefix: '!{firehose:error-output-type}/', errorOutputPrefix }, /Prefix cannot use/);
  });

  it('rule 4: an ErrorOutputPrefix must name the error output type', () => {
    refused({ errorOutputPrefix: 'errors/' }, /must contain !\{firehose:error-output-type\}/);
  });

  it('partition keys: only in Prefix, only with dynamic partitioning, only keys that are defined', () => {
    refused(
      { errorOutputPrefix: '!{firehose:error-output-type}/!{partitionKeyFromQuery:a}/', dynamicPartitioning: true },
      /ErrorOutputPrefix cannot use partitionKeyFromQuery/,
    );
    refused(
      { prefix: '!{partitionKeyFromQuery:a}/', errorOutputPrefix, queryKeys: ['a'] },
      /need dynamic partitioning/,
    );
    refused({ prefix: 'x/', errorOutputPrefix, dynamicPartitioning: true }, /must contain at least one partitionKey/);
    refused(
      { prefix: '!{partitionKeyFromQuery:b}/', errorOutputPrefix, dynamicPartitioning: true, queryKeys: ['a'] },
      /no MetadataExtractionQuery defines the key b/,
    );
    refused(
      { prefix: '!{partitionKeyFromLambda:b}/', errorOutputPrefix, dynamicPartitioning: true },
      /no Lambda processor/,
    );
    checkPrefixes(
      rules({ prefix: '!{partitionKeyFromQuery:a}/', errorOutputPrefix, dynamicPartitioning: true, queryKeys: ['a'] }),
    );
  });

  it('rule 6: an evaluated prefix of more than 512 characters', () => {
    refused({ prefix: 'p'.repeat(500) }, /Prefix evaluates to more than 512 characters/);
    checkPrefixes(rules({ prefix: 'p'.repeat(498) }));
  });

  it('refuses an unsupported pattern letter, naming it', () => {
    refused({ prefix: '!{timestamp:EEE}', errorOutputPrefix }, /pattern letters 'EEE'/);
    refused({ prefix: '!{timestamp:yyy}', errorOutputPrefix }, /pattern letters 'yyy'/);
  });
});
