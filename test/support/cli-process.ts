import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI_PATH, REPO_ROOT, assertCliBuilt } from './engine-process.js';

/** Runs `node dist/cli.js <args>` as a real child process. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment without the developer's AWS or shardtail settings, so the CLI sees only what the test passes. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('AWS_') && !name.startsWith('SHARDTAIL_')) env[name] = value;
  }
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

export function runCli(
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  assertCliBuilt();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI_PATH, ...args],
      {
        cwd: REPO_ROOT,
        env: options.env ?? cleanEnv(),
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        // A string code is the spawn's own failure (ENOENT, say), not the CLI's exit status.
        if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
          reject(new Error(`cannot run the CLI: ${error.message}`, { cause: error }));
          return;
        }
        const failure = error as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
        resolve({ code: failure ? (failure.code ?? null) : 0, signal: failure?.signal ?? null, stdout, stderr });
      },
    );
  });
}

export interface LongRunningCli {
  child: ChildProcess;
  /** stdout lines so far. */
  lines: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `node dist/cli.js <args>` and collects its output while it runs (for `stream read --follow`). */
export function spawnCli(args: string[], options: { env?: Record<string, string> } = {}): LongRunningCli {
  assertCliBuilt();
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: REPO_ROOT,
    env: options.env ?? cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' comes after stdout has ended, so every line is in `lines` by then.
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, lines, stderr: () => stderr, exited };
}
