/** Starts a server as a child process, waits for its JSON "listening" line, and stops it with SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServerHandle {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** Parsed JSON lines the server printed on stdout (its log), oldest first, at most the last 200. */
  logLines(): Array<Record<string, unknown>>;
  /** The last lines of stderr, for error messages. */
  stderrTail(): string;
  /** Log lines at pino level >= 50 (error), counted over the whole run. */
  errorLogCount(): number;
  exited(): boolean;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** The `msg` of the JSON stdout line that says the server listens; that line must carry `port`. */
  readyMsg: string;
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();

/** Kills children still running when the benchmark itself ends early (exception, Ctrl-C). */
function killStragglers(): void {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
process.on('exit', killStragglers);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killStragglers();
    process.exit(130);
  });
}

export function startServer(options: StartOptions): Promise<ServerHandle> {
  const child = spawn(options.command, options.args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let errors = 0;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      running.delete(child);
      resolve(exitInfo);
    });
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });

  return new Promise<ServerHandle>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${options.name} did not print "${options.readyMsg}" within ${options.timeoutMs ?? 15_000} ms. ` +
            `stderr:\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 15_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exitPromise.then((info) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${options.name} exited (code ${info.code}, signal ${info.signal}) before it was ready. stderr:\n${stderr}`,
        ),
      );
    });
    let ready = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { text: line };
      }
      lines.push(parsed);
      if (lines.length > 200) lines.shift();
      if (typeof parsed.level === 'number' && parsed.level >= 50) errors++;
      if (!ready && parsed.msg === options.readyMsg && typeof parsed.port === 'number') {
        ready = true;
        clearTimeout(timer);
        const port = parsed.port;
        resolve({
          name: options.name,
          pid: child.pid!,
          port,
          url: `http://127.0.0.1:${port}`,
          logLines: () => lines.slice(),
          stderrTail: () => stderr,
          errorLogCount: () => errors,
          exited: () => exitInfo !== undefined,
          stop: async () => {
            if (exitInfo) return exitInfo;
            child.kill('SIGTERM');
            const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
            const info = await exitPromise;
            clearTimeout(timeout);
            return info;
          },
        });
      }
    });
  });
}
