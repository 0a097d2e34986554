import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Agent, request } from 'undici';
import { describeCause, errorCode } from '../../../client/api-error.js';
import { parseObject } from '../../../client/http-client.js';
import type { HttpEndpointOutput } from '../types.js';

/** The endpoint has this long to answer an attempt completely (spec §8.2). */
export const RESPONSE_TIMEOUT_MS = 3 * 60_000;
/** A longer answer is a failure (spec §8.3). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The codes Firehose logs and writes into error records for HTTP endpoint failures (spec §8.4). */
export type HttpEndpointErrorCode =
  | 'HttpEndpoint.DestinationException'
  | 'HttpEndpoint.ConnectionFailed'
  | 'HttpEndpoint.ConnectionReset'
  | 'HttpEndpoint.RequestTimeout'
  | 'HttpEndpoint.InvalidResponseFromDestination'
  | 'HttpEndpoint.ResponseTooLarge';

export interface AttemptFailure {
  /** True for 413: retrying the same batch cannot succeed, and Firehose does not back it up. */
  permanent: boolean;
  errorCode: HttpEndpointErrorCode;
  /** The endpoint's own errorMessage when it gave one (copied into the error record), else ours. */
  errorMessage: string;
}

export type AttemptOutcome = { delivered: true } | ({ delivered: false } & AttemptFailure);

export type HttpEndpointSettings = Pick<
  HttpEndpointOutput,
  'url' | 'accessKey' | 'contentEncoding' | 'commonAttributes'
>;

export interface HttpEndpointOptions {
  /** The delivery stream's ARN, sent as X-Amz-Firehose-Source-Arn. */
  sourceArn: string;
  responseTimeoutMs?: number;
  /** For the body's timestamp. */
  now?: () => number;
}

const gzipAsync = promisify(gzip);

/** One delivery attempt after another to an HTTP endpoint, as Firehose makes them (spec §8.2, §8.3). */
export class HttpEndpointClient {
  private readonly agent = new Agent();
  private readonly responseTimeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly endpoint: HttpEndpointSettings,
    private readonly options: HttpEndpointOptions,
  ) {
    this.responseTimeoutMs = options.responseTimeoutMs ?? RESPONSE_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
  }

  /** POSTs the records once; never throws for what the endpoint or the network does. */
  async attempt(requestId: string, records: readonly Buffer[]): Promise<AttemptOutcome> {
    const json = requestBody(requestId, this.now(), records);
    const gzipped = this.endpoint.contentEncoding === 'GZIP';
    const body = gzipped ? await gzipAsync(json) : json;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.responseTimeoutMs);
    try {
      const response = await request(this.endpoint.url, {
        method: 'POST',
        headers: this.headers(requestId, gzipped),
        body,
        dispatcher: this.agent,
        signal: deadline.signal,
      });
      const declared = Number(response.headers['content-length']);
      if (declared > MAX_RESPONSE_BYTES) {
        response.body.destroy();
        return tooLarge();
      }
      const answer = await readLimited(response.body);
      if (answer === undefined) return tooLarge();
      return judgeResponse(requestId, response.statusCode, answer);
    } catch (error) {
      return transportFailure(error, deadline.signal.aborted, this.responseTimeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Ends attempts in flight at once instead of waiting up to the response timeout for them: the
   * batch stays in the buffer and is sent again, with the same request id, after the restart.
   */
  async close(): Promise<void> {
    await this.agent.destroy();
  }

  private headers(requestId: string, gzipped: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amz-firehose-protocol-version': '1.0',
      'x-amz-firehose-request-id': requestId,
      'x-amz-firehose-source-arn': this.options.sourceArn,
    };
    if (gzipped) headers['content-encoding'] = 'gzip';
    if (this.endpoint.accessKey !== undefined) headers['x-amz-firehose-access-key'] = this.endpoint.accessKey;
    if (Object.keys(this.endpoint.commonAttributes).length > 0) {
      headers['x-amz-firehose-common-attributes'] = JSON.stringify({
        commonAttributes: this.endpoint.commonAttributes,
      });
    }
    return headers;
  }
}

/** `{"requestId","timestamp","records":[{"data"}]}`, written piece by piece: a batch may be 64 MiB. */
export function requestBody(requestId: string, timestampMs: number, records: readonly Buffer[]): Buffer {
  const pieces: Buffer[] = [
    Buffer.from(`{"requestId":${JSON.stringify(requestId)},"timestamp":${timestampMs},"records":[`),
  ];
  records.forEach((record, index) => {
    pieces.push(Buffer.from(`${index === 0 ? '' : ','}{"data":"${record.toString('base64')}"}`));
  });
  pieces.push(Buffer.from(']}'));
  return Buffer.concat(pieces);
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.length;
    // Leaving the loop early destroys the stream, and with it the connection.
    if (length > MAX_RESPONSE_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function judgeResponse(requestId: string, status: number, answer: Buffer): AttemptOutcome {
  const parsed = parseObject(answer.toString('utf8'));
  const endpointMessage = typeof parsed?.errorMessage === 'string' ? parsed.errorMessage : undefined;
  if (status !== 200) {
    const what = status === 413 ? 'HTTP 413 (the request is too large for the endpoint)' : `HTTP ${status}`;
    return failure(
      'HttpEndpoint.DestinationException',
      endpointMessage ?? `the endpoint answered ${what}${snippet(answer)}`,
      status === 413,
    );
  }
  if (parsed === undefined) {
    return failure('HttpEndpoint.InvalidResponseFromDestination', `HTTP 200 without a JSON object${snippet(answer)}`);
  }
  if (parsed.requestId !== requestId) {
    return failure(
      'HttpEndpoint.InvalidResponseFromDestination',
      `HTTP 200 whose requestId ${JSON.stringify(parsed.requestId)} is not the request's ${JSON.stringify(requestId)}`,
    );
  }
  return { delivered: true };
}

const CONNECTION_FAILED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const CONNECTION_RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function transportFailure(error: unknown, deadlinePassed: boolean, timeoutMs: number): AttemptOutcome {
  if (deadlinePassed) return failure('HttpEndpoint.RequestTimeout', `no complete response within ${timeoutMs} ms`);
  const code = errorCode(error);
  const detail = describeCause(error);
  if (code !== undefined && TIMED_OUT.has(code)) return failure('HttpEndpoint.RequestTimeout', detail);
  if (code !== undefined && CONNECTION_FAILED.has(code)) {
    return failure('HttpEndpoint.ConnectionFailed', `cannot connect to the endpoint: ${detail}`);
  }
  if (code !== undefined && CONNECTION_RESET.has(code)) {
    return failure('HttpEndpoint.ConnectionReset', `the endpoint closed the connection: ${detail}`);
  }
  // Whatever else (a malformed answer undici refused, a bad URL) is still the destination's problem to fix.
  return failure('HttpEndpoint.DestinationException', detail);
}

function failure(errorCode: HttpEndpointErrorCode, errorMessage: string, permanent = false): AttemptOutcome {
  return { delivered: false, permanent, errorCode, errorMessage };
}

function tooLarge(): AttemptOutcome {
  return failure('HttpEndpoint.ResponseTooLarge', `the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
}

function snippet(answer: Buffer): string {
  if (answer.length === 0) return ' (empty body)';
  const text = answer.toString('utf8', 0, Math.min(answer.length, 400)).replace(/\s+/g, ' ').trim();
  return `: ${JSON.stringify(answer.length > 400 ? `${text}…` : text)}`;
}
