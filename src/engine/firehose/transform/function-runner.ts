import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../log.js';
import { functionNameOf, type HostMessage, type InvokeMessage } from './protocol.js';

/** What one invocation came to: the function's answer (parsed JSON), or why there is none. */
export type InvokeOutcome = { ok: true; payload: unknown } | { ok: false; errorCode: string; errorMessage: string };

export interface InvokeOptions {
  timeoutMs: number;
  /** The context's awsRequestId; a new UUID when not given. */
  requestId?: string;
}

/** Runs a transform function: the engine's stand-in for Lambda's synchronous Invoke. */
export interface FunctionInvoker {
  invoke(event: unknown, options: InvokeOptions): Promise<InvokeOutcome>;
}

/**
 * The error codes Firehose logs for failed invocations. The timeout and size ones are ours: Lambda
 * reports both as function errors, which says less about what happened.
 */
export const INVOKE_ERROR = {
  functionError: 'Lambda.FunctionError',
  timeout: 'Lambda.Timeout',
  responseTooLarge: 'Lambda.ResponseTooLarge',
} as const;

/** Lambda gives a function's init phase 10 seconds, apart from the invocation's own timeout. */
const DEFAULT_INIT_TIMEOUT_MS = 10_000;

// Under tsx (the tests) this module is the .ts source and so is the host; built, both are .js in dist/.
const HOST_PATH = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './function-host.ts' : './function-host.js', import.meta.url),
);

/**
 * The engine's execArgv without what must not run twice or would make the host something else (the
 * test runner, an inspector, code given with -e); loaders (tsx's --import) are kept, so that the
 * host's .ts source loads in tests. A dropped flag's value (`--test-reporter spec`) goes with it:
 * execArgv holds no script path, so an argument that is not a flag belongs to the flag before it.
 */
export function hostExecArgv(execArgv: readonly string[]): string[] {
  const dropped =
    /^(--(test|experimental-test|inspect|debug|watch|cpu-prof|heap-prof|prof|eval|print|check|interactive|input-type|run)|-[epci]$)/;
  // Code can start with "-": these take the next argument whatever it is.
  const takesCode = new Set(['-e', '--eval', '-p', '--print']);
  const kept: string[] = [];
  let droppingValues = false;
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    if (takesCode.has(arg)) {
      i++;
      droppingValues = false;
    } else if (dropped.test(arg)) droppingValues = !arg.includes('=');
    else if (droppingValues && !arg.startsWith('-')) continue;
    else {
      droppingValues = false;
      kept.push(arg);
    }
  }
  return kept;
}

type Settlement = HostMessage | { kind: 'exit'; description: string };

/**
 * Function processes still running. A host ends itself when the engine goes (its IPC channel
 * disconnects), but not while its function loops without yielding; so an engine that exits kills them.
 */
const liveChildren = new Set<ChildProcess>();
let killingOnExit = false;

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (killingOnExit) return;
  killingOnExit = true;
  process.once('exit', () => {
    for (const live of liveChildren) live.kill('SIGKILL');
  });
}

/** One forked host process: a warm instance of the function. */
class FunctionInstance {
  readonly child: ChildProcess;
  readonly ready: Promise<Settlement>;
  private waiting: ((settlement: Settlement) => void) | undefined;
  private ended: Settlement | undefined;

