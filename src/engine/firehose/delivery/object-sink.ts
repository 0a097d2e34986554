import type { ObjectStoreTarget } from '../types.js';
import { openDirectorySink } from './directory-sink.js';
import { openS3Sink } from './s3-sink.js';

/** Where delivered objects are written: a folder standing in for a bucket, or a real S3 store. */
export interface ObjectSink {
  /** Writes the whole object under `key`, replacing one already there (a batch redelivered after a crash). */
  put(key: string, body: Buffer): Promise<void>;
  /** For messages and logs: where the objects go, e.g. `directory /srv/out` or `s3://bucket at http://…`. */
  describe(): string;
  /** Releases connections; puts after it fail. */
  close(): Promise<void>;
}

/**
 * A put that failed. `retryable` says whether trying the same put again later can succeed without
 * anyone changing anything (a store that is down, a reset connection) or cannot (a key refused, a
 * bucket that does not exist, credentials refused). Firehose keeps retrying S3 either way, for up
 * to 24 hours; the flag tells the operator, and the pipeline's logs, which kind of wait this is.
 */
export class SinkError extends Error {
  readonly retryable: boolean;
  readonly code: string;

  constructor(code: string, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SinkError';
    this.code = code;
    this.retryable = options.retryable;
  }
}

export interface SinkOptions {
  /** S3 only: objects above this size go up as multipart uploads. */
  multipartThresholdBytes?: number;
  /** S3 only: size of each part but the last (at least S3's 5 MiB). */
  partSizeBytes?: number;
}

export async function openSink(target: ObjectStoreTarget, options: SinkOptions = {}): Promise<ObjectSink> {
  switch (target.kind) {
    case 'directory':
      return openDirectorySink(target.root);
    case 's3':
      return openS3Sink(target, options);
  }
}
