import os from 'node:os';
import { resolveCloudWatchEndpoint } from '../client/endpoint.js';
import { describeCause } from '../client/api-error.js';
import { metricsOffNote } from '../config/embedded-engine.js';
import type { AgentConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { MetricDatum } from './cloudwatch-client.js';
import type { AgentEvents, AgentObserver, DestinationName } from './events.js';
import { someEvents } from './fan-out.js';

/** The Java agent's limit (the API's until 2020; more would also make one failure lose more). */
export const MAX_DATUMS_PER_REQUEST = 20;
/** A failing CloudWatch is said so once a minute, with the datums lost meanwhile. */
export const WARN_INTERVAL_MS = 60_000;
/** Metrics are not worth holding up shutdown or a batch of datums for long. */
const REQUEST_TIMEOUT_MS = 5_000;
const STOP_DEADLINE_MS = 2_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

type MetricName = 'RecordSendAttempts' | 'RecordsSent' | 'RecordSendErrors' | 'BytesSent' | 'ServiceErrors';
type MetricsLogger = Pick<Logger, 'debug' | 'info' | 'warn'>;

export interface CloudWatchMetricsOptions {
  namespace: string;
  /** The `Instance` dimension's value (cloudwatch.tagInstance), or none. */
  instance: string | undefined;
  /** cloudwatch.metricsBufferTimeMillis: how long values add up before they are queued and sent. */
  bufferTimeMs: number;
  /** cloudwatch.metricsQueueSize: datums waiting to be sent; beyond it the oldest are dropped. */
  queueSize: number;
  /** One PutMetricData call; rejects when it failed. Never more than one at a time. */
  send: (namespace: string, datums: MetricDatum[]) => Promise<void>;
  /** Closes the connection at stop, ending a call still in flight when the deadline passed. */
  close?: () => Promise<void>;
  logger: MetricsLogger;
  /** Where the datums go, for the logs. */
  target: string;
  now?: () => number;
  stopDeadlineMs?: number;
}

/**
 * The Java agent's CloudWatch metrics, fed by the agent's events: per call, each metric's value is
 * added to a statistic set (sum, min, max, sample count) per metric and dimensions; every
 * bufferTimeMs the sets are queued, and sent 20 to a request, one request at a time, never
 * retried. Shipping never waits for any of it: events only add numbers, and a send that fails or
 * hangs costs datums, not lines.
 */
export class CloudWatchMetrics {
  private accumulated = new Map<string, MetricDatum>();
  private readonly queue: MetricDatum[] = [];
  private sending: Promise<void> | undefined;
  private sendingDatums = 0;
  private timer: NodeJS.Timeout | undefined;
  private abandoned = false;
  private readonly warnings = new Map<'publish' | 'drop', { lastMs: number; datums: number }>();
  /** Datums by outcome, since start. */
  readonly stats = { published: 0, failed: 0, dropped: 0 };

  constructor(private readonly options: CloudWatchMetricsOptions) {}

  start(): void {
    // Timers take at most 2^31 - 1 ms; a longer one would fire at once, and again every millisecond.
    this.timer = setInterval(() => this.flush(), Math.min(this.options.bufferTimeMs, MAX_TIMER_MS));
    this.timer.unref();
  }

  /** The events that feed these metrics; give it to the Agent beside logging. */
  observer(): AgentObserver {
    return Object.assign(someEvents({}), { forFlow: (_flow: string, to: DestinationName) => this.flowEvents(to) });
  }

  private flowEvents(destination: DestinationName): AgentEvents {
    const dimensions = [
      { name: 'Destination', value: destinationDimension(destination) },
      ...(this.options.instance === undefined ? [] : [{ name: 'Instance', value: this.options.instance }]),
    ];
    const add = (name: MetricName, value: number, unit: MetricDatum['unit'] = 'Count') =>
      this.add(name, unit, dimensions, value);
    // A call that answered with refused records gives RecordsSent/BytesSent and RecordSendErrors only
    // for what it had (the Java agent also adds 0s): the sums are the same, the sample counts lower.
    return someEvents({
      callEnded: (_durationMs: number, code: string | undefined, records: number) => {
        add('RecordSendAttempts', records);
        add('ServiceErrors', code === undefined ? 0 : 1);
      },
      delivered: (records: number, bytes: number) => {
        add('RecordsSent', records);
        add('BytesSent', bytes, 'Bytes');
      },
      recordsRejected: (_code: string, _message: string, failed: number) => add('RecordSendErrors', failed),
    });
  }

  private add(name: MetricName, unit: MetricDatum['unit'], dimensions: MetricDatum['dimensions'], value: number) {
    const key = [name, ...dimensions.map((dimension) => dimension.value)].join('\0');
    const datum = this.accumulated.get(key);
    if (datum === undefined) {
      const statistics = { sum: value, min: value, max: value, sampleCount: 1 };
      this.accumulated.set(key, { name, unit, dimensions, statistics });
      return;
    }
    const statistics = datum.statistics;
    statistics.sum += value;
    statistics.min = Math.min(statistics.min, value);
    statistics.max = Math.max(statistics.max, value);
    statistics.sampleCount++;
  }

  /** Queues what has added up and sends it (the timer calls this every bufferTimeMs). */
  flush(): void {
    this.queue.push(...this.accumulated.values());
    this.accumulated = new Map();
    const excess = this.queue.length - this.options.queueSize;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.stats.dropped += excess;
      this.warn(
        'drop',
        excess,
        (datums) =>
          `CloudWatch: dropped the ${datums} oldest datums: more than cloudwatch.metricsQueueSize ` +
          `(${this.options.queueSize}) were waiting to be published to ${this.options.target}`,
      );
    }
    this.pump();
  }

  private pump(): void {
    if (this.sending !== undefined || this.queue.length === 0 || this.abandoned) return;
    const datums = this.queue.splice(0, MAX_DATUMS_PER_REQUEST);
    this.sendingDatums = datums.length;
    this.sending = this.publish(datums).finally(() => {
      this.sending = undefined;
      this.sendingDatums = 0;
      this.pump();
    });
  }

  private async publish(datums: MetricDatum[]): Promise<void> {
    try {
      await this.options.send(this.options.namespace, datums);
      this.stats.published += datums.length;
      this.options.logger.debug({ datums: datums.length }, `CloudWatch: published ${datums.length} datums`);
    } catch (error) {
      this.stats.failed += datums.length;
      this.warn(
        'publish',
        datums.length,
        (count) => `CloudWatch: could not publish ${count} datums to ${this.options.target}: ${describeCause(error)}`,
      );
    }
  }

  /** At most one warning of a kind per WARN_INTERVAL_MS; it counts the datums since the last one. */
  private warn(kind: 'publish' | 'drop', datums: number, message: (datums: number) => string): void {
    const now = (this.options.now ?? Date.now)();
    const state = this.warnings.get(kind) ?? { lastMs: -Infinity, datums: 0 };
    state.datums += datums;
    this.warnings.set(kind, state);
    if (now - state.lastMs < WARN_INTERVAL_MS) return;
    this.options.logger.warn({ datums: state.datums }, message(state.datums));
    state.lastMs = now;
    state.datums = 0;
  }

  /**
   * Sends what is left, for at most stopDeadlineMs (2 s), then gives up on the rest. Call it after
   * the agent stopped, so that the last calls' values are in.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      deadline = setTimeout(() => resolve(true), this.options.stopDeadlineMs ?? STOP_DEADLINE_MS);
    });
    const drained = (async () => {
      while (this.sending !== undefined) await this.sending;
      return false as const;
    })();
    const gaveUp = await Promise.race([drained, timedOut]);
    clearTimeout(deadline);
    if (gaveUp) {
      this.abandoned = true;
      const left = this.queue.length + this.sendingDatums;
      this.queue.length = 0;
      this.options.logger.warn({ datums: left }, `CloudWatch: gave up publishing ${left} datums at shutdown`);
    }
    await this.options.close?.();
  }
}

/** The Java agent's `Destination` dimension. */
function destinationDimension(destination: DestinationName): string {
  return `${destination.service === 'kinesis' ? 'KinesisStream' : 'DeliveryStream'}:${destination.streamName}`;
}

/**
 * The metrics agent.json asks for, sending from now on; undefined when they are off (said in a
 * line when only because of the embedded engine). A problem here turns metrics off, never the agent.
 */
export async function startCloudWatchMetrics(
  config: AgentConfig,
  logger: Logger,
): Promise<CloudWatchMetrics | undefined> {
  const offNote = metricsOffNote(config);
  if (offNote !== undefined) logger.info(offNote);
  if (!config.cloudwatch.emitMetrics) return undefined;
  const { cloudwatch } = config;
  try {
    const { endpoint, region } = resolveCloudWatchEndpoint(config);
    const { agentCredentialProvider } = await import('../client/credentials.js');
    const { CloudWatchClient } = await import('./cloudwatch-client.js');
    const client = new CloudWatchClient({
      endpoint,
      region,
      credentials: agentCredentialProvider(config, region),
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    const metrics = new CloudWatchMetrics({
      namespace: cloudwatch.namespace,
      instance: cloudwatch.tagInstance ? os.hostname() : undefined,
      bufferTimeMs: cloudwatch.metricsBufferTimeMillis,
      queueSize: cloudwatch.metricsQueueSize,
      send: (namespace, datums) => client.putMetricData(namespace, datums),
      close: () => client.destroy(),
      logger,
      target: endpoint,
    });
    metrics.start();
    logger.info(
      { endpoint, region, namespace: cloudwatch.namespace, everyMs: cloudwatch.metricsBufferTimeMillis },
      'CloudWatch metrics on',
    );
    return metrics;
  } catch (error) {
    logger.warn({ err: error }, `CloudWatch metrics off: ${describeCause(error)}`);
    return undefined;
  }
}
