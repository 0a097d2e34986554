import assert from 'node:assert/strict';

/** Raw Kinesis JSON 1.1 calls over real HTTP, for tests that look at statuses, headers and bodies. */
export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
export const TARGET = 'Kinesis_20131202';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  json: any;
}

export interface RawRequestOptions {
  method?: string;
  /** Sent verbatim; default JSON.stringify(body). */
  rawBody?: string | Buffer;
  /** Overrides and additions; a header set to undefined is left out. */
  headers?: Record<string, string | undefined>;
}

export async function kinesisRequest(
  endpoint: string,
  action: string | undefined,
  body?: unknown,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE };
  if (action !== undefined) headers['x-amz-target'] = `${TARGET}.${action}`;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name.toLowerCase()];
    else headers[name.toLowerCase()] = value;
  }
  const method = options.method ?? 'POST';
  const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  const response = await fetch(endpoint + '/', {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : payload,
  });
  const text = await response.text();
  let json: any;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A call that must succeed (200); returns the parsed output ({} for empty bodies). */
export async function kinesis<T = any>(endpoint: string, action: string, body: unknown): Promise<T> {
  const response = await kinesisRequest(endpoint, action, body);
  assert.equal(
    response.status,
    200,
    `${action} ${JSON.stringify(body).slice(0, 300)} answered ${response.status}: ${response.text}`,
  );
  return (response.json ?? {}) as T;
}

/** Asserts the AWS error shape: status, `__type`, `message`, and the `x-amzn-errortype` header. */
export function assertAwsError(
  response: RawResponse,
  expected: { status?: number; type: string; message?: string | RegExp },
): void {
  const where = `response ${response.status} ${response.text}`;
  assert.equal(response.status, expected.status ?? 400, `status; ${where}`);
  assert.ok(response.json && typeof response.json === 'object', `body must be a JSON object; ${where}`);
  assert.equal(response.json.__type, expected.type, `__type; ${where}`);
  assert.equal(response.headers.get('x-amzn-errortype'), expected.type, `x-amzn-errortype header; ${where}`);
  assert.equal(typeof response.json.message, 'string', `message must be a string; ${where}`);
  if (typeof expected.message === 'string') assert.equal(response.json.message, expected.message, `message; ${where}`);
  else if (expected.message) assert.match(response.json.message, expected.message, `message; ${where}`);
  assert.match(response.headers.get('content-type') ?? '', /application\/x-amz-json-1\.1/, `content-type; ${where}`);
}

export async function expectAwsError(
  endpoint: string,
  action: string | undefined,
  body: unknown,
  expected: { status?: number; type: string; message?: string | RegExp },
  options?: RawRequestOptions,
): Promise<RawResponse> {
  const response = await kinesisRequest(endpoint, action, body, options);
  assertAwsError(response, expected);
  return response;
}

export interface GetRecordsOutput {
  Records: Array<{ SequenceNumber: string; Data: string; PartitionKey: string; ApproximateArrivalTimestamp: number }>;
  NextShardIterator?: string | null;
  MillisBehindLatest: number;
  ChildShards?: Array<{
    ShardId: string;
    ParentShards: string[];
    HashKeyRange: { StartingHashKey: string; EndingHashKey: string };
  }>;
}

/** Reads a shard from an iterator until it is caught up (or closed); returns the records and the last iterator. */
export async function drainShard(
  endpoint: string,
  iterator: string,
  limit = 10_000,
): Promise<{ records: GetRecordsOutput['Records']; nextIterator: string | null | undefined }> {
  const records: GetRecordsOutput['Records'] = [];
  let current: string | null | undefined = iterator;
  for (let calls = 0; current; calls++) {
    assert.ok(calls < 10_000, 'drainShard: too many GetRecords calls');
    const output: GetRecordsOutput = await kinesis<GetRecordsOutput>(endpoint, 'GetRecords', {
      ShardIterator: current,
      Limit: limit,
    });
    records.push(...output.Records);
    if (!output.NextShardIterator) return { records, nextIterator: output.NextShardIterator };
    current = output.NextShardIterator;
    if (output.Records.length === 0 && output.MillisBehindLatest === 0) break;
  }
  return { records, nextIterator: current };
}

export async function readShardFromStart(
  endpoint: string,
  streamName: string,
  shardId: string,
): Promise<GetRecordsOutput['Records']> {
  const { ShardIterator } = await kinesis<{ ShardIterator: string }>(endpoint, 'GetShardIterator', {
    StreamName: streamName,
    ShardId: shardId,
    ShardIteratorType: 'TRIM_HORIZON',
  });
  return (await drainShard(endpoint, ShardIterator)).records;
}
