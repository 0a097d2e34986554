/** agent.json as the Java agent reads it: every key, its default, and the ways it may be written. */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import { firehoseFlow, fixture, fixtures, kinesisFlow, scratchConfig } from './config-loading.js';

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
