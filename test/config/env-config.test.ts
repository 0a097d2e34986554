/** SHARDTAIL_SET_* overrides applied to a parsed agent.json, as `applyEnvironmentOverrides` does it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyEnvironmentOverrides } from '../../src/config/env-config.js';
import { Findings } from '../../src/config/findings.js';
import { parseJsonc, type JsonObject } from '../../src/config/jsonc.js';

function overridden(json: string, environment: Record<string, string>): { document: JsonObject; findings: Findings } {
  const document = parseJsonc(json) as JsonObject;
  const findings = new Findings();
  applyEnvironmentOverrides(document, '/etc/shardtail/agent.json', findings, environment);
  return { document, findings };
}

describe('SHARDTAIL_SET_* overrides', () => {
  test('values are JSON when they parse, else strings; __ nests, numbers index lists', () => {
    const { document, findings } = overridden('{"flows": [{"filePattern": "/a/*.log"}], "kinesis.endpoint": "x"}', {
      SHARDTAIL_SET_flows__0__filePattern: '/logs/*.log',
      SHARDTAIL_SET_flows__0__maxBufferAgeMillis: '500',
      SHARDTAIL_SET_flows__0__truncatedRecordTerminator: '"500"',
      'SHARDTAIL_SET_kinesis.endpoint': 'http://127.0.0.1:4567',
      SHARDTAIL_SET_monitoring__listen: '0.0.0.0:9464',
      SHARDTAIL_SET_engine: '{"embedded": true}',
      OTHER_flows__0__filePattern: 'ignored',
    });
    assert.equal(findings.errorCount, 0);
    assert.deepEqual(document, {
      flows: [{ filePattern: '/logs/*.log', maxBufferAgeMillis: 500, truncatedRecordTerminator: '500' }],
      'kinesis.endpoint': 'http://127.0.0.1:4567',
      monitoring: { listen: '0.0.0.0:9464' },
      engine: { embedded: true },
    });
  });

  test("Object's own names (constructor, toString) are plain keys to create", () => {
    const { document, findings } = overridden('{"flows": []}', {
      SHARDTAIL_SET_constructor__x: '1',
      SHARDTAIL_SET_toString: '2',
    });
    assert.equal(findings.errorCount, 0);
    assert.deepEqual(document, { flows: [], constructor: { x: 1 }, toString: 2 });
  });

  test('a variable that cannot be applied is an error naming it', () => {
    const { findings } = overridden('{"flows": [{}], "checkpointFile": "/x"}', {
      SHARDTAIL_SET_flows__1__filePattern: 'a',
      SHARDTAIL_SET_flows__first__filePattern: 'a',
      SHARDTAIL_SET_checkpointFile__path: 'a',
      SHARDTAIL_SET_flows____filePattern: 'a',
    });
    assert.deepEqual(
      findings.problems('error', new Map()).map(({ file, message }) => `${file}: ${message}`),
      [
        "SHARDTAIL_SET_checkpointFile__path: checkpointFile is '/x', so it has no keys to set",
        'SHARDTAIL_SET_flows__1__filePattern: flows has 1 entry; there is no flows[1]',
        'SHARDTAIL_SET_flows____filePattern: names an empty key; the rule is SHARDTAIL_SET_<key>__<key>…',
        'SHARDTAIL_SET_flows__first__filePattern: flows is a list; "first" is not an index into it',
      ],
    );
  });
});
