import type { CommandModule } from 'yargs';
import type { LoadedAgentConfig } from '../config/agent-config.js';
import { configOption, resolveConfigPath } from '../config/locate.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import { CONFIG_ERROR_EXIT_CODE } from './check.js';
import { createLogger, type Logger } from '../log.js';
import { onShutdownSignal } from '../shutdown.js';

interface StartArgs {
  config?: string;
  'log-pretty': boolean;
}

/** Loads agent.json for a command; prints every problem and exits 2 when it cannot be used. */
export async function loadConfigOrExit(explicitPath: string | undefined, logger: Logger): Promise<LoadedAgentConfig> {
  // Commands load what they use when they run, so that every command starts fast.
  const { loadAgentConfig } = await import('../config/agent-config.js');
  try {
    const loaded = await loadAgentConfig(resolveConfigPath(explicitPath));
    for (const warning of loaded.warnings) logger.warn({ file: warning.file, key: warning.key, flow: warning.flow }, formatProblem(warning));
    return loaded;
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(formatProblem(problem) + '\n');
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    throw error;
  }
}

export const startCommand: CommandModule<object, StartArgs> = {
  command: 'start',
  describe: 'Run the agent: tail the files of agent.json and ship them until SIGTERM',
  builder: (yargs) =>
    yargs.option('config', configOption).option('log-pretty', { type: 'boolean', default: false, describe: 'Human-readable logs instead of JSON' }) as never,
  handler: async (args) => {
    const logger = createLogger({ pretty: args['log-pretty'] || undefined });
    const { config } = await loadConfigOrExit(args.config, logger);
    const { Agent } = await import('../agent/agent.js');
    const agent = new Agent({ config, logger, mode: 'daemon' });
    try {
      await agent.start();
    } catch (error) {
      logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
      await agent.stop().catch(() => undefined);
      logger.flush();
      process.exitCode = 1;
      return;
    }
    logger.info({ config: config.configFile, flows: config.flows.length, engine: agent.engineUrl }, 'shardtail started');
    await onShutdownSignal(logger);
    const { drained } = await agent.stop();
    logger.info({ drained }, 'shardtail stopped');
    logger.flush();
  },
};
