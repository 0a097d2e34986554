import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { staticCredentialProvider } from '../../../src/client/credentials.js';
import {
  CloudWatchClient,
  FORM_CONTENT_TYPE,
  putMetricDataForm,
  type MetricDatum,
} from '../../../src/observe/cloudwatch-client.js';
import {
  CloudWatchMetrics,
  MAX_DATUMS_PER_REQUEST,
  WARN_INTERVAL_MS,
} from '../../../src/observe/cloudwatch-metrics.js';
import { expectedAuthorizationFor, LocalServer, parseAuthorization } from '../../client/http-test-support.js';
import { waitFor } from '../../support/wait.js';

interface Call {
  namespace: string;
  datums: MetricDatum[];
  settle: (error?: Error) => void;
}

/** CloudWatchMetrics with a sender that answers only when the test says so, a clock and a recording logger. */
function harness(options: { queueSize?: number; instance?: string; bufferTimeMs?: number } = {}) {
  const calls: Call[] = [];
  const warnings: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const clock = { ms: 1_000_000 };
  let closed = 0;
  const metrics = new CloudWatchMetrics({
    namespace: 'AWSKinesisAgent',
    instance: options.instance,
    bufferTimeMs: options.bufferTimeMs ?? 3_600_000,
    queueSize: options.queueSize ?? 10_000,
    send: (namespace, datums) =>
      new Promise<void>((resolve, reject) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls.push({
          namespace,
          datums,
          settle: (error) => {
            inFlight--;
            if (error) reject(error);
            else resolve();
          },
        });
      }),
    close: async () => {
      closed++;
    },
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: (_fields: object, message: string) => warnings.push(message),
    } as never,
    target: 'http://cloudwatch.test',
    now: () => clock.ms,
    stopDeadlineMs: 50,
  });
  return {
    metrics,
    calls,
    warnings,
    clock,
    maxInFlight: () => maxInFlight,
    closed: () => closed,
    flow: (streamName: string, service = 'kinesis') =>
      metrics.observer().forFlow(`flow-${streamName}`, { service, streamName }),
  };
}

const byName = (datums: MetricDatum[], dimension: string) =>
  Object.fromEntries(
    datums
      .filter((datum) => datum.dimensions[0].value === dimension)
      .map((datum) => [datum.name, { unit: datum.unit, ...datum.statistics }]),
  );

