import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BlobBytes } from '../../../../src/client/blob-bytes.js';
import { InProcessClient } from '../../../../src/engine/in-process-client.js';
import { removeTempDirs } from '../../../support/tmp.js';
import { ACCOUNT, Harness, ROLE, s3 } from './harness.js';

/** The Firehose control plane and puts through FirehoseService.call: statuses, errors, persistence, lifecycle. */

after(removeTempDirs);

describe('CreateDeliveryStream and DescribeDeliveryStream', () => {
  it('describes a minimal ExtendedS3 stream with the defaults AWS shows', () => {
    const h = new Harness();
    const { DeliveryStreamARN } = h.create('logs');
    assert.equal(DeliveryStreamARN, `arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/logs`);
    const d = h.describe('logs');
    assert.equal(d.DeliveryStreamStatus, 'ACTIVE');
    assert.equal(d.DeliveryStreamType, 'DirectPut');
    assert.equal(d.VersionId, '1');
    assert.equal(d.CreateTimestamp, h.clock / 1000);
    assert.equal(d.HasMoreDestinations, false);
    assert.deepEqual(d.DeliveryStreamEncryptionConfiguration, { Status: 'DISABLED' });
    assert.equal(d.Destinations.length, 1);
    assert.equal(d.Destinations[0].DestinationId, 'destinationId-000000000001');
    assert.deepEqual(d.Destinations[0].ExtendedS3DestinationDescription, {
      RoleARN: ROLE,
      BucketARN: 'arn:aws:s3:::logs-bucket',
      Prefix: '',
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
      CompressionFormat: 'UNCOMPRESSED',
      EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
      CloudWatchLoggingOptions: { Enabled: false },
      S3BackupMode: 'Disabled',
    });
    assert.equal(d.Destinations[0].S3DestinationDescription.BucketARN, 'arn:aws:s3:::logs-bucket');
  });

  it('takes the deprecated S3DestinationConfiguration as an S3 destination', () => {
    const h = new Harness();
    h.create('old', { S3DestinationConfiguration: s3({ CompressionFormat: 'GZIP' }) });
    const config = h.service.activeConfigs()[0];
    assert.equal(config.destination.kind, 's3');
    assert.equal(config.destination.kind === 's3' && config.destination.s3.fileExtension, '.gz');
  });

  it('refuses a taken name, no destination, two, and one the engine does not deliver to', () => {
    const h = new Harness();
    h.create('logs');
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'logs', ExtendedS3DestinationConfiguration: s3() },
      'ResourceInUseException',
      `Firehose logs under account ${ACCOUNT} already exists.`,
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'none' },
      'InvalidArgumentException',
      'Exactly one destination configuration is required; none was given.',
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'two', ExtendedS3DestinationConfiguration: s3(), S3DestinationConfiguration: s3() },
      'InvalidArgumentException',
      /got ExtendedS3DestinationConfiguration, S3DestinationConfiguration/,
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'rs', RedshiftDestinationConfiguration: { RoleARN: ROLE } },
      'InvalidArgumentException',
      /^RedshiftDestinationConfiguration is not supported: this engine delivers to S3 \(a directory or an S3-compatible store\) and HTTP endpoints only/,
    );
    assert.deepEqual(h.call('ListDeliveryStreams', {}).DeliveryStreamNames, ['logs']);
  });

  it('answers shape errors as AWS words them', () => {
    const h = new Harness();
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'a b', ExtendedS3DestinationConfiguration: s3() },
      'ValidationException',
      "1 validation error detected: Value 'a b' at 'deliveryStreamName' failed to satisfy constraint: Member must " +
        'satisfy regular expression pattern: [a-zA-Z0-9_.-]+',
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'big', ExtendedS3DestinationConfiguration: s3({ BufferingHints: { SizeInMBs: 129 } }) },
      'ValidationException',
      "1 validation error detected: Value '129' at 'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' " +
        'failed to satisfy constraint: Member must have value less than or equal to 128',
    );
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'norole', ExtendedS3DestinationConfiguration: { BucketARN: 'arn:aws:s3:::b' } },
      'ValidationException',
      /Value null at 'extendedS3DestinationConfiguration.roleARN' failed to satisfy constraint: Member must not be null/,
    );
    h.fails('PutRecord', { DeliveryStreamName: 'x', Record: { Data: 7 } }, 'SerializationException');
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'x', ExtendedS3DestinationConfiguration: 'x' },
      'SerializationException',
    );
    h.fails('Nonsense', {}, 'UnknownOperationException', 'Operation Nonsense is not supported by this engine.');
    h.fails('valueOf', {}, 'UnknownOperationException');
  });

  it('refuses server-side encryption clearly instead of pretending', () => {
    const h = new Harness();
    h.create('logs');
    for (const action of ['StartDeliveryStreamEncryption', 'StopDeliveryStreamEncryption'])
      h.fails(action, { DeliveryStreamName: 'logs' }, 'InvalidArgumentException', /not supported by this engine/);
  });
});

