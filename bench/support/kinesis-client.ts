/**
 * A deliberately thin Kinesis JSON client for the benchmark: undici Pool with a few keep-alive
 * connections, pre-built request bodies, and string scanning instead of JSON.parse on the big
 * responses, so the client's CPU stays small next to the server's.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';

/** Both APIs of the engine speak the same JSON protocol; only the target prefix differs. */
export const TARGETS = { kinesis: 'Kinesis_20131202.', firehose: 'Firehose_20150804.' } as const;
// kinesalite checks that a SigV4-shaped Authorization header and a date are present (not the
// signature); our engine ignores them. Both servers get the same headers.
const STATIC_HEADERS = {
  'content-type': 'application/x-amz-json-1.1',
  'x-amz-date': '20260101T000000Z',
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/us-east-1/kinesis/aws4_request, ' +
    'SignedHeaders=content-type;host;x-amz-date;x-amz-target, ' +
    'Signature=0000000000000000000000000000000000000000000000000000000000000000',
};

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNREFUSED']);

export interface CallResult {
  status: number;
  /** The raw body; big responses are scanned as bytes, never decoded as a whole. */
  body: Buffer;
}

export class KinesisHttp {
  private readonly pool: Pool;
  /** Requests whose connection was reset and that were sent again. */
  resets = 0;
  /** Requests that failed twice (the retry was reset too, or another error). */
  failedCalls = 0;
  readonly resetErrors: string[] = [];

  constructor(
    readonly url: string,
    connections: number,
    private readonly target: string = TARGETS.kinesis,
  ) {
    this.pool = new Pool(url, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
    });
  }

  /** One POST; a connection reset is retried once (PutRecords may then store a batch twice). */
  async call(operation: string, body: Buffer | string): Promise<CallResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.pool.request({
          path: '/',
          method: 'POST',
          headers: { ...STATIC_HEADERS, 'x-amz-target': this.target + operation },
          body,
        });
        return { status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()) };
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (attempt === 0 && RESET_CODES.has(code)) {
          this.resets++;
          if (this.resetErrors.length < 5) this.resetErrors.push(`${operation}: ${code} ${(error as Error).message}`);
          continue;
        }
        this.failedCalls++;
        throw error;
      }
    }
  }

  /** A control-plane call with a JSON object in and out; non-200 answers throw. */
  async json<T = Record<string, unknown>>(operation: string, input: object): Promise<T> {
    const { status, body } = await this.call(operation, JSON.stringify(input));
    const text = body.toString('utf8');
    if (status !== 200) throw new Error(`${operation} failed with HTTP ${status}: ${text.slice(0, 500)}`);
    return (text.length === 0 ? {} : JSON.parse(text)) as T;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * `distinct` PutRecords bodies of `recordsPerCall` records each, `recordBytes` of random data and a
 * random 24-character partition key per record. Built once; the write loop sends them round-robin.
 */
export function buildPutRecordsBodies(
  streamName: string,
  recordBytes: number,
  recordsPerCall: number,
  distinct: number,
): Buffer[] {
  const bodies: Buffer[] = [];
  for (let b = 0; b < distinct; b++) {
    const data = randomBytes(recordBytes * recordsPerCall);
    const keys = randomBytes(12 * recordsPerCall).toString('hex');
    const records = new Array<string>(recordsPerCall);
    for (let i = 0; i < recordsPerCall; i++) {
      const payload = data.toString('base64', i * recordBytes, (i + 1) * recordBytes);
      records[i] = `{"Data":"${payload}","PartitionKey":"${keys.slice(i * 24, (i + 1) * 24)}"}`;
    }
    bodies.push(Buffer.from(`{"StreamName":${JSON.stringify(streamName)},"Records":[${records.join(',')}]}`, 'utf8'));
  }
  return bodies;
}

/** FailedRecordCount of a PutRecords response; both servers put it first, so the 500 entries are not decoded. */
export function failedRecordCount(body: Buffer): number | undefined {
  const match =
    /"FailedRecordCount":\s*(\d+)/.exec(body.toString('latin1', 0, 64)) ??
    /"FailedRecordCount":\s*(\d+)/.exec(body.toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

export interface RecordsScan {
  count: number;
  /** Decoded data bytes, from the base64 lengths. */
  dataBytes: number;
  /** Records whose data is not exactly the expected size. */
  wrongSize: number;
  lastSequence?: string;
  /** Sequence numbers not strictly greater than the one before (a duplicate or out-of-order record). */
  outOfOrder: number;
}

/** Decimal sequence numbers compare by length, then lexically. */
function sequenceLess(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

const QUOTE = 34;
const EQUALS = 61;
const SEQ = Buffer.from('"SequenceNumber":"');
const DATA = Buffer.from('"Data":"');
const NEXT = Buffer.from('"NextShardIterator":"');
const EMPTY = Buffer.from('"Records":[]');

/** What the read loop needs before the full scan, so it can ask for the next page first. */
export function pageInfo(body: Buffer): { nextShardIterator?: string; empty: boolean; millisBehindLatest?: number } {
  const next = body.lastIndexOf(NEXT);
  let nextShardIterator: string | undefined;
  if (next !== -1) {
    const start = next + NEXT.length;
    nextShardIterator = body.toString('latin1', start, body.indexOf(QUOTE, start));
  }
  const tailStart = body.lastIndexOf('"MillisBehindLatest"');
  const behind =
    tailStart === -1 ? null : /"MillisBehindLatest":\s*(\d+)/.exec(body.toString('latin1', tailStart, tailStart + 40));
  return {
    nextShardIterator,
    empty: body.indexOf(EMPTY) !== -1,
    millisBehindLatest: behind ? Number(behind[1]) : undefined,
  };
}

/**
 * Counts the records of a GetRecords response by scanning its bytes for the fields (their order
 * differs between servers, so sequence numbers and data are scanned separately). `previous` is the
 * last sequence number of the shard's previous page, to check order across pages.
 */
export function scanGetRecords(body: Buffer, expectedDataBytes: number, previous?: string): RecordsScan {
  const scan: RecordsScan = { count: 0, dataBytes: 0, wrongSize: 0, outOfOrder: 0 };
  let last = previous;
  for (let pos = body.indexOf(SEQ); pos !== -1; pos = body.indexOf(SEQ, pos)) {
    const start = pos + SEQ.length;
    const end = body.indexOf(QUOTE, start);
    const sequence = body.toString('latin1', start, end);
    if (last !== undefined && !sequenceLess(last, sequence)) scan.outOfOrder++;
    last = sequence;
    scan.count++;
    pos = end;
  }
  scan.lastSequence = scan.count > 0 ? last : undefined;
  for (let pos = body.indexOf(DATA); pos !== -1; pos = body.indexOf(DATA, pos)) {
    const start = pos + DATA.length;
    const end = body.indexOf(QUOTE, start);
    const padding = (body[end - 1] === EQUALS ? 1 : 0) + (body[end - 2] === EQUALS ? 1 : 0);
    const bytes = ((end - start) / 4) * 3 - padding;
    scan.dataBytes += bytes;
    if (bytes !== expectedDataBytes) scan.wrongSize++;
    pos = end;
  }
  return scan;
}
