import type { Argv, CommandModule } from 'yargs';
import type { HttpJsonApiClient } from '../client/http-client.js';
import { deaggregate } from '../client/kpl-format.js';
import { readStream, type StartPosition, type StreamRecord } from '../client/stream-reader.js';
import { endpointOptions, printJson, withApiClient, type EndpointArgs } from './api-client.js';

type CommonArgs = EndpointArgs;

// `shardtail stream read | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

function withClient(args: CommonArgs, run: (client: HttpJsonApiClient) => Promise<void>): Promise<void> {
  return withApiClient('kinesis', 'shardtail stream', args, run);
}

export function parseStartPosition(text: string): StartPosition {
  const normalized = text.toLowerCase();
  if (normalized === 'trim-horizon' || normalized === 'trim_horizon') return { type: 'TRIM_HORIZON' };
  if (normalized === 'latest') return { type: 'LATEST' };
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (Number.isNaN(ms))
    throw new Error(`--from: '${text}' is not trim-horizon, latest, an ISO-8601 time or epoch seconds`);
  return { type: 'AT_TIMESTAMP', timestampMs: ms };
}

/** A record as a consumer gets it: a stored record, or a user record of a KPL aggregate. */
interface ConsumedRecord extends StreamRecord {
  /** The user record's place in its aggregate; absent for a record that was not aggregated. */
  subSequenceNumber?: number;
  explicitHashKey?: string;
}

/**
 * What a KCL consumer gets from a stored record: the user records of a KPL aggregate, with the
 * aggregate's sequence number and their place in it; any other record as it is. A record that has
 * the magic but not a valid aggregate after it comes as it is too, as in KCL, with a warning.
 */
function consumedRecords(record: StreamRecord, warn: (message: string) => void): ConsumedRecord[] {
  const result = deaggregate(record.data);
  if (result.kind === 'plain') return [record];
  if (result.kind === 'corrupt') {
    warn(
      `record ${record.sequenceNumber} of ${record.shardId} starts like a KPL aggregated record, but ` +
        `${result.reason}: printed as stored`,
    );
    return [record];
  }
  return result.records.map((user, subSequenceNumber) => ({
    ...record,
    partitionKey: user.partitionKey,
    data: Buffer.from(user.data.buffer, user.data.byteOffset, user.data.byteLength),
    subSequenceNumber,
    ...(user.explicitHashKey === undefined ? {} : { explicitHashKey: user.explicitHashKey }),
  }));
}

const warnOnStderr = (message: string) => process.stderr.write(`shardtail stream: ${message}\n`);

