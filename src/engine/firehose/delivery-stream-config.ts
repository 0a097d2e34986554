import { isAbsolute, join, resolve } from 'node:path';
import { invalidArgument, onlyS3AndHttp } from './errors.js';
import { OTHER_DESTINATIONS } from './models.js';
import { checkPrefixes, PrefixRuleError } from './prefix.js';
import { NO_PROCESSING, processingConfig } from './processing-config.js';
import type { BufferingHints, DeliveryDestination, HttpEndpointOutput, ProcessingConfig, S3Output } from './types.js';

/**
 * A delivery stream's destination as it was sent (CreateDeliveryStream, then UpdateDestination merged
 * in), and the checked, defaulted DeliveryStreamConfig destination made from it.
 */

type Json = Record<string, any>;

/** The deprecated S3DestinationConfiguration is kept as the ExtendedS3 one it is a subset of. */
export type StoredDestination = { kind: 's3'; config: Json } | { kind: 'http'; config: Json };

export interface ConfigEnvironment {
  dataDir: string;
  region: string;
}

const MIB = 1024 * 1024;
const DEFAULT_SIZE_MIB = 5;
const DEFAULT_INTERVAL_SECONDS = 300;
export const DEFAULT_RETRY_SECONDS = 300;

const DESTINATIONS = ['ExtendedS3Destination', 'S3Destination', 'HttpEndpointDestination', ...OTHER_DESTINATIONS];

function destinationMembers(input: Json, suffix: 'Configuration' | 'Update'): string[] {
  return DESTINATIONS.map((name) => name + suffix).filter((member) => input[member] !== undefined);
}

/** The one destination of a CreateDeliveryStream request; refuses none, two, or one we do not deliver to. */
export function destinationOfCreate(input: Json): StoredDestination {
  const given = destinationMembers(input, 'Configuration');
  if (given.length !== 1)
    throw invalidArgument(
      given.length === 0
        ? 'Exactly one destination configuration is required; none was given.'
        : `Exactly one destination configuration is allowed; got ${given.join(', ')}.`,
    );
  const member = given[0];
  if (member === 'HttpEndpointDestinationConfiguration') return { kind: 'http', config: input[member] };
  if (member === 'ExtendedS3DestinationConfiguration' || member === 'S3DestinationConfiguration')
    return { kind: 's3', config: input[member] };
  throw onlyS3AndHttp(member);
}

/**
 * UpdateDestination: members given replace those stored, structure by structure (AWS merges the
 * update into the destination). An update of the other kind replaces the destination outright.
 */
export function mergeUpdate(stored: StoredDestination, input: Json): StoredDestination {
  const given = destinationMembers(input, 'Update');
  if (given.length > 1) throw invalidArgument(`Only one destination update is allowed; got ${given.join(', ')}.`);
  if (given.length === 0) return stored;
  const member = given[0];
  const update = input[member] as Json;
  if (member === 'HttpEndpointDestinationUpdate') {
    const { S3Update: s3Update, ...rest } = update;
    const base = stored.kind === 'http' ? stored.config : {};
    const merged = { ...base, ...rest };
    if (s3Update) merged.S3Configuration = { ...(base.S3Configuration ?? {}), ...s3Update };
    return { kind: 'http', config: merged };
  }
  if (member === 'ExtendedS3DestinationUpdate' || member === 'S3DestinationUpdate') {
    const { S3BackupUpdate: backupUpdate, ...rest } = update;
    const base = stored.kind === 's3' ? stored.config : {};
    if (rest.DynamicPartitioningConfiguration !== undefined) {
      const before = base.DynamicPartitioningConfiguration?.Enabled === true;
      if ((rest.DynamicPartitioningConfiguration.Enabled === true) !== before)
        throw invalidArgument(
          'DynamicPartitioningConfiguration.Enabled can only be set when the delivery stream is created.',
        );
    }
    const merged = { ...base, ...rest };
    if (backupUpdate) merged.S3BackupConfiguration = { ...(base.S3BackupConfiguration ?? {}), ...backupUpdate };
    return { kind: 's3', config: merged };
  }
  throw onlyS3AndHttp(member);
}

export function deliveryDestination(stored: StoredDestination, env: ConfigEnvironment): DeliveryDestination {
  if (stored.kind === 'http') return httpDestination(stored.config, env);
  const member = 'ExtendedS3DestinationConfiguration';
  const config = stored.config;
  refuseUnsupportedS3Features(config, member);
  const processing = processingConfig(config.ProcessingConfiguration, member, env.dataDir);
  const partitioning = {
    enabled: config.DynamicPartitioningConfiguration?.Enabled === true,
    retryDurationMs:
      (config.DynamicPartitioningConfiguration?.RetryOptions?.DurationInSeconds ?? DEFAULT_RETRY_SECONDS) * 1000,
  };
  return { kind: 's3', s3: s3Output(config, member, env, processing, partitioning.enabled), processing, partitioning };
}

