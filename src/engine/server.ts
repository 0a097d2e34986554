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
  stop(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/**
 * The stream engine's HTTP front: HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port, because
 * the AWS CLI speaks the first and @aws-sdk/client-kinesis the second by default.
 */
export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const logger = options.logger ?? silentLogger;
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
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const handler = (req: Request, res: Response) => handleRequest(req, res, kinesis, maxBodyBytes, logger);

  const http1 = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  const h2 = http2.createServer({}, handler);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  for (const server of [http1, h2]) server.on('error', (error) => logger.warn({ err: error }, 'engine connection error'));

  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // The first bytes decide the protocol; they are put back so the chosen server parses them too.
    const route = () => {
      const head: Buffer | null = socket.read();
      if (head === null) {
        socket.once('readable', route);
        return;
      }
      socket.unshift(head);
      const isHttp2 = head.length >= HTTP2_PREFACE.length ? head.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE) : HTTP2_PREFACE.subarray(0, head.length).equals(head);
      (isHttp2 ? h2 : http1).emit('connection', socket);
    };
    socket.once('readable', route);
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
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 200).unref();
      });
      kinesis.close();
      store.close();
    })());

  const displayHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${displayHost}:${port}`, host, port, kinesis, store, stop };
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

function readBody(req: Request, maxBodyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) {
      reject(tooLarge(declared, maxBodyBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.removeAllListeners('data');
        reject(tooLarge(size, maxBodyBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function tooLarge(size: number, limit: number): AwsApiError {
  return new AwsApiError('RequestEntityTooLargeException', `Request body of at least ${size} bytes exceeds the limit of ${limit} bytes.`, 413);
}

async function handleRequest(req: Request, res: Response, kinesis: KinesisEngine, maxBodyBytes: number, logger: Logger): Promise<void> {
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
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (error instanceof AwsApiError) {
        // The rest of an oversized body is not worth reading, and HTTP/1.1 cannot skip it on a
        // kept-alive connection: say the connection closes, so the client opens a new one.
        if (res instanceof http.ServerResponse) {
          sendError(res, error, { connection: 'close' });
          res.on('finish', () => req.socket?.destroy());
        } else {
          sendError(res, error);
          req.resume();
        }
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
