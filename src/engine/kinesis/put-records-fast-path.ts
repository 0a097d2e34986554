import { KINESIS_LIMITS } from '../../client/api-limits.js';
import { BlobBytes } from '../../client/blob-bytes.js';
import { MODEL_MAX_RECORD_BYTES } from './models.js';
import { decodeBase64Strict } from '../host/validate.js';

export interface PutRecordsEntry {
  Data: Buffer;
  PartitionKey: string;
  ExplicitHashKey?: string;
}

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const HASH_KEY = /^(0|[1-9]\d{0,38})$/;

/**
 * PutRecords is the hot path: a request that is valid in every member is accepted here in one pass,
 * without the generic model walk. Anything unusual returns undefined, and the generic checks run
 * instead and produce the exact SerializationException or ValidationException; so this never
 * accepts what they would reject, nor words an error differently.
 */
export function acceptValidPutRecords(
  body: Record<string, unknown>,
): { StreamName: string; Records: PutRecordsEntry[] } | undefined {
  const streamName = body.StreamName;
  const records = body.Records;
  if (typeof streamName !== 'string' || !STREAM_NAME.test(streamName)) return undefined;
  // Every other modelled member must be absent, or the generic checks would not have seen it.
  if (body.StreamARN !== undefined && body.StreamARN !== null) return undefined;
  if (body.StreamId !== undefined && body.StreamId !== null) return undefined;
  if (!Array.isArray(records) || records.length < 1 || records.length > KINESIS_LIMITS.maxEntriesPerCall)
    return undefined;
  const accepted = new Array<PutRecordsEntry>(records.length);
  for (let i = 0; i < records.length; i++) {
    const entry = records[i] as Record<string, unknown> | null;
    if (typeof entry !== 'object' || entry === null) return undefined;
    const key = entry.PartitionKey;
    if (typeof key !== 'string' || key.length < 1 || key.length > 256) return undefined;
    const hashKey = entry.ExplicitHashKey;
    if (hashKey !== undefined && hashKey !== null && (typeof hashKey !== 'string' || !HASH_KEY.test(hashKey)))
      return undefined;
    const raw = entry.Data;
    let data: Buffer;
    if (raw instanceof BlobBytes) {
      const bytes = raw.bytes;
      data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } else if (typeof raw === 'string') {
      // Decoding (native) checks base64 faster than any regular expression over the text could.
      try {
        data = decodeBase64Strict(raw);
      } catch {
        return undefined;
      }
    } else {
      return undefined;
    }
    if (data.length > MODEL_MAX_RECORD_BYTES) return undefined;
    accepted[i] =
      typeof hashKey === 'string'
        ? { Data: data, PartitionKey: key, ExplicitHashKey: hashKey }
        : { Data: data, PartitionKey: key };
  }
  return { StreamName: streamName, Records: accepted };
}
