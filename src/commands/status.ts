import type { CommandModule } from 'yargs';
import { listenUrl, parseListenAddress, type ListenAddress } from '../config/listen-address.js';
import { configOption, resolveConfigPath } from '../config/locate.js';
import { ConfigError, formatProblem } from '../config/problems.js';
import type { AgentStatus, FlowStatus } from '../observe/monitoring-server.js';
import { CONFIG_ERROR_EXIT_CODE } from './check.js';

interface StatusArgs {
  config?: string;
  listen?: string;
  json: boolean;
}

/** A daemon that does not answer within this is as good as absent, for a command run by hand or a script. */
const ANSWER_TIMEOUT_MS = 5000;
/** A listener bound to every address is asked on loopback. */
const LOOPBACK_FOR: Record<string, string> = { '0.0.0.0': '127.0.0.1', '::': '::1' };

function fail(message: string, code = 1): never {
  process.stderr.write(`shardtail status: ${message}\n`);
  process.exit(code);
}

/** Where the daemon listens: --listen, else the config's monitoring.listen. */
async function listenAddress(args: StatusArgs): Promise<ListenAddress> {
  if (args.listen !== undefined) {
    const address = parseListenAddress(args.listen);
    return typeof address === 'string' ? fail(`--listen: '${args.listen}' ${address}`, 2) : address;
  }
  const { loadAgentConfig } = await import('../config/agent-config.js');
  const file = resolveConfigPath(args.config);
  try {
    const { config } = await loadAgentConfig(file);
    const listen = config.monitoring?.listen;
    if (listen === undefined)
      fail(
        `monitoring is not configured in ${file}: add "monitoring": {"listen": "127.0.0.1:9464"} ` +
          '(and restart the daemon), or pass --listen ADDR',
      );
    // Port 0 is chosen when the daemon starts; only its log says which.
    if (listen.port === 0)
      fail(`monitoring.listen in ${file} has port 0: pass --listen with the port the daemon logged`);
    return listen;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(formatProblem(problem) + '\n');
    return fail(`cannot read ${file}; pass --listen ADDR to ask a daemon directly`, CONFIG_ERROR_EXIT_CODE);
  }
}

function describeFlow(flow: FlowStatus): string {
  const error =
    flow.lastError === null ? 'none' : `${flow.lastError.code}: ${flow.lastError.message} (at ${flow.lastError.at})`;
  return [
    `flow ${flow.flow}: ${flow.ready ? 'ready' : 'NOT READY'}`,
    `  files tracked  ${flow.files} (${flow.filesOpen} open)`,
    `  bytes behind   ${flow.bytesBehind}`,
    `  records sent   ${flow.recordsSent}`,
    `  last error     ${error}`,
    ...flow.reasons.map((reason) => `  not ready:     ${reason}`),
  ].join('\n');
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'Ask the running daemon (its monitoring listener) how each flow is doing',
  builder: (yargs) =>
    yargs
      .option('config', configOption)
      .option('listen', { type: 'string', describe: "The daemon's monitoring address; overrides monitoring.listen" })
      .option('json', { type: 'boolean', default: false, describe: 'Print the JSON the daemon answered' }),
  handler: async (args) => {
    const address = await listenAddress(args);
    const url = listenUrl({ host: LOOPBACK_FOR[address.host] ?? address.host, port: address.port });
    let body: string;
    try {
      const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) });
      body = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      return fail(`no shardtail daemon answers at ${url} (${cause}); is it running with monitoring on?`);
    }
    if (args.json) {
      process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
      return;
    }
    const status = JSON.parse(body) as AgentStatus;
    const lines = [
      `shardtail at ${url}: ${status.ready ? 'ready' : `not ready${status.reason ? ` (${status.reason})` : ''}`}`,
    ];
    for (const flow of status.flows) lines.push(describeFlow(flow));
    process.stdout.write(lines.join('\n') + '\n');
  },
};
