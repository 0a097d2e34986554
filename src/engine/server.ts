import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { AwsApiError } from '../client/api-error.js';
import { TARGET_PREFIX } from '../client/json-api-client.js';
import { silentLogger, type Logger } from '../log.js';
import { KinesisEngine } from './kinesis/kinesis-engine.js';
import { KinesisStore } from './kinesis/store.js';
import { serializeOutput } from './kinesis/serialize.js';
import { ConnectionTable, defaultMaxConnections, sniffProtocol, type CapEvent } from './connections.js';
import { IntervalLog, plural } from './interval-log.js';
import { ClientGoneError, readBody } from './request-body.js';

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
  now?: () => number;
  logger?: Logger;
}

export interface RunningEngine {
  url: string;
  host: string;
  port: number;
  kinesis: KinesisEngine;
  store: KinesisStore;
  maxConnections: number;
  stop(): Promise<void>;
}

/**
 * The largest real call is a PutRecords of 10 MiB (streams with MaxRecordSizeInKiB over 1024): 13.4 MiB
 * of base64 plus up to 500 escaped partition keys and the JSON around them. Every other call is smaller.
 */
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
const DEFAULT_IDLE_TIMEOUT_MS = 65_000;
/** RFC 9113 asks for at least 100; a client wanting more parallelism opens another connection. */
const HTTP2_MAX_CONCURRENT_STREAMS = 100;
/** How long an HTTP/2 session closed for idleness may take to say GOAWAY before it is cut. */
const GOAWAY_GRACE_MS = 1_000;
/** How often what clients cause as often as they like (hang-ups, the connection cap) is summed up in the log. */
const CLIENT_EVENT_LOG_INTERVAL_MS = 60_000;

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/**
 * The stream engine's HTTP front: HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port, because
 * the AWS CLI speaks the first and @aws-sdk/client-kinesis the second by default.
 */
