/**
 * The table of keys accepted but not implemented (src/config/unimplemented-keys.ts), driven row by
 * row: each key, when a file asks for it, is one warning naming the key and the flow; an absent key
 * or an "off" value is none; and every key of the schema is classified, so none can go unread silently.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAgentConfig, type ConfigProblem } from '../../src/config/agent-config.js';
import { firehoseFlowSchema, globalSchema, kinesisFlowSchema } from '../../src/config/schema.js';
import { IMPLEMENTED_KEYS, UNIMPLEMENTED_KEYS, type UnimplementedKey } from '../../src/config/unimplemented-keys.js';

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const fixture = (name: string) => path.join(fixtures, name, 'agent.json');

const scratchDirectories: string[] = [];
after(async () => {
  await Promise.all(scratchDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
});

async function load(config: Record<string, unknown>): Promise<ConfigProblem[]> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'shardtail-unimplemented-'));
  scratchDirectories.push(directory);
  const file = path.join(directory, 'agent.json');
  await writeFile(file, JSON.stringify(config));
  return (await loadAgentConfig(file)).warnings;
}

const withoutFile = (problems: ConfigProblem[]) => problems.map(({ file: _file, ...rest }) => rest);

/** A value that asks for what the key promises, written as Java agent configs write it. */
const ASKING: Readonly<Record<string, unknown>> = {
  useHttpGzip: 'yes',
  'checkpoints.queryTimeoutSeconds': 30,
  'checkpoints.connectionTimeoutSeconds': 5,
  sendingThreadsKeepAliveMillis: 60_000,
  sendingThreadsMaxQueueSize: 100,
  connectionTimeoutMillis: 2000,
  connectionTTLMillis: '60000',
  useTcpKeepAlive: false,
  'log.emitInternalMetrics': true,
  'log.emitMetrics': 't',
  waitOnEmptyPublishQueueMillis: 2000,
  waitOnFullPublishQueueMillis: 60_000,
};

/** For rows with a condition: a value that asks for nothing shardtail lacks. */
const NOT_ASKING: Readonly<Record<string, unknown>> = {
  useHttpGzip: false,
  connectionTimeoutMillis: 10_000,
  connectionTTLMillis: -1,
  useTcpKeepAlive: 'true',
  'log.emitInternalMetrics': 'no',
  'log.emitMetrics': false,
  dataProcessingOptions: [],
};

/** A Kinesis flow, or a Firehose one for the keys only Firehose flows read. */
function flowFor(key: string, value: unknown): { flow: Record<string, unknown>; label: string } {
  if (Object.hasOwn(kinesisFlowSchema.shape, key)) {
    return { flow: { filePattern: '/l/*.log', kinesisStream: 's', [key]: value }, label: 'flows[0] (kinesisStream s)' };
  }
  return { flow: { filePattern: '/l/*.log', deliveryStream: 'd', [key]: value }, label: 'flows[0] (deliveryStream d)' };
}

async function warningsFor(
  row: UnimplementedKey,
  value: unknown,
): Promise<{ warnings: ConfigProblem[]; label?: string }> {
  if (row.scope === 'global')
    return { warnings: await load({ [row.key]: value, flows: [flowFor('filePattern', '/l/*.log').flow] }) };
  const { flow, label } = flowFor(row.key, value);
  return { warnings: await load({ flows: [flow] }), label };
}

function messageOf(row: UnimplementedKey): string {
  assert.ok(!('perEntry' in row), `${row.key} is a list row`);
  return row.message;
}

