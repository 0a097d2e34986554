/**
 * A delivery stream as the delivery side uses it: the API's configuration checked and with its
 * defaults filled in (see ../../../../shared/spec/firehose.md §3). The control plane makes these from
 * CreateDeliveryStream and UpdateDestination; the record buffer, the transform runner, the
 * partitioner and the sinks only ever read them.
 */

export interface BufferingHints {
  /** SizeInMBs in bytes, measured before compression. */
  sizeBytes: number;
  /** IntervalInSeconds in milliseconds; 0 delivers as soon as possible. */
  intervalMs: number;
}

export type CompressionFormat = 'UNCOMPRESSED' | 'GZIP';

/** Where a bucket's objects are written. */
export type ObjectStoreTarget =
  /** A folder standing in for the bucket: object keys are paths under it. */
  | { kind: 'directory'; root: string }
  /** A real S3-compatible store, reached with signed requests. */
  | { kind: 's3'; endpoint: string; bucket: string; region: string };

/** An S3 destination: the main one of an ExtendedS3 stream, or the backup of an HTTP endpoint one. */
export interface S3Output {
  bucketArn: string;
  target: ObjectStoreTarget;
  /** As configured; "" when none (the default time prefix then applies). */
  prefix: string;
  /** As configured; undefined when none. */
  errorOutputPrefix: string | undefined;
  compression: CompressionFormat;
  /** FileExtension when set; otherwise the compression's (".gz") or none. */
  fileExtension: string | undefined;
  bufferingHints: BufferingHints;
}

/** A Lambda processor: the function is a local JavaScript module. */
export interface LambdaProcessor {
  lambdaArn: string;
  /** Absolute path of the module whose `handler` is the function. */
  modulePath: string;
  /** NumberOfRetries: attempts after the first failed invocation. */
  numberOfRetries: number;
  /** How long one invocation may take before it counts as failed (Lambda's own timeout). */
  timeoutMs: number;
  /** BufferSizeInMBs in bytes: at most this much input per invocation. */
  bufferSizeBytes: number;
  bufferIntervalMs: number;
}

export interface ProcessingConfig {
  lambda: LambdaProcessor | undefined;
  /** MetadataExtraction queries, by partition key name, in the JQ path form `.a.b`. */
  metadataQueries: Record<string, string> | undefined;
  /** AppendDelimiterToRecord: `\n` after each record, after the transform. */
  appendDelimiter: boolean;
}

export interface DynamicPartitioning {
  enabled: boolean;
  retryDurationMs: number;
}

export interface HttpEndpointOutput {
  url: string;
  name: string | undefined;
  accessKey: string | undefined;
  contentEncoding: 'NONE' | 'GZIP';
  commonAttributes: Record<string, string>;
  /** RetryOptions.DurationInSeconds in milliseconds. */
  retryDurationMs: number;
  backupMode: 'FailedDataOnly' | 'AllData';
  bufferingHints: BufferingHints;
  /** S3Configuration: where failed records (and all of them for AllData) go. */
  backup: S3Output;
}

export type DeliveryDestination =
  | { kind: 's3'; s3: S3Output; processing: ProcessingConfig; partitioning: DynamicPartitioning }
  | { kind: 'http'; http: HttpEndpointOutput; processing: ProcessingConfig };

export type DeliveryStreamType = 'DirectPut' | 'KinesisStreamAsSource';

export interface DeliveryStreamConfig {
  name: string;
  arn: string;
  type: DeliveryStreamType;
  /** For KinesisStreamAsSource: the engine's stream read, and when reading starts (epoch ms). */
  source: { streamName: string; streamArn: string; startTimestampMs: number } | undefined;
  /** VersionId as a number; it is in every object's name. */
  versionId: number;
  region: string;
  destination: DeliveryDestination;
}

/** One buffered record as the delivery side reads it. */
export interface BufferedRecord {
  /** Position in its delivery stream's buffer; increasing, never reused. */
  seq: number;
  /** The RecordId that PutRecord(Batch) answered. */
  recordId: string;
  approximateArrivalMs: number;
  data: Buffer;
  /** For a stream source: where the record came from (the transform's kinesisRecordMetadata). */
  kinesis?: {
    shardId: string;
    partitionKey: string;
    sequenceNumber: string;
    approximateArrivalMs: number;
    /** The user record's place in a KPL aggregate; absent (0) for a record that was not aggregated. */
    subsequenceNumber?: number;
  };
}
