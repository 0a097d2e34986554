import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root and the built CLI that the engine tests run as real child processes. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export function assertCliBuilt(): void {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} does not exist: run \`npm run build\` before these tests`);
}

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EngineProcess {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  /** Every line the engine wrote to stdout and stderr so far, for failure messages. */
  output: string[];
  /** Parsed JSON log lines from stdout. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<EngineExit>;
  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`, default 10 s); resolves with how it ended. */
  stop(timeoutMs?: number): Promise<EngineExit & { forced: boolean }>;
  /** SIGKILL (kill -9) and wait for the exit. */
  kill(): Promise<EngineExit>;
}

const live = new Set<ChildProcess>();
// If the test process goes away without its after() hooks, do not leave engines behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface StartEngineProcessOptions {
  dataDir: string;
  /** 0 (the default) for a free port; a fixed one to restart an engine where an agent expects it. */
  port?: number;
  /** The child's environment; by default this process's, with plain JSON logs. */
  env?: NodeJS.ProcessEnv;
  statusDelayMs?: number;
  enforceLimits?: boolean;
  shardLimit?: number;
  extraArgs?: string[];
  /** Run the engine with this open-file limit (soft and hard, as `ulimit -n` sets it) instead of this process's. */
  openFilesLimit?: number;
  /** How long to wait for the "engine listening" line. */
  startTimeoutMs?: number;
  /** Runs the engine under this umask (e.g. '022'), through `sh -c 'umask …; exec node …'`. */
  umask?: string;
}

/**
 * Spawns `node dist/cli.js engine --port <port, 0 by default> --data-dir <dir>` and learns its port from the "engine
 * listening" log line.
 */
export async function startEngineProcess(options: StartEngineProcessOptions): Promise<EngineProcess> {
  assertCliBuilt();
  const args = [
    CLI_PATH,
    'engine',
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--data-dir',
    options.dataDir,
  ];
  if (options.statusDelayMs !== undefined) args.push('--status-delay-ms', String(options.statusDelayMs));
  if (options.enforceLimits) args.push('--enforce-limits');
  if (options.shardLimit !== undefined) args.push('--shard-limit', String(options.shardLimit));
  args.push(...(options.extraArgs ?? []));

  const env = options.env ?? { ...process.env, SHARDTAIL_LOG_PRETTY: '' };
  const spawnOptions = { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], env };
  // A shell sets the open-file limit and the umask for the node it execs (exec keeps the pid).
  const shellSetup = [
    ...(options.openFilesLimit === undefined ? [] : [`ulimit -n ${options.openFilesLimit}`]),
    ...(options.umask === undefined ? [] : [`umask ${options.umask}`]),
  ];
  const child =
    shellSetup.length === 0
      ? spawn(process.execPath, args, spawnOptions)
      : spawn(
          '/bin/sh',
          ['-c', `${shellSetup.join(' && ')} && exec "$0" "$@"`, process.execPath, ...args],
          spawnOptions,
        );
  live.add(child);
  const output: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<EngineExit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  const listening = new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 15_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`engine did not log "engine listening" within ${timeoutMs} ms; output:\n${output.join('\n')}`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'engine listening' && typeof entry.url === 'string' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve({ url: entry.url, port: entry.port });
      }
    });
    createInterface({ input: child.stderr }).on('line', (line) => output.push(`[stderr] ${line}`));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `engine exited (code ${code}, signal ${signal}) before listening on port ${options.port ?? 0}; ` +
            `output:\n${output.join('\n')}`,
        ),
      );
    });
  });

  const { url, port } = await listening;
  const endWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const stop = async (timeoutMs = 10_000) => {
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const exit = await endWith('SIGTERM');
    clearTimeout(timer);
    return { ...exit, forced };
  };
  return {
    url,
    port,
    pid: child.pid!,
    dataDir: options.dataDir,
    child,
    output,
    logs,
    exited,
    stop,
    kill: () => endWith('SIGKILL'),
  };
}