describe('keys accepted but not implemented', () => {
  test('every row has a value that asks for it, and every conditional row one that does not', () => {
    for (const row of UNIMPLEMENTED_KEYS) {
      if ('perEntry' in row) continue;
      assert.ok(Object.hasOwn(ASKING, row.key), `no asking value for ${row.key} in this test`);
      if (row.warnWhen !== undefined) assert.ok(Object.hasOwn(NOT_ASKING, row.key), `no off value for ${row.key}`);
    }
  });

  for (const row of UNIMPLEMENTED_KEYS.filter((candidate) => !('perEntry' in candidate))) {
    test(
      `${row.scope} ${row.key}: one warning naming the ` + `key${row.scope === 'flow' ? ' and the flow' : ''}`,
      async () => {
        const { warnings, label } = await warningsFor(row, ASKING[row.key]);
        const expected = { key: row.key, message: messageOf(row), ...(label === undefined ? {} : { flow: label }) };
        assert.deepEqual(withoutFile(warnings), [expected]);
      },
    );
  }

  test('dataProcessingOptions: only ADDEC2METADATA is warned about (its tags), by index', async () => {
    const { warnings } = await loadAgentConfig(fixture('processing-defaults'));
    assert.deepEqual(withoutFile(warnings), [
      {
        key: 'dataProcessingOptions[4]',
        flow: 'flows[0] (kinesisStream app-stream)',
        message:
          "ADDEC2METADATA adds the instance's tags only where its metadata exposes them (instance metadata tags " +
          'enabled); it does not call ec2:DescribeTags as the Java agent does',
      },
    ]);
  });

  test('no warning when the file does not set the key', async () => {
    const warnings = await load({
      flows: [
        { filePattern: '/l/*.log', kinesisStream: 's' },
        { filePattern: '/m/*.log', deliveryStream: 'd' },
      ],
    });
    assert.deepEqual(warnings, []);
  });

  test('no warning for a value that turns the feature off, or matches what shardtail does', async () => {
    const rows = UNIMPLEMENTED_KEYS.filter((row) => Object.hasOwn(NOT_ASKING, row.key));
    assert.deepEqual(
      [...new Set(rows.map((row) => row.key))].sort(),
      Object.keys(NOT_ASKING).sort(),
      'every off value is for a key of the table',
    );
    for (const row of rows) {
      const value = NOT_ASKING[row.key];
      assert.deepEqual(
        (await warningsFor(row, value)).warnings,
        [],
        `${row.scope} ${row.key}: ${JSON.stringify(value)}`,
      );
    }
  });

  test('the cloudwatch.* keys are implemented: no warning, metrics on or off', async () => {
    const settings = {
      'cloudwatch.endpoint': 'monitoring.eu-west-1.amazonaws.com',
      'cloudwatch.namespace': 'MyAgent',
      'cloudwatch.tagInstance': true,
      'cloudwatch.metricsBufferTimeMillis': 15_000,
      'cloudwatch.metricsQueueSize': 500,
    };
    for (const emitMetrics of ['true', 'no', undefined]) {
      const warnings = await load({
        'cloudwatch.emitMetrics': emitMetrics,
        ...settings,
        flows: [{ filePattern: '/l/*.log', kinesisStream: 's' }],
      });
      assert.deepEqual(warnings, [], `cloudwatch.emitMetrics: ${emitMetrics}`);
    }
  });

  test('aggregatedRecordSizeBytes in a Kinesis flow without aggregation is reported as ignored, once', async () => {
    const warnings = await load({
      flows: [{ filePattern: '/l/*.log', kinesisStream: 's', aggregatedRecordSizeBytes: 4096 }],
    });
    assert.deepEqual(withoutFile(warnings), [
      {
        key: 'aggregatedRecordSizeBytes',
        flow: 'flows[0] (kinesisStream s)',
        message: 'is ignored unless aggregation is true',
      },
    ]);
  });

  test('aggregation with aggregatedRecordSizeBytes in a Kinesis flow is implemented: no warning', async () => {
    const warnings = await load({
      flows: [{ filePattern: '/l/*.log', kinesisStream: 's', aggregation: true, aggregatedRecordSizeBytes: 4096 }],
    });
    assert.deepEqual(withoutFile(warnings), []);
  });

  test('aggregatedRecordSizeBytes in a Firehose flow is implemented: no warning', async () => {
    const warnings = await load({
      flows: [{ filePattern: '/l/*.log', deliveryStream: 'd', aggregatedRecordSizeBytes: 4096 }],
    });
    assert.deepEqual(withoutFile(warnings), []);
  });

  test('aggregatedRecordSizeBytes with multiLineStartPattern: a warning that it is ignored', async () => {
    const warnings = await load({
      flows: [
        {
          filePattern: '/l/*.log',
          deliveryStream: 'd',
          aggregatedRecordSizeBytes: 4096,
          multiLineStartPattern: '^\\S',
        },
      ],
    });
    assert.deepEqual(
      withoutFile(warnings).map(({ key, message }) => [key, message]),
      [['aggregatedRecordSizeBytes', 'is ignored because multiLineStartPattern is set']],
    );
  });

  test('a Java agent config with LOGTOJSON, multiLineStartPattern, a Firehose flow, CloudWatch and gzip', async () => {
    const { config, warnings } = await loadAgentConfig(fixture('java-agent-unimplemented'));
    assert.equal(config.flows.length, 2);
    assert.deepEqual(withoutFile(warnings), [
      { key: 'useHttpGzip', message: 'is not implemented yet: request bodies are sent uncompressed' },
    ]);
  });
});

describe('every schema key is either implemented or in the table', () => {
  const scopes = {
    global: Object.keys(globalSchema.shape),
    flow: [...new Set([...Object.keys(kinesisFlowSchema.shape), ...Object.keys(firehoseFlowSchema.shape)])],
  };
  for (const scope of ['global', 'flow'] as const) {
    test(`${scope} keys`, () => {
      const unimplemented = UNIMPLEMENTED_KEYS.filter((row) => row.scope === scope).map((row) => row.key);
      const implemented = IMPLEMENTED_KEYS[scope];
      const unclassified = scopes[scope].filter((key) => !unimplemented.includes(key) && !implemented.includes(key));
      assert.deepEqual(
        unclassified,
        [],
        'add each to IMPLEMENTED_KEYS once something reads it, or to UNIMPLEMENTED_KEYS',
      );
      assert.deepEqual(
        unimplemented.filter((key) => implemented.includes(key)),
        [],
        'in both lists',
      );
      assert.deepEqual(
        [...unimplemented, ...implemented].filter((key) => !scopes[scope].includes(key)),
        [],
        'not a key of the schema',
      );
      assert.equal(new Set(unimplemented).size, unimplemented.length, 'a key twice in the table');
    });
  }
});
