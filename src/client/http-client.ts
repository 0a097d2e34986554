import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Pool } from 'undici';
import { AwsApiError, bareErrorCode, describeCause, errorCode } from './api-error.js';
import { REDACTED, type CredentialProvider } from './credentials.js';
import { normalizeEndpointUrl } from './endpoint.js';
import { TARGET_PREFIX, type AwsService, type JsonApiClient } from './json-api-client.js';

export interface HttpJsonApiClientOptions {
  service: AwsService;
  /** Origin URL, e.g. from resolveEndpoint(); every call is `POST /` on it. */
  endpoint: string;
  /** SigV4 signing region. */
  region: string;
  credentials: CredentialProvider;
  /** Keep-alive connections to the endpoint (one request in flight on each). */
  connections?: number;
  /**
   * Whole-call deadline: connect, send, and read the full response. Fetching credentials is bounded
   * by the provider instead (IMDS and STS have their own timeouts), so a slow STS is not misreported
   * as a Kinesis timeout.
   */
  requestTimeoutMs?: number;
  userAgent?: string;
  /** Signing time; tests pin it to reproduce signatures byte for byte. */
  clock?: () => Date;
}

export const DEFAULT_CONNECTIONS = 8;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * AWS JSON 1.1 over HTTP/1.1 keep-alive, SigV4-signed: talks to Kinesis, Firehose, and anything
 * that speaks their protocol (our engine, kinesalite, LocalStack).
 */
export class HttpJsonApiClient implements JsonApiClient {
  readonly service: AwsService;
  readonly endpoint: string;
  readonly region: string;
  private readonly hostHeader: string;
  private readonly targetPrefix: string;
  private readonly userAgent: string;
  private readonly requestTimeoutMs: number;
  private readonly clock: () => Date;
  private readonly signer: SignatureV4;
  private readonly signingTarget: { protocol: string; hostname: string; port?: number };
  private readonly pool: Pool;
  private closed: Promise<void> | undefined;

  constructor(options: HttpJsonApiClientOptions) {
    const url = normalizeEndpointUrl(options.endpoint, 'endpoint');
    const connections = options.connections ?? DEFAULT_CONNECTIONS;
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!Number.isInteger(connections) || connections < 1)
      throw new Error(`connections must be a positive integer, got ${connections}`);
    if (!(requestTimeoutMs >= 0))
      throw new Error(`requestTimeoutMs must be 0 (no deadline) or more, got ${requestTimeoutMs}`);
    if (options.region.trim() === '') throw new Error('region must not be empty (it is part of the SigV4 signature)');

