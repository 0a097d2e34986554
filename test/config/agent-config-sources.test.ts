/** Where agent.json comes from: agent.d/, shardtail's own keys, and files that cannot be used. */
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import { fixture, fixtures, kinesisFlow, loadFailure, scratchConfig, withoutFile } from './config-loading.js';

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