describe('statuses', () => {
  it('CREATING → ACTIVE after the delay; DELETING → gone after it, with the buffer dropped', () => {
    const h = new Harness({ statusDelayMs: 1000 });
    h.create('logs');
    assert.equal(h.describe('logs').DeliveryStreamStatus, 'CREATING');
    h.fails(
      'PutRecord',
      { DeliveryStreamName: 'logs', Record: { Data: 'YQ==' } },
      'ResourceInUseException',
      `Firehose logs under account ${ACCOUNT} is not ACTIVE, instead in state CREATING.`,
    );
    h.fails('DeleteDeliveryStream', { DeliveryStreamName: 'logs' }, 'ResourceInUseException', /CREATING/);
    assert.deepEqual(h.events, []);
    h.clock += 1000;
    assert.equal(h.describe('logs').DeliveryStreamStatus, 'ACTIVE');
    assert.deepEqual(h.events, ['started logs v1']);
    h.call('PutRecord', { DeliveryStreamName: 'logs', Record: { Data: 'YQ==' } });
    assert.equal(h.bufferedCount('logs'), 1);
    h.call('DeleteDeliveryStream', { DeliveryStreamName: 'logs' });
    assert.equal(h.describe('logs').DeliveryStreamStatus, 'DELETING');
    assert.deepEqual(h.events, ['started logs v1', 'deleted logs']);
    h.clock += 1000;
    h.fails(
      'DescribeDeliveryStream',
      { DeliveryStreamName: 'logs' },
      'ResourceNotFoundException',
      `Firehose logs under account ${ACCOUNT} not found.`,
    );
    assert.equal(h.bufferedCount('logs'), 0);
  });

  it('keeps streams, versions and tags across a restart, and starts delivery of the ACTIVE ones', async () => {
    const h = new Harness();
    h.create('logs', { ExtendedS3DestinationConfiguration: s3(), Tags: [{ Key: 'team', Value: 'ops' }] });
    h.call('UpdateDestination', {
      DeliveryStreamName: 'logs',
      CurrentDeliveryStreamVersionId: '1',
      DestinationId: 'destinationId-000000000001',
      ExtendedS3DestinationUpdate: { Prefix: 'p/' },
    });
    await h.restart();
    assert.deepEqual(h.events, ['started logs v1', 'updated logs v2', 'stop', 'started logs v2']);
    const d = h.describe('logs');
    assert.equal(d.VersionId, '2');
    assert.equal(d.Destinations[0].ExtendedS3DestinationDescription.Prefix, 'p/');
    assert.deepEqual(h.call('ListTagsForDeliveryStream', { DeliveryStreamName: 'logs' }).Tags, [
      { Key: 'team', Value: 'ops' },
    ]);
  });
});