    this.service = options.service;
    this.endpoint = url.origin;
    this.region = options.region;
    this.hostHeader = url.host;
    this.targetPrefix = `${TARGET_PREFIX[options.service]}.`;
    this.userAgent = options.userAgent ?? `shardtail node/${process.versions.node}`;
    this.requestTimeoutMs = requestTimeoutMs;
    this.clock = options.clock ?? (() => new Date());
    this.signingTarget = {
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
    };
    this.signer = new SignatureV4({
      service: options.service,
      region: options.region,
      credentials: options.credentials,
      sha256: NodeSha256,
      // JSON protocols do not send x-amz-content-sha256; the payload hash is only part of the signature.
      applyChecksum: false,
    });
    // 0 is the Java agent's socketTimeoutMillis for "wait as long as it takes": undici's own
    // header and body timeouts (300 s) are lifted too.
    this.pool = new Pool(url.origin, {
      connections,
      pipelining: 1,
      ...(requestTimeoutMs === 0 ? { headersTimeout: 0, bodyTimeout: 0 } : {}),
    });
  }

  async call<T = unknown>(action: string, input: object): Promise<T> {
    if (this.closed !== undefined) {
      throw new AwsApiError('ClientClosed', `${this.describe(action)}: the client is closed`, 0, { retryable: false });
    }
    // One UTF-8 encoding, shared by the payload hash and the socket write.
    const body = Buffer.from(JSON.stringify(input), 'utf8');
    const headers = await this.signedHeaders(action, body);

    const deadline = new AbortController();
    // Timers take at most 2^31 - 1 ms; a longer one would fire at once.
    const timer =
      this.requestTimeoutMs > 0
        ? setTimeout(() => deadline.abort(), Math.min(this.requestTimeoutMs, MAX_TIMER_MS))
        : undefined;
    timer?.unref();
    try {
      const response = await this.pool.request({ path: '/', method: 'POST', headers, body, signal: deadline.signal });
      const text = await response.body.text();
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return this.parseSuccess(action, response.statusCode, text) as T;
      }
      throw this.responseError(action, response.statusCode, response.headers, text, headers);
    } catch (error) {
      if (error instanceof AwsApiError) throw error;
      throw this.transportError(action, error, deadline.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for in-flight calls, then closes every connection; later calls fail with ClientClosed. */
  async close(): Promise<void> {
    this.closed ??= this.pool.close();
    await this.closed;
  }

  private async signedHeaders(action: string, body: Buffer): Promise<Record<string, string>> {
    const request = {
      ...this.signingTarget,
      method: 'POST',
      path: '/',
      query: {},
      headers: {
        host: this.hostHeader,
        'content-type': JSON_CONTENT_TYPE,
        'x-amz-target': this.targetPrefix + action,
        // SigV4 never signs user-agent, so it can sit here without affecting the signature.
        'user-agent': this.userAgent,
      },
      body,
    };
    try {
      const signed = await this.signer.sign(request, { signingDate: this.clock() });
      return signed.headers;
    } catch (error) {
      // The signer's only failure mode is the credential provider (chain exhausted, STS/IMDS down).
      throw new AwsApiError(
        'CredentialsError',
        `${this.describe(action)}: could not get AWS credentials: ${describeCause(error)}`,
        0,
        {
          retryable: true,
          cause: error,
        },
      );
    }
  }

  private parseSuccess(action: string, status: number, text: string): unknown {
    if (text.length === 0) return {};
    try {
      return JSON.parse(text);
    } catch (error) {
      // Usually a proxy or captive portal answering 200; the call may not have reached the service.
      throw new AwsApiError(
        'InvalidResponse',
        `${this.describe(action)}: HTTP ${status} response is not JSON: ${snippet(text)}`,
        status,
        {
          retryable: true,
          cause: error,
        },
      );
    }
  }

  private responseError(
    action: string,
    status: number,
    responseHeaders: Record<string, string | string[] | undefined>,
    text: string,
    requestHeaders: Record<string, string>,
  ): AwsApiError {
    const requestId =
      firstHeader(responseHeaders, 'x-amzn-requestid') ?? firstHeader(responseHeaders, 'x-amz-request-id');
    const parsed = parseObject(text);
    const type = firstHeader(responseHeaders, 'x-amzn-errortype') ?? stringMember(parsed, '__type');
    if (type !== undefined && bareErrorCode(type) !== '') {
      const code = bareErrorCode(type);
      const message = stringMember(parsed, 'message') ?? stringMember(parsed, 'Message') ?? `${code} (HTTP ${status})`;
      return new AwsApiError(code, redactEchoedCredentials(message, requestHeaders), status, { requestId });
    }
    const detail = text.length === 0 ? 'empty body' : snippet(text);
    const message = `${this.describe(action)}: HTTP ${status} without an AWS error code: ${detail}`;
    return new AwsApiError('HttpError', redactEchoedCredentials(message, requestHeaders), status, { requestId });
  }

  private transportError(action: string, error: unknown, deadlinePassed: boolean): AwsApiError {
    const code = errorCode(error);
    if (this.closed !== undefined && (code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED')) {
      return new AwsApiError(
        'ClientClosed',
        `${this.describe(action)}: the client was closed while the call was being prepared`,
        0,
        { retryable: false, cause: error },
      );
    }
    if (deadlinePassed || (code !== undefined && TIMEOUT_CODES.has(code))) {
      const message = deadlinePassed
        ? `${this.describe(action)}: no complete response within ${this.requestTimeoutMs} ms`
        : `${this.describe(action)}: timed out (${describeCause(error)})`;
      return new AwsApiError('RequestTimeout', message, 0, { retryable: true, cause: error });
    }
    if (code !== undefined && REQUEST_BUG_CODES.has(code)) {
      return new AwsApiError(
        'InvalidRequest',
        `${this.describe(action)}: request rejected before sending: ${describeCause(error)}`,
        0,
        {
          retryable: false,
          cause: error,
        },
      );
    }
    return new AwsApiError('NetworkError', `${this.describe(action)}: ${describeCause(error)}`, 0, {
      retryable: true,
      cause: error,
    });
  }

  private describe(action: string): string {
    return `${this.service} ${action} at ${this.endpoint}`;
  }
}

/**
 * SHA-256 and HMAC-SHA256 for SignatureV4, on node:crypto. @aws-crypto/sha256-js is plain
 * JavaScript: about 1.7 ms per 100 KB body, so 1000 PutRecords/s would need more than a whole
 * core just to hash payloads; OpenSSL takes about 0.08 ms. Same interface, same digests.
 */
export class NodeSha256 {
  private readonly key: string | Uint8Array | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.key =
      secret === undefined || typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
          : new Uint8Array(secret);
    this.hash = this.start();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }

  reset(): void {
    this.hash = this.start();
  }

  private start(): Hash | Hmac {
    return this.key === undefined ? createHash('sha256') : createHmac('sha256', this.key);
  }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
/** Retrying these cannot help: the request itself is malformed (e.g. a control character in a header). */
const REQUEST_BUG_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_INVALID_CHAR',
]);

/**
 * Some servers quote the request back (kinesalite's IncompleteSignatureException includes the whole
 * Authorization header). The secret key never travels, but the access key id and session token do.
 */
export function redactEchoedCredentials(message: string, requestHeaders: Record<string, string>): string {
  let redacted = message;
  const accessKeyId = /Credential=([^/,\s]+)\//.exec(requestHeaders.authorization ?? '')?.[1];
  for (const secret of [requestHeaders['x-amz-security-token'], accessKeyId]) {
    if (secret !== undefined && secret !== '') redacted = redacted.split(secret).join(REDACTED);
  }
  return redacted;
}

function firstHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function parseObject(text: string): Record<string, unknown> | undefined {
  if (text.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function stringMember(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' ? value : undefined;
}

export function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > 200 ? `${flat.slice(0, 200)}…` : flat);
}
