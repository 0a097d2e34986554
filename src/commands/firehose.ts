import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Argv, CommandModule } from 'yargs';
import { BlobBytes } from '../client/blob-bytes.js';
import {
  createDeliveryStreamRequest,
  waitUntilActive,
  type DeliveryStreamSpec,
  type ObjectPlace,
} from '../client/delivery-streams.js';
import { resolveEndpoint } from '../client/endpoint.js';
import type { HttpJsonApiClient } from '../client/http-client.js';
import { endpointOptions, printJson, withApiClient, type EndpointArgs } from './api-client.js';
import { DemoTickerData } from './firehose-demo-data.js';

/** A local engine makes a stream ACTIVE within its status delay; AWS takes a minute or a few. */
const CREATE_WAIT_MS = 10 * 60_000;
/** Demo data goes out as the console sends it: a small batch several times a second. */
const DEMO_BATCH_RECORDS = 10;
const DEMO_BATCH_INTERVAL_MS = 250;

function withClient(args: EndpointArgs, run: (client: HttpJsonApiClient) => Promise<void>): Promise<void> {
  return withApiClient('firehose', 'shardtail', args, run);
}

interface CreateArgs extends EndpointArgs {
  name: string;
  to?: string;
  's3-endpoint'?: string;
  bucket?: string;
  'http-endpoint'?: string;
  'buffer-mb'?: number;
  'buffer-seconds'?: number;
  transform?: string;
  gzip: boolean;
  prefix?: string;
  wait: boolean;
}

function finiteOrUndefined(flag: string, value: number | undefined): number | undefined {
  if (value !== undefined && !Number.isFinite(value)) throw new Error(`${flag} takes a number`);
  return value;
}

/** What the flags of `create` ask for; contradictory or incomplete flags are an error naming them. */
export function specFromFlags(args: CreateArgs): DeliveryStreamSpec {
  if (args.to !== undefined && args['s3-endpoint'] !== undefined)
    throw new Error('--to DIR and --s3-endpoint URL are two places for the objects: give one');
  if (args['s3-endpoint'] !== undefined && args.bucket === undefined)
    throw new Error('--s3-endpoint needs --bucket, the bucket to write to');
  let place: ObjectPlace = {};
  if (args.to !== undefined) place = { directory: path.resolve(args.to) };
  else if (args['s3-endpoint'] !== undefined) place = { s3Endpoint: args['s3-endpoint'] };
  const region = resolveEndpoint({ service: 'firehose', endpoint: args.endpoint, region: args.region }).region;
  const transform =
    args.transform === undefined
      ? undefined
      : {
          file: path.resolve(args.transform),
          // A Lambda function name is [a-zA-Z0-9-_]+; a file name may hold more.
          functionName: path.parse(args.transform).name.replace(/[^a-zA-Z0-9_-]/g, '-') || 'transform',
          region,
        };
  return {
    name: args.name,
    bucket: args.bucket,
    place,
    httpEndpoint: args['http-endpoint'],
    bufferMiB: finiteOrUndefined('--buffer-mb', args['buffer-mb']),
    bufferSeconds: finiteOrUndefined('--buffer-seconds', args['buffer-seconds']),
    transform,
    gzip: args.gzip,
    prefix: args.prefix,
  };
}

interface BatchAnswer {
  FailedPutCount: number;
  RequestResponses: Array<{ RecordId?: string; ErrorCode?: string }>;
}