  constructor(modulePath: string, lambdaArn: string, logger: Logger) {
    this.child = fork(HOST_PATH, [modulePath, lambdaArn], {
      execArgv: hostExecArgv(process.execArgv),
      // Lambda runs a function in its code's folder (/var/task), so relative paths in it mean that folder.
      cwd: path.dirname(modulePath),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const functionName = functionNameOf(lambdaArn);
    this.logLines(this.child.stdout, (line) => logger.info({ function: functionName, stream: 'stdout' }, line));
    this.logLines(this.child.stderr, (line) => logger.warn({ function: functionName, stream: 'stderr' }, line));
    this.ready = new Promise((resolve) => (this.waiting = resolve));
    this.child.on('message', (message: HostMessage) => {
      if (message.kind === 'fatal') this.end(message);
      else this.settle(message);
    });
    this.child.on('error', (error) =>
      this.end({ kind: 'exit', description: `Runtime failed to start: ${error.message}` }),
    );
    track(this.child);
    this.child.on('exit', (code, signal) =>
      this.end({
        kind: 'exit',
        description: `Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`,
      }),
    );
    // An idle instance must not keep the engine's process alive; an invocation's timer does while it runs.
    this.child.unref();
    this.child.channel?.unref();
  }

  get alive(): boolean {
    return this.ended === undefined;
  }

  /** The next message from the host (or its end), for the invocation that is running. */
  next(): Promise<Settlement> {
    if (this.ended) return Promise.resolve(this.ended);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  send(message: InvokeMessage): void {
    this.child.send(message, (error) => {
      if (error) this.end({ kind: 'exit', description: `Runtime unreachable: ${error.message}` });
    });
  }

  kill(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    // Held until the exit is seen, so that awaiting it keeps the engine's process alive.
    this.child.ref();
    this.child.kill('SIGKILL');
    return exited;
  }

  private settle(settlement: Settlement): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(settlement);
  }

  private end(settlement: Settlement): void {
    if (this.ended) return;
    this.ended = settlement;
    this.settle(settlement);
  }

  private logLines(stream: Readable | null, log: (line: string) => void): void {
    if (!stream) return;
    (stream as Readable & { unref?: () => void }).unref?.();
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', log);
  }
}

function failure(errorCode: string, errorMessage: string): InvokeOutcome {
  return { ok: false, errorCode, errorMessage };
}

function describeEnd(settlement: Settlement): string {
  if (settlement.kind === 'exit') return settlement.description;
  if (settlement.kind === 'fatal' || settlement.kind === 'init-failed' || settlement.kind === 'error')
    return `${settlement.errorType}: ${settlement.errorMessage}`;
  return `unexpected message from the function's process: ${settlement.kind}`;
}

export interface FunctionRunnerOptions {
  modulePath: string;
  lambdaArn: string;
  logger: Logger;
  initTimeoutMs?: number;
}

/**
 * One transform function, run in a child process of its own so that whatever it does (loops, exits,
 * throws from a timer, prints) stays out of the engine. The process is started on first use and kept
 * warm for the next invocation, as Lambda keeps an instance; one invocation runs at a time. An
 * instance that timed out, crashed or failed to load is dropped, and the next invocation starts a new one.
 */
export class FunctionRunner implements FunctionInvoker {
  private instance: FunctionInstance | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: FunctionRunnerOptions) {}

  invoke(event: unknown, options: InvokeOptions): Promise<InvokeOutcome> {
    const run = this.queue.then(() => this.invokeNow(event, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Ends the warm process, if any; a later invocation starts a new one. */
  async stop(): Promise<void> {
    const instance = this.instance;
    this.instance = undefined;
    await instance?.kill();
  }

  private async invokeNow(event: unknown, options: InvokeOptions): Promise<InvokeOutcome> {
    const instance = await this.readyInstance();
    if (!(instance instanceof FunctionInstance)) return instance;
    const requestId = options.requestId ?? randomUUID();
    const answered = instance.next();
    instance.send({ kind: 'invoke', requestId, event, deadlineMs: Date.now() + options.timeoutMs });
    const seconds = (options.timeoutMs / 1000).toFixed(2);
    const settlement = await this.within(answered, options.timeoutMs);
    if (settlement === undefined) {
      await this.discard(instance);
      return failure(INVOKE_ERROR.timeout, `Task timed out after ${seconds} seconds`);
    }
    switch (settlement.kind) {
      case 'response':
        return { ok: true, payload: JSON.parse(settlement.json) as unknown };
      case 'response-too-large':
        return failure(
          INVOKE_ERROR.responseTooLarge,
          `Response payload size (${settlement.bytes} bytes) exceeded maximum allowed payload size (6291556 bytes).`,
        );
      case 'error':
        return failure(INVOKE_ERROR.functionError, `${settlement.errorType}: ${settlement.errorMessage}`);
      default:
        await this.discard(instance);
        return failure(INVOKE_ERROR.functionError, describeEnd(settlement));
    }
  }

  /** The warm instance, or a new one once it has loaded the module; or why none could start. */
  private async readyInstance(): Promise<FunctionInstance | InvokeOutcome> {
    if (this.instance?.alive) return this.instance;
    if (this.instance) await this.discard(this.instance);
    const instance = new FunctionInstance(this.options.modulePath, this.options.lambdaArn, this.options.logger);
    this.instance = instance;
    const initTimeoutMs = this.options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
    const started = await this.within(instance.ready, initTimeoutMs);
    if (started?.kind === 'ready') return instance;
    await this.discard(instance);
    const why = started ? describeEnd(started) : `Init timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`;
    return failure(INVOKE_ERROR.functionError, why);
  }

  private async within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    try {
      return await Promise.race([promise, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async discard(instance: FunctionInstance): Promise<void> {
    if (this.instance === instance) this.instance = undefined;
    await instance.kill();
  }
}

/** The engine's function processes: one runner per function file (and ARN), shared by the streams that name it. */
export class FunctionRunnerPool {
  private readonly runners = new Map<string, FunctionRunner>();

  constructor(private readonly logger: Logger) {}

  runnerFor(lambda: { modulePath: string; lambdaArn: string }): FunctionRunner {
    const key = `${lambda.modulePath}\0${lambda.lambdaArn}`;
    let runner = this.runners.get(key);
    if (!runner) {
      runner = new FunctionRunner({ ...lambda, logger: this.logger });
      this.runners.set(key, runner);
    }
    return runner;
  }

  async stopAll(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((runner) => runner.stop()));
  }
}
