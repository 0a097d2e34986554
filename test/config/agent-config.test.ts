import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  loadAgentConfig,
  type AgentConfig,
  type ConfigProblem,
  type FirehoseFlowConfig,
  type KinesisFlowConfig,
} from '../../src/config/agent-config.js';

const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const fixture = (name: string) => path.join(fixtures, name, 'agent.json');

async function loadFailure(configPath: string): Promise<ConfigError> {
  try {
    await loadAgentConfig(configPath);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${configPath} loaded although it should not`);
}

function kinesisFlow(config: AgentConfig, index: number): KinesisFlowConfig {
  const flow = config.flows[index];
  assert.equal(flow.kind, 'kinesisStream');
  return flow;
}

function firehoseFlow(config: AgentConfig, index: number): FirehoseFlowConfig {
  const flow = config.flows[index];
  assert.equal(flow.kind, 'deliveryStream');
  return flow;
}

/** Problems without the file, for comparing against expected lists. */
const withoutFile = (problems: ConfigProblem[]) => problems.map(({ file: _file, ...rest }) => rest);

const scratchDirectories: string[] = [];
after(async () => {
  await Promise.all(scratchDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
});

/** A throw-away config directory for cases a checked-in fixture cannot express (permissions, missing files). */
async function scratchConfig(files: Record<string, string>): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'shardtail-config-'));
  scratchDirectories.push(directory);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(directory, name)), { recursive: true });
    await writeFile(path.join(directory, name), content);
  }
  return path.join(directory, 'agent.json');
}

describe('defaults (research §1a, §1b, §1c)', () => {
  test('every global key has the Java agent default, except checkpointFile', async () => {
    const { config, warnings } = await loadAgentConfig(fixture('defaults'));
    assert.deepEqual(warnings, []);
    const threads = Math.max(2, 12 * os.availableParallelism());
    const { flows: _flows, configFile, ...globals } = config;
    assert.equal(configFile, fixture('defaults'));
    assert.deepEqual(globals, {
      checkpointFile: '/var/lib/shardtail/checkpoints.db',
      checkpointTimeToLiveDays: 7,
      checkpoints: { queryTimeoutSeconds: 30, connectionTimeoutSeconds: 5 },
      cloudwatch: {
        emitMetrics: true,
        offForEmbeddedEngine: false,
        endpoint: undefined,
        namespace: 'AWSKinesisAgent',
        tagInstance: false,
        metricsBufferTimeMillis: 30_000,
        metricsQueueSize: 10_000,
      },
      kinesis: { endpoint: undefined, region: undefined },
      firehose: { endpoint: undefined },
      sts: { endpoint: undefined },
      staticCredentials: undefined,
      assumeRole: undefined,
      userAgent: undefined,
      userAgentOverride: undefined,
      maxSendingThreads: threads,
      maxSendingThreadsPerCore: 12,
      sendingThreadsKeepAliveMillis: 60_000,
      sendingThreadsMaxQueueSize: 100,
      maxConnections: Math.max(50, threads),
      connectionTimeoutMillis: 10_000,
      socketTimeoutMillis: 50_000,
      connectionTTLMillis: -1,
      useTcpKeepAlive: false,
      useHttpGzip: false,
      shutdownTimeoutMillis: 10_000,
      log: { statusReportingPeriodSeconds: 30, emitInternalMetrics: false, emitMetrics: false },
      engine: {
        embedded: false,
        host: '127.0.0.1',
        port: 4567,
        dataDir: '/var/lib/shardtail/engine',
        autoCreateStreams: { shards: 1 },
      },
      monitoring: undefined,
    });
  });

  test('cloudwatch.emitMetrics left out: true, unless every flow goes to the embedded engine', async () => {
    const cloudwatchOf = async (top: Record<string, unknown>) => {
      const configPath = await scratchConfig({
        'agent.json': JSON.stringify({
          engine: { embedded: true },
          ...top,
          flows: [
            { filePattern: '/l/*.log', kinesisStream: 's' },
            { filePattern: '/m/*.log', deliveryStream: 'd' },
          ],
        }),
      });
      const { emitMetrics, offForEmbeddedEngine } = (await loadAgentConfig(configPath)).config.cloudwatch;
      return { emitMetrics, offForEmbeddedEngine };
    };
    assert.deepEqual(await cloudwatchOf({}), { emitMetrics: false, offForEmbeddedEngine: true });
    assert.deepEqual(await cloudwatchOf({ 'cloudwatch.emitMetrics': 'true' }), {
      emitMetrics: true,
      offForEmbeddedEngine: false,
    });
    // One flow to AWS is enough for the Java default to mean what it says.
    assert.deepEqual(await cloudwatchOf({ 'firehose.endpoint': 'firehose.eu-west-1.amazonaws.com' }), {
      emitMetrics: true,
      offForEmbeddedEngine: false,
    });
    assert.deepEqual(await cloudwatchOf({ engine: { embedded: false } }), {
      emitMetrics: true,
      offForEmbeddedEngine: false,
    });
  });

  test('every per-flow key has the Java agent default; the byte limit depends on the destination', async () => {
    const { config } = await loadAgentConfig(fixture('defaults'));
    const sharedDefaults = {
      excludePatterns: [],
      initialPosition: 'END_OF_FILE',
      maxBufferAgeMillis: 60_000,
      maxBufferSizeRecords: 500,
      publishQueueCapacity: 100,
      multiLineStartPattern: undefined,
      skipHeaderLines: 0,
      truncatedRecordTerminator: '\n',
      dataProcessingOptions: [],
      minTimeBetweenFilePollsMillis: 100,
      maxTimeBetweenFileTrackerRefreshMillis: 10_000,
      retryInitialBackoffMillis: 100,
      retryMaxBackoffMillis: 10_000,
      waitOnEmptyPublishQueueMillis: 60_000,
      waitOnFullPublishQueueMillis: 60_000,
      fileFooterPattern: undefined,
      log: { emitInternalMetrics: false },
      sourceFile: fixture('defaults'),
    };
    assert.deepEqual(kinesisFlow(config, 0), {
      ...sharedDefaults,
      id: 'kinesis:app-stream:/var/log/app/*.log',
      label: 'flows[0] (kinesisStream app-stream)',
      kind: 'kinesisStream',
      streamName: 'app-stream',
      filePattern: '/var/log/app/*.log',
      maxBufferSizeBytes: 5_242_880,
      partitioning: { option: 'RANDOM' },
      aggregatedRecordSizeBytes: 0,
    });
    assert.deepEqual(firehoseFlow(config, 1), {
      ...sharedDefaults,
      id: 'fh:web-delivery:/var/log/web/access.log*',
      label: 'flows[1] (deliveryStream web-delivery)',
      kind: 'deliveryStream',
      streamName: 'web-delivery',
      filePattern: '/var/log/web/access.log*',
      maxBufferSizeBytes: 4_194_304,
      aggregatedRecordSizeBytes: 0,
    });
  });

  test('every dataProcessingOptions entry gets its defaults', async () => {
    const { config } = await loadAgentConfig(fixture('processing-defaults'));
    assert.deepEqual(config.flows[0].dataProcessingOptions, [
      { optionName: 'SINGLELINE', parseOptions: [] },
      { optionName: 'CSVTOJSON', customFieldNames: ['a'], delimiter: ',', jsonFormat: 'COMPACT' },
      {
        optionName: 'LOGTOJSON',
        logFormat: 'APACHEERRORLOG',
        matchPattern: undefined,
        customFieldNames: undefined,
        jsonFormat: 'COMPACT',
      },
      { optionName: 'ADDMETADATA', metadata: null, timestamp: false, jsonFormat: 'COMPACT' },
      { optionName: 'ADDEC2METADATA', metadataTTL: 3600, jsonFormat: 'COMPACT' },
      { optionName: 'ADDBRACKETS' },
    ]);
  });

  test('maxConnections defaults to max(50, maxSendingThreads)', async () => {
    const few = await loadAgentConfig(
      await scratchConfig({
        'agent.json': '{ "maxSendingThreads": 10, "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s" } ] }',
      }),
    );
    assert.equal(few.config.maxConnections, 50);
    const many = await loadAgentConfig(
      await scratchConfig({
        'agent.json': '{ "maxSendingThreads": "80", "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s" } ] }',
      }),
    );
    assert.equal(many.config.maxConnections, 80);
  });

  test('maxSendingThreads defaults to max(2, maxSendingThreadsPerCore × CPUs)', async () => {
    const { config } = await loadAgentConfig(
      await scratchConfig({
        'agent.json':
          '{ "maxSendingThreadsPerCore": 3, "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s" } ] }',
      }),
    );
    assert.equal(config.maxSendingThreads, Math.max(2, 3 * os.availableParallelism()));
  });
});

describe('every Java agent key, written the ways the Java agent accepts', () => {
  const load = () => loadAgentConfig(fixture('full'));
  const fullDirectory = path.join(fixtures, 'full');

  test('comments, trailing commas, string numbers and string booleans are read', async () => {
    const { config } = await load();
    assert.equal(config.checkpointTimeToLiveDays, 14);
    assert.equal(config.checkpoints.queryTimeoutSeconds, 45);
    assert.equal(config.checkpoints.connectionTimeoutSeconds, 9);
    assert.deepEqual(config.cloudwatch, {
      emitMetrics: false, // "no"
      offForEmbeddedEngine: false,
      endpoint: 'https://monitoring.eu-west-1.amazonaws.com',
      namespace: 'MyAgent',
      tagInstance: true, // "Y"
      metricsBufferTimeMillis: 15_000,
      metricsQueueSize: 500,
    });
    assert.equal(config.useTcpKeepAlive, true); // "TRUE"
    assert.equal(config.useHttpGzip, true); // 1
    assert.deepEqual(config.log, { statusReportingPeriodSeconds: 10, emitInternalMetrics: true, emitMetrics: true });
  });

  test('flat dotted keys become nested fields; endpoints become URLs', async () => {
    const { config } = await load();
    assert.deepEqual(config.kinesis, { endpoint: 'https://kinesis.eu-west-1.amazonaws.com', region: 'eu-west-1' });
    assert.deepEqual(config.firehose, { endpoint: 'https://firehose.eu-west-1.amazonaws.com' });
    assert.deepEqual(config.sts, { endpoint: 'http://localhost:4566' });
  });

  test('credentials, role and HTTP settings', async () => {
    const { config } = await load();
    // The value contains "/* ... */": comment markers inside strings are text.
    assert.deepEqual(config.staticCredentials, {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret/* not a comment */',
    });
    assert.deepEqual(config.assumeRole, { roleArn: 'arn:aws:iam::123456789012:role/shipper', externalId: 'ext-42' });
    assert.equal(config.userAgent, 'acme-fleet');
    assert.equal(config.userAgentOverride, 'acme/1.0');
    assert.equal(config.maxSendingThreads, 80);
    assert.equal(config.maxSendingThreadsPerCore, 4);
    assert.equal(config.maxConnections, 80);
    assert.equal(config.sendingThreadsKeepAliveMillis, 30_000);
    assert.equal(config.sendingThreadsMaxQueueSize, 200);
    assert.equal(config.connectionTimeoutMillis, 2000);
    assert.equal(config.socketTimeoutMillis, 20_000);
    assert.equal(config.connectionTTLMillis, 60_000);
    assert.equal(config.shutdownTimeoutMillis, 5000);
  });

  test('relative paths resolve against the config file directory', async () => {
    const { config } = await load();
    assert.equal(config.checkpointFile, path.join(fullDirectory, 'state/checkpoints.db'));
    assert.equal(config.flows[0].filePattern, path.join(fullDirectory, 'logs/app.log*'));
    assert.equal(config.flows[0].id, `kinesis:app-stream:${path.join(fullDirectory, 'logs/app.log*')}`);
  });

  test('every per-flow key is read', async () => {
    const { config } = await load();
    const flow = kinesisFlow(config, 0);
    assert.equal(flow.initialPosition, 'START_OF_FILE');
    assert.equal(flow.maxBufferAgeMillis, 5000);
    assert.equal(flow.maxBufferSizeRecords, 100);
    assert.equal(flow.maxBufferSizeBytes, 1_048_576);
    assert.equal(flow.publishQueueCapacity, 10);
    assert.deepEqual(flow.partitioning, { option: 'DETERMINISTIC' });
    assert.equal(flow.multiLineStartPattern, '^\\d{4}-\\d{2}-\\d{2}');
    assert.equal(flow.skipHeaderLines, 1);
    assert.equal(flow.truncatedRecordTerminator, '...\n');
    assert.equal(flow.minTimeBetweenFilePollsMillis, 250);
    assert.equal(flow.maxTimeBetweenFileTrackerRefreshMillis, 5000);
    assert.equal(flow.retryInitialBackoffMillis, 200);
    assert.equal(flow.retryMaxBackoffMillis, 20_000);
    assert.equal(flow.waitOnEmptyPublishQueueMillis, 2000);
    assert.equal(flow.waitOnFullPublishQueueMillis, 3000);
    assert.equal(flow.fileFooterPattern, '^-- END --$');
    assert.deepEqual(flow.log, { emitInternalMetrics: true });

    const firehose = firehoseFlow(config, 1);
    assert.equal(firehose.aggregatedRecordSizeBytes, 4096);
    assert.equal(firehose.maxBufferSizeBytes, 2_097_152);
  });

  test('every dataProcessingOptions key is read', async () => {
    const { config } = await load();
    assert.deepEqual(config.flows[0].dataProcessingOptions, [
      { optionName: 'SINGLELINE', parseOptions: ['NO_TRIM', 'ESCAPE_NEW_LINE'] },
      { optionName: 'CSVTOJSON', customFieldNames: ['a', 'b'], delimiter: '\\t', jsonFormat: 'PRETTYPRINT' },
      {
        optionName: 'LOGTOJSON',
        logFormat: 'COMBINEDAPACHELOG',
        matchPattern: undefined,
        customFieldNames: undefined,
        jsonFormat: 'COMPACT',
      },
      {
        optionName: 'LOGTOJSON',
        logFormat: 'SYSLOG',
        matchPattern: '^(\\w+) (.*)$',
        customFieldNames: ['level', 'text'],
        jsonFormat: 'COMPACT',
      },
      { optionName: 'ADDMETADATA', metadata: { env: 'prod', tier: [1, 2] }, timestamp: true, jsonFormat: 'COMPACT' },
      { optionName: 'ADDEC2METADATA', metadataTTL: 600, jsonFormat: 'COMPACT' },
      { optionName: 'ADDBRACKETS' },
    ]);
  });
});

describe('agent.d/', () => {
  test('flows from every regular file in agent.d/ follow those of agent.json, in file-name order', async () => {
    const { config } = await loadAgentConfig(fixture('full'));
    const agentDirectory = path.join(fixtures, 'full', 'agent.d');
    assert.deepEqual(
      config.flows.map((flow) => [flow.label, flow.sourceFile]),
      [
        ['flows[0] (kinesisStream app-stream)', fixture('full')],
        ['flows[1] (deliveryStream web-delivery)', fixture('full')],
        // Like the Java agent, the name need not end in .json; sub-directories are not read.
        ['flows[0] (kinesisStream worker-stream)', path.join(agentDirectory, '10-worker.json')],
        ['flows[0] (deliveryStream batch-delivery)', path.join(agentDirectory, '20-batch.conf')],
      ],
    );
  });

  test('a file that is not JSON is skipped with a warning, as the Java agent does', async () => {
    const { warnings } = await loadAgentConfig(fixture('full'));
    // agent.json's own warnings are about its keys that are not implemented (test/config/unimplemented-keys.test.ts).
    assert.deepEqual(
      warnings.filter((warning) => warning.file !== fixture('full')),
      [
        {
          file: path.join(fixtures, 'full', 'agent.d', 'README'),
          key: '',
          message: "file skipped: invalid JSON: unexpected 'F' at line 1, column 1",
        },
      ],
    );
  });

  test('only "flows" is taken from agent.d files; other keys are reported as ignored', async () => {
    const configPath = await scratchConfig({
      'agent.json': '{ "flows": [] }',
      'agent.d/a.json':
        '{ "kinesis.endpoint": "localhost:1", "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s" } ] }',
    });
    const { config, warnings } = await loadAgentConfig(configPath);
    assert.equal(config.kinesis.endpoint, undefined);
    assert.equal(config.flows.length, 1);
    assert.deepEqual(withoutFile(warnings), [
      { key: 'kinesis.endpoint', message: 'is ignored: files in agent.d/ only contribute "flows"' },
    ]);
  });

  test('agent.json may leave all flows to agent.d', async () => {
    const configPath = await scratchConfig({
      'agent.json': '{ "cloudwatch.emitMetrics": false }',
      'agent.d/only.json': '{ "flows": [ { "filePattern": "/l/*.log", "deliveryStream": "d" } ] }',
    });
    const { config } = await loadAgentConfig(configPath);
    assert.deepEqual(
      config.flows.map((flow) => flow.id),
      ['fh:d:/l/*.log'],
    );
  });

  test('problems in an agent.d flow name that file and the flow index within it', async () => {
    const configPath = await scratchConfig({
      'agent.json': '{ "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s" } ] }',
      'agent.d/bad.json': '{ "flows": [ { "filePattern": "/m/*.log", "kinesisStream": "t", "skipHeaderLines": -1 } ] }',
    });
    const error = await loadFailure(configPath);
    assert.deepEqual(error.problems, [
      {
        file: path.join(path.dirname(configPath), 'agent.d', 'bad.json'),
        key: 'skipHeaderLines',
        flow: 'flows[0] (kinesisStream t)',
        message: '-1 is below the minimum of 0',
      },
    ]);
  });

  test('the same stream and filePattern twice is a duplicate flow, as in the Java agent', async () => {
    const error = await loadFailure(fixture('agent-d-duplicates'));
    assert.deepEqual(error.problems, [
      {
        file: path.join(fixtures, 'agent-d-duplicates', 'agent.d', '50-copy.json'),
        key: 'filePattern',
        flow: 'flows[0] (kinesisStream demo-stream)',
        message:
          `duplicate flow: flows[0] (kinesisStream demo-stream) in ${fixture('agent-d-duplicates')} ` +
          `already sends /var/log/app/*.log to kinesisStream demo-stream`,
      },
    ]);
  });
});

describe('unknown and ignored keys are warnings', () => {
  test('each names the key and flow, with the closest known key', async () => {
    const { config, warnings } = await loadAgentConfig(fixture('typos'));
    assert.equal(config.flows[0].initialPosition, 'END_OF_FILE', 'a misspelt key must not take effect');
    assert.equal(config.cloudwatch.emitMetrics, true);
    const flow = 'flows[0] (kinesisStream demo-stream)';
    assert.deepEqual(withoutFile(warnings), [
      {
        key: 'cloudwatch.emitMetric',
        message: "unknown key 'cloudwatch.emitMetric' is ignored; did you mean cloudwatch.emitMetrics?",
      },
      { key: 'log.level', message: 'is ignored (removed from the Java agent in 2.0); set SHARDTAIL_LOG_LEVEL instead' },
      {
        key: 'kinesis',
        message: 'is ignored: agent.json keys are flat, write "kinesis.endpoint" at the top level instead',
      },
      {
        key: 'initialPostion',
        flow,
        message: "unknown key 'initialPostion' is ignored; did you mean initialPosition?",
      },
      { key: 'aggregatedRecordSizeBytes', flow, message: 'is ignored unless aggregation is true' },
      {
        key: 'dataProcessingOptions[0].delimeter',
        flow,
        message: "unknown key 'delimeter' is ignored; did you mean delimiter?",
      },
      { key: 'dataProcessingOptions[0].logFormat', flow, message: 'is ignored: CSVTOJSON does not use it' },
    ]);
  });

  test('a key nothing resembles gets no suggestion', async () => {
    const { warnings } = await loadAgentConfig(
      await scratchConfig({
        'agent.json': '{ "zzzzzz": 1, "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s" } ] }',
      }),
    );
    assert.deepEqual(withoutFile(warnings), [{ key: 'zzzzzz', message: "unknown key 'zzzzzz' is ignored" }]);
  });

  test('a per-flow key at the top level, a global key in a flow, and a duplicate key', async () => {
    const { warnings } = await loadAgentConfig(
      await scratchConfig({
        'agent.json': `{
        "initialPosition": "START_OF_FILE",
        "flows": [
          { "filePattern": "/l/*.log", "kinesisStream": "s", "kinesis.endpoint": "x",
            "skipHeaderLines": 1, "skipHeaderLines": 2 }
        ]
      }`,
      }),
    );
    assert.deepEqual(withoutFile(warnings), [
      // Found while parsing, so before the key checks.
      {
        key: 'skipHeaderLines',
        flow: 'flows[0] (kinesisStream s)',
        message: 'appears twice in the same object; only the last value is used',
      },
      { key: 'initialPosition', message: 'is a per-flow key and is ignored here; move it into an entry of "flows"' },
      {
        key: 'kinesis.endpoint',
        flow: 'flows[0] (kinesisStream s)',
        message: 'is a global key and is ignored inside a flow; move it to the top level',
      },
    ]);
  });
});

describe('bad values stop startup', () => {
  test('an enum value outside the list names the key, the flow and the allowed values', async () => {
    const error = await loadFailure(fixture('bad-values'));
    assert.deepEqual(withoutFile(error.problems), [
      {
        key: 'initialPosition',
        flow: 'flows[0] (kinesisStream demo-stream)',
        message: "'FROM_START' is not one of START_OF_FILE, END_OF_FILE",
      },
      {
        key: 'maxBufferSizeRecords',
        flow: 'flows[1] (deliveryStream web)',
        message: '501 is outside the valid range 1–500',
      },
      // 5 MiB is fine for Kinesis but above Firehose's 4 MiB batch limit.
      {
        key: 'maxBufferSizeBytes',
        flow: 'flows[1] (deliveryStream web)',
        message: '5242880 is outside the valid range 1–4194304',
      },
    ]);
    assert.ok(error.problems.every((problem) => problem.file === fixture('bad-values')));
  });

  test('every problem of every flow is reported at once', async () => {
    const error = await loadFailure(fixture('many-problems'));
    assert.deepEqual(withoutFile(error.problems), [
      { key: 'cloudwatch.emitMetrics', message: "'maybe' is not a boolean (true/false, yes/no, t/f, y/n, 1/0)" },
      { key: 'kinesis.endpoint', message: 'scheme "ftp" is not supported; use http:// or https://' },
      { key: 'maxSendingThreads', message: '0 is below the minimum of 1' },
      { key: 'filePattern', flow: 'flows[0] (kinesisStream demo-stream)', message: 'is required' },
      {
        key: 'maxBufferAgeMillis',
        flow: 'flows[0] (kinesisStream demo-stream)',
        message: '10 is outside the valid range 50–900000',
      },
      {
        key: 'kinesisStream',
        flow: 'flows[1]',
        message: 'a flow needs kinesisStream or deliveryStream; neither is set',
      },
      {
        key: 'deliveryStream',
        flow: 'flows[2] (kinesisStream c, deliveryStream c)',
        message:
          'a flow sends to one stream, but both kinesisStream and deliveryStream are set (the Java agent ' +
          'silently used deliveryStream)',
      },
      {
        key: 'partitionKey',
        flow: 'flows[3] (kinesisStream d)',
        message: 'is required when partitionKeyOption is FIXED',
      },
      { key: 'dataProcessingOptions[0].logFormat', flow: 'flows[3] (kinesisStream d)', message: 'is required' },
      {
        key: 'dataProcessingOptions[1].optionName',
        flow: 'flows[3] (kinesisStream d)',
        message:
          'USINGPLUGGIN loads a Java class (com.acme.Converter), which shardtail cannot run; in its place, ' +
          '{"optionName": "USINGJAVASCRIPT", "modulePath": "transform.mjs"} runs a JavaScript module whose ' +
          'default export takes a record (a string) and returns its new text, or null to drop it',
      },
    ]);
  });

  test('USINGJAVASCRIPT: modulePath is resolved against the config file, and must be a readable file', async () => {
    const configPath = await scratchConfig({
      'agent.json': JSON.stringify({
        flows: [
          {
            filePattern: '/l/*.log',
            kinesisStream: 'a',
            dataProcessingOptions: [{ optionName: 'USINGJAVASCRIPT', modulePath: 'transforms/redact.mjs' }],
          },
        ],
      }),
      'transforms/redact.mjs': 'export default (record) => record;\n',
    });
    const { config } = await loadAgentConfig(configPath);
    assert.deepEqual(config.flows[0].dataProcessingOptions, [
      { optionName: 'USINGJAVASCRIPT', modulePath: path.join(path.dirname(configPath), 'transforms/redact.mjs') },
    ]);
    const missing = await scratchConfig({
      'agent.json': JSON.stringify({
        flows: [
          {
            filePattern: '/l/*.log',
            kinesisStream: 'a',
            dataProcessingOptions: [{ optionName: 'USINGJAVASCRIPT', modulePath: 'nowhere.mjs' }],
          },
        ],
      }),
    });
    assert.deepEqual(withoutFile((await loadFailure(missing)).problems), [
      {
        key: 'dataProcessingOptions[0].modulePath',
        flow: 'flows[0] (kinesisStream a)',
        message: `${path.join(path.dirname(missing), 'nowhere.mjs')} is not a readable file`,
      },
    ]);
  });

  test('the error message lists every problem, one per line', async () => {
    const error = await loadFailure(fixture('bad-values'));
    const lines = error.message.split('\n');
    assert.equal(lines[0], 'invalid configuration (3 problems):');
    assert.equal(lines.length, 4);
    assert.equal(
      lines[1],
      `${fixture('bad-values')}: initialPosition (flows[0] (kinesisStream demo-stream)): 'FROM_START' is not ` +
        `one of START_OF_FILE, END_OF_FILE`,
    );
  });

  test('values of the wrong type', async () => {
    const error = await loadFailure(
      await scratchConfig({
        'agent.json': `{
        "checkpointTimeToLiveDays": "seven",
        "socketTimeoutMillis": 1.5,
        "connectionTimeoutMillis": "3000000000",
        "flows": [ { "filePattern": "/l/", "kinesisStream": "bad name", "multiLineStartPattern": "([a-z",
                     "dataProcessingOptions": { "optionName": "SINGLELINE" } } ]
      }`,
      }),
    );
    const flow = 'flows[0] (kinesisStream bad name)';
    assert.deepEqual(withoutFile(error.problems), [
      { key: 'checkpointTimeToLiveDays', message: "'seven' is not an integer" },
      { key: 'connectionTimeoutMillis', message: '3000000000 is above the maximum of 2147483647' },
      { key: 'socketTimeoutMillis', message: '1.5 is not an integer' },
      { key: 'filePattern', flow, message: 'must name files, not end in / (e.g. /var/log/app/*.log)' },
      {
        key: 'multiLineStartPattern',
        flow,
        message:
          "'([a-z' is not a valid regular expression: Invalid regular expression: /([a-z/: Unterminated " +
          'character class',
      },
      {
        key: 'dataProcessingOptions',
        flow,
        message: '{"optionName":"SINGLELINE"} must be a list of processing options',
      },
      {
        key: 'kinesisStream',
        flow,
        message: "'bad name' is not a valid stream name (1–128 characters from a-z A-Z 0-9 _ . -)",
      },
    ]);
  });

  test('a value with a line break is escaped, keeping each problem on one line', async () => {
    const error = await loadFailure(
      await scratchConfig({
        'agent.json':
          '{ "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s", "initialPosition": "END\\nOF_FILE" } ] }',
      }),
    );
    assert.deepEqual(withoutFile(error.problems), [
      {
        key: 'initialPosition',
        flow: 'flows[0] (kinesisStream s)',
        message: "'END\\nOF_FILE' is not one of START_OF_FILE, END_OF_FILE",
      },
    ]);
  });

  test('aggregation: a yes or no, and its size bound within the KPL range (64 B to 1 MiB)', async () => {
    const error = await loadFailure(
      await scratchConfig({
        'agent.json': JSON.stringify({
          flows: [
            { filePattern: '/a/*.log', kinesisStream: 'a', aggregation: 'sometimes' },
            { filePattern: '/b/*.log', kinesisStream: 'b', aggregation: true, aggregatedRecordSizeBytes: 63 },
            { filePattern: '/c/*.log', kinesisStream: 'c', aggregation: true, aggregatedRecordSizeBytes: 1_048_577 },
          ],
        }),
      }),
    );
    assert.deepEqual(
      withoutFile(error.problems).map(({ key, flow, message }) => [key, flow, message]),
      [
        [
          'aggregation',
          'flows[0] (kinesisStream a)',
          "'sometimes' is not a boolean (true/false, yes/no, t/f, y/n, 1/0)",
        ],
        ['aggregatedRecordSizeBytes', 'flows[1] (kinesisStream b)', '63 is outside the valid range 64–1048576'],
        ['aggregatedRecordSizeBytes', 'flows[2] (kinesisStream c)', '1048577 is outside the valid range 64–1048576'],
      ],
    );
  });

  test('aggregation on a Firehose flow is ignored, with a word', async () => {
    const { config, warnings } = await loadAgentConfig(
      await scratchConfig({
        'agent.json': JSON.stringify({ flows: [{ filePattern: '/l/*.log', deliveryStream: 'd', aggregation: true }] }),
      }),
    );
    assert.equal(firehoseFlow(config, 0).aggregatedRecordSizeBytes, 0);
    assert.deepEqual(withoutFile(warnings), [
      {
        key: 'aggregation',
        flow: 'flows[0] (deliveryStream d)',
        message: 'is ignored: it only applies to kinesisStream flows',
      },
    ]);
  });

  test('LOGTOJSON field names must fit the format or the pattern', async () => {
    const configPath = await scratchConfig({
      'agent.json': JSON.stringify({
        flows: [
          {
            filePattern: '/l/*.log',
            kinesisStream: 's',
            dataProcessingOptions: [
              { optionName: 'LOGTOJSON', logFormat: 'SYSLOG', customFieldNames: ['a', 'b'] },
              { optionName: 'LOGTOJSON', logFormat: 'SYSLOG', matchPattern: '^(.*)$' },
            ],
          },
        ],
      }),
    });
    const error = await loadFailure(configPath);
    assert.deepEqual(withoutFile(error.problems), [
      {
        key: 'dataProcessingOptions[0].customFieldNames',
        flow: 'flows[0] (kinesisStream s)',
        message: 'renames the 5 fields of SYSLOG, so it needs 5 names, not 2',
      },
      {
        key: 'dataProcessingOptions[1].customFieldNames',
        flow: 'flows[0] (kinesisStream s)',
        message: 'is required with matchPattern, to name its capture groups',
      },
    ]);
  });

  test(
    'a matchPattern whose groups do not match customFieldNames is a warning (the Java agent drops ' + 'every record)',
    async () => {
      const { warnings } = await loadAgentConfig(
        await scratchConfig({
          'agent.json': JSON.stringify({
            flows: [
              {
                filePattern: '/l/*.log',
                kinesisStream: 's',
                dataProcessingOptions: [
                  {
                    optionName: 'LOGTOJSON',
                    logFormat: 'SYSLOG',
                    matchPattern: '^(\\S+) (\\S+) (.*)$',
                    customFieldNames: ['a', 'b'],
                  },
                ],
              },
            ],
          }),
        }),
      );
      assert.deepEqual(withoutFile(warnings), [
        {
          key: 'dataProcessingOptions[0].matchPattern',
          flow: 'flows[0] (kinesisStream s)',
          message: 'has 3 capture groups but customFieldNames has 2 names; every record would be dropped',
        },
      ]);
    },
  );

  test('no flows at all is an error', async () => {
    const error = await loadFailure(fixture('no-flows'));
    assert.deepEqual(withoutFile(error.problems), [
      { key: 'flows', message: 'no flows are configured; add one to "flows" here or in a file in agent.d/' },
    ]);
  });
});

describe('shardtail keys the Java agent lacks', () => {
  test('engine, FIELD and FIXED partition keys, excludePattern, directory globs, 50 ms buffers', async () => {
    const { config, warnings } = await loadAgentConfig(fixture('own-keys'));
    const directory = path.join(fixtures, 'own-keys');
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.engine, {
      embedded: true,
      host: '0.0.0.0',
      port: 4600,
      dataDir: path.join(directory, 'engine-data'),
      autoCreateStreams: { shards: 4 },
    });
    assert.equal(config.checkpointFile, '/srv/shardtail/cp.db');

    const containers = kinesisFlow(config, 0);
    assert.equal(containers.filePattern, '/var/lib/docker/containers/*/*.log');
    assert.deepEqual(containers.partitioning, { option: 'FIELD', partitionKeyField: 'container_id' });
    assert.equal(containers.maxBufferAgeMillis, 50);
    assert.deepEqual(containers.excludePatterns, ['*.tmp']);
    assert.equal(containers.aggregatedRecordSizeBytes, 102_400, '"aggregation": "true" with its size bound');

    const apps = kinesisFlow(config, 1);
    assert.equal(apps.aggregatedRecordSizeBytes, 0, 'no aggregation unless asked for');
    assert.equal(apps.filePattern, path.join(directory, 'apps/**/*.log'));
    assert.deepEqual(apps.partitioning, { option: 'FIXED', partitionKey: 'all-apps' });
    // A pattern with a directory part resolves like filePattern; a bare name matches in any directory.
    assert.deepEqual(apps.excludePatterns, ['*.gz.partial', path.join(directory, 'apps/archive/**')]);
  });

  test('autoCreateStreams: false turns auto-creation off; 49 ms is below the relaxed minimum', async () => {
    const ok = await loadAgentConfig(
      await scratchConfig({
        'agent.json':
          '{ "engine": { "autoCreateStreams": "false" }, "flows": [ { "filePattern": "/l/*.log", ' +
          '"kinesisStream": "s" } ] }',
      }),
    );
    assert.equal(ok.config.engine.autoCreateStreams, false);

    const error = await loadFailure(
      await scratchConfig({
        'agent.json': `{ "engine": { "port": 70000, "autoCreateStreams": { "shards": 0 }, "dataDri": "/x" },
                       "engine.host": "0.0.0.0",
                       "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s", "maxBufferAgeMillis": 49,
                                    "partitionKeyOption": "FIELD", "partitionKey": "k" } ] }`,
      }),
    );
    assert.deepEqual(withoutFile(error.problems), [
      { key: 'engine.port', message: '70000 is outside the valid range 0–65535' },
      { key: 'engine.autoCreateStreams.shards', message: '0 is below the minimum of 1' },
      {
        key: 'maxBufferAgeMillis',
        flow: 'flows[0] (kinesisStream s)',
        message: '49 is outside the valid range 50–900000',
      },
      {
        key: 'partitionKeyField',
        flow: 'flows[0] (kinesisStream s)',
        message: 'is required when partitionKeyOption is FIELD',
      },
    ]);
    assert.deepEqual(withoutFile(error.warnings), [
      { key: 'engine.host', message: 'is ignored: engine settings are a nested object, e.g. "engine": { "host": … }' },
      { key: 'engine.dataDri', message: "unknown key 'dataDri' is ignored; did you mean dataDir?" },
      {
        key: 'partitionKey',
        flow: 'flows[0] (kinesisStream s)',
        message: 'is ignored unless partitionKeyOption is FIXED',
      },
    ]);
  });
});