function httpDestination(config: Json, env: ConfigEnvironment): DeliveryDestination {
  const member = 'HttpEndpointDestinationConfiguration';
  const endpoint = (config.EndpointConfiguration ?? {}) as Json;
  if (typeof endpoint.Url !== 'string') throw invalidArgument(`${member}.EndpointConfiguration.Url is required.`);
  if (!config.S3Configuration) throw invalidArgument(`${member}.S3Configuration is required.`);
  const processing = processingConfig(config.ProcessingConfiguration, member, env.dataDir);
  const http: HttpEndpointOutput = {
    url: endpoint.Url,
    name: endpoint.Name,
    accessKey: endpoint.AccessKey,
    contentEncoding: config.RequestConfiguration?.ContentEncoding ?? 'NONE',
    commonAttributes: Object.fromEntries(
      ((config.RequestConfiguration?.CommonAttributes ?? []) as Json[]).map((a) => [a.AttributeName, a.AttributeValue]),
    ),
    retryDurationMs: (config.RetryOptions?.DurationInSeconds ?? DEFAULT_RETRY_SECONDS) * 1000,
    backupMode: config.S3BackupMode ?? 'FailedDataOnly',
    bufferingHints: bufferingHints(config.BufferingHints),
    backup: s3Output(config.S3Configuration, `${member}.S3Configuration`, env, NO_PROCESSING, false),
  };
  return { kind: 'http', http, processing };
}

function refuseUnsupportedS3Features(config: Json, member: string): void {
  if (config.S3BackupMode === 'Enabled')
    throw invalidArgument(`${member}.S3BackupMode Enabled is not supported by this engine (no source record backup).`);
  // AWS enables a present DataFormatConversionConfiguration unless it says Enabled false.
  if (config.DataFormatConversionConfiguration && config.DataFormatConversionConfiguration.Enabled !== false)
    throw invalidArgument(`${member}.DataFormatConversionConfiguration is not supported by this engine.`);
  if (config.CustomTimeZone && config.CustomTimeZone !== 'UTC')
    throw invalidArgument(`${member}.CustomTimeZone ${config.CustomTimeZone} is not supported: this engine uses UTC.`);
}

/**
 * AWS says to set both buffering hints or neither; given one, the engine defaults the other rather
 * than refusing (unverified whether AWS refuses it or defaults it too).
 */
export function bufferingHints(hints: Json | undefined): BufferingHints {
  return {
    sizeBytes: (hints?.SizeInMBs ?? DEFAULT_SIZE_MIB) * MIB,
    intervalMs: (hints?.IntervalInSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000,
  };
}

function s3Output(
  config: Json,
  member: string,
  env: ConfigEnvironment,
  processing: ProcessingConfig,
  dynamicPartitioning: boolean,
): S3Output {
  if (typeof config.BucketARN !== 'string') throw invalidArgument(`${member}.BucketARN is required.`);
  const compression = config.CompressionFormat ?? 'UNCOMPRESSED';
  if (compression !== 'UNCOMPRESSED' && compression !== 'GZIP')
    throw invalidArgument(
      `${member}.CompressionFormat ${compression} is not supported by this engine: use UNCOMPRESSED or GZIP.`,
    );
  const prefix = (config.Prefix as string | undefined) ?? '';
  const errorOutputPrefix = config.ErrorOutputPrefix ? (config.ErrorOutputPrefix as string) : undefined;
  try {
    checkPrefixes({
      prefix,
      errorOutputPrefix,
      dynamicPartitioning,
      queryKeys: Object.keys(processing.metadataQueries ?? {}),
      hasLambda: processing.lambda !== undefined,
    });
  } catch (error) {
    if (error instanceof PrefixRuleError) throw invalidArgument(`${member}: ${error.message}`);
    throw error;
  }
  const fileExtension = config.FileExtension ? (config.FileExtension as string) : undefined;
  return {
    bucketArn: config.BucketARN,
    target: objectStoreTarget(config, member, env),
    prefix,
    errorOutputPrefix,
    compression,
    fileExtension: fileExtension ?? (compression === 'GZIP' ? '.gz' : undefined),
    bufferingHints: bufferingHints(config.BufferingHints),
  };
}

export function bucketName(bucketArn: string): string | undefined {
  return /^arn:[^:]+:s3:::([\w.-]{1,255})$/.exec(bucketArn)?.[1];
}

function objectStoreTarget(config: Json, member: string, env: ConfigEnvironment): S3Output['target'] {
  const bucket = bucketName(config.BucketARN as string);
  if (!bucket)
    throw invalidArgument(`${member}.BucketARN ${config.BucketARN} is not an S3 bucket ARN (arn:aws:s3:::<bucket>).`);
  if (config.ShardtailDirectory !== undefined && config.ShardtailS3Endpoint !== undefined)
    throw invalidArgument(`${member}: give ShardtailDirectory or ShardtailS3Endpoint, not both.`);
  if (config.ShardtailS3Endpoint !== undefined) {
    const endpoint = config.ShardtailS3Endpoint as string;
    if (!/^https?:\/\/[^/]+/.test(endpoint))
      throw invalidArgument(`${member}.ShardtailS3Endpoint ${endpoint} is not an http:// or https:// URL.`);
    return { kind: 's3', endpoint, bucket, region: env.region };
  }
  const directory = config.ShardtailDirectory as string | undefined;
  if (directory === undefined) return { kind: 'directory', root: resolve(join(env.dataDir, 's3', bucket)) };
  return { kind: 'directory', root: isAbsolute(directory) ? directory : resolve(directory) };
}