/** Lets the sender's promise callbacks run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('CloudWatchMetrics', () => {
  test("one statistic set per metric and Destination, one value per call, with the Java agent's names", () => {
    const { metrics, calls, flow } = harness();
    const kinesis = flow('s');
    kinesis.callEnded(5, undefined, 3);
    kinesis.delivered(3, 30);
    kinesis.callEnded(5, 'ServiceUnavailable', 2);
    kinesis.callEnded(5, undefined, 2);
    kinesis.recordsRejected('ProvisionedThroughputExceededException', 'slow down', 1, 2);
    kinesis.delivered(1, 12);
    // A second flow to the same stream adds to the same sets.
    flow('s').callEnded(1, undefined, 1);
    const firehose = flow('d', 'firehose');
    firehose.callEnded(1, undefined, 4);
    firehose.delivered(4, 400);
    metrics.flush();

    assert.equal(calls.length, 1);
    assert.equal(calls[0].namespace, 'AWSKinesisAgent');
    assert.deepEqual(byName(calls[0].datums, 'KinesisStream:s'), {
      RecordSendAttempts: { unit: 'Count', sum: 8, min: 1, max: 3, sampleCount: 4 },
      ServiceErrors: { unit: 'Count', sum: 1, min: 0, max: 1, sampleCount: 4 },
      RecordsSent: { unit: 'Count', sum: 4, min: 1, max: 3, sampleCount: 2 },
      BytesSent: { unit: 'Bytes', sum: 42, min: 12, max: 30, sampleCount: 2 },
      RecordSendErrors: { unit: 'Count', sum: 1, min: 1, max: 1, sampleCount: 1 },
    });
    assert.deepEqual(byName(calls[0].datums, 'DeliveryStream:d'), {
      RecordSendAttempts: { unit: 'Count', sum: 4, min: 4, max: 4, sampleCount: 1 },
      ServiceErrors: { unit: 'Count', sum: 0, min: 0, max: 0, sampleCount: 1 },
      RecordsSent: { unit: 'Count', sum: 4, min: 4, max: 4, sampleCount: 1 },
      BytesSent: { unit: 'Bytes', sum: 400, min: 400, max: 400, sampleCount: 1 },
    });
    assert.ok(
      calls[0].datums.every((datum) => datum.dimensions.length === 1 && datum.dimensions[0].name === 'Destination'),
    );

    // Each flush starts the sets afresh.
    calls[0].settle();
    kinesis.callEnded(1, undefined, 7);
    metrics.flush();
    return settled().then(() => {
      assert.equal(calls.length, 2);
      assert.deepEqual(byName(calls[1].datums, 'KinesisStream:s').RecordSendAttempts, {
        unit: 'Count',
        sum: 7,
        min: 7,
        max: 7,
        sampleCount: 1,
      });
      assert.equal(byName(calls[1].datums, 'DeliveryStream:d').RecordSendAttempts, undefined);
    });
  });

  test('cloudwatch.tagInstance: an Instance dimension beside Destination', () => {
    const { metrics, calls, flow } = harness({ instance: 'web-1' });
    flow('s').callEnded(1, undefined, 1);
    metrics.flush();
    assert.deepEqual(calls[0].datums[0].dimensions, [
      { name: 'Destination', value: 'KinesisStream:s' },
      { name: 'Instance', value: 'web-1' },
    ]);
  });

  test('nothing added up: nothing sent', () => {
    const { metrics, calls } = harness();
    metrics.flush();
    assert.equal(calls.length, 0);
  });

  test('at most 20 datums per request, one request at a time, until the queue is empty', async () => {
    const { metrics, calls, flow, maxInFlight } = harness();
    // 9 streams × 5 metrics = 45 datums.
    for (let i = 0; i < 9; i++) {
      const events = flow(`s${i}`);
      events.callEnded(1, undefined, 2);
      events.delivered(1, 10);
      events.recordsRejected('X', 'x', 1, 2);
    }
    metrics.flush();
    assert.equal(calls.length, 1, 'the next request waits for this one');
    calls[0].settle();
    await waitFor(() => calls.length === 2, { timeoutMs: 1000 });
    calls[1].settle();
    await waitFor(() => calls.length === 3, { timeoutMs: 1000 });
    assert.deepEqual(
      calls.map((call) => call.datums.length),
      [MAX_DATUMS_PER_REQUEST, MAX_DATUMS_PER_REQUEST, 5],
    );
    assert.equal(maxInFlight(), 1);
    const sent = calls.flatMap((call) => call.datums.map((datum) => `${datum.name} ${datum.dimensions[0].value}`));
    assert.equal(new Set(sent).size, 45, 'each datum sent once');
    calls[2].settle();
    await settled();
    assert.deepEqual(metrics.stats, { published: 45, failed: 0, dropped: 0 });
  });

  test('at most metricsQueueSize datums wait: the oldest are dropped, counted and said once a minute', async () => {
    const { metrics, calls, flow, warnings, clock } = harness({ queueSize: 10 });
    const round = (tag: string, streams: number) => {
      for (let i = 0; i < streams; i++) flow(`${tag}${i}`).callEnded(1, undefined, 1); // 2 datums each
      metrics.flush();
    };
    round('first', 1); // in flight, and hanging
    round('old', 5);
    round('new', 5); // 20 waiting: the 10 of "old" go
    assert.equal(calls.length, 1);
    assert.equal(metrics.stats.dropped, 10);
    assert.deepEqual(warnings, [
      'CloudWatch: dropped the 10 oldest datums: more than cloudwatch.metricsQueueSize (10) were waiting to be ' +
        'published to http://cloudwatch.test',
    ]);
    round('newer', 2); // 4 more dropped, not said yet
    assert.equal(metrics.stats.dropped, 14);
    assert.equal(warnings.length, 1);
    clock.ms += WARN_INTERVAL_MS;
    round('newest', 1);
    assert.equal(metrics.stats.dropped, 16);
    assert.match(warnings[1], /^CloudWatch: dropped the 6 oldest datums/);

    calls[0].settle();
    await waitFor(() => calls.length === 2, { timeoutMs: 1000 });
    assert.deepEqual(
      [...new Set(calls[1].datums.map((datum) => datum.dimensions[0].value))],
      [
        'KinesisStream:new3',
        'KinesisStream:new4',
        'KinesisStream:newer0',
        'KinesisStream:newer1',
        'KinesisStream:newest0',
      ],
    );
  });

  test('a failed request is not retried; its datums are counted and warned about, at most once a minute', async () => {
    const { metrics, calls, flow, warnings, clock } = harness();
    const events = flow('s');
    const failOnce = async () => {
      events.callEnded(1, undefined, 1);
      metrics.flush();
      calls.at(-1)!.settle(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }));
      await settled();
    };
    await failOnce();
    assert.deepEqual(warnings, [
      'CloudWatch: could not publish 2 datums to http://cloudwatch.test: connect ECONNREFUSED 127.0.0.1:9',
    ]);
    await failOnce();
    assert.equal(warnings.length, 1, 'the second failure within a minute is only counted');
    clock.ms += WARN_INTERVAL_MS;
    await failOnce();
    assert.match(warnings[1], /^CloudWatch: could not publish 4 datums/);
    assert.equal(calls.length, 3, 'one request per flush: none sent again');
    assert.deepEqual(metrics.stats, { published: 0, failed: 6, dropped: 0 });
  });

  test('the timer flushes every bufferTimeMs', async () => {
    const { metrics, calls, flow } = harness({ bufferTimeMs: 20 });
    metrics.start();
    flow('s').callEnded(1, undefined, 1);
    await waitFor(() => calls.length === 1, { timeoutMs: 2000, message: 'a timed flush' });
    calls[0].settle();
    await metrics.stop();
  });

  test('a buffer time longer than a timer can wait is not taken as "at once"', async (t) => {
    const { metrics } = harness({ bufferTimeMs: 2 ** 40 });
    const timers = t.mock.method(globalThis, 'setInterval');
    metrics.start();
    const delay = timers.mock.calls[0].arguments[1] as number;
    // Node fires longer delays after 1 ms, and then every millisecond.
    assert.equal(delay, 2 ** 31 - 1);
    await metrics.stop();
  });

  test('stop() sends what added up since the last flush, and gives up on a hanging call at its deadline', async () => {
    const answered = harness();
    answered.flow('s').callEnded(1, undefined, 1);
    const stopping = answered.metrics.stop();
    assert.equal(answered.calls.length, 1);
    answered.calls[0].settle();
    await stopping;
    assert.equal(answered.metrics.stats.published, 2);
    assert.equal(answered.closed(), 1);

    const hanging = harness();
    hanging.flow('s').callEnded(1, undefined, 1);
    const started = performance.now();
    await hanging.metrics.stop();
    assert.ok(performance.now() - started < 1000, 'stop waits its 50 ms deadline, not for the answer');
    assert.equal(hanging.closed(), 1, 'the connection is closed, ending the call');
    assert.deepEqual(hanging.warnings, ['CloudWatch: gave up publishing 2 datums at shutdown']);
  });
});

const DATUM: MetricDatum = {
  name: 'BytesSent',
  unit: 'Bytes',
  dimensions: [
    { name: 'Destination', value: 'KinesisStream:app events!' },
    { name: 'Instance', value: 'ip-10-0-0-1' },
  ],
  statistics: { sum: 1500, min: 0, max: 1000.5, sampleCount: 3 },
};

describe('PutMetricData form', () => {
  test('Query protocol fields, RFC 3986 encoded, numbered from 1', () => {
    const second: MetricDatum = { ...DATUM, name: 'RecordsSent', unit: 'Count', dimensions: [DATUM.dimensions[0]] };
    assert.equal(
      putMetricDataForm('My/Agent', [DATUM, second]),
      [
        'Action=PutMetricData',
        'Version=2010-08-01',
        'Namespace=My%2FAgent',
        'MetricData.member.1.MetricName=BytesSent',
        'MetricData.member.1.Dimensions.member.1.Name=Destination',
        'MetricData.member.1.Dimensions.member.1.Value=KinesisStream%3Aapp%20events%21',
        'MetricData.member.1.Dimensions.member.2.Name=Instance',
        'MetricData.member.1.Dimensions.member.2.Value=ip-10-0-0-1',
        'MetricData.member.1.Unit=Bytes',
        'MetricData.member.1.StatisticValues.Sum=1500',
        'MetricData.member.1.StatisticValues.Minimum=0',
        'MetricData.member.1.StatisticValues.Maximum=1000.5',
        'MetricData.member.1.StatisticValues.SampleCount=3',
        'MetricData.member.2.MetricName=RecordsSent',
        'MetricData.member.2.Dimensions.member.1.Name=Destination',
        'MetricData.member.2.Dimensions.member.1.Value=KinesisStream%3Aapp%20events%21',
        'MetricData.member.2.Unit=Count',
        'MetricData.member.2.StatisticValues.Sum=1500',
        'MetricData.member.2.StatisticValues.Minimum=0',
        'MetricData.member.2.StatisticValues.Maximum=1000.5',
        'MetricData.member.2.StatisticValues.SampleCount=3',
      ].join('&'),
    );
  });
});

describe('CloudWatchClient', () => {
  const servers: LocalServer[] = [];
  after(() => Promise.all(servers.map((server) => server.stop())));
  const credentials = staticCredentialProvider({ accessKeyId: 'AKIDCLOUDWATCH', secretAccessKey: 'cw-secret' });
  const clientFor = async (requestTimeoutMs = 2000) => {
    const server = await LocalServer.start();
    servers.push(server);
    const client = new CloudWatchClient({
      endpoint: server.origin,
      region: 'eu-west-1',
      credentials,
      requestTimeoutMs,
    });
    return { server, client };
  };

  test('POST / with the form, signed with SigV4 for monitoring', async () => {
    const { server, client } = await clientFor();
    server.handler = (_request, response) => response.writeHead(200).end('<PutMetricDataResponse/>');
    await client.putMetricData('AWSKinesisAgent', [DATUM]);
    await client.destroy();
    const [request] = server.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/');
    assert.equal(request.headers['content-type'], FORM_CONTENT_TYPE);
    assert.equal(request.body.toString(), putMetricDataForm('AWSKinesisAgent', [DATUM]));
    const authorization = parseAuthorization(request.headers.authorization);
    assert.deepEqual(authorization.scope.region + '/' + authorization.scope.service, 'eu-west-1/monitoring');
    assert.equal(request.headers.authorization, expectedAuthorizationFor(request, 'cw-secret'));
  });

  test("an error answer rejects with CloudWatch's code and message", async () => {
    const { server, client } = await clientFor();
    server.handler = (_request, response) =>
      response
        .writeHead(400)
        .end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code>' +
            '<Message>The value for parameter Namespace is invalid.</Message></Error></ErrorResponse>',
        );
    await assert.rejects(client.putMetricData('AWSKinesisAgent', [DATUM]), {
      message: 'InvalidParameterValue (HTTP 400): The value for parameter Namespace is invalid.',
    });
    await client.destroy();
  });

  test('a server that never answers: rejected after requestTimeoutMs', async () => {
    const { server, client } = await clientFor(200);
    server.handler = () => undefined;
    const started = performance.now();
    await assert.rejects(client.putMetricData('AWSKinesisAgent', [DATUM]), { message: 'no answer within 200 ms' });
    assert.ok(performance.now() - started < 2000);
    await client.destroy();
  });
});
