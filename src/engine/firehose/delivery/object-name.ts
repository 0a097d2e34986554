import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CompressionFormat } from '../types.js';

/**
 * The part of an S3 object's key that Firehose makes itself (spec §6.1), after the evaluated prefix:
 * `<DeliveryStreamName>-<VersionId>-<YYYY>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid><extension>`, in UTC.
 */
export interface ObjectNameParts {
  streamName: string;
  versionId: number;
  /** The instant in the name; the pipeline uses the time its batch was cut (kept with the batch). */
  timeMs: number;
  /** From uuidFromSeed, so that a batch redelivered after a crash lands under the same key. */
  uuid: string;
  /** Appended as is: ".gz", a FileExtension, or "" (see fileExtension). */
  extension: string;
}

export function objectKey(evaluatedPrefix: string, parts: ObjectNameParts): string {
  return evaluatedPrefix + objectSuffix(parts);
}

export function objectSuffix({ streamName, versionId, timeMs, uuid, extension }: ObjectNameParts): string {
  const time = new Date(timeMs);
  if (Number.isNaN(time.getTime())) throw new RangeError(`object time ${timeMs} is not a valid instant`);
  const fields = [
    time.getUTCFullYear(),
    time.getUTCMonth() + 1,
    time.getUTCDate(),
    time.getUTCHours(),
    time.getUTCMinutes(),
    time.getUTCSeconds(),
  ].map((value, index) => String(value).padStart(index === 0 ? 4 : 2, '0'));
  return `${streamName}-${versionId}-${fields.join('-')}-${uuid}${extension}`;
}

/** FileExtension when set (even to ""), otherwise what the compression appends: ".gz" for GZIP. */
export function fileExtension(compression: CompressionFormat, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  return compression === 'GZIP' ? '.gz' : '';
}

/**
 * A UUID (36 characters, shaped as version 4 so that tools checking the form accept it) from the
 * SHA-256 of `seed`: the same seed, e.g. a stream name and a batch number, always gives the same name.
 */
export function uuidFromSeed(seed: string): string {
  const bytes = createHash('sha256').update(seed, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const gzipAsync = promisify(gzip);

/** The object's body as stored: compression applies to the whole object (spec §6.2). */
export async function compress(body: Buffer, format: CompressionFormat): Promise<Buffer> {
  switch (format) {
    case 'UNCOMPRESSED':
      return body;
    case 'GZIP':
      // On the thread pool, so that compressing a 128 MiB object does not stall the engine's API.
      return gzipAsync(body);
  }
}
