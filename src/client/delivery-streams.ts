/**
 * Creating Firehose delivery streams on a local engine, for the agent (a flow's stream made on first
 * use) and `shardtail firehose create`: one request shape, with the engine's own fields for local
 * places, and the wait until the stream takes records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsApiError } from './api-error.js';
import type { JsonApiClient } from './json-api-client.js';

/** The engine checks a role's form, never its rights: any account and role will do locally. */
export const LOCAL_ROLE_ARN = 'arn:aws:iam::000000000000:role/shardtail-agent';
const LOCAL_ACCOUNT = '000000000000';

/**
 * A valid S3 bucket name (3–63 characters of a-z, 0-9, `.` and `-`, starting and ending with a
 * letter or digit) made of a delivery stream name (1–64 of `[a-zA-Z0-9_.-]`), so that the default
 * bucket of a stream is recognisably its own.
 */
export function bucketNameFor(deliveryStreamName: string): string {
  const name = deliveryStreamName
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 63)
    .replace(/[^a-z0-9]+$/, '');
  return name.length >= 3 ? name : `${name}-firehose`.replace(/^-/, '');
}

/** Where the delivered objects go: a folder, a real S3-compatible store, or (neither) `<dataDir>/s3/<bucket>`. */
export type ObjectPlace = { directory: string } | { s3Endpoint: string } | Record<string, never>;

export interface DeliveryStreamSpec {
  name: string;
  /** The bucket's name; default bucketNameFor(name). */
  bucket?: string;
  place?: ObjectPlace;
  /** Deliver to this URL instead; the objects place then holds the records that failed. */
  httpEndpoint?: string;
  bufferMiB?: number;
  bufferSeconds?: number;
  /** The transform: a JavaScript file the engine runs as the Lambda function named `functionName`. */
  transform?: { file: string; functionName: string; region: string };
  gzip?: boolean;
  prefix?: string;
}

/** AWS's buffering defaults, for the hint a spec leaves out: BufferingHints takes both or neither. */
const DEFAULT_BUFFER_MIB = 5;
const DEFAULT_BUFFER_SECONDS = 300;

const functionArn = (transform: { functionName: string; region: string }) =>
  `arn:aws:lambda:${transform.region}:${LOCAL_ACCOUNT}:function:${transform.functionName}`;

/** The CreateDeliveryStream request (DirectPut) a spec asks for. */
export function createDeliveryStreamRequest(spec: DeliveryStreamSpec): Record<string, unknown> {
  const place = spec.place ?? {};
  const objects: Record<string, unknown> = {
    RoleARN: LOCAL_ROLE_ARN,
    BucketARN: `arn:aws:s3:::${spec.bucket ?? bucketNameFor(spec.name)}`,
    ...('directory' in place ? { ShardtailDirectory: place.directory } : {}),
    ...('s3Endpoint' in place ? { ShardtailS3Endpoint: place.s3Endpoint } : {}),
  };
  const buffering =
    spec.bufferMiB === undefined && spec.bufferSeconds === undefined
      ? {}
      : {
          BufferingHints: {
            SizeInMBs: spec.bufferMiB ?? DEFAULT_BUFFER_MIB,
            IntervalInSeconds: spec.bufferSeconds ?? DEFAULT_BUFFER_SECONDS,
          },
        };
  const processing =
    spec.transform === undefined
      ? {}
      : {
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [
              {
                Type: 'Lambda',
                Parameters: [
                  { ParameterName: 'LambdaArn', ParameterValue: functionArn(spec.transform) },
                  { ParameterName: 'ShardtailFunctionFile', ParameterValue: spec.transform.file },
                ],
              },
            ],
          },
        };
  const prefix = spec.prefix === undefined ? {} : { Prefix: spec.prefix };
  if (spec.httpEndpoint !== undefined) {
    return {
      DeliveryStreamName: spec.name,
      DeliveryStreamType: 'DirectPut',
      HttpEndpointDestinationConfiguration: {
        EndpointConfiguration: { Url: spec.httpEndpoint, Name: spec.name },
        RoleARN: LOCAL_ROLE_ARN,
        ...buffering,
        ...processing,
        ...(spec.gzip ? { RequestConfiguration: { ContentEncoding: 'GZIP' } } : {}),
        S3BackupMode: 'FailedDataOnly',
        S3Configuration: { ...objects, ...prefix },
      },
    };
  }
  return {
    DeliveryStreamName: spec.name,
    DeliveryStreamType: 'DirectPut',
    ExtendedS3DestinationConfiguration: {
      ...objects,
      ...prefix,
      ...buffering,
      ...(spec.gzip ? { CompressionFormat: 'GZIP' } : {}),
      ...processing,
    },
  };
}

interface Described {
  DeliveryStreamDescription?: { DeliveryStreamStatus?: string };
}

/** The stream's status, or undefined when there is no such stream. */
export async function deliveryStreamStatus(client: JsonApiClient, name: string): Promise<string | undefined> {
  try {
    const described = await client.call<Described>('DescribeDeliveryStream', { DeliveryStreamName: name });
    return described.DeliveryStreamDescription?.DeliveryStreamStatus;
  } catch (error) {
    if (error instanceof AwsApiError && error.code === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** Waits until the stream is ACTIVE (puts are refused before); fails when it cannot become so in time. */
export async function waitUntilActive(client: JsonApiClient, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let pauseMs = 20; ; pauseMs = Math.min(pauseMs * 2, 1_000)) {
    const status = await deliveryStreamStatus(client, name);
    if (status === 'ACTIVE') return;
    if (status === undefined || status.endsWith('FAILED') || status === 'DELETING')
      throw new Error(`delivery stream ${name} is ${status ?? 'gone'}, not ACTIVE`);
    if (Date.now() >= deadline)
      throw new Error(`delivery stream ${name} is still ${status} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(pauseMs);
  }
}
