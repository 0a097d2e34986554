/**
 * `shardtail firehose create|list|describe|put|delete` as real child processes against the engine
 * as a child process: the requests the flags make, as DescribeDeliveryStream tells them back, what
 * `put` delivers into the directory, and the error lines and exit codes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliResult } from '../support/cli-process.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { deliveredObjects } from '../support/firehose-calls.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

/** stdout lines of a finished command that must have succeeded. */
function linesOf(result: CliResult): string[] {
  assert.equal(result.code, 0, `exit ${result.code}; stderr: ${result.stderr}`);
  return result.stdout.split('\n').slice(0, -1);
}

interface Description {
  DeliveryStreamName: string;
  DeliveryStreamStatus: string;
  DeliveryStreamType: string;
  Destinations: Array<Record<string, any>>;
}

describe('shardtail firehose against the engine child process', { timeout: 60_000 }, () => {
  let engine: EngineProcess | undefined;
  let url = '';
  const firehose = (...args: string[]) => runCli(['firehose', ...args, '--endpoint', url]);
  const describeStream = async (name: string): Promise<Description> =>
    JSON.parse((await firehose('describe', name)).stdout) as Description;

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-firehose-cli-') });
    url = engine.url;
  });

  after(async () => {
    await engine?.stop(5_000);
    await removeTempDirs();
  });

  it('create --to DIR, list, describe, put --data: the record lands in DIR; delete', async () => {
    const objects = makeTempDir('shardtail-firehose-cli-objects-');
    const created = linesOf(await firehose('create', 'Cli.Stream_1', '--to', objects, '--buffer-seconds', '1'));
    assert.match(
      created[0],
      /^created delivery stream Cli\.Stream_1 \(arn:aws:firehose:us-east-1:\d{12}:deliverystream\/Cli\.Stream_1\)$/,
    );

    const again = await firehose('create', 'Cli.Stream_1', '--to', objects);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^shardtail: ResourceInUseException: .*Cli\.Stream_1.*\n$/);

    assert.ok(linesOf(await firehose('list')).includes('Cli.Stream_1'));

    const described = await describeStream('Cli.Stream_1');
    assert.equal(described.DeliveryStreamStatus, 'ACTIVE');
    assert.equal(described.DeliveryStreamType, 'DirectPut');
    const s3 = described.Destinations[0].ExtendedS3DestinationDescription;
    assert.equal(s3.BucketARN, 'arn:aws:s3:::cli.stream-1', 'a valid bucket name made of the stream name');
    assert.equal(s3.ShardtailDirectory, objects);
    assert.deepEqual(s3.BufferingHints, { SizeInMBs: 5, IntervalInSeconds: 1 }, 'the size AWS defaults to');
    assert.equal(s3.CompressionFormat, 'UNCOMPRESSED');

    const put = linesOf(await firehose('put', 'Cli.Stream_1', '--data', 'hello firehose\n'));
    assert.equal(put.length, 1);
    assert.ok(put[0].length > 0, 'a RecordId');
    const delivered = await waitFor(() => deliveredObjects(objects, 'Cli.Stream_1').at(0), {
      timeoutMs: 15_000,
      message: 'the object holding the record',
    });
    assert.match(delivered.key, /^\d{4}\/\d{2}\/\d{2}\/\d{2}\/Cli\.Stream_1-1-/);
    assert.equal(delivered.data.toString(), 'hello firehose\n');

    assert.deepEqual(linesOf(await firehose('delete', 'Cli.Stream_1')), ['deleted delivery stream Cli.Stream_1']);
    await waitFor(async () => (await firehose('describe', 'Cli.Stream_1')).code === 1, {
      message: 'the deleted stream to be gone',
    });
    const gone = await firehose('describe', 'Cli.Stream_1');
    assert.match(gone.stderr, /^shardtail: ResourceNotFoundException: .*Cli\.Stream_1.*\n$/);
  });

  it('put --demo-data --seconds 1: stock-ticker JSON records, as many delivered as it says it sent', async () => {
    const objects = makeTempDir('shardtail-firehose-cli-demo-');
    linesOf(await firehose('create', 'demo-firehose', '--to', objects, '--buffer-seconds', '1'));
    const output = linesOf(await firehose('put', 'demo-firehose', '--demo-data', '--seconds', '1'));
    const sent = /^sent (\d+) demo records to demo-firehose$/.exec(output[0]);
    assert.ok(sent, output[0]);
    const count = Number(sent[1]);
    assert.ok(count > 0);
    // The console's records carry no newline: one object follows another.
    const records = await waitFor(
      () => {
        const text = deliveredObjects(objects, 'demo-firehose')
          .map((object) => object.data.toString())
          .join('');
        const found = text.length === 0 ? [] : text.replace(/\}\{/g, '}\n{').split('\n');
        return found.length >= count ? found : undefined;
      },
      { timeoutMs: 15_000, message: `${count} demo records delivered` },
    );
    assert.equal(records.length, count);
    for (const text of records) {
      const record = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(record), ['ticker_symbol', 'sector', 'change', 'price'], text);
      assert.match(String(record.ticker_symbol), /^[A-Z]{3,4}$/);
      assert.ok(['HEALTHCARE', 'FINANCIAL', 'TECHNOLOGY', 'ENERGY', 'RETAIL'].includes(String(record.sector)));
      assert.equal(typeof record.change, 'number');
      assert.ok(typeof record.price === 'number' && record.price > 0, text);
    }
  });

  it('create --transform --gzip --prefix --buffer-mb: the Lambda processor, GZIP, prefix and hints', async () => {
    const functions = makeTempDir('shardtail-firehose-cli-fn-');
    const file = path.join(functions, 'demo-firehose.js');
    writeFileSync(file, 'exports.handler = async (event) => ({ records: [] });\n');
    linesOf(
      await firehose(
        'create',
        'transformed',
        '--transform',
        file,
        '--gzip',
        '--prefix',
        'logs/',
        '--buffer-mb',
        '1',
        '--region',
        'eu-west-1',
      ),
    );
    const s3 = (await describeStream('transformed')).Destinations[0].ExtendedS3DestinationDescription;
    assert.equal(s3.CompressionFormat, 'GZIP');
    assert.equal(s3.Prefix, 'logs/');
    assert.deepEqual(s3.BufferingHints, { SizeInMBs: 1, IntervalInSeconds: 300 });
    assert.equal(s3.BucketARN, 'arn:aws:s3:::transformed');
    assert.equal(s3.ShardtailDirectory, undefined, 'the default folder: <dataDir>/s3/<bucket>');
    assert.equal(s3.ProcessingConfiguration.Enabled, true);
    const [processor] = s3.ProcessingConfiguration.Processors;
    assert.equal(processor.Type, 'Lambda');
    const parameters = Object.fromEntries(
      (processor.Parameters as Array<{ ParameterName: string; ParameterValue: string }>).map((p) => [
        p.ParameterName,
        p.ParameterValue,
      ]),
    );
    assert.equal(parameters.LambdaArn, 'arn:aws:lambda:eu-west-1:000000000000:function:demo-firehose');
    assert.equal(parameters.ShardtailFunctionFile, file);
  });

  it('create --http-endpoint: an HTTP endpoint destination backed up to the S3 store given', async () => {
    linesOf(
      await firehose(
        'create',
        'to-http',
        '--http-endpoint',
        'http://127.0.0.1:9/ingest',
        '--s3-endpoint',
        'http://127.0.0.1:9',
        '--bucket',
        'backup',
      ),
    );
    const http = (await describeStream('to-http')).Destinations[0].HttpEndpointDestinationDescription;
    assert.equal(http.EndpointConfiguration.Url, 'http://127.0.0.1:9/ingest');
    assert.equal(http.S3BackupMode, 'FailedDataOnly');
    assert.equal(http.S3DestinationDescription.BucketARN, 'arn:aws:s3:::backup');
    assert.equal(http.S3DestinationDescription.ShardtailS3Endpoint, 'http://127.0.0.1:9');
  });

  it('bad flags: exit 1 with a message naming them, nothing created', async () => {
    const both = await firehose('create', 'bad', '--to', '/tmp', '--s3-endpoint', 'http://127.0.0.1:9');
    assert.equal(both.code, 1);
    assert.equal(both.stderr, 'shardtail: --to DIR and --s3-endpoint URL are two places for the objects: give one\n');
    const noBucket = await firehose('create', 'bad', '--s3-endpoint', 'http://127.0.0.1:9');
    assert.equal(noBucket.code, 1);
    assert.equal(noBucket.stderr, 'shardtail: --s3-endpoint needs --bucket, the bucket to write to\n');
    const neither = await firehose('put', 'bad');
    assert.equal(neither.code, 1);
    assert.equal(neither.stderr, 'shardtail: put takes one of --data TEXT or --demo-data\n');
    assert.ok(!linesOf(await firehose('list')).includes('bad'));
  });

  it("an engine's error: its name and message, exit 1", async () => {
    const result = await firehose('put', 'no-such-stream', '--data', 'x');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^shardtail: ResourceNotFoundException: .*no-such-stream.*\n$/);
    assert.equal(result.stdout, '');
  });
});
