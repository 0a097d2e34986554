import type { CommandModule } from 'yargs';
import type { LoadedAgentConfig } from '../config/agent-config.js';
import { parseListenAddress, type ListenAddress } from '../config/listen-address.js';
import { configOption, resolveConfigPath } from '../config/locate.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import { CONFIG_ERROR_EXIT_CODE } from './check.js';
import { createLogger, type Logger } from '../log.js';
import { onShutdownSignal } from '../shutdown.js';

interface StartArgs {
  config?: string;
  'log-pretty': boolean;
  'monitoring-listen'?: string;
}

/** Loads agent.json for a command; prints every problem and exits 2 when it cannot be used. */
export async function loadConfigOrExit(explicitPath: string | undefined, logger: Logger): Promise<LoadedAgentConfig> {
  // Commands load what they use when they run, so that every command starts fast.
  const { loadAgentConfig } = await import('../config/agent-config.js');
  try {
    const loaded = await loadAgentConfig(resolveConfigPath(explicitPath));
    for (const warning of loaded.warnings)
      logger.warn({ file: warning.file, key: warning.key, flow: warning.flow }, formatProblem(warning));
    return loaded;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const warning of error.warnings)
        process.stderr.write(formatProblem({ ...warning, message: `warning: ${warning.message}` }) + '\n');
      for (const problem of error.problems) process.stderr.write(formatProblem(problem) + '\n');
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    throw error;
  }
}

/** The metrics, health and status listener, up before the agent so that probes see it start. */
async function startMonitoring(listen: ListenAddress, stallAfterMs: number | undefined, logger: Logger) {
  const { AgentMetrics } = await import('../observe/agent-metrics.js');
  const { MonitoringServer } = await import('../observe/monitoring-server.js');
  const metrics = new AgentMetrics({ stallAfterMs });
  const server = await MonitoringServer.start(listen, metrics);
  logger.info({ url: server.url }, 'monitoring listening');
  return { metrics, server };
}

export const startCommand: CommandModule<object, StartArgs> = {
  command: 'start',
  describe: 'Run the agent: tail the files of agent.json and ship them until SIGTERM',
  builder: (yargs) =>
    yargs
      .option('config', configOption)
      .option('log-pretty', {
        type: 'boolean',
        default: false,
        describe: 'Human-readable logs instead of JSON',
      })
      .option('monitoring-listen', {
        type: 'string',
        describe:
          'Serve /metrics, /healthz, /readyz and /status on HOST:PORT (a bare port: on 127.0.0.1); ' +
          'overrides monitoring.listen',
      })
      .check((args) => {
        const listen = args['monitoring-listen'];
        const address = listen === undefined ? undefined : parseListenAddress(listen);
        if (typeof address === 'string') throw new Error(`--monitoring-listen: '${listen}' ${address}`);
        return true;
      }),
  handler: async (args) => {
    const logger = createLogger({ pretty: args['log-pretty'] || undefined });
    const { config } = await loadConfigOrExit(args.config, logger);
    const { Agent } = await import('../agent/agent.js');
    const { loadAgentConfig } = await import('../config/agent-config.js');
    const flag = args['monitoring-listen'];
    const listen = flag === undefined ? config.monitoring?.listen : (parseListenAddress(flag) as ListenAddress);
    // Without the key (--monitoring-listen alone), the metrics' own default threshold applies.
    const stallAfterMs = config.monitoring && config.monitoring.stallAfterSeconds * 1000;
    let monitoring: Awaited<ReturnType<typeof startMonitoring>> | undefined;
    try {
      monitoring = listen && (await startMonitoring(listen, stallAfterMs, logger));
    } catch (error) {
      logger.fatal({ err: error }, `cannot start the monitoring listener: ${(error as Error).message}`);
      logger.flush();
      process.exitCode = 1;
      return;
    }
    const { startCloudWatchMetrics } = await import('../observe/cloudwatch-metrics.js');
    let cloudwatch = await startCloudWatchMetrics(config, logger);
    const observers = () => [
      ...(monitoring ? [monitoring.metrics.observer()] : []),
      ...(cloudwatch ? [cloudwatch.observer()] : []),
    ];
    let agent = new Agent({ config, logger, mode: 'daemon', observers: observers() });
    const runAgent = async (next: InstanceType<typeof Agent>) => {
      await next.start();
      monitoring?.metrics.sampleFrom(
        () => next.flowStats(),
        () => next.memoryBudget(),
      );
      if (monitoring) monitoring.server.agentRunning = true;
    };
    const stopAgent = async () => {
      if (monitoring) monitoring.server.agentRunning = false;
      return agent.stop();
    };
    try {
      await runAgent(agent);
    } catch (error) {
      logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
      await agent.stop().catch(() => undefined);
      await cloudwatch?.stop();
      await monitoring?.server.stop();
      logger.flush();
      process.exitCode = 1;
      return;
    }
    logger.info(
      { config: config.configFile, flows: config.flows.length, engine: agent.engineUrl },
      'shardtail started',
    );

    // SIGHUP (systemctl reload) re-reads agent.json: a config that does not load is reported and
    // the running agent carries on. A good one is taken on flow by flow (unchanged flows run on
    // untouched); when a global setting changed, the whole agent is replaced after an orderly stop,
    // which drains and checkpoints, so the new flows resume exactly where the old ones were acknowledged.
    let reloading = Promise.resolve();
    const reload = () => {
      reloading = reloading
        .then(async () => {
          let next;
          let problems: string[] = [];
          try {
            next = (await loadAgentConfig(config.configFile)).config;
          } catch (error) {
            problems = error instanceof ConfigError ? error.problems.map(formatProblem) : [(error as Error).message];
          }
          if (next === undefined) {
            logger.error({ problems }, 'reload: agent.json has problems; keeping the running configuration');
            return;
          }
          const changes = await agent.reconfigure(next);
          if (changes !== undefined) {
            logger.info({ config: next.configFile, flows: next.flows.length, ...changes }, 'reloaded agent.json');
            return;
          }
          // The listener stays where it was started: a changed monitoring.listen applies at the next start.
          logger.info('reload: global settings changed; restarting every flow');
          await stopAgent();
          await cloudwatch?.stop();
          cloudwatch = await startCloudWatchMetrics(next, logger);
          agent = new Agent({ config: next, logger, mode: 'daemon', observers: observers() });
          await runAgent(agent);
          logger.info({ config: next.configFile, flows: next.flows.length, restarted: true }, 'reloaded agent.json');
        })
        .catch((error) => logger.error({ err: error }, 'reload failed'));
    };
    process.on('SIGHUP', reload);
    // Signal handlers do not keep Node running, and every timer of the agent is unref'd so that it
    // never delays an exit; this one handle is what keeps the daemon up until it is told to stop.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    await onShutdownSignal(logger);
    process.off('SIGHUP', reload);
    await reloading;
    const { drained } = await stopAgent();
    await cloudwatch?.stop();
    await monitoring?.server.stop();
    logger.info({ drained }, 'shardtail stopped');
    logger.flush();
    clearInterval(keepAlive);
  },
};
