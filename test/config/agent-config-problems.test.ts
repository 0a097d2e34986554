/** agent.json problems: unknown and ignored keys are warnings; bad values stop startup, all named at once. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadAgentConfig } from '../../src/config/agent-config.js';
import { firehoseFlow, fixture, loadFailure, scratchConfig, withoutFile } from './config-loading.js';

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
