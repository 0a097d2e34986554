import type { Member, Members, Shape } from '../host/validate.js';

/**
 * Request shapes of the Firehose operations the engine serves, from the 2015-08-04 API model (botocore
 * service-2.json), with the 2023 "zero buffering" minimum of 0 s and our Shardtail* members (the model
 * has no way to name a local folder or store). Destinations the engine does not deliver to are modelled
 * only enough to be recognised and refused.
 */

const arn = (max: number): Member => ({ type: 'string', min: 1, max, pattern: /^arn:.*/, patternText: 'arn:.*' });
const deliveryStreamName: Member = {
  type: 'string',
  min: 1,
  max: 64,
  pattern: /^[a-zA-Z0-9_.-]+$/,
  patternText: '[a-zA-Z0-9_.-]+',
};
const destinationId: Member = {
  type: 'string',
  min: 1,
  max: 100,
  pattern: /^[a-zA-Z0-9-]+$/,
  patternText: '[a-zA-Z0-9-]+',
};
const deliveryStreamType: Member = {
  type: 'string',
  enum: ['DirectPut', 'KinesisStreamAsSource', 'MSKAsSource', 'DatabaseAsSource'],
};
const bool: Member = { type: 'boolean' };
const anyText = (max: number): Member => ({ type: 'string', min: 0, max });

const tagKey = {
  type: 'string',
  min: 1,
  max: 128,
  pattern: /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@%]*$/u,
  patternText: '^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$',
} as const;
const tagValue = {
  type: 'string',
  min: 0,
  max: 256,
  pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@%]*$/u,
  patternText: '^[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@%]*$',
} as const;
const tagList: Shape = {
  type: 'list',
  min: 1,
  max: 50,
  member: {
    type: 'structure',
    javaClass: 'com.amazonaws.firehose.model.Tag',
    members: { Key: { ...tagKey, required: true }, Value: tagValue },
  },
};

const bufferingHints = (maxMiB: number): Shape => ({
  type: 'structure',
  members: {
    SizeInMBs: { type: 'integer', min: 1, max: maxMiB },
    IntervalInSeconds: { type: 'integer', min: 0, max: 900 },
  },
});
const retryOptions: Shape = {
  type: 'structure',
  members: { DurationInSeconds: { type: 'integer', min: 0, max: 7200 } },
};
const cloudWatchLogging: Shape = {
  type: 'structure',
  members: { Enabled: bool, LogGroupName: anyText(512), LogStreamName: anyText(512) },
};
const encryption: Shape = {
  type: 'structure',
  members: {
    NoEncryptionConfig: { type: 'string', enum: ['NoEncryption'] },
    KMSEncryptionConfig: { type: 'structure', members: { AWSKMSKeyARN: { ...arn(512), required: true } } },
  },
};
const processing: Shape = {
  type: 'structure',
  members: {
    Enabled: bool,
    Processors: {
      type: 'list',
      member: {
        type: 'structure',
        javaClass: 'com.amazonaws.firehose.model.Processor',
        members: {
          Type: {
            type: 'string',
            required: true,
            enum: [
              'RecordDeAggregation',
              'Decompression',
              'CloudWatchLogProcessing',
              'Lambda',
              'MetadataExtraction',
              'AppendDelimiterToRecord',
            ],
          },
          Parameters: {
            type: 'list',
            member: {
              type: 'structure',
              javaClass: 'com.amazonaws.firehose.model.ProcessorParameter',
              members: {
                // Not an enum here: our ShardtailFunctionFile / ShardtailFunctionTimeoutSeconds are parameter names.
                ParameterName: { type: 'string', required: true, min: 1, max: 128 },
                ParameterValue: {
                  type: 'string',
                  required: true,
                  min: 1,
                  max: 5120,
                  pattern: /^(?!\s*$).+/,
                  patternText: '^(?!\\s*$).+',
                },
              },
            },
          },
        },
      },
    },
  },
};
const compressionFormat: Member = { type: 'string', enum: ['UNCOMPRESSED', 'GZIP', 'ZIP', 'Snappy', 'HADOOP_SNAPPY'] };

