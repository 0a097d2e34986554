import { AwsApiError } from '../client/api-error.js';
import { silentLogger, type Logger } from '../log.js';
import type { KinesisStreamLookup } from './firehose/control-plane.js';
import { FirehoseDelivery } from './firehose/delivery/pipeline.js';
import { FirehoseService, type FirehoseServiceOptions } from './firehose/service.js';
import { checkTimeouts, startHost, type RunningHost } from './host/http-host.js';
import { KinesisService } from './kinesis/service.js';
import type { KinesisStore } from './kinesis/store.js';

export interface EngineOptions {
  dataDir: string;
  host?: string;
  /** 0 picks a free port; the chosen one is in RunningEngine.port. */
  port?: number;
  statusDelayMs?: number;
  enforceLimits?: boolean;
  shardLimit?: number;
  region?: string;
  /** fsync every commit (survives power loss), not only process crashes. */
  fsync?: boolean;
  maxBodyBytes?: number;
  /**
   * How long a client has to send a request's headers: from connecting, and on HTTP/1.1 also from
   * the first byte of each later request on a kept-alive connection. Default 60 s (Node's own); at
   * most requestTimeoutMs.
   */
  headersTimeoutMs?: number;
  /** How long a client has to send a whole request, headers and body. Default 300 s (Node's own). */
  requestTimeoutMs?: number;
  /**
   * A connection on which nothing moves for this long is closed: between requests (keep-alive,
   * HTTP/2 sessions, with a GOAWAY) and during one. Default 65 s, above the 60 s after which the AWS
   * SDK for Java closes idle pooled connections itself, so that well-behaved clients close first.
   */
  idleTimeoutMs?: number;
  /** Open connections allowed at once (see ConnectionTable). Default: half the descriptor limit, at most 10,000. */
  maxConnections?: number;
  retentionSweepMs?: number;
  /**
   * The delivery side of Firehose, told as delivery streams start, change and go; by default the
   * engine's own (buffers delivered to directories, S3 and HTTP endpoints).
   */
  firehoseDelivery?: FirehoseServiceOptions['delivery'];
  now?: () => number;
  logger?: Logger;
}

export interface RunningEngine extends RunningHost {
  /** The Kinesis service the host routes to; the in-process client calls it directly. */
  kinesis: KinesisService;
  store: KinesisStore;
  /** The Firehose service on the same port; the in-process client can call it too. */
  firehose: FirehoseService;
}

/**
 * The largest real call is a PutRecords of 10 MiB (streams with MaxRecordSizeInKiB over 1024): 13.4 MiB
 * of base64 plus up to 500 escaped partition keys and the JSON around them. Every other call is smaller.
 */
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
const DEFAULT_IDLE_TIMEOUT_MS = 65_000;

/** The engine: a host on one port with the APIs it serves registered on it: Kinesis Data Streams and Firehose. */
export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const logger = options.logger ?? silentLogger;
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Before any storage is opened, so that nothing is left open or created when it fails.
  checkTimeouts(headersTimeoutMs, requestTimeoutMs);
  const kinesis = new KinesisService({
    dataDir: options.dataDir,
    fsync: options.fsync,
    now: options.now,
    statusDelayMs: options.statusDelayMs,
    enforceLimits: options.enforceLimits,
    shardLimit: options.shardLimit,
    region: options.region,
    retentionSweepMs: options.retentionSweepMs,
    logger,
  });
  let firehose: FirehoseService;
  try {
    firehose = new FirehoseService({
      dataDir: options.dataDir,
      fsync: options.fsync,
      now: options.now,
      statusDelayMs: options.statusDelayMs,
      region: options.region,
      findKinesisStream: kinesisStreamLookup(kinesis),
      delivery:
        options.firehoseDelivery ??
        (({ db, buffer }) => new FirehoseDelivery({ db, buffer, kinesis, logger, now: options.now })),
      logger,
    });
  } catch (error) {
    kinesis.stop();
    throw error;
  }
  const host = await startHost({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 4567,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    headersTimeoutMs,
    requestTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: options.maxConnections,
    logger,
    services: [kinesis, firehose],
  });
  return { ...host, kinesis, store: kinesis.store, firehose };
}

/** Through Kinesis's own API, so a source stream is found exactly as a client would find it. */
function kinesisStreamLookup(kinesis: KinesisService): KinesisStreamLookup {
  return (streamArn) => {
    try {
      const { StreamDescriptionSummary: summary } = kinesis.call('DescribeStreamSummary', { StreamARN: streamArn }) as {
        StreamDescriptionSummary: { StreamName: string; StreamARN: string };
      };
      return { streamName: summary.StreamName, streamArn: summary.StreamARN };
    } catch (error) {
      // Not found, or an ARN Kinesis would not take: either way no stream of this engine.
      if (error instanceof AwsApiError && error.status === 400) return undefined;
      throw error;
    }
  };
}
