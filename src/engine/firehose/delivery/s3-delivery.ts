import { createHash } from 'node:crypto';
import type { Logger } from '../../../log.js';
import { errorPrefixTemplate, evaluatePrefix } from '../prefix.js';
import type { BufferedRecord, DeliveryStreamConfig, S3Output } from '../types.js';
import { errorDocuments } from './error-records.js';
import { compress, fileExtension, objectKey, uuidFromSeed } from './object-name.js';
import type { ObjectSink } from './object-sink.js';
import type { FailedRecord, ProcessedRecord } from './processing.js';
import type { DeliveryBatch } from './stream-worker.js';

/** One object to write: its key, and its bytes before compression. */
export interface PlannedObject {
  key: string;
  body: Buffer;
}

/** Firehose keeps retrying S3 for a day; records older than that are given up. */
export const S3_RETENTION_MS = 24 * 60 * 60 * 1000;

export type ErrorOutputType = 'processing-failed' | 'http-endpoint-failed';

/**
 * Names and fills the objects of a batch for an S3 output: one object per partition (one in all
 * without dynamic partitioning), its records concatenated in order, named as Firehose names them.
 * Every name is a function of the batch alone (its seed, cut time and version, kept with it), so
 * a batch delivered again after a crash overwrites what the crash left instead of doubling it.
 */
export function planObjects(
  batch: DeliveryBatch,
  config: DeliveryStreamConfig,
  s3: S3Output,
  records: ProcessedRecord[],
  partitioned: boolean,
): PlannedObject[] {
  const groups = new Map<string, ProcessedRecord[]>();
  for (const processed of records) {
    const group = partitioned ? JSON.stringify(sortedKeys(processed.partitionKeys ?? {})) : '';
    let members = groups.get(group);
    if (members === undefined) groups.set(group, (members = []));
    members.push(processed);
  }
  const objects: PlannedObject[] = [];
  let index = 0;
  for (const members of groups.values()) {
    const seed = `${batch.state.seed}/${index++}`;
    const prefix = evaluatePrefix(s3.prefix, {
      timestampMs: oldestArrival(members.map((member) => member.record)),
      partitionKeys: partitioned ? (members[0].partitionKeys ?? {}) : undefined,
      randomString: seededRandomStrings(seed),
    });
    objects.push({
      key: keyOf(batch, config, s3, prefix, seed),
      body: Buffer.concat(members.map((member) => member.data)),
    });
  }
  return objects;
}

/**
 * The error output object of a batch's failed records: under ErrorOutputPrefix, or without one
 * under `<Prefix><error-output-type>/` and the time, as Firehose places it.
 */
export function planErrorObject(
  batch: DeliveryBatch,
  config: DeliveryStreamConfig,
  s3: S3Output,
  failed: FailedRecord[],
  type: ErrorOutputType,
): PlannedObject | undefined {
  if (failed.length === 0) return undefined;
  const seed = `${batch.state.seed}/${type}`;
  const prefix = evaluatePrefix(errorPrefixTemplate(s3.prefix, s3.errorOutputPrefix), {
    timestampMs: oldestArrival(failed.map((entry) => entry.record)),
    errorOutputType: type,
    randomString: seededRandomStrings(seed),
  });
  const lambdaArn = config.destination.processing.lambda?.lambdaArn;
  return {
    key: keyOf(batch, config, s3, prefix, seed),
    body: errorDocuments(
      failed.map((entry) => ({ ...entry, lambdaArn: type === 'processing-failed' ? lambdaArn : undefined })),
    ),
  };
}

/** Writes planned objects in order, compressed as the output says; throws what the sink threw. */
export async function writeObjects(sink: ObjectSink, s3: S3Output, objects: PlannedObject[]): Promise<void> {
  for (const object of objects) await sink.put(object.key, await compress(object.body, s3.compression));
}

/** Records kept past Firehose's day of retries are given up, loudly, so that one bad bucket cannot hold a stream. */
export function givenUp(batch: DeliveryBatch, now: number, logger: Logger, config: DeliveryStreamConfig): boolean {
  if (now - batch.oldestArrivalMs <= S3_RETENTION_MS) return false;
  logger.error(
    { deliveryStream: config.name, records: batch.recordCount, bytes: batch.bytes, lastError: batch.state.lastError },
    'records dropped: delivery to S3 failed for 24 hours, the longest Firehose keeps trying',
  );
  return true;
}

function keyOf(batch: DeliveryBatch, config: DeliveryStreamConfig, s3: S3Output, prefix: string, seed: string): string {
  return objectKey(prefix, {
    streamName: config.name,
    versionId: batch.state.versionId,
    timeMs: batch.state.cutAtMs,
    uuid: uuidFromSeed(seed),
    extension: fileExtension(s3.compression, s3.fileExtension),
  });
}

function oldestArrival(records: BufferedRecord[]): number {
  let oldest = Infinity;
  for (const record of records) oldest = Math.min(oldest, record.approximateArrivalMs);
  return oldest;
}

function sortedKeys(keys: Record<string, string>): Array<[string, string]> {
  return Object.entries(keys).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const RANDOM_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `!{firehose:random-string}`: 11 characters, new per occurrence, and here the same on every redelivery. */
function seededRandomStrings(seed: string): () => string {
  let occurrence = 0;
  return () => {
    const digest = createHash('sha256').update(`${seed}#${occurrence++}`).digest();
    let text = '';
    for (let index = 0; index < 11; index++) text += RANDOM_ALPHABET[digest[index] % RANDOM_ALPHABET.length];
    return text;
  };
}
