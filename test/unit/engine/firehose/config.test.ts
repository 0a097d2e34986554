import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import type { DeliveryStreamConfig } from '../../../../src/engine/firehose/types.js';
import { removeTempDirs } from '../../../support/tmp.js';
import { Harness, s3 } from './harness.js';

/** Configuration checked and defaulted into DeliveryStreamConfig (spec firehose.md §3.2-§3.4, §8.1). */

after(removeTempDirs);

const LAMBDA_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:xform:$LATEST';
const ERRORS = 'errors/!{firehose:error-output-type}/';

function configOf(h: Harness, name: string): DeliveryStreamConfig {
  const config = h.service.activeConfigs().find((c) => c.name === name);
  assert.ok(config, `no active config for ${name}`);
  return config;
}

function s3Of(h: Harness, name: string) {
  const destination = configOf(h, name).destination;
  assert.equal(destination.kind, 's3');
  return destination;
}

const processors = (...list: object[]) => ({ ProcessingConfiguration: { Enabled: true, Processors: list } });
const lambda = (...parameters: Array<[string, string]>) => ({
  Type: 'Lambda',
  Parameters: [['LambdaArn', LAMBDA_ARN], ...parameters].map(([n, v]) => ({ ParameterName: n, ParameterValue: v })),
});

describe('S3 destination', () => {
  it('defaults: 5 MiB / 300 s, uncompressed, no extension, the directory <dataDir>/s3/<bucket>', () => {
    const h = new Harness();
    h.create('logs');
    assert.deepEqual(s3Of(h, 'logs').s3, {
      bucketArn: 'arn:aws:s3:::logs-bucket',
      target: { kind: 'directory', root: join(h.dataDir, 's3', 'logs-bucket') },
      prefix: '',
      errorOutputPrefix: undefined,
      compression: 'UNCOMPRESSED',
      fileExtension: undefined,
      bufferingHints: { sizeBytes: 5 * 1024 * 1024, intervalMs: 300_000 },
    });
  });

  it('one buffering hint alone gets the default of the other; 0 s is allowed', () => {
    const h = new Harness();
    h.create('size', { ExtendedS3DestinationConfiguration: s3({ BufferingHints: { SizeInMBs: 128 } }) });
    h.create('zero', { ExtendedS3DestinationConfiguration: s3({ BufferingHints: { IntervalInSeconds: 0 } }) });
    assert.deepEqual(s3Of(h, 'size').s3.bufferingHints, { sizeBytes: 128 * 1024 * 1024, intervalMs: 300_000 });
    assert.deepEqual(s3Of(h, 'zero').s3.bufferingHints, { sizeBytes: 5 * 1024 * 1024, intervalMs: 0 });
    h.fails(
      'CreateDeliveryStream',
      {
        DeliveryStreamName: 'x',
        ExtendedS3DestinationConfiguration: s3({ BufferingHints: { IntervalInSeconds: 901 } }),
      },
      'ValidationException',
      /bufferingHints.intervalInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900/,
    );
  });

  it('GZIP gets .gz unless FileExtension says otherwise; other compressions are refused naming the field', () => {
    const h = new Harness();
    h.create('gz', { ExtendedS3DestinationConfiguration: s3({ CompressionFormat: 'GZIP' }) });
    h.create('ext', {
      ExtendedS3DestinationConfiguration: s3({ CompressionFormat: 'GZIP', FileExtension: '.json.gz' }),
    });
    assert.equal(s3Of(h, 'gz').s3.fileExtension, '.gz');
    assert.equal(s3Of(h, 'ext').s3.fileExtension, '.json.gz');
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'zip', ExtendedS3DestinationConfiguration: s3({ CompressionFormat: 'Snappy' }) },
      'InvalidArgumentException',
      'ExtendedS3DestinationConfiguration.CompressionFormat Snappy is not supported by this engine: use ' +
        'UNCOMPRESSED or GZIP.',
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'bad', ExtendedS3DestinationConfiguration: s3({ FileExtension: 'gz' }) },
      'ValidationException',
      /fileExtension/,
    );
  });

  it('ShardtailDirectory (absolute or relative to the engine) or ShardtailS3Endpoint, not both', () => {
    const h = new Harness();
    h.create('dir', {
      ExtendedS3DestinationConfiguration: s3({ ShardtailDirectory: relative(process.cwd(), h.dataDir) }),
    });
    h.create('store', { ExtendedS3DestinationConfiguration: s3({ ShardtailS3Endpoint: 'http://127.0.0.1:4569' }) });
    assert.deepEqual(s3Of(h, 'dir').s3.target, { kind: 'directory', root: h.dataDir });
    assert.deepEqual(s3Of(h, 'store').s3.target, {
      kind: 's3',
      endpoint: 'http://127.0.0.1:4569',
      bucket: 'logs-bucket',
      region: 'us-east-1',
    });
    h.fails(
      'CreateDeliveryStream',
      {
        DeliveryStreamName: 'both',
        ExtendedS3DestinationConfiguration: s3({ ShardtailDirectory: '/tmp', ShardtailS3Endpoint: 'http://x' }),
      },
      'InvalidArgumentException',
      /not both/,
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'arn', ExtendedS3DestinationConfiguration: s3({ BucketARN: 'arn:aws:s3:::' }) },
      'InvalidArgumentException',
      /is not an S3 bucket ARN/,
    );
  });

  it('prefix rules are checked at create, with the member named', () => {
    const h = new Harness();
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'p', ExtendedS3DestinationConfiguration: s3({ Prefix: '!{timestamp:yyyy}/' }) },
      'InvalidArgumentException',
      'ExtendedS3DestinationConfiguration: ErrorOutputPrefix is required when Prefix contains expressions.',
    );
    h.create('ok', {
      ExtendedS3DestinationConfiguration: s3({ Prefix: '!{timestamp:yyyy}/', ErrorOutputPrefix: ERRORS }),
    });
    assert.equal(s3Of(h, 'ok').s3.errorOutputPrefix, ERRORS);
  });
});

