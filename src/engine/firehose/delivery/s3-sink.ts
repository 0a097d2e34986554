import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { ObjectStoreTarget } from '../types.js';
import { SinkError, type ObjectSink, type SinkOptions } from './object-sink.js';

const MIB = 1024 * 1024;
/** S3's smallest part (all but the last). */
export const MIN_PART_BYTES = 5 * MIB;
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 16 * MIB;
const DEFAULT_PART_BYTES = 8 * MIB;

export interface S3SinkOptions extends SinkOptions {
  /** Instead of the default Node chain (environment, profile, SSO, container, instance metadata). */
  credentials?: S3ClientConfig['credentials'];
}

type S3Module = typeof import('@aws-sdk/client-s3');

/** Signed PUTs to an S3-compatible store; the SDK is loaded only now, when a delivery stream needs it. */
export async function openS3Sink(
  target: Extract<ObjectStoreTarget, { kind: 's3' }>,
  options: S3SinkOptions = {},
): Promise<ObjectSink> {
  const sdk = await import('@aws-sdk/client-s3');
  const credentials = options.credentials ?? (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
  const client = withoutNodeVersionWarning(
    () =>
      new sdk.S3Client({
        region: target.region,
        endpoint: target.endpoint,
        // Other stores (MinIO, s3rver, Ceph) seldom resolve bucket names as host names.
        forcePathStyle: !isAwsEndpoint(target.endpoint),
        credentials,
        // The SDK's default CRC32 checksums are newer than most S3-compatible stores; SigV4's
        // payload hash already guards the body.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
  );
  const partBytes = Math.max(MIN_PART_BYTES, options.partSizeBytes ?? DEFAULT_PART_BYTES);
  const threshold = options.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD_BYTES;
  return new S3Sink(sdk, client, target, threshold, partBytes);
}

/**
 * The SDK warns once per process, on stderr, that its releases after January 2027 will need Node 22:
 * true of later SDK versions, not of the one pinned here, and not something an engine user can act
 * on. The SDK's own switch turns it off; it is set only while the client is made (the check runs in
 * the constructor), so the environment that children of the engine inherit is left as it was, and a
 * value the user set wins.
 */
function withoutNodeVersionWarning<T>(make: () => T): T {
  const name = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  if (process.env[name] !== undefined) return make();
  process.env[name] = 'true';
  try {
    return make();
  } finally {
    delete process.env[name];
  }
}

export function isAwsEndpoint(endpoint: string): boolean {
  return /(^|\.)amazonaws\.com(\.cn)?$/.test(new URL(endpoint).hostname);
}

class S3Sink implements ObjectSink {
  constructor(
    private readonly sdk: S3Module,
    private readonly client: S3Client,
    private readonly target: Extract<ObjectStoreTarget, { kind: 's3' }>,
    private readonly multipartThresholdBytes: number,
    private readonly partBytes: number,
  ) {}

  describe(): string {
    return `s3://${this.target.bucket} at ${this.target.endpoint}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  async put(key: string, body: Buffer): Promise<void> {
    if (body.length <= this.multipartThresholdBytes) {
      const command = new this.sdk.PutObjectCommand({ Bucket: this.target.bucket, Key: key, Body: body });
      await this.call('PutObject', key, () => this.client.send(command));
    } else {
      await this.putMultipart(key, body);
    }
  }

  /** Parts one after the other: a delivery is one object, and its bytes are already in memory. */
  private async putMultipart(key: string, body: Buffer): Promise<void> {
    const Bucket = this.target.bucket;
    const created = await this.call('CreateMultipartUpload', key, () =>
      this.client.send(new this.sdk.CreateMultipartUploadCommand({ Bucket, Key: key })),
    );
    const UploadId = created.UploadId;
    if (UploadId === undefined) {
      throw new SinkError('InvalidResponse', `${this.describeCall('CreateMultipartUpload', key)}: no UploadId`, {
        retryable: true,
      });
    }
    try {
      const parts: { ETag: string | undefined; PartNumber: number }[] = [];
      for (let offset = 0, PartNumber = 1; offset < body.length; offset += this.partBytes, PartNumber++) {
        const Body = body.subarray(offset, Math.min(body.length, offset + this.partBytes));
        const part = new this.sdk.UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber, Body });
        const uploaded = await this.call('UploadPart', key, () => this.client.send(part));
        parts.push({ ETag: uploaded.ETag, PartNumber });
      }
      const complete = new this.sdk.CompleteMultipartUploadCommand({
        Bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      });
      await this.call('CompleteMultipartUpload', key, () => this.client.send(complete));
    } catch (error) {
      // Best effort: parts left behind cost storage until a lifecycle rule removes them, nothing more.
      await this.client
        .send(new this.sdk.AbortMultipartUploadCommand({ Bucket, Key: key, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  private async call<Output>(operation: string, key: string, send: () => Promise<Output>): Promise<Output> {
    try {
      return await send();
    } catch (error) {
      throw s3Error(this.describeCall(operation, key), error);
    }
  }

  private describeCall(operation: string, key: string): string {
    return `S3 ${operation} of s3://${this.target.bucket}/${key} at ${this.target.endpoint}`;
  }
}

/** Waiting cannot fix these: the bucket, the key or the credentials must change. */
const PERMANENT_CODES = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'KeyTooLongError',
  'EntityTooLarge',
  'InvalidArgument',
  'CredentialsProviderError',
]);

function s3Error(call: string, error: unknown): SinkError {
  const failure = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = failure.$metadata?.httpStatusCode;
  const code = failure.Code ?? failure.name ?? 'Error';
  const retryable =
    !PERMANENT_CODES.has(code) &&
    (status === undefined || status >= 500 || status === 408 || status === 429 || code === 'RequestTimeout');
  const detail = [code, failure.message].filter((part) => part !== undefined && part !== '' && part !== 'UnknownError');
  const httpStatus = status === undefined ? '' : `HTTP ${status}; `;
  return new SinkError(
    code,
    `${call} failed: ${[...new Set(detail)].join(': ')} (${httpStatus}${retryable ? 'retryable' : 'not retryable'})`,
    { retryable, cause: error },
  );
}
