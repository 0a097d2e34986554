import type { CommandModule } from 'yargs';
import { createLogger } from '../log.js';
import { onShutdownSignal } from '../shutdown.js';

interface EngineArgs {
  host: string;
  port: number;
  'data-dir': string;
  'status-delay-ms': number;
  'enforce-limits': boolean;
  'shard-limit': number;
  'max-connections': number | undefined;
  region: string;
  fsync: boolean;
  'log-pretty': boolean;
}

export const engineCommand: CommandModule<object, EngineArgs> = {
  command: 'engine',
  describe: 'Run the embedded engine (Kinesis Data Streams and Data Firehose) in the foreground',
  builder: (yargs) =>
    yargs
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to bind' })
      .option('port', { type: 'number', default: 4567, describe: 'Port to bind (0 picks a free one)' })
      .option('data-dir', {
        type: 'string',
        default: './var/engine',
        describe: 'Where streams, delivery streams, buffered records and (by default) delivered objects are stored',
      })
      .option('status-delay-ms', {
        type: 'number',
        default: 0,
        describe: 'How long CREATING, UPDATING and DELETING last',
      })
      .option('enforce-limits', {
        type: 'boolean',
        default: false,
        describe: 'Enforce per-shard throughput quotas (1 MiB/s and 1,000 records/s in, 2 MiB/s and 5 reads/s out)',
      })
      .option('shard-limit', { type: 'number', default: 10_000, describe: 'Open shards allowed across all streams' })
      .option('max-connections', {
        type: 'number',
        describe:
          'Open client connections allowed at once; at the limit the oldest idle ones are closed (default: ' +
          'half the open-file limit, at most 10000)',
      })
      .option('region', { type: 'string', default: 'us-east-1', describe: 'Region used in stream ARNs' })
      .option('fsync', {
        type: 'boolean',
        default: false,
        describe: 'fsync every write (survive power loss, not only crashes)',
      })
      .option('log-pretty', { type: 'boolean', default: false, describe: 'Human-readable logs instead of JSON' })
      .check((args) => {
        if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
          throw new Error(`--port: ${args.port} is not a port number (0-65535)`);
        if (!Number.isInteger(args['status-delay-ms']) || args['status-delay-ms'] < 0)
          throw new Error('--status-delay-ms must be a whole number >= 0');
        if (!Number.isInteger(args['shard-limit']) || args['shard-limit'] < 1)
          throw new Error('--shard-limit must be a whole number >= 1');
        const maxConnections = args['max-connections'];
        if (maxConnections !== undefined && (!Number.isInteger(maxConnections) || maxConnections < 1))
          throw new Error('--max-connections must be a whole number >= 1');
        return true;
      }),
  handler: async (args) => {
    const logger = createLogger({ pretty: args['log-pretty'] || undefined });
    const { startEngine } = await import('../engine/server.js');
    const engine = await startEngine({
      host: args.host,
      port: args.port,
      dataDir: args['data-dir'],
      statusDelayMs: args['status-delay-ms'],
      enforceLimits: args['enforce-limits'],
      shardLimit: args['shard-limit'],
      maxConnections: args['max-connections'],
      region: args.region,
      fsync: args.fsync,
      logger,
    }).catch((error: NodeJS.ErrnoException) => {
      // Only the listen step fails with these syscalls; anything else (the storage, above all) says what it is itself.
      const listening = error.syscall === 'listen' || error.syscall === 'bind' || error.syscall === 'getaddrinfo';
      const reason =
        error.code === 'EADDRINUSE'
          ? 'the address is already in use'
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.message;
      const message = listening
        ? `cannot listen on ${args.host}:${args.port}: ${reason}`
        : `cannot start the engine: ${error.message}`;
      logger.fatal({ err: error, host: args.host, port: args.port, dataDir: args['data-dir'] }, message);
      logger.flush();
      process.stderr.write(`shardtail engine: ${message}\n`);
      process.exit(1);
    });
    logger.info(
      {
        url: engine.url,
        port: engine.port,
        dataDir: args['data-dir'],
        enforceLimits: args['enforce-limits'],
        maxConnections: engine.maxConnections,
      },
      'engine listening',
    );
    await onShutdownSignal(logger);
    await engine.stop();
    logger.info('engine stopped');
    logger.flush();
  },
};