describe('processing', () => {
  it('a Lambda processor: the function file by name under <dataDir>/functions, defaults filled', () => {
    const h = new Harness();
    const tried = ['.js', '.mjs', '.cjs'].map((ext) => join(h.dataDir, 'functions', 'xform' + ext));
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'l', ExtendedS3DestinationConfiguration: s3(processors(lambda())) },
      'InvalidArgumentException',
      `No function file for ${LAMBDA_ARN}: looked for ${tried.join(', ')}. ` +
        "Put the function's module there or name it with the processor parameter ShardtailFunctionFile.",
    );
    mkdirSync(join(h.dataDir, 'functions'));
    writeFileSync(join(h.dataDir, 'functions', 'xform.mjs'), 'export const handler = async (e) => e;');
    h.create('l', { ExtendedS3DestinationConfiguration: s3(processors(lambda())) });
    assert.deepEqual(s3Of(h, 'l').processing, {
      lambda: {
        lambdaArn: LAMBDA_ARN,
        modulePath: join(h.dataDir, 'functions', 'xform.mjs'),
        numberOfRetries: 3,
        timeoutMs: 60_000,
        bufferSizeBytes: 1024 * 1024,
        bufferIntervalMs: 60_000,
      },
      metadataQueries: undefined,
      appendDelimiter: false,
    });
  });

  it('ShardtailFunctionFile and the numeric parameters, within their ranges', () => {
    const h = new Harness();
    const file = join(h.dataDir, 'f.js');
    writeFileSync(file, 'exports.handler = async (e) => e;');
    const params: Array<[string, string]> = [
      ['ShardtailFunctionFile', relative(process.cwd(), file)],
      ['NumberOfRetries', '0'],
      ['BufferSizeInMBs', '0.2'],
      ['BufferIntervalInSeconds', '0'],
      ['ShardtailFunctionTimeoutSeconds', '300'],
    ];
    h.create('l', {
      ExtendedS3DestinationConfiguration: s3({ ...processors(lambda(...params), { Type: 'AppendDelimiterToRecord' }) }),
    });
    const { lambda: fn, appendDelimiter } = s3Of(h, 'l').processing;
    assert.deepEqual(fn, {
      lambdaArn: LAMBDA_ARN,
      modulePath: file,
      numberOfRetries: 0,
      timeoutMs: 300_000,
      bufferSizeBytes: Math.round(0.2 * 1024 * 1024),
      bufferIntervalMs: 0,
    });
    assert.equal(appendDelimiter, true);
    for (const [name, value] of [
      ['BufferSizeInMBs', '0.1'],
      ['NumberOfRetries', '301'],
      ['ShardtailFunctionTimeoutSeconds', '301'],
      ['BufferIntervalInSeconds', 'soon'],
    ])
      h.fails(
        'CreateDeliveryStream',
        {
          DeliveryStreamName: 'bad',
          ExtendedS3DestinationConfiguration: s3(processors(lambda(['ShardtailFunctionFile', file], [name, value]))),
        },
        'InvalidArgumentException',
        new RegExp(`parameter ${name} must be`),
      );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'bad', ExtendedS3DestinationConfiguration: s3(processors({ Type: 'Decompression' })) },
      'InvalidArgumentException',
      /Processor type Decompression is not supported/,
    );
  });

  it('a disabled ProcessingConfiguration processes nothing', () => {
    const h = new Harness();
    h.create('off', {
      ExtendedS3DestinationConfiguration: s3({ ProcessingConfiguration: { Enabled: false, Processors: [lambda()] } }),
    });
    assert.equal(s3Of(h, 'off').processing.lambda, undefined);
  });

  it('MetadataExtraction plain paths become partition key queries, for dynamic partitioning', () => {
    const h = new Harness();
    const metadata = (query: string) => ({
      Type: 'MetadataExtraction',
      Parameters: [
        { ParameterName: 'MetadataExtractionQuery', ParameterValue: query },
        { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
      ],
    });
    const partitioned = (query: string, prefix: string) =>
      s3({
        ...processors(metadata(query)),
        Prefix: prefix,
        ErrorOutputPrefix: ERRORS,
        DynamicPartitioningConfiguration: { Enabled: true },
      });
    h.create('dp', {
      ExtendedS3DestinationConfiguration: partitioned(
        '{customer_id:.customer_id, device:.type.device}',
        'c=!{partitionKeyFromQuery:customer_id}/d=!{partitionKeyFromQuery:device}/',
      ),
    });
    const destination = s3Of(h, 'dp');
    assert.deepEqual(destination.processing.metadataQueries, { customer_id: '.customer_id', device: '.type.device' });
    assert.deepEqual(destination.kind === 's3' && destination.partitioning, {
      enabled: true,
      retryDurationMs: 300_000,
    });
    h.fails(
      'CreateDeliveryStream',
      {
        DeliveryStreamName: 'jq',
        ExtendedS3DestinationConfiguration: partitioned('{a:.a|tostring}', '!{partitionKeyFromQuery:a}/'),
      },
      'InvalidArgumentException',
      /^MetadataExtractionQuery \{a:\.a\|tostring\} is not supported by this engine/,
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'nokey', ExtendedS3DestinationConfiguration: partitioned('{a:.a}', 'plain/') },
      'InvalidArgumentException',
      /must contain at least one partitionKeyFromQuery/,
    );
  });
});

