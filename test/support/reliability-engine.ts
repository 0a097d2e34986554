/**
 * The standalone engine (`node dist/cli.js engine`) on a port of the test's choosing, so that it
 * can be stopped and started again on the same port and data directory while an agent ships to it
 * (engine-process.ts always asks for port 0, a new port each time).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { childEnv } from './agent-process.js';
import { assertCliBuilt, CLI_PATH, REPO_ROOT, type EngineExit, type EngineProcess } from './engine-process.js';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface EngineAtOptions {
  dataDir: string;
  /** 0 for a free port (the first start); the same port again for a restart. */
  port: number;
  enforceLimits?: boolean;
  startTimeoutMs?: number;
}

export async function startEngineAt(options: EngineAtOptions): Promise<EngineProcess> {
  assertCliBuilt();
  const args = [CLI_PATH, 'engine', '--host', '127.0.0.1', '--port', String(options.port), '--data-dir', options.dataDir];
  if (options.enforceLimits) args.push('--enforce-limits');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
  live.add(child);
  const output: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<EngineExit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const { url, port } = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 15_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`engine did not log "engine listening" within ${timeoutMs} ms; output:\n${output.join('\n')}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line);
        logs.push(entry);
        if (entry.msg === 'engine listening' && typeof entry.url === 'string' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve({ url: entry.url, port: entry.port });
        }
      } catch {
        // not JSON
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => output.push(`[stderr] ${line}`));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`engine exited (code ${code}, signal ${signal}) before listening on port ${options.port}; output:\n${output.join('\n')}`));
    });
  });
  const endWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
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
    async stop(timeoutMs = 10_000) {
      let forced = false;
      const timer = setTimeout(() => {
        forced = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      const exit = await endWith('SIGTERM');
      clearTimeout(timer);
      return { ...exit, forced };
    },
    kill: () => endWith('SIGKILL'),
  };
}