/** Where the engine writes a bucket's objects (ours). */
const shardtailTarget: Members = {
  ShardtailDirectory: { type: 'string', min: 1, max: 4096 },
  ShardtailS3Endpoint: { type: 'string', min: 1, max: 2048 },
};

const s3Members = (required: boolean): Members => ({
  RoleARN: { ...arn(512), required },
  BucketARN: { ...arn(2048), required },
  Prefix: anyText(1024),
  ErrorOutputPrefix: anyText(1024),
  BufferingHints: bufferingHints(128),
  CompressionFormat: compressionFormat,
  EncryptionConfiguration: encryption,
  CloudWatchLoggingOptions: cloudWatchLogging,
  ...shardtailTarget,
});
const s3Destination: Shape = { type: 'structure', members: s3Members(true) };
const s3Update: Shape = { type: 'structure', members: s3Members(false) };

const extendedS3Members = (required: boolean): Members => ({
  ...s3Members(required),
  ProcessingConfiguration: processing,
  S3BackupMode: { type: 'string', enum: ['Disabled', 'Enabled'] },
  [required ? 'S3BackupConfiguration' : 'S3BackupUpdate']: required ? s3Destination : s3Update,
  // Modelled only to notice that it is asked for: the engine converts no formats.
  DataFormatConversionConfiguration: { type: 'structure', members: { Enabled: bool } },
  DynamicPartitioningConfiguration: { type: 'structure', members: { RetryOptions: retryOptions, Enabled: bool } },
  FileExtension: {
    type: 'string',
    min: 0,
    max: 128,
    pattern: /^(|\.[0-9a-z!\-_.*'()]+)$/,
    patternText: "^$|\\.[0-9a-z!\\-_.*'()]+",
  },
  CustomTimeZone: { type: 'string', min: 0, max: 50, pattern: /^(|[a-zA-Z/_]+)$/, patternText: '^$|[a-zA-Z/_]+' },
});

const httpEndpointMembers = (required: boolean): Members => ({
  EndpointConfiguration: {
    type: 'structure',
    required,
    members: {
      // AWS wants https://; the engine also delivers to http:// (local targets).
      Url: { type: 'string', required: true, min: 1, max: 1000, pattern: /^https?:\/\/.*/, patternText: 'https?://.*' },
      Name: { type: 'string', min: 1, max: 256, pattern: /^(?!\s*$).+/, patternText: '^(?!\\s*$).+' },
      AccessKey: anyText(4096),
    },
  },
  BufferingHints: bufferingHints(64),
  CloudWatchLoggingOptions: cloudWatchLogging,
  RequestConfiguration: {
    type: 'structure',
    members: {
      ContentEncoding: { type: 'string', enum: ['NONE', 'GZIP'] },
      CommonAttributes: {
        type: 'list',
        min: 0,
        max: 50,
        member: {
          type: 'structure',
          javaClass: 'com.amazonaws.firehose.model.HttpEndpointCommonAttribute',
          members: {
            AttributeName: {
              type: 'string',
              required: true,
              min: 1,
              max: 256,
              pattern: /^(?!\s*$).+/,
              patternText: '^(?!\\s*$).+',
            },
            AttributeValue: { type: 'string', required: true, min: 0, max: 1024 },
          },
        },
      },
    },
  },
  ProcessingConfiguration: processing,
  RoleARN: arn(512),
  RetryOptions: retryOptions,
  S3BackupMode: { type: 'string', enum: ['FailedDataOnly', 'AllData'] },
  [required ? 'S3Configuration' : 'S3Update']: required ? { ...s3Destination, required: true } : s3Update,
});

/** Destinations of the model the engine does not deliver to: recognised, then refused. */
export const OTHER_DESTINATIONS = [
  'RedshiftDestination',
  'ElasticsearchDestination',
  'AmazonopensearchserviceDestination',
  'SplunkDestination',
  'AmazonOpenSearchServerlessDestination',
  'SnowflakeDestination',
  'IcebergDestination',
] as const;
const opaque: Shape = { type: 'structure', members: {} };
const otherDestinations = (suffix: 'Configuration' | 'Update'): Members =>
  Object.fromEntries(OTHER_DESTINATIONS.map((name) => [name + suffix, opaque]));

export const OPERATIONS: Record<string, Members> = {
  CreateDeliveryStream: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    DeliveryStreamType: deliveryStreamType,
    DirectPutSourceConfiguration: {
      type: 'structure',
      members: { ThroughputHintInMBs: { type: 'integer', required: true, min: 1, max: 100 } },
    },
    KinesisStreamSourceConfiguration: {
      type: 'structure',
      members: { KinesisStreamARN: { ...arn(512), required: true }, RoleARN: { ...arn(512), required: true } },
    },
    DeliveryStreamEncryptionConfigurationInput: {
      type: 'structure',
      members: {
        KeyARN: arn(512),
        KeyType: { type: 'string', required: true, enum: ['AWS_OWNED_CMK', 'CUSTOMER_MANAGED_CMK'] },
      },
    },
    S3DestinationConfiguration: s3Destination,
    ExtendedS3DestinationConfiguration: { type: 'structure', members: extendedS3Members(true) },
    HttpEndpointDestinationConfiguration: { type: 'structure', members: httpEndpointMembers(true) },
    ...otherDestinations('Configuration'),
    MSKSourceConfiguration: opaque,
    DatabaseSourceConfiguration: opaque,
    Tags: tagList,
  },
  DescribeDeliveryStream: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    Limit: { type: 'integer', min: 1, max: 10000 },
    ExclusiveStartDestinationId: destinationId,
  },
  ListDeliveryStreams: {
    Limit: { type: 'integer', min: 1, max: 10000 },
    DeliveryStreamType: deliveryStreamType,
    ExclusiveStartDeliveryStreamName: deliveryStreamName,
  },
  DeleteDeliveryStream: { DeliveryStreamName: { ...deliveryStreamName, required: true }, AllowForceDelete: bool },
  UpdateDestination: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    CurrentDeliveryStreamVersionId: {
      type: 'string',
      required: true,
      min: 1,
      max: 50,
      pattern: /^[0-9]+$/,
      patternText: '[0-9]+',
    },
    DestinationId: { ...destinationId, required: true },
    S3DestinationUpdate: s3Update,
    ExtendedS3DestinationUpdate: { type: 'structure', members: extendedS3Members(false) },
    HttpEndpointDestinationUpdate: { type: 'structure', members: httpEndpointMembers(false) },
    ...otherDestinations('Update'),
  },
  TagDeliveryStream: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    Tags: { ...tagList, required: true },
  },
  UntagDeliveryStream: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    TagKeys: { type: 'list', required: true, min: 1, max: 50, member: tagKey },
  },
  ListTagsForDeliveryStream: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    ExclusiveStartTagKey: tagKey,
    Limit: { type: 'integer', min: 1, max: 50 },
  },
  PutRecord: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    Record: { type: 'structure', required: true, members: { Data: { type: 'blob', required: true, max: 1_024_000 } } },
  },
  PutRecordBatch: {
    DeliveryStreamName: { ...deliveryStreamName, required: true },
    Records: {
      type: 'list',
      required: true,
      min: 1,
      max: 500,
      member: {
        type: 'structure',
        javaClass: 'com.amazonaws.firehose.model.Record',
        members: { Data: { type: 'blob', required: true, max: 1_024_000 } },
      },
    },
  },
  StartDeliveryStreamEncryption: { DeliveryStreamName: { ...deliveryStreamName, required: true } },
  StopDeliveryStreamEncryption: { DeliveryStreamName: { ...deliveryStreamName, required: true } },
};
