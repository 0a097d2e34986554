import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from './cli-process.js';
import { startEngineProcess, type EngineProcess, type StartEngineProcessOptions } from './engine-process.js';
import { firehose } from './firehose-http.js';
import { S3RVER_CREDENTIALS } from './s3-server.js';
import { waitFor } from './wait.js';

/**
 * Helpers for the process-level Firehose delivery tests (test/engine/firehose-delivery*.test.ts):
 * delivery streams made with raw requests (the SDK drops our Shardtail* members), and what landed
 * in a directory standing in for a bucket.
 */

export const ACCOUNT = '000000000000';
export const ROLE = `arn:aws:iam::${ACCOUNT}:role/firehose`;
export const FUNCTIONS_DIR = fileURLToPath(new URL('../fixtures/functions/', import.meta.url));

/** `<Prefix>YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>` with the default prefix. */
export function objectNamePattern(stream: string, extension = ''): RegExp {
  const escaped = extension.replace(/\./g, '\\.');
  return new RegExp(
    `^\\d{4}/\\d{2}/\\d{2}/\\d{2}/${stream}-\\d+-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-` +
      `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}${escaped}$`,
  );
}

/** A Lambda processor running a fixture (or any file) as the function. */
export function lambdaProcessing(file: string, parameters: Record<string, string> = {}): Record<string, unknown> {
  const all: Record<string, string> = {
    LambdaArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${path.basename(file).replace(/\.[cm]?js$/, '')}`,
    ShardtailFunctionFile: path.isAbsolute(file) ? file : path.join(FUNCTIONS_DIR, file),
    ...parameters,
  };
  return {
    Enabled: true,
    Processors: [
      {
        Type: 'Lambda',
        Parameters: Object.entries(all).map(([ParameterName, ParameterValue]) => ({ ParameterName, ParameterValue })),
      },
    ],
  };
}

/** An ExtendedS3DestinationConfiguration into `bucket`, buffering 1 s unless told otherwise. */
export function s3Destination(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    RoleARN: ROLE,
    BucketARN: `arn:aws:s3:::${bucket}`,
    BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 1 },
    ...extra,
  };
}

/** CreateDeliveryStream as a raw request (our members pass), then waits for ACTIVE. */
export async function createDeliveryStream(
  endpoint: string,
  name: string,
  destination: Record<string, unknown>,
  extra: Record<string, unknown> = { ExtendedS3DestinationConfiguration: destination },
): Promise<void> {
  await firehose(endpoint, 'CreateDeliveryStream', { DeliveryStreamName: name, ...extra });
  await waitFor(
    async () => {
      const described = await firehose(endpoint, 'DescribeDeliveryStream', { DeliveryStreamName: name });
      return described.DeliveryStreamDescription.DeliveryStreamStatus === 'ACTIVE';
    },
    { timeoutMs: 10_000, message: `delivery stream ${name} to become ACTIVE` },
  );
}

/** PutRecordBatch (raw), in calls of at most 500 records; asserts that none failed. */
export async function putRecords(endpoint: string, name: string, records: Buffer[]): Promise<void> {
  for (let start = 0; start < records.length; start += 500) {
    const Records = records.slice(start, start + 500).map((data) => ({ Data: data.toString('base64') }));
    const answer = await firehose(endpoint, 'PutRecordBatch', { DeliveryStreamName: name, Records });
    if (answer.FailedPutCount !== 0) throw new Error(`PutRecordBatch failed for some: ${JSON.stringify(answer)}`);
  }
}

/**
 * The objects under `root`, as sorted '/'-separated paths relative to it ([] while it does not exist); not the
 * sink's dot-named temporaries, which become objects only when renamed.
 */
export function listObjects(root: string): string[] {
  if (!existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (!entry.startsWith('.')) found.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
  return found.sort();
}

/** Objects ordered by when they were written (their names' time, then the file's mtime), with their bytes. */
export function readObjects(root: string, filter: (key: string) => boolean = () => true) {
  return listObjects(root)
    .filter(filter)
    .map((key) => ({ key, body: readFileSync(path.join(root, key)), mtimeMs: statSync(path.join(root, key)).mtimeMs }))
    .sort((a, b) => a.mtimeMs - b.mtimeMs);
}

/** Fixed-width records `<tag>-<n, 6 digits>\n`, so that concatenated objects split back into records. */
export function numberedRecords(tag: string, count: number, from = 0): Buffer[] {
  return Array.from({ length: count }, (_, index) => Buffer.from(`${tag}-${String(from + index).padStart(6, '0')}\n`));
}

/** The lines of delivered objects, in object order. */
export function linesOf(bodies: Buffer[]): string[] {
  return bodies.flatMap((body) =>
    body
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0),
  );
}

/** Waits until `root` holds records making `done(lines)` true; returns the lines. */
export async function waitForLines(
  root: string,
  done: (lines: string[]) => boolean,
  timeoutMs = 20_000,
  filter?: (key: string) => boolean,
): Promise<string[]> {
  let lines: string[] = [];
  await waitFor(
    () => {
      lines = linesOf(readObjects(root, filter).map((object) => object.body));
      return done(lines);
    },
    { timeoutMs, intervalMs: 100, message: () => `records in ${root}; have ${lines.length}: ${lines.slice(-3)}` },
  );
  return lines;
}

/** An engine with no status delay, so that delivery streams go ACTIVE at once. */
export function startFirehoseEngine(
  dataDir: string,
  options: Partial<StartEngineProcessOptions> = {},
): Promise<EngineProcess> {
  return startEngineProcess({ dataDir, statusDelayMs: 0, ...options });
}

/** Every expected record exactly once (order aside), reported as what is missing and what is doubled. */
export function assertExactlyOnce(actual: string[], expected: string[]): void {
  const seen = new Map<string, number>();
  for (const item of actual) seen.set(item, (seen.get(item) ?? 0) + 1);
  const missing = expected.filter((item) => !seen.has(item));
  const doubled = [...seen].filter(([, count]) => count > 1).map(([item]) => item);
  const wanted = new Set(expected);
  const unexpected = actual.filter((item) => !wanted.has(item));
  assert.deepEqual(
    {
      missing: missing.slice(0, 5),
      doubled: doubled.slice(0, 5),
      unexpected: unexpected.slice(0, 5),
      count: actual.length,
    },
    { missing: [], doubled: [], unexpected: [], count: expected.length },
  );
}

/** UpdateDestination of the stream's one S3 destination to these hints. */
export async function updateBufferingHints(
  endpoint: string,
  name: string,
  hints: { SizeInMBs: number; IntervalInSeconds: number },
): Promise<void> {
  const { DeliveryStreamDescription: described } = await firehose(endpoint, 'DescribeDeliveryStream', {
    DeliveryStreamName: name,
  });
  await firehose(endpoint, 'UpdateDestination', {
    DeliveryStreamName: name,
    CurrentDeliveryStreamVersionId: described.VersionId,
    DestinationId: described.Destinations[0].DestinationId,
    ExtendedS3DestinationUpdate: { BufferingHints: hints },
  });
}

/** The engine's environment: s3rver's one account through the default credential chain. */
export const S3RVER_ENGINE_ENV = cleanEnv({
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  SHARDTAIL_LOG_PRETTY: '',
});

/** Records as the lines they are delivered as (numberedRecords end in a newline). */
export function recordTexts(records: Buffer[]): string[] {
  return records.map((record) => record.toString().trimEnd());
}

/** The documents of error output objects, one JSON document a line. */
export function errorDocumentsOf(bodies: Buffer[]): Array<Record<string, any>> {
  return bodies.flatMap((body) =>
    body
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>),
  );
}

/** What the error documents say the records were (rawData), as lines. */
export function rawDataOf(documents: Array<Record<string, any>>): string[] {
  return documents.map((document) =>
    Buffer.from(document.rawData as string, 'base64')
      .toString()
      .trimEnd(),
  );
}