export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const logger = options.logger ?? silentLogger;
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  // Checked before the store is opened: Node's HTTP server would throw it later, with the store left open.
  if (headersTimeoutMs > requestTimeoutMs) throw new RangeError(`headersTimeoutMs (${headersTimeoutMs}) must not exceed requestTimeoutMs (${requestTimeoutMs})`);
  const store = new KinesisStore(options.dataDir, { fsync: options.fsync });
  for (const problem of store.problems) logger[problem.level](problem.fields, problem.message);
  let kinesis: KinesisEngine;
  try {
    kinesis = new KinesisEngine({
      store,
      now: options.now,
      statusDelayMs: options.statusDelayMs,
      enforceLimits: options.enforceLimits,
      shardLimit: options.shardLimit,
      region: options.region,
    });
  } catch (error) {
    store.close();
    throw error;
  }
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  const { clientsGone, capLog } = clientEventLogs(logger, CLIENT_EVENT_LOG_INTERVAL_MS, maxConnections);
  const connections = new ConnectionTable(maxConnections, (event) => capLog.add(event));
  const context: RequestContext = {
    kinesis,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    requestTimeoutMs,
    logger,
    onClientGone: () => clientsGone.add('gone'),
  };
  const sessionSockets = new WeakMap<http2.Http2Session, net.Socket>();
  const handler = (req: Request, res: Response) => {
    const socket = req instanceof http.IncomingMessage ? req.socket : req.stream.session && sessionSockets.get(req.stream.session);
    connections.requestStarted(socket);
    res.once('close', () => connections.requestEnded(socket));
    void handleRequest(req, res, context);
  };

  const http1 = http.createServer(
    {
      keepAliveTimeout: idleTimeoutMs,
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
    },
    handler,
  );
  http1.timeout = idleTimeoutMs;
  // Node starts the checker behind headersTimeout and requestTimeout (and the connection list that
  // closeIdleConnections reads) when the server emits 'listening'; this one never listens itself,
  // the sniffing listener hands it its sockets, so it is told it is listening.
  http1.emit('listening');
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS } }, handler);
  h2.setTimeout(idleTimeoutMs);
  h2.on('timeout', (session: http2.ServerHttp2Session) => {
    session.close();
    setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  // The session is created synchronously inside emit('connection'), which is how its socket is known.
  let handingOver: net.Socket | undefined;
  h2.on('session', (session) => {
    sessions.add(session);
    if (handingOver) sessionSockets.set(session, handingOver);
    session.on('close', () => sessions.delete(session));
  });
  for (const server of [http1, h2]) server.on('error', (error) => logger.warn({ err: error }, 'engine connection error'));

  const listener = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    if (!connections.admit(socket)) {
      socket.destroy();
      return;
    }
    sniffProtocol(socket, headersTimeoutMs, (isHttp2) => {
      if (!isHttp2) {
        http1.emit('connection', socket);
        return;
      }
      handingOver = socket;
      try {
        h2.emit('connection', socket);
      } finally {
        handingOver = undefined;
      }
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port ?? 4567, host, () => {
      listener.off('error', reject);
      resolve();
    });
  }).catch(async (error) => {
    store.close();
    throw error;
  });
  const port = (listener.address() as net.AddressInfo).port;
  const sweepTimer = setInterval(() => {
    try {
      const { expiredSegments } = kinesis.sweep();
      if (expiredSegments > 0) logger.info({ expiredSegments }, 'retention removed expired records');
    } catch (error) {
      logger.error({ err: error }, 'retention sweep failed; will retry');
    }
  }, options.retentionSweepMs ?? 60_000);
  sweepTimer.unref();

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(sweepTimer);
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const session of sessions) session.close();
        http1.closeIdleConnections();
        // Requests are answered synchronously once read, so what is left after a moment is idle or stuck.
        setTimeout(() => connections.destroyAll(), 200).unref();
      });
      http1.close();
      clientsGone.flush();
      capLog.flush();
      kinesis.close();
      store.close();
    })());

  const displayHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${displayHost}:${port}`, host, port, kinesis, store, maxConnections, stop };
}

function send(res: Response, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': String(payload.length),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(payload);
}

function sendError(res: Response, error: AwsApiError, headers: Record<string, string> = {}): void {
  send(res, error.status, JSON.stringify({ __type: error.code, message: error.message }), { 'x-amzn-errortype': error.code, ...headers });
}

/** The log lines for what clients cause as often as they like: one at once, then one per interval. */
function clientEventLogs(logger: Logger, intervalMs: number, maxConnections: number) {
  const seconds = (ms: number) => String(Math.round(ms / 100) / 10);
  const clientsGone = new IntervalLog<'gone'>(intervalMs, (counts, periodMs) => {
    const count = counts.get('gone') ?? 0;
    if (periodMs === undefined) {
      logger.info({ count }, `a client connection ended before its request was complete; more such are counted and logged at most every ${seconds(intervalMs)} s`);
    } else {
      logger.info({ count }, `${plural(count, 'client connection', 'client connections')} ended before their request was complete in the last ${seconds(periodMs)} s`);
    }
  });
  const capLog = new IntervalLog<CapEvent>(intervalMs, (counts, periodMs) => {
    const closedIdle = counts.get('closedIdle') ?? 0;
    const refused = counts.get('refused') ?? 0;
    const what = `${plural(closedIdle, 'idle connection', 'idle connections')} closed to make room, ${plural(refused, 'connection', 'connections')} refused because none was idle`;
    logger.warn(
      { maxConnections, closedIdle, refused },
      periodMs === undefined
        ? `connection limit of ${maxConnections} reached: ${what}; logged at most every ${seconds(intervalMs)} s`
        : `connection limit of ${maxConnections} reached in the last ${seconds(periodMs)} s: ${what}`,
    );
  });
  return { clientsGone, capLog };
}

interface RequestContext {
  kinesis: KinesisEngine;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  logger: Logger;
  onClientGone(): void;
}

/**
 * Answers a request whose body is not read to its end (413, 408). HTTP/1.1 cannot skip the rest on a
 * kept-alive connection: say the connection closes, so the client opens a new one. HTTP/2 can: the
 * stream is reset with NO_ERROR after the answer, which tells the client to stop sending (RFC 9113 8.1).
 */
function refuseRest(req: Request, res: Response, error: AwsApiError): void {
  if (res instanceof http.ServerResponse) {
    sendError(res, error, { connection: 'close' });
    res.on('finish', () => req.socket?.destroy());
  } else {
    // Closed at once, not on 'finish': that waits for the client to stop sending, which is the point.
    // The answer is queued before the reset, so it still arrives whole.
    sendError(res, error);
    res.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }
}

async function handleRequest(req: Request, res: Response, context: RequestContext): Promise<void> {
  const { kinesis, logger } = context;
  try {
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/healthz')) {
      send(res, 200, '{"status":"ok"}', { 'content-type': 'application/json' });
      return;
    }
    if (req.method !== 'POST') {
      throw new AwsApiError('AccessDeniedException', 'Unable to determine service/operation name to be authorized', 403);
    }
    let body: Buffer;
    try {
      body = await readBody(req, { maxBodyBytes: context.maxBodyBytes, timeoutMs: context.requestTimeoutMs });
    } catch (error) {
      if (error instanceof ClientGoneError) {
        context.onClientGone();
        return;
      }
      // A 400 (an abusive JSON shape) is answered like any other; readBody drops the rest of the body.
      if (error instanceof AwsApiError && error.status !== 400) {
        refuseRest(req, res, error);
        return;
      }
      throw error;
    }
    const target = req.headers['x-amz-target'];
    if (typeof target !== 'string' || target.length === 0) {
      throw new AwsApiError('UnknownOperationException', 'Missing X-Amz-Target header: expected Kinesis_20131202.<Operation>.', 400);
    }
    const dot = target.indexOf('.');
    const service = dot < 0 ? target : target.slice(0, dot);
    const action = dot < 0 ? '' : target.slice(dot + 1);
    if (service !== TARGET_PREFIX.kinesis || action.length === 0) {
      throw new AwsApiError('UnknownOperationException', `Unknown operation ${target}.`, 400);
    }
    const contentType = String(req.headers['content-type'] ?? '');
    if (contentType.includes('cbor')) {
      throw new AwsApiError(
        'SerializationException',
        'CBOR requests are not supported by this engine; send JSON (AWS SDK for Java: set AWS_CBOR_DISABLE=true for v1 or aws.cborEnabled=false for v2).',
        400,
      );
    }
    if (body.length === 0) throw new AwsApiError('SerializationException', 'Request body is empty; expected a JSON object.', 400);
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new AwsApiError('SerializationException', `Request body is not valid JSON: ${(error as Error).message}`, 400);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new AwsApiError('SerializationException', 'Request body must be a JSON object.', 400);
    }
    const output = kinesis.call(action, input as Record<string, unknown>);
    send(res, 200, serializeOutput(action, output));
  } catch (error) {
    if (error instanceof AwsApiError) {
      sendError(res, error);
      return;
    }
    logger.error({ err: error, target: req.headers['x-amz-target'] }, 'engine request failed');
    sendError(res, new AwsApiError('InternalFailure', `Internal error: ${(error as Error).message}`, 500));
  }
}
