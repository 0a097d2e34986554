import assert from 'node:assert/strict';
import { kinesisRequest, type RawResponse } from './kinesis-http.js';

/** Raw Firehose JSON 1.1 calls over real HTTP: the Kinesis helper with Firehose's target. */
export const FIREHOSE_TARGET = 'Firehose_20150804';

export function firehoseRequest(endpoint: string, action: string, body: unknown): Promise<RawResponse> {
  return kinesisRequest(endpoint, undefined, body, { headers: { 'x-amz-target': `${FIREHOSE_TARGET}.${action}` } });
}

/** A call that must succeed (200); returns the parsed output ({} for empty bodies). */
export async function firehose<T = any>(endpoint: string, action: string, body: unknown): Promise<T> {
  const response = await firehoseRequest(endpoint, action, body);
  assert.equal(
    response.status,
    200,
    `${action} ${JSON.stringify(body).slice(0, 300)} answered ${response.status}: ${response.text}`,
  );
  return (response.json ?? {}) as T;
}
