import type http from 'node:http';
import type http2 from 'node:http2';
import { AwsApiError } from '../../client/api-error.js';

/**
 * The deepest legitimate request nests 3 levels (Kinesis PutRecords: body, Records, entry); past this a body
 * is hostile, and JSON.parse of millions of `[` takes seconds and hundreds of MB.
 */
export const MAX_JSON_DEPTH = 64;
/**
 * The largest legitimate request holds about 2,000 values (500 Kinesis PutRecords entries of 3 members);
 * 14 MB of `{},` parses into 4.9 million objects (2.4 s, 400 MB), so breadth is bounded too.
 */
export const MAX_JSON_VALUES = 100_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Strings up to this long are scanned byte by byte: a native search costs more than that to call. */
const SHORT_STRING_BYTES = 48;

/**
 * Tracks nesting depth and the number of values of JSON text as it arrives, outside strings, so an
 * abusive body is refused at its first bytes instead of after a full read and parse. It does not
 * check syntax (JSON.parse does that for bodies it lets through). Long strings (record data) are
 * skipped with native searches, so a PutRecords body costs a fraction of its parse.
 */
export class JsonShapeGuard {
  private depth = 0;
  private values = 0;
  private inString = false;
  /** The previous chunk ended inside a string on a backslash: this chunk's first byte is escaped. */
  private escapePending = false;

  /** `apiName` words the refusal: "no <apiName> request needs that". */
  constructor(private readonly apiName = 'API') {}

  /** Returns an error once the text nests or spreads further than allowed; undefined while it is fine. */
  feed(chunk: Buffer): AwsApiError | undefined {
    const length = chunk.length;
    let i = 0;
    // Searched again only once passed, which keeps the scan linear in a chunk with few backslashes.
    let nextBackslash = -1;
    while (i < length) {
      if (this.inString) {
        if (this.escapePending) {
          this.escapePending = false;
          i++;
          continue;
        }
        let end = i;
        const shortEnd = Math.min(length, i + SHORT_STRING_BYTES);
        while (end < shortEnd && chunk[end] !== QUOTE && chunk[end] !== BACKSLASH) end++;
        if (end === shortEnd && end < length) {
          if (nextBackslash < end) nextBackslash = indexOrEnd(chunk, BACKSLASH, end);
          end = Math.min(indexOrEnd(chunk, QUOTE, end), nextBackslash);
        }
        if (end >= length) return undefined;
        if (chunk[end] === BACKSLASH) this.escapePending = true;
        else this.inString = false;
        i = end + 1;
        continue;
      }
      const byte = chunk[i++];
      if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === 0x5b || byte === 0x7b) {
        // [ {
        if (++this.depth > MAX_JSON_DEPTH) return refused(`nests deeper than ${MAX_JSON_DEPTH} levels`, this.apiName);
        if (++this.values > MAX_JSON_VALUES) return refused(`holds more than ${MAX_JSON_VALUES} values`, this.apiName);
      } else if (byte === 0x5d || byte === 0x7d) {
        // ] }
        this.depth--;
      } else if (byte === 0x2c) {
        // , separates values and members
        if (++this.values > MAX_JSON_VALUES) return refused(`holds more than ${MAX_JSON_VALUES} values`, this.apiName);
      }
    }
    return undefined;
  }
}

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at === -1 ? chunk.length : at;
}

function refused(what: string, apiName: string): AwsApiError {
  return new AwsApiError('SerializationException', `Request body ${what}; no ${apiName} request needs that.`, 400);
}

/** The client went away before its request was complete: nothing to answer, and not an error of ours. */
export class ClientGoneError extends Error {
  constructor() {
    super('client connection ended before the request was complete');
  }
}

export interface ReadBodyOptions {
  maxBodyBytes: number;
  /** From now (the headers are in) until the last byte of the body. */
  timeoutMs: number;
  /** The API the request is for, as the refusal of an abusive JSON shape names it. */
  apiName: string;
}

export function tooLarge(size: number, limit: number): AwsApiError {
  return new AwsApiError(
    'RequestEntityTooLargeException',
    `Request body of at least ${size} bytes exceeds the limit of ${limit} bytes.`,
    413,
  );
}

export function requestTimedOut(timeoutMs: number): AwsApiError {
  return new AwsApiError('RequestTimeoutException', `The request body was not received within ${timeoutMs} ms.`, 408);
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;

/**
 * The request body, or a rejection with an AwsApiError to answer (413 too large, 400 abusive JSON
 * shape, 408 too slow) or a ClientGoneError. After a 400 the rest of the body is still read and
 * dropped, up to the size limit, so the connection stays usable for the client's next request.
 */
export function readBody(req: Request, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBodyBytes } = options;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) {
      reject(tooLarge(declared, maxBodyBytes));
      return;
    }
    const guard = new JsonShapeGuard(options.apiName);
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      chunks.length = 0;
      if (error) reject(error);
      else resolve(body!);
    };
    const timer = setTimeout(() => settle(requestTimedOut(options.timeoutMs)), options.timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.removeListener('data', onData);
        if (settled) req.destroy();
        else settle(tooLarge(size, maxBodyBytes));
        return;
      }
      if (settled) return;
      const shapeError = guard.feed(chunk);
      if (shapeError) settle(shapeError);
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => settle(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    // Whatever the transport says went wrong with an unfinished request, the client is gone.
    req.on('error', () => settle(new ClientGoneError()));
    req.on('close', () => settle(new ClientGoneError()));
  });
}