describe('ListDeliveryStreams', () => {
  it('pages alphabetically, filters by type', () => {
    const h = new Harness({ findKinesisStream: (arn) => ({ streamName: 'src', streamArn: arn }) });
    for (const name of ['c', 'a', 'b']) h.create(name);
    h.create('k', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      ExtendedS3DestinationConfiguration: s3(),
      KinesisStreamSourceConfiguration: {
        KinesisStreamARN: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/src`,
        RoleARN: ROLE,
      },
    });
    assert.deepEqual(h.call('ListDeliveryStreams', { Limit: 2 }), {
      DeliveryStreamNames: ['a', 'b'],
      HasMoreDeliveryStreams: true,
    });
    assert.deepEqual(h.call('ListDeliveryStreams', { ExclusiveStartDeliveryStreamName: 'b' }), {
      DeliveryStreamNames: ['c', 'k'],
      HasMoreDeliveryStreams: false,
    });
    assert.deepEqual(
      h.call('ListDeliveryStreams', { DeliveryStreamType: 'KinesisStreamAsSource' }).DeliveryStreamNames,
      ['k'],
    );
  });
});

describe('puts', () => {
  it('answers RecordIds, refuses oversized records and batches', () => {
    const h = new Harness();
    h.create('logs');
    const one = h.call('PutRecord', {
      DeliveryStreamName: 'logs',
      Record: { Data: Buffer.from('x').toString('base64') },
    });
    assert.equal(one.Encrypted, false);
    assert.ok(one.RecordId.length > 0);
    h.fails(
      'PutRecord',
      { DeliveryStreamName: 'logs', Record: { Data: Buffer.alloc(1_024_001).toString('base64') } },
      'ValidationException',
      /at 'record.data' failed to satisfy constraint: Member must have length less than or equal to 1024000/,
    );
    const record = { Data: Buffer.alloc(1_024_000).toString('base64') };
    h.fails(
      'PutRecordBatch',
      { DeliveryStreamName: 'logs', Records: [record, record, record, record, record] },
      'InvalidArgumentException',
      'Records size exceeds 4 MB limit',
    );
    h.fails(
      'PutRecordBatch',
      { DeliveryStreamName: 'logs', Records: Array(501).fill({ Data: '' }) },
      'ValidationException',
      /Member must have length less than or equal to 500/,
    );
    const batch = h.call('PutRecordBatch', { DeliveryStreamName: 'logs', Records: [record, record, record, record] });
    assert.equal(batch.FailedPutCount, 0);
    assert.equal(new Set(batch.RequestResponses.map((r: any) => r.RecordId)).size, 4);
    assert.equal(h.bufferedCount('logs'), 5);
    h.fails(
      'PutRecord',
      { DeliveryStreamName: 'nope', Record: { Data: '' } },
      'ResourceNotFoundException',
      `Firehose nope under account ${ACCOUNT} not found.`,
    );
  });

  it('takes the bytes of the in-process client as the agent sends them, and its errors are AwsApiErrors', async () => {
    const h = new Harness();
    h.create('logs');
    const client = new InProcessClient(h.service);
    const data = Buffer.from([0, 255, 10]);
    const answer = await client.call<any>('PutRecordBatch', {
      DeliveryStreamName: 'logs',
      Records: [{ Data: new BlobBytes(data) }],
    });
    assert.equal(answer.FailedPutCount, 0);
    const stored = h.service.db.prepare('SELECT data FROM firehose_records WHERE stream = ?').pluck().get('logs');
    assert.deepEqual(stored, data);
    await assert.rejects(
      client.call('PutRecord', { DeliveryStreamName: 'none', Record: { Data: new BlobBytes(data) } }),
      {
        name: 'ResourceNotFoundException',
      },
    );
  });

  it('refuses puts to a KinesisStreamAsSource stream, and a source the engine does not have', () => {
    const arn = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/src`;
    const h = new Harness({
      findKinesisStream: (given) => (given === arn ? { streamName: 'src', streamArn: arn } : undefined),
    });
    const source = (streamArn: string) => ({
      DeliveryStreamType: 'KinesisStreamAsSource',
      ExtendedS3DestinationConfiguration: s3(),
      KinesisStreamSourceConfiguration: { KinesisStreamARN: streamArn, RoleARN: ROLE },
    });
    h.fails(
      'CreateDeliveryStream',
      { DeliveryStreamName: 'k', ...source(arn + 'x') },
      'InvalidArgumentException',
      /names no stream of this engine/,
    );
    h.create('k', source(arn));
    const d = h.describe('k');
    assert.deepEqual(d.Source.KinesisStreamSourceDescription, {
      KinesisStreamARN: arn,
      RoleARN: ROLE,
      DeliveryStartTimestamp: h.clock / 1000,
    });
    assert.deepEqual(h.service.activeConfigs()[0].source, {
      streamName: 'src',
      streamArn: arn,
      startTimestampMs: h.clock,
    });
    h.fails(
      'PutRecord',
      { DeliveryStreamName: 'k', Record: { Data: '' } },
      'InvalidArgumentException',
      'This operation is not permitted on KinesisStreamAsSource delivery stream type.',
    );
    h.fails(
      'PutRecordBatch',
      { DeliveryStreamName: 'k', Records: [{ Data: '' }] },
      'InvalidArgumentException',
      'This operation is not permitted on KinesisStreamAsSource delivery stream type.',
    );
  });
});

describe('UpdateDestination and tags', () => {
  it('needs the current version, bumps it, merges the update, and tells the delivery side', () => {
    const h = new Harness();
    h.create('logs', {
      ExtendedS3DestinationConfiguration: s3({ BufferingHints: { SizeInMBs: 10, IntervalInSeconds: 60 } }),
    });
    const update = (version: string, change: object) =>
      h.call('UpdateDestination', {
        DeliveryStreamName: 'logs',
        CurrentDeliveryStreamVersionId: version,
        DestinationId: 'destinationId-000000000001',
        ExtendedS3DestinationUpdate: change,
      });
    assert.throws(() => update('2', { Prefix: 'x/' }), { name: 'ConcurrentModificationException' });
    update('1', { CompressionFormat: 'GZIP' });
    const d = h.describe('logs').Destinations[0].ExtendedS3DestinationDescription;
    assert.equal(h.describe('logs').VersionId, '2');
    assert.equal(d.CompressionFormat, 'GZIP');
    assert.deepEqual(d.BufferingHints, { SizeInMBs: 10, IntervalInSeconds: 60 });
    assert.deepEqual(h.events, ['started logs v1', 'updated logs v2']);
    const s3Config = h.configs.get('logs')!.destination;
    assert.equal(s3Config.kind === 's3' && s3Config.s3.compression, 'GZIP');
    assert.throws(() => update('2', { CompressionFormat: 'ZIP' }), /CompressionFormat ZIP is not supported/);
    assert.throws(
      () => update('2', { DynamicPartitioningConfiguration: { Enabled: true } }),
      /only be set when the delivery stream is created/,
    );
    assert.equal(h.describe('logs').VersionId, '2');
  });

  it('tags: at most 50, listed by key, removed by key', () => {
    const h = new Harness();
    h.create('logs', { ExtendedS3DestinationConfiguration: s3(), Tags: [{ Key: 'b', Value: '2' }] });
    h.call('TagDeliveryStream', { DeliveryStreamName: 'logs', Tags: [{ Key: 'a', Value: '1' }, { Key: 'c' }] });
    assert.deepEqual(h.call('ListTagsForDeliveryStream', { DeliveryStreamName: 'logs', Limit: 2 }), {
      Tags: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
      HasMoreTags: true,
    });
    h.call('UntagDeliveryStream', { DeliveryStreamName: 'logs', TagKeys: ['a'] });
    assert.deepEqual(
      h.call('ListTagsForDeliveryStream', { DeliveryStreamName: 'logs', ExclusiveStartTagKey: 'b' }).Tags,
      [{ Key: 'c', Value: '' }],
    );
    const many = Array.from({ length: 48 }, (_, i) => ({ Key: `k${i}`, Value: '' }));
    h.call('TagDeliveryStream', { DeliveryStreamName: 'logs', Tags: many });
    h.fails(
      'TagDeliveryStream',
      { DeliveryStreamName: 'logs', Tags: [{ Key: 'one-more' }] },
      'LimitExceededException',
      /limit of 50 tags/,
    );
    h.fails('TagDeliveryStream', { DeliveryStreamName: 'logs', Tags: [{ Key: 'aws:x' }] }, 'ValidationException');
  });
});