/** One record on stdout: its data as a line (a newline added unless it ends in one), or a JSON object. */
async function printRecord(record: ConsumedRecord, json: boolean): Promise<void> {
  let output: string | Buffer;
  if (json) {
    // Undefined fields (a plain record's subSequenceNumber, most explicitHashKeys) are left out.
    output =
      JSON.stringify({
        shardId: record.shardId,
        sequenceNumber: record.sequenceNumber,
        subSequenceNumber: record.subSequenceNumber,
        partitionKey: record.partitionKey,
        explicitHashKey: record.explicitHashKey,
        arrivalTime: new Date(record.arrivalMs).toISOString(),
        data: record.data.toString('utf8'),
        dataBase64: record.data.toString('base64'),
      }) + '\n';
  } else {
    const needsNewline = record.data.length === 0 || record.data[record.data.length - 1] !== 0x0a;
    output = needsNewline ? Buffer.concat([record.data, Buffer.from('\n')]) : record.data;
  }
  if (!process.stdout.write(output)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

const subcommands = (yargs: Argv<CommonArgs>) =>
  yargs
    .command(
      'create <name>',
      'Create a stream',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .option('shards', { type: 'number', default: 1, describe: 'Shard count (provisioned mode)' })
          .option('on-demand', {
            type: 'boolean',
            default: false,
            describe: 'On-demand capacity mode instead of a shard count',
          }),
      (args) =>
        withClient(args, async (client) => {
          await client.call(
            'CreateStream',
            args['on-demand']
              ? { StreamName: args.name, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }
              : { StreamName: args.name, ShardCount: args.shards },
          );
          process.stdout.write(`created stream ${args.name}\n`);
        }),
    )
    .command(
      'list',
      'List streams',
      (y) => y,
      (args) =>
        withClient(args, async (client) => {
          let nextToken: string | undefined;
          do {
            const page = await client.call<{ StreamNames: string[]; NextToken?: string; HasMoreStreams: boolean }>(
              'ListStreams',
              nextToken ? { NextToken: nextToken } : {},
            );
            for (const name of page.StreamNames) process.stdout.write(name + '\n');
            nextToken = page.HasMoreStreams ? page.NextToken : undefined;
          } while (nextToken);
        }),
    )
    .command(
      'describe <name>',
      'Describe a stream and its shards',
      (y) => y.positional('name', { type: 'string', demandOption: true }),
      (args) =>
        withClient(args, async (client) => {
          const summary = await client.call<{ StreamDescriptionSummary: object }>('DescribeStreamSummary', {
            StreamName: args.name,
          });
          const shards: object[] = [];
          let nextToken: string | undefined;
          do {
            const page = await client.call<{ Shards: object[]; NextToken?: string }>(
              'ListShards',
              nextToken ? { NextToken: nextToken } : { StreamName: args.name },
            );
            shards.push(...page.Shards);
            nextToken = page.NextToken;
          } while (nextToken);
          printJson({ ...summary.StreamDescriptionSummary, Shards: shards });
        }),
    )
    .command(
      'put <name>',
      'Put one record',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .option('partition-key', {
            type: 'string',
            demandOption: true,
            describe: 'Partition key (routes the record to a shard)',
          })
          .option('data', { type: 'string', demandOption: true, describe: 'Record data, as text' })
          .option('explicit-hash-key', {
            type: 'string',
            describe: 'Route by this hash key instead of the partition key',
          }),
      (args) =>
        withClient(args, async (client) => {
          const output = await client.call<{ ShardId: string; SequenceNumber: string }>('PutRecord', {
            StreamName: args.name,
            PartitionKey: args['partition-key'],
            Data: Buffer.from(args.data, 'utf8').toString('base64'),
            ...(args['explicit-hash-key'] ? { ExplicitHashKey: args['explicit-hash-key'] } : {}),
          });
          process.stdout.write(`${output.ShardId} ${output.SequenceNumber}\n`);
        }),
    )
    .command(
      'read <name>',
      "Print a stream's records, every shard, parents before children",
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .option('from', {
            type: 'string',
            default: 'trim-horizon',
            describe: 'trim-horizon, latest, or a time (ISO-8601 or epoch seconds)',
          })
          .option('follow', {
            alias: 'f',
            type: 'boolean',
            default: false,
            describe: 'Keep reading new records until interrupted',
          })
          .option('json', {
            type: 'boolean',
            default: false,
            describe:
              'One JSON object per record with key, sequence number, shard and arrival time (and, for a ' +
              'user record of a KPL aggregate, its subSequenceNumber and any explicitHashKey)',
          })
          .option('deaggregate', {
            type: 'boolean',
            default: true,
            describe: 'Print the user records of KPL aggregated records, as KCL consumers get them',
          }),
      (args) =>
        withClient(args, async (client) => {
          const from = parseStartPosition(args.from);
          const abort = new AbortController();
          const stop = () => abort.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          try {
            for await (const stored of readStream(client, {
              streamName: args.name,
              from,
              follow: args.follow,
              signal: abort.signal,
            })) {
              const records: ConsumedRecord[] = args.deaggregate ? consumedRecords(stored, warnOnStderr) : [stored];
              for (const record of records) await printRecord(record, args.json);
            }
          } finally {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          }
        }),
    )
    .demandCommand(1, 'Name a stream subcommand: create, list, describe, put, read.');

export const streamCommand: CommandModule<object, CommonArgs> = {
  command: 'stream',
  describe: 'Create, inspect, write and read streams on any Kinesis endpoint (the embedded engine by default)',
  builder: (yargs) => subcommands(endpointOptions(yargs, 'Kinesis')),
  handler: () => undefined,
};
