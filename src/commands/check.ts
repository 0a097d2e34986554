import type { CommandModule } from 'yargs';
import { configOption, resolveConfigPath } from '../config/locate.js';
import { ConfigError, formatProblem, type ConfigProblem } from '../config/problems.js';

/** Exit status of `check` (and of `start`) when the configuration cannot be used. */
export const CONFIG_ERROR_EXIT_CODE = 2;

export interface CheckResult {
  exitCode: 0 | typeof CONFIG_ERROR_EXIT_CODE;
  /** Warnings (and notes), then either `FILE: OK (N flows)` or one line per problem; newline-terminated. */
  output: string;
}

/** Validates the configuration `-c` names (or the default one) the way `start` would load it. */
export async function runCheck(configPath: string | undefined): Promise<CheckResult> {
  // Loaded when used, so that other commands do not pay for the config schema at start-up.
  const { loadAgentConfig } = await import('../config/agent-config.js');
  const { metricsOffNote } = await import('../config/embedded-engine.js');
  try {
    const { config, warnings } = await loadAgentConfig(resolveConfigPath(configPath));
    const flowCount = `${config.flows.length} flow${config.flows.length === 1 ? '' : 's'}`;
    const metricsOff = metricsOffNote(config);
    return {
      exitCode: 0,
      output: toLines([
        ...warnings.map(formatWarning),
        ...(metricsOff === undefined ? [] : [`${config.configFile}: ${metricsOff}`]),
        `${config.configFile}: OK (${flowCount})`,
      ]),
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      exitCode: CONFIG_ERROR_EXIT_CODE,
      output: toLines([...error.warnings.map(formatWarning), ...error.problems.map(formatProblem)]),
    };
  }
}

function formatWarning(problem: ConfigProblem): string {
  return formatProblem({ ...problem, message: `warning: ${problem.message}` });
}

function toLines(lines: string[]): string {
  return lines.map((line) => `${line}\n`).join('');
}

export const checkCommand: CommandModule<object, { config: string | undefined }> = {
  command: 'check',
  describe: 'Validate agent.json and agent.d/ without starting: exit 0 if usable, 2 if not',
  builder: (yargs) => yargs.option('config', configOption),
  handler: async (argv) => {
    const result = await runCheck(argv.config);
    (result.exitCode === 0 ? process.stdout : process.stderr).write(result.output);
    process.exitCode = result.exitCode;
  },
};
