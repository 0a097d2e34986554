import { existsSync } from 'node:fs';
import type { Options } from 'yargs';
import { CONFIG_VARIABLE, ENVIRONMENT_CONFIG_SOURCE } from './env-config.js';
import { ConfigError } from './problems.js';

/**
 * Where agent.json is looked for when no -c is given: shardtail's own path first, then the Java
 * agent's, so that a host switching from the Java agent works without moving its config.
 */
export const DEFAULT_CONFIG_PATHS: readonly string[] = ['/etc/shardtail/agent.json', '/etc/aws-kinesis/agent.json'];

/**
 * The -c value if given; otherwise SHARDTAIL_CONFIG when set (a container's config); otherwise the
 * first default path that exists.
 */
export function resolveConfigPath(
  explicitPath: string | undefined,
  candidates: readonly string[] = DEFAULT_CONFIG_PATHS,
): string {
  if (explicitPath !== undefined) return explicitPath;
  if (process.env[CONFIG_VARIABLE] !== undefined) return ENVIRONMENT_CONFIG_SOURCE;
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found !== undefined) return found;
  const alternatives = candidates.slice(1);
  throw new ConfigError([
    {
      file: candidates[0],
      key: '',
      message: `file not found${alternatives.length === 0 ? '' : ` (nor ${alternatives.join(', ')})`}; pass -c FILE`,
    },
  ]);
}

/** The -c option shared by the commands that read agent.json. */
export const configOption = {
  // --configuration is how the Java agent's start script spells it, so existing AGENT_ARGS keep working.
  alias: ['c', 'configuration'],
  type: 'string',
  describe: 'agent.json to read',
  defaultDescription: DEFAULT_CONFIG_PATHS.join(', else '),
  requiresArg: true,
} as const satisfies Options;
