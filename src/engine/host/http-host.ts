import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { AwsApiError } from '../../client/api-error.js';
import type { Logger } from '../../log.js';
import { ConnectionTable, defaultMaxConnections, sniffProtocol, type CapEvent } from './connections.js';
import { IntervalLog, plural } from './interval-log.js';
import { internalFailure, notAnApiCall, parseJsonObject, send, sendError, type Response } from './json-protocol.js';
import { ClientGoneError, readBody } from './request-body.js';
import { ServiceTable, type Service } from './service.js';

export interface HostOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections?: number;
  logger: Logger;
  /** Served on the one port, each under its own target prefix; stopped with the host. */
  services: readonly Service[];
}

export interface RunningHost {
  url: string;
  host: string;
  port: number;
  maxConnections: number;
  stop(): Promise<void>;
}

/** RFC 9113 asks for at least 100; a client wanting more parallelism opens another connection. */
const HTTP2_MAX_CONCURRENT_STREAMS = 100;
/** How long an HTTP/2 session closed for idleness may take to say GOAWAY before it is cut. */
const GOAWAY_GRACE_MS = 1_000;
/** How often what clients cause as often as they like (hang-ups, the connection cap) is summed up in the log. */
const CLIENT_EVENT_LOG_INTERVAL_MS = 60_000;

type Request = http.IncomingMessage | http2.Http2ServerRequest;

/** Node's HTTP server would throw this later; callers check it before opening any storage. */
export function checkTimeouts(headersTimeoutMs: number, requestTimeoutMs: number): void {
  if (headersTimeoutMs > requestTimeoutMs)
    throw new RangeError(
      `headersTimeoutMs (${headersTimeoutMs}) must not exceed requestTimeoutMs (${requestTimeoutMs})`,
    );
}

/**
 * The engine's HTTP front: HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port, because
 * the AWS CLI speaks the first and the AWS SDKs for JavaScript the second by default. Requests go
 * to the service their `X-Amz-Target` names; the services are stopped with the host, and also
 * when it cannot listen.
 */
export async function startHost(options: HostOptions): Promise<RunningHost> {
  try {
    return await serve(options, new ServiceTable(options.services));
  } catch (error) {
    // What could not start is reported, not what the services say while stopping.
    await Promise.allSettled(options.services.map(async (service) => service.stop()));
    throw error;
  }
}

async function serve(options: HostOptions, table: ServiceTable): Promise<RunningHost> {
  const { logger, headersTimeoutMs, requestTimeoutMs, idleTimeoutMs } = options;
  checkTimeouts(headersTimeoutMs, requestTimeoutMs);
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  const { clientsGone, capLog } = clientEventLogs(logger, CLIENT_EVENT_LOG_INTERVAL_MS, maxConnections);
  const connections = new ConnectionTable(maxConnections, (event) => capLog.add(event));
  const context: RequestContext = {
    table,
    maxBodyBytes: options.maxBodyBytes,
    requestTimeoutMs,
    logger,
    onClientGone: () => clientsGone.add('gone'),
  };
  const sessionSockets = new WeakMap<http2.Http2Session, net.Socket>();
  const handler = (req: Request, res: Response) => {
    const socket =
      req instanceof http.IncomingMessage ? req.socket : req.stream.session && sessionSockets.get(req.stream.session);
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
  for (const server of [http1, h2])
    server.on('error', (error) => logger.warn({ err: error }, 'engine connection error'));

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

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port, options.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const port = (listener.address() as net.AddressInfo).port;
  const timers = table.services.flatMap((service) =>
    service.periodic.map((work) => {
      const timer = setInterval(() => {
        try {
          work.run();
        } catch (error) {
          // Each run logs its own failures; this only keeps a stray throw from ending the process.
          logger.error({ err: error, service: service.name }, 'periodic work failed; will retry');
        }
      }, work.intervalMs);
      timer.unref();
      return timer;
    }),
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const timer of timers) clearInterval(timer);
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
      for (const service of table.services) await service.stop();
    })());

  const displayHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${displayHost}:${port}`, host: options.host, port, maxConnections, stop };
}

/** The log lines for what clients cause as often as they like: one at once, then one per interval. */
function clientEventLogs(logger: Logger, intervalMs: number, maxConnections: number) {
  const seconds = (ms: number) => String(Math.round(ms / 100) / 10);
  const clientsGone = new IntervalLog<'gone'>(intervalMs, (counts, periodMs) => {
    const count = counts.get('gone') ?? 0;
    if (periodMs === undefined) {
      logger.info(
        { count },
        `a client connection ended before its request was complete; more such are counted and logged at most ` +
          `every ${seconds(intervalMs)} s`,
      );
    } else {
      logger.info(
        { count },
        `${plural(count, 'client connection', 'client connections')} ended before their request was complete ` +
          `in the last ${seconds(periodMs)} s`,
      );
    }
  });
  const capLog = new IntervalLog<CapEvent>(intervalMs, (counts, periodMs) => {
    const closedIdle = counts.get('closedIdle') ?? 0;
    const refused = counts.get('refused') ?? 0;
    const what =
      `${plural(closedIdle, 'idle connection', 'idle connections')} closed to make room, ` +
      `${plural(refused, 'connection', 'connections')} refused because none was idle`;
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
  table: ServiceTable;
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
  const { table, logger } = context;
  try {
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/healthz')) {
      send(res, 200, '{"status":"ok"}', { 'content-type': 'application/json' });
      return;
    }
    if (req.method !== 'POST') throw notAnApiCall();
    // Known from the headers, but answered after the body: a body too large or too slow is refused first.
    const route = table.route(req.headers['x-amz-target']);
    let body: Buffer;
    try {
      const apiName = 'service' in route ? route.service.name : table.apiNames;
      body = await readBody(req, { maxBodyBytes: context.maxBodyBytes, timeoutMs: context.requestTimeoutMs, apiName });
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
    if ('error' in route) throw route.error;
    const input = parseJsonObject(body, String(req.headers['content-type'] ?? ''));
    const output = route.service.call(route.action, input);
    send(res, 200, route.service.serialize(route.action, output));
  } catch (error) {
    if (error instanceof AwsApiError) {
      sendError(res, error);
      return;
    }
    logger.error({ err: error, target: req.headers['x-amz-target'] }, 'engine request failed');
    sendError(res, internalFailure(error));
  }
}