/** Sends demo records until `seconds` have passed or SIGINT / SIGTERM; returns how many were accepted. */
async function sendDemoData(
  client: HttpJsonApiClient,
  name: string,
  seconds: number,
): Promise<{ sent: number; refused: number }> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const deadline = Date.now() + seconds * 1000;
  const data = new DemoTickerData();
  let sent = 0;
  let refused = 0;
  try {
    while (!abort.signal.aborted && Date.now() < deadline) {
      const records = Array.from({ length: DEMO_BATCH_RECORDS }, () => ({
        Data: new BlobBytes(Buffer.from(data.next())),
      }));
      const answer = await client.call<BatchAnswer>('PutRecordBatch', { DeliveryStreamName: name, Records: records });
      sent += records.length - answer.FailedPutCount;
      refused += answer.FailedPutCount;
      const pauseMs = Math.min(DEMO_BATCH_INTERVAL_MS, deadline - Date.now());
      if (pauseMs > 0) await sleep(pauseMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return { sent, refused };
}

const subcommands = (yargs: Argv<EndpointArgs>) =>
  yargs
    .command(
      'create <name>',
      'Create a delivery stream (DirectPut) delivering to a directory, an S3 store or an HTTP endpoint',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .option('to', { type: 'string', describe: 'Directory standing in for the bucket' })
          .option('s3-endpoint', { type: 'string', describe: 'S3-compatible store to deliver to (with --bucket)' })
          .option('bucket', {
            type: 'string',
            describe: 'Bucket name (default: the stream name; without --to, under <engine data>/s3/)',
          })
          .option('http-endpoint', {
            type: 'string',
            describe: 'Deliver to this URL; failed records go to the directory or bucket',
          })
          .option('buffer-mb', { type: 'number', describe: 'BufferingHints SizeInMBs (default 5)' })
          .option('buffer-seconds', { type: 'number', describe: 'BufferingHints IntervalInSeconds (default 300)' })
          .option('transform', { type: 'string', describe: 'JavaScript file run as the Lambda transform' })
          .option('gzip', {
            type: 'boolean',
            default: false,
            describe: 'GZIP objects (with --http-endpoint: GZIP request bodies)',
          })
          .option('prefix', { type: 'string', describe: 'S3 object key prefix' })
          .option('wait', { type: 'boolean', default: true, describe: 'Wait until the stream is ACTIVE' }),
      (args) =>
        withClient(args, async (client) => {
          const request = createDeliveryStreamRequest(specFromFlags(args));
          const created = await client.call<{ DeliveryStreamARN: string }>('CreateDeliveryStream', request);
          if (args.wait) await waitUntilActive(client, args.name, CREATE_WAIT_MS);
          process.stdout.write(`created delivery stream ${args.name} (${created.DeliveryStreamARN})\n`);
        }),
    )
    .command(
      'list',
      'List delivery streams',
      (y) => y,
      (args) =>
        withClient(args, async (client) => {
          let after: string | undefined;
          do {
            const page = await client.call<{ DeliveryStreamNames: string[]; HasMoreDeliveryStreams: boolean }>(
              'ListDeliveryStreams',
              { Limit: 10_000, ...(after === undefined ? {} : { ExclusiveStartDeliveryStreamName: after }) },
            );
            for (const name of page.DeliveryStreamNames) process.stdout.write(name + '\n');
            after = page.HasMoreDeliveryStreams ? page.DeliveryStreamNames.at(-1) : undefined;
          } while (after !== undefined);
        }),
    )
    .command(
      'describe <name>',
      'Print a delivery stream as DescribeDeliveryStream tells it (JSON)',
      (y) => y.positional('name', { type: 'string', demandOption: true }),
      (args) =>
        withClient(args, async (client) => {
          const described = await client.call<{ DeliveryStreamDescription: object }>('DescribeDeliveryStream', {
            DeliveryStreamName: args.name,
          });
          printJson(described.DeliveryStreamDescription);
        }),
    )
    .command(
      'delete <name>',
      'Delete a delivery stream',
      (y) => y.positional('name', { type: 'string', demandOption: true }),
      (args) =>
        withClient(args, async (client) => {
          await client.call('DeleteDeliveryStream', { DeliveryStreamName: args.name });
          process.stdout.write(`deleted delivery stream ${args.name}\n`);
        }),
    )
    .command(
      'put <name>',
      'Put one record (--data), or send stock-ticker demo records as the console does (--demo-data)',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .option('data', { type: 'string', describe: 'Record data, as text' })
          .option('demo-data', {
            type: 'boolean',
            default: false,
            describe: 'Send demo records until --seconds pass or Ctrl-C',
          })
          .option('seconds', { type: 'number', default: 10, describe: 'How long --demo-data sends' }),
      (args) =>
        withClient(args, async (client) => {
          if ((args.data === undefined) === !args['demo-data'])
            throw new Error('put takes one of --data TEXT or --demo-data');
          if (args['demo-data']) {
            if (!(args.seconds > 0)) throw new Error('--seconds takes a number of seconds above 0');
            const { sent, refused } = await sendDemoData(client, args.name, args.seconds);
            process.stdout.write(
              `sent ${sent} demo records to ${args.name}${refused > 0 ? ` (${refused} refused)` : ''}\n`,
            );
            return;
          }
          const output = await client.call<{ RecordId: string }>('PutRecord', {
            DeliveryStreamName: args.name,
            Record: { Data: new BlobBytes(Buffer.from(args.data!, 'utf8')) },
          });
          process.stdout.write(`${output.RecordId}\n`);
        }),
    )
    .demandCommand(1, 'Name a firehose subcommand: create, list, describe, delete, put.');

export const firehoseCommand: CommandModule<object, EndpointArgs> = {
  command: 'firehose',
  describe: 'Create, inspect, delete and write to delivery streams on any Firehose endpoint (the engine by default)',
  builder: (yargs) => subcommands(endpointOptions(yargs, 'Firehose')),
  handler: () => undefined,
};
