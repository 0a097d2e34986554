import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AwsApiError } from '../../src/client/api-error.js';

export interface CapturedRequest {
  method: string;
  url: string;
  /** Lower-cased names, values exactly as received. */
  headers: Record<string, string>;
  body: Buffer;
}

export type Handler = (request: CapturedRequest, response: ServerResponse, raw: IncomingMessage) => void;

/** A plain node:http server on 127.0.0.1 that records every request and lets each test script the answer. */
export class LocalServer {
  readonly requests: CapturedRequest[] = [];
  readonly sockets = new Set<Socket>();
  connectionCount = 0;
  handler: Handler = (_request, response) => sendJson(response, 200, {});
  private readonly server: Server;

  private constructor() {
    this.server = createServer((raw, response) => {
      const chunks: Buffer[] = [];
      raw.on('data', (chunk: Buffer) => chunks.push(chunk));
      raw.on('end', () => {
        const headers: Record<string, string> = {};
        for (let i = 0; i < raw.rawHeaders.length; i += 2)
          headers[raw.rawHeaders[i].toLowerCase()] = raw.rawHeaders[i + 1];
        const captured = { method: raw.method ?? '', url: raw.url ?? '', headers, body: Buffer.concat(chunks) };
        this.requests.push(captured);
        this.handler(captured, response, raw);
      });
    });
    this.server.on('connection', (socket) => {
      this.connectionCount++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<LocalServer> {
    const local = new LocalServer();
    await new Promise<void>((resolve) => local.server.listen(0, '127.0.0.1', resolve));
    return local;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** An origin on which nothing listens: a port we bound and released. */
export async function closedPortOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export interface ReferenceSigningInput {
  method: string;
  path: string;
  query?: string;
  /** Lower-cased header names mapped to the values as sent. */
  headers: Record<string, string>;
  signedHeaders: readonly string[];
  body: Buffer | string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
  amzDate: string;
}

/**
 * SigV4 written straight from the specification with node:crypto, sharing no code with
 * @smithy/signature-v4, so agreement between the two means something. Only what our client needs:
 * an already-normalised path and query.
 */
export function referenceSignature(input: ReferenceSigningInput): {
  canonicalRequest: string;
  stringToSign: string;
  authorization: string;
} {
  const names = [...input.signedHeaders].sort();
  const canonicalHeaders = names
    .map((name) => `${name}:${collapseWhitespace(headerValue(input.headers, name))}\n`)
    .join('');
  const canonicalRequest = [
    input.method,
    input.path,
    input.query ?? '',
    canonicalHeaders,
    names.join(';'),
    sha256Hex(input.body),
  ].join('\n');
  const shortDate = input.amzDate.slice(0, 8);
  const scope = `${shortDate}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${input.secretAccessKey}`, shortDate);
  key = hmac(key, input.region);
  key = hmac(key, input.service);
  key = hmac(key, 'aws4_request');
  const signature = hmac(key, stringToSign).toString('hex');
  return {
    canonicalRequest,
    stringToSign,
    authorization:
      `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

export interface ParsedAuthorization {
  accessKeyId: string;
  scope: { date: string; region: string; service: string };
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(header: string): ParsedAuthorization {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      header,
    );
  if (match === null) throw new Error(`not a SigV4 Authorization header: ${header}`);
  return {
    accessKeyId: match[1],
    scope: { date: match[2], region: match[3], service: match[4] },
    signedHeaders: match[5].split(';'),
    signature: match[6],
  };
}

/**
 * Recomputes the signature of a request our server received, from nothing but the bytes on the
 * wire and the secret key, and returns the Authorization header the client should have sent.
 */
export function expectedAuthorizationFor(request: CapturedRequest, secretAccessKey: string): string {
  const parsed = parseAuthorization(request.headers.authorization ?? '');
  const [path, query = ''] = request.url.split('?');
  return referenceSignature({
    method: request.method,
    path,
    query,
    headers: request.headers,
    signedHeaders: parsed.signedHeaders,
    body: request.body,
    accessKeyId: parsed.accessKeyId,
    secretAccessKey,
    region: parsed.scope.region,
    service: parsed.scope.service,
    amzDate: headerValue(request.headers, 'x-amz-date'),
  }).authorization;
}

/** Runs `body` with environment variables set (undefined = removed), restoring the previous values afterwards. */
export async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(vars)) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await body();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function headerValue(headers: Record<string, string>, name: string): string {
  const value = headers[name];
  if (value === undefined) throw new Error(`header ${name} is listed as signed but was not sent`);
  return value;
}

function collapseWhitespace(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The AwsApiError a call fails with; fails the test if it succeeds or throws something else. */
export async function rejection(promise: Promise<unknown>): Promise<AwsApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AwsApiError, `expected AwsApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}
