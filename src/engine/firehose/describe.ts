import { DEFAULT_RETRY_SECONDS } from './delivery-stream-config.js';
import type { DeliveryStream, DeliveryStreamStatus } from './registry.js';

/**
 * DescribeDeliveryStream's answer: the configuration as sent with the defaults AWS shows filled in
 * (spec firehose.md §4.1). Our Shardtail* members are echoed; SDKs ignore members they do not know.
 */

type Json = Record<string, any>;

const seconds = (ms: number) => ms / 1000;

export function describeDeliveryStream(
  stream: DeliveryStream,
  status: DeliveryStreamStatus,
  destinationId: string,
): object {
  const destination =
    stream.destination.kind === 's3'
      ? {
          DestinationId: destinationId,
          ExtendedS3DestinationDescription: extendedS3Description(stream.destination.config),
          S3DestinationDescription: s3Description(stream.destination.config),
        }
      : {
          DestinationId: destinationId,
          HttpEndpointDestinationDescription: httpDescription(stream.destination.config),
        };
  return {
    DeliveryStreamDescription: {
      DeliveryStreamName: stream.name,
      DeliveryStreamARN: stream.arn,
      DeliveryStreamStatus: status,
      DeliveryStreamEncryptionConfiguration: { Status: 'DISABLED' },
      DeliveryStreamType: stream.type,
      VersionId: String(stream.versionId),
      CreateTimestamp: seconds(stream.createdMs),
      LastUpdateTimestamp: seconds(stream.updatedMs),
      ...sourceDescription(stream),
      Destinations: [destination],
      HasMoreDestinations: false,
    },
  };
}

function sourceDescription(stream: DeliveryStream): Json {
  if (stream.source)
    return {
      Source: {
        KinesisStreamSourceDescription: {
          KinesisStreamARN: stream.source.streamArn,
          RoleARN: stream.source.roleArn,
          DeliveryStartTimestamp: seconds(stream.source.startTimestampMs),
        },
      },
    };
  if (stream.directPutThroughputHint !== undefined)
    return { Source: { DirectPutSourceDescription: { ThroughputHintInMBs: stream.directPutThroughputHint } } };
  return {};
}

function withoutUndefined(object: Json): Json {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

function s3Description(config: Json): Json {
  return withoutUndefined({
    RoleARN: config.RoleARN,
    BucketARN: config.BucketARN,
    Prefix: config.Prefix ?? '',
    ErrorOutputPrefix: config.ErrorOutputPrefix,
    BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300, ...config.BufferingHints },
    CompressionFormat: config.CompressionFormat ?? 'UNCOMPRESSED',
    EncryptionConfiguration: config.EncryptionConfiguration ?? { NoEncryptionConfig: 'NoEncryption' },
    CloudWatchLoggingOptions: config.CloudWatchLoggingOptions ?? { Enabled: false },
    ShardtailDirectory: config.ShardtailDirectory,
    ShardtailS3Endpoint: config.ShardtailS3Endpoint,
  });
}

function extendedS3Description(config: Json): Json {
  const partitioning = config.DynamicPartitioningConfiguration as Json | undefined;
  return withoutUndefined({
    ...s3Description(config),
    ProcessingConfiguration: config.ProcessingConfiguration,
    S3BackupMode: config.S3BackupMode ?? 'Disabled',
    S3BackupDescription: config.S3BackupConfiguration && s3Description(config.S3BackupConfiguration),
    DataFormatConversionConfiguration: config.DataFormatConversionConfiguration,
    DynamicPartitioningConfiguration: partitioning && {
      Enabled: partitioning.Enabled ?? false,
      RetryOptions: { DurationInSeconds: DEFAULT_RETRY_SECONDS, ...partitioning.RetryOptions },
    },
    FileExtension: config.FileExtension,
    CustomTimeZone: config.CustomTimeZone,
  });
}

function httpDescription(config: Json): Json {
  const endpoint = (config.EndpointConfiguration ?? {}) as Json;
  return withoutUndefined({
    // AWS never shows the access key again.
    EndpointConfiguration: withoutUndefined({ Url: endpoint.Url, Name: endpoint.Name }),
    BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300, ...config.BufferingHints },
    CloudWatchLoggingOptions: config.CloudWatchLoggingOptions ?? { Enabled: false },
    RequestConfiguration: { ContentEncoding: 'NONE', ...config.RequestConfiguration },
    ProcessingConfiguration: config.ProcessingConfiguration,
    RoleARN: config.RoleARN,
    RetryOptions: { DurationInSeconds: DEFAULT_RETRY_SECONDS, ...config.RetryOptions },
    S3BackupMode: config.S3BackupMode ?? 'FailedDataOnly',
    S3DestinationDescription: config.S3Configuration && s3Description(config.S3Configuration),
  });
}