describe('unusable files', () => {
  test('invalid JSON reports the line and column', async () => {
    const error = await loadFailure(fixture('invalid-json'));
    assert.deepEqual(error.problems, [
      {
        file: fixture('invalid-json'),
        key: '',
        message:
          `invalid JSON: expected ',' or '}' after the value of "filePattern" but found '"' at line ` + `3, column 39`,
      },
    ]);
  });

  test('a missing file', async () => {
    const missing = path.join(os.tmpdir(), 'shardtail-no-such-dir', 'agent.json');
    const error = await loadFailure(missing);
    assert.deepEqual(error.problems, [{ file: missing, key: '', message: 'file not found' }]);
  });

  test('an unreadable file', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, async () => {
    const configPath = await scratchConfig({ 'agent.json': '{ "flows": [] }' });
    await chmod(configPath, 0o000);
    const error = await loadFailure(configPath);
    assert.deepEqual(error.problems, [{ file: configPath, key: '', message: 'permission denied' }]);
  });

  test('a top level that is not an object', async () => {
    const configPath = await scratchConfig({ 'agent.json': '[ { "filePattern": "/l/*.log" } ]' });
    const error = await loadFailure(configPath);
    assert.deepEqual(error.problems, [
      { file: configPath, key: '', message: 'the top level must be a JSON object ({ … })' },
    ]);
  });
});