describe('HTTP endpoint destination', () => {
  const http = (extra: object = {}) => ({
    HttpEndpointDestinationConfiguration: {
      EndpointConfiguration: { Url: 'http://127.0.0.1:9999/ingest', Name: 'local', AccessKey: 'secret' },
      S3Configuration: s3(),
      ...extra,
    },
  });

  it('accepts http:// for local targets and fills the defaults', () => {
    const h = new Harness();
    h.create(
      'web',
      http({ RequestConfiguration: { CommonAttributes: [{ AttributeName: 'env', AttributeValue: 'test' }] } }),
    );
    const destination = configOf(h, 'web').destination;
    assert.equal(destination.kind, 'http');
    const { backup, ...rest } = destination.http;
    assert.deepEqual(rest, {
      url: 'http://127.0.0.1:9999/ingest',
      name: 'local',
      accessKey: 'secret',
      contentEncoding: 'NONE',
      commonAttributes: { env: 'test' },
      retryDurationMs: 300_000,
      backupMode: 'FailedDataOnly',
      bufferingHints: { sizeBytes: 5 * 1024 * 1024, intervalMs: 300_000 },
    });
    assert.equal(backup.bucketArn, 'arn:aws:s3:::logs-bucket');
    const description = h.describe('web').Destinations[0].HttpEndpointDestinationDescription;
    assert.deepEqual(description.EndpointConfiguration, { Url: 'http://127.0.0.1:9999/ingest', Name: 'local' });
    assert.equal(description.S3DestinationDescription.BucketARN, 'arn:aws:s3:::logs-bucket');
  });

  it('refuses another scheme, a missing S3Configuration, and size hints over 64 MiB', () => {
    const h = new Harness();
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'ftp', ...http({ EndpointConfiguration: { Url: 'ftp://x' } }) },
      'ValidationException',
      /endpointConfiguration.url' failed to satisfy constraint: Member must satisfy regular expression pattern: https\?:\/\/\.\*/,
    );
    h.fails(
      'CreateDeliveryStream',
      {
        DeliveryStreamName: 'nos3',
        HttpEndpointDestinationConfiguration: { EndpointConfiguration: { Url: 'https://x' } },
      },
      'ValidationException',
      "1 validation error detected: Value null at 'httpEndpointDestinationConfiguration.s3Configuration' " +
        'failed to satisfy constraint: Member must not be null',
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'big', ...http({ BufferingHints: { SizeInMBs: 65 } }) },
      'ValidationException',
      /less than or equal to 64/,
    );
  });
});
