/**
 * The agent as the tests see it: `node dist/cli.js start|backfill|check|stream …` as real child
 * processes, kinesalite as a real child process bound to 127.0.0.1, a stream reader over plain
 * HTTP (GetRecords) that follows a restarted engine, and a ledger of written lines that checks
 * each one arrived exactly once, byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertCliBuilt, CLI_PATH, REPO_ROOT } from './engine-process.js';
import { waitFor } from './wait.js';

export { assertCliBuilt, CLI_PATH, REPO_ROOT };

// ---------------------------------------------------------------------------------------------
// Child processes

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * The environment of every child: nothing from the developer's AWS setup, no EC2 metadata probes,
 * JSON logs, and loopback never proxied.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('AWS_') || name.startsWith('SHARDTAIL_') || /_proxy$/i.test(name))
      continue;
    env[name] = value;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    NO_PROXY: '127.0.0.1,localhost',
    ...extra,
  };
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type LogEntry = Record<string, unknown> & { msg?: string; level?: number };

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  /** Every stdout/stderr line so far ("[stderr] " prefixed), for failure messages. */
  output: string[];
  /** Parsed JSON log lines from stdout. */
  logs: LogEntry[];
  /** URL of the embedded engine, when the config runs one. */
  engineUrl: string | undefined;
  /** Where the monitoring listener is (from its "monitoring listening" line), when it is on. */
  monitoringUrl: string | undefined;
  exited: Promise<ProcessExit>;
  /** Resolves with the first log entry (already seen or future) that matches. */
  waitForLog(match: (entry: LogEntry) => boolean, timeoutMs?: number, what?: string): Promise<LogEntry>;
  /**
   * SIGTERM and wait (SIGKILL after timeoutMs, default 20 s). `alreadyExited`: the process had
   * ended on its own before the signal.
   */
  stop(
    timeoutMs?: number,
    signal?: NodeJS.Signals,
  ): Promise<ProcessExit & { forced: boolean; ms: number; alreadyExited: boolean }>;
  /** SIGKILL (kill -9) and wait. */
  kill(): Promise<ProcessExit>;
  /** The last lines of output, for assertion messages. */
  tail(lines?: number): string;
  /** "running", or how and when it ended. */
  state(): string;
}

export interface StartAgentOptions {
  /** Passed as -c; without it the agent finds its config itself (SHARDTAIL_CONFIG in `env`, say). */
  configFile?: string;
  /** Working directory; the config file's directory by default. */
  cwd?: string;
  env?: Record<string, string>;
  /** How long to wait for "shardtail started". */
  startTimeoutMs?: number;
  /** More arguments for `start`. */
  args?: string[];
}

/** `node dist/cli.js start -c FILE`; resolves once it logged "shardtail started". */
export async function startAgent(options: StartAgentOptions): Promise<AgentProcess> {
  assertCliBuilt();
  const configArgs = options.configFile === undefined ? [] : ['-c', options.configFile];
  const child = spawn(process.execPath, [CLI_PATH, 'start', ...configArgs, ...(options.args ?? [])], {
    cwd: options.cwd ?? (options.configFile === undefined ? REPO_ROOT : path.dirname(options.configFile)),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(options.env),
  });
  live.add(child);
  const output: string[] = [];
  const logs: LogEntry[] = [];
  const watchers = new Set<{ match: (entry: LogEntry) => boolean; resolve: (entry: LogEntry) => void }>();
  const spawnedMs = Date.now();
  let exitedAfterMs: number | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedAfterMs = Date.now() - spawnedMs;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const state = () =>
    exitedAfterMs === undefined
      ? 'running'
      : `exited ${exitedAfterMs} ms after it was started (code ${child.exitCode}, signal ${child.signalCode})`;
  createInterface({ input: child.stdout }).on('line', (line) => {
    output.push(line);
    let entry: LogEntry;
    try {
      entry = JSON.parse(line);
    } catch {
      return;
    }
    logs.push(entry);
    for (const watcher of [...watchers]) {
      if (watcher.match(entry)) {
        watchers.delete(watcher);
        watcher.resolve(entry);
      }
    }
  });
  createInterface({ input: child.stderr }).on('line', (line) => output.push(`[stderr] ${line}`));
  const tail = (lines = 30) => output.slice(-lines).join('\n');

  const waitForLog = (
    match: (entry: LogEntry) => boolean,
    timeoutMs = 15_000,
    what = 'a log line',
  ): Promise<LogEntry> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const watcher = {
        match,
        resolve: (entry: LogEntry) => {
          clearTimeout(timer);
          resolve(entry);
        },
      };
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(new Error(`agent did not log ${what} within ${timeoutMs} ms; output:\n${tail(50)}`));
      }, timeoutMs);
      watchers.add(watcher);
      void exited.then(({ code, signal }) => {
        if (!watchers.has(watcher)) return;
        watchers.delete(watcher);
        clearTimeout(timer);
        reject(new Error(`agent exited (code ${code}, signal ${signal}) before logging ${what}; output:\n${tail(50)}`));
      });
    });
  };

  await waitForLog(
    (entry) => entry.msg === 'shardtail started',
    options.startTimeoutMs ?? 20_000,
    '"shardtail started"',
  );
  const engineLog = logs.find((entry) => entry.msg === 'embedded engine listening');
  const monitoringLog = logs.find((entry) => entry.msg === 'monitoring listening');
  const endWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    child,
    pid: child.pid!,
    output,
    logs,
    engineUrl: typeof engineLog?.url === 'string' ? engineLog.url : undefined,
    monitoringUrl: typeof monitoringLog?.url === 'string' ? monitoringLog.url : undefined,
    exited,
    waitForLog,
    tail,
    state,
    async stop(timeoutMs = 20_000, signal: NodeJS.Signals = 'SIGTERM') {
      const alreadyExited = child.exitCode !== null || child.signalCode !== null;
      const started = Date.now();
      let forced = false;
      const timer = setTimeout(() => {
        forced = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      const exit = await endWith(signal);
      clearTimeout(timer);
      return { ...exit, forced, ms: Date.now() - started, alreadyExited };
    },
    kill: () => endWith('SIGKILL'),
  };
}

export interface CliResult extends ProcessExit {
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node dist/cli.js ARGS…` to its end (SIGKILL after timeoutMs, reported as signal). */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  assertCliBuilt();
  const started = Date.now();
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(options.env),
  });
  live.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const exit = await new Promise<ProcessExit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  live.delete(child);
  return {
    ...exit,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
    ms: Date.now() - started,
  };
}

/** SIGTERM (or SIGINT); the agent must still have been running, drain, and exit 0 by itself. */
export async function stopCleanly(agent: AgentProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const stateBefore = agent.state();
  const exit = await agent.stop(20_000, signal);
  assert.ok(
    !exit.alreadyExited,
    `the agent was to be stopped with ${signal} but had already ended by itself: ${stateBefore}\nagent ` +
      `output:\n${agent.tail()}`,
  );
  assert.deepEqual(
    { code: exit.code, signal: exit.signal, forced: exit.forced },
    { code: 0, signal: null, forced: false },
    `${signal} must drain and exit 0 (took ${exit.ms} ms); agent output:\n${agent.tail()}`,
  );
}

// ---------------------------------------------------------------------------------------------
// agent.json

/** Writes `agent.json` (with a `//` comment, as real ones have) into `dir`; returns its path. */
export function writeAgentConfig(dir: string, config: Record<string, unknown>, name = 'agent.json'): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `// written by ${path.basename(process.argv[1] ?? 'a test')}\n${JSON.stringify(config, null, 2)}\n`,
  );
  return file;
}

/** The embedded-engine settings most tests use: port 0, data under `dir`, streams auto-created with 1 shard. */
export function embeddedEngine(dataDir = 'engine'): Record<string, unknown> {
  return { embedded: true, host: '127.0.0.1', port: 0, dataDir, autoCreateStreams: { shards: 1 } };
}

export interface ScenarioDirs {
  dir: string;
  logDir: string;
}

/** `<dir>/logs` created; returns both. */
export function logsUnder(dir: string, name = 'logs'): ScenarioDirs {
  const logDir = path.join(dir, name);
  mkdirSync(logDir, { recursive: true });
  return { dir, logDir };
}

const BASE = {
  checkpointFile: 'state/checkpoints.db',
  'cloudwatch.emitMetrics': false,
};

function flowOf(stream: string, flow: Record<string, unknown>): Record<string, unknown> {
  return {
    filePattern: 'logs/*.log',
    kinesisStream: stream,
    initialPosition: 'START_OF_FILE',
    maxBufferAgeMillis: 100,
    ...flow,
  };
}

/** agent.json with the embedded engine (port 0, data in `<dir>/engine`, streams auto-created with 1 shard). */
export function embeddedConfig(
  dir: string,
  stream: string,
  flow: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): string {
  return writeAgentConfig(dir, { engine: embeddedEngine('engine'), ...BASE, ...top, flows: [flowOf(stream, flow)] });
}

/** agent.json shipping over HTTP to a remote engine (kinesis.endpoint, region, static keys). */
export function remoteConfig(
  dir: string,
  endpoint: string,
  stream: string,
  flow: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): string {
  return writeAgentConfig(dir, {
    'kinesis.endpoint': endpoint,
    'kinesis.region': 'us-east-1',
    awsAccessKeyId: 'AKIDSHARDTAILRELIABILITY',
    awsSecretAccessKey: 'shardtail-reliability-secret',
    ...BASE,
    ...top,
    flows: [flowOf(stream, flow)],
  });
}

// ---------------------------------------------------------------------------------------------
// kinesalite

export interface KinesaliteProcess {
  url: string;
  port: number;
  output: string[];
  stop(): Promise<{ output: string[] }>;
}

// The stock CLI binds every interface and dies when Node resets a keep-alive socket under load
// (shared/research/perf-baseline.md note 7): bind 127.0.0.1 and keep serving after such an error,
// so the agent sees what it would see from a flaky server — reset connections — not a dead one.
const KINESALITE_SCRIPT = `
const kinesalite = require('kinesalite');
let uncaught = 0;
process.on('uncaughtException', (error) => {
  uncaught++;
  const code = (error && (error.code || error.name)) || 'unknown';
  console.error(JSON.stringify({ msg: 'kinesalite uncaught exception (kept serving)', code, error: String(error) }));
});
const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'kinesalite listening', port: server.address().port }));
});
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ msg: 'kinesalite stopping', uncaught }));
  process.exit(0);
});
`;

export async function startKinesalite(): Promise<KinesaliteProcess> {
  const child = spawn(process.execPath, ['-e', KINESALITE_SCRIPT], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(),
  });
  live.add(child);
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => (live.delete(child), resolve())));
  createInterface({ input: child.stderr }).on('line', (line) => output.push(`[stderr] ${line}`));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`kinesalite did not start; output:\n${output.join('\n')}`)),
      15_000,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'kinesalite listening') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a JSON line
      }
    });
    void exited.then(() => reject(new Error(`kinesalite exited early; output:\n${output.join('\n')}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      return { output };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Kinesis over HTTP (works against kinesalite, which wants a SigV4-shaped header, and our engine)

const FAKE_SIGV4_HEADERS = {
  'content-type': 'application/x-amz-json-1.1',
  'x-amz-date': '20260101T000000Z',
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/kinesis/aws4_request, ' +
    'SignedHeaders=content-type;host;x-amz-date;x-amz-target, ' +
    'Signature=0000000000000000000000000000000000000000000000000000000000000000',
};

export class KinesisCallError extends Error {
  constructor(
    readonly action: string,
    readonly status: number,
    readonly code: string,
    readonly body: string,
  ) {
    super(`${action} answered ${status} ${code}: ${body.slice(0, 500)}`);
  }
}

export async function kinesisCall<T = any>(endpoint: string, action: string, body: unknown): Promise<T> {
  const response = await fetch(endpoint + '/', {
    method: 'POST',
    headers: { ...FAKE_SIGV4_HEADERS, 'x-amz-target': `Kinesis_20131202.${action}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) {
    let code = '';
    try {
      code = String(JSON.parse(text).__type ?? '').replace(/^.*#/, '');
    } catch {
      // not JSON
    }
    throw new KinesisCallError(action, response.status, code, text);
  }
  return (text.length > 0 ? JSON.parse(text) : {}) as T;
}

/** Creates a stream and waits until it is ACTIVE. */
export async function createStream(endpoint: string, name: string, shards: number): Promise<void> {
  await kinesisCall(endpoint, 'CreateStream', { StreamName: name, ShardCount: shards });
  await waitFor(
    async () =>
      (await kinesisCall(endpoint, 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary
        ?.StreamStatus === 'ACTIVE',
    { timeoutMs: 10_000, message: `stream ${name} to become ACTIVE` },
  );
}

export interface ReceivedRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Buffer;
}

/**
 * Reads every shard of a stream incrementally. Positions are kept as sequence numbers, so the
 * reader carries on where it was after `setEndpoint` (an agent restart gives its embedded engine
 * a new port). Read throttling (engines with enforced limits) is waited out.
 */
export class StreamCollector {
  readonly records: ReceivedRecord[] = [];
  private readonly lastSequence = new Map<string, string>();
  private iterators = new Map<string, string>();
  private shards: string[] = [];

  constructor(
    private endpoint: string,
    readonly streamName: string,
  ) {}

  setEndpoint(endpoint: string): void {
    this.endpoint = endpoint;
    this.iterators = new Map();
  }

  /** Reads what is new on every shard until each is caught up; returns how many records were new. */
  async poll(): Promise<number> {
    if (this.shards.length === 0 || this.iterators.size === 0) {
      const listed = await kinesisCall<{ Shards: Array<{ ShardId: string }> }>(this.endpoint, 'ListShards', {
        StreamName: this.streamName,
      });
      this.shards = listed.Shards.map((shard) => shard.ShardId);
    }
    let added = 0;
    for (const shardId of this.shards) {
      for (let calls = 0; calls < 1000; calls++) {
        let iterator = this.iterators.get(shardId);
        if (iterator === undefined) {
          const last = this.lastSequence.get(shardId);
          const position =
            last === undefined
              ? { ShardIteratorType: 'TRIM_HORIZON' }
              : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: last };
          iterator = (
            await kinesisCall<{ ShardIterator: string }>(this.endpoint, 'GetShardIterator', {
              StreamName: this.streamName,
              ShardId: shardId,
              ...position,
            })
          ).ShardIterator;
        }
        let output: {
          Records: Array<{ SequenceNumber: string; PartitionKey: string; Data: string }>;
          NextShardIterator?: string | null;
          MillisBehindLatest?: number;
        };
        try {
          output = await kinesisCall(this.endpoint, 'GetRecords', { ShardIterator: iterator, Limit: 10_000 });
        } catch (error) {
          if (error instanceof KinesisCallError && error.code === 'ProvisionedThroughputExceededException') {
            await sleep(250);
            continue;
          }
          if (error instanceof KinesisCallError && error.code === 'ExpiredIteratorException') {
            this.iterators.delete(shardId);
            continue;
          }
          throw error;
        }
        for (const record of output.Records) {
          this.records.push({
            shardId,
            sequenceNumber: record.SequenceNumber,
            partitionKey: record.PartitionKey,
            data: Buffer.from(record.Data, 'base64'),
          });
          this.lastSequence.set(shardId, record.SequenceNumber);
        }
        added += output.Records.length;
        if (output.NextShardIterator) this.iterators.set(shardId, output.NextShardIterator);
        else this.iterators.delete(shardId);
        if (!output.NextShardIterator || output.Records.length === 0) break;
      }
    }
    return added;
  }

  /**
   * Polls until `condition(records)` holds. `agent`: stop waiting at once, with a clear message,
   * if that process ended (the records it was to ship will not come).
   */
  async until(
    condition: (records: ReceivedRecord[]) => boolean,
    options: { timeoutMs?: number; message?: string | (() => string); agent?: AgentProcess } = {},
  ): Promise<void> {
    const agent = options.agent;
    await waitFor(
      async () => {
        await this.poll();
        if (condition(this.records)) return true;
        if (agent !== undefined && agent.state() !== 'running') {
          const message = typeof options.message === 'function' ? options.message() : options.message;
          throw new Error(
            `the agent ${agent.state()} while waiting for ${message ?? 'records'}\nagent output:\n${agent.tail()}`,
          );
        }
        return false;
      },
      { timeoutMs: options.timeoutMs ?? 15_000, intervalMs: 100, message: options.message },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Written lines and what arrived

const ID_PATTERN = /#([A-Za-z0-9_.:-]+)#/;

/** The id a test line carries (`#id#` near its start), or undefined. */
export function idOf(data: Buffer): string | undefined {
  return ID_PATTERN.exec(data.subarray(0, 200).toString('latin1'))?.[1];
}

type Expectation = Buffer | ((data: Buffer) => string | undefined);

export interface DeliveryReport {
  received: number;
  /** Expected ids that never arrived. */
  missing: string[];
  /** Ids that arrived more than once, with how often. */
  duplicates: Map<string, number>;
  /** Records without a known id. */
  unexpected: ReceivedRecord[];
  /** Ids whose bytes differ from what was written. */
  mismatched: Array<{ id: string; problem: string }>;
}

/**
 * Every line a test writes, by id. `line(id, text)` makes `#id# text\n`; `expect` takes the exact
 * bytes a record must have, or a checker for records the agent changes (truncation).
 */
export class Ledger {
  private readonly expected = new Map<string, Expectation>();

  line(id: string, text = '', terminator = '\n'): Buffer {
    const bytes = Buffer.from(`#${id}# ${text}${terminator}`, 'utf8');
    this.expect(id, bytes);
    return bytes;
  }

  expect(id: string, expectation: Expectation): void {
    assert.ok(!this.expected.has(id), `test bug: id ${id} used twice`);
    this.expected.set(id, expectation);
  }

  forget(id: string): void {
    this.expected.delete(id);
  }

  has(id: string): boolean {
    return this.expected.has(id);
  }

  get size(): number {
    return this.expected.size;
  }

  ids(): string[] {
    return [...this.expected.keys()];
  }

  /** True once every expected id arrived at least once. */
  allArrived(records: ReceivedRecord[]): boolean {
    const seen = new Set<string>();
    for (const record of records) {
      const id = idOf(record.data);
      if (id !== undefined && this.expected.has(id)) seen.add(id);
    }
    return seen.size === this.expected.size;
  }

  report(records: ReceivedRecord[]): DeliveryReport {
    const counts = new Map<string, number>();
    const unexpected: ReceivedRecord[] = [];
    const mismatched: DeliveryReport['mismatched'] = [];
    for (const record of records) {
      const id = idOf(record.data);
      const expectation = id === undefined ? undefined : this.expected.get(id);
      if (id === undefined || expectation === undefined) {
        unexpected.push(record);
        continue;
      }
      counts.set(id, (counts.get(id) ?? 0) + 1);
      const problem = Buffer.isBuffer(expectation)
        ? expectation.equals(record.data)
          ? undefined
          : `expected ${describeBytes(expectation)}, got ${describeBytes(record.data)}`
        : expectation(record.data);
      if (problem !== undefined) mismatched.push({ id, problem });
    }
    const missing = [...this.expected.keys()].filter((id) => !counts.has(id));
    const duplicates = new Map([...counts].filter(([, count]) => count > 1));
    return { received: records.length, missing, duplicates, unexpected, mismatched };
  }

  /** Asserts every expected line arrived exactly once, byte-exact, and nothing else arrived. */
  assertExactlyOnce(records: ReceivedRecord[], context = ''): DeliveryReport {
    const report = this.report(records);
    const problems = describeReport(report, this.size);
    assert.ok(problems === '', `${context}${context ? ': ' : ''}${problems}`);
    return report;
  }
}

export function describeBytes(data: Buffer): string {
  const text = JSON.stringify(data.subarray(0, 80).toString('utf8'));
  return `${data.length} bytes ${text}${data.length > 80 ? '…' : ''}`;
}

const first = <T>(items: T[], n = 10) => items.slice(0, n);

/** '' when the report is clean; else one paragraph per kind of problem. */
export function describeReport(
  report: DeliveryReport,
  expectedCount: number,
  options: { allowDuplicates?: boolean } = {},
): string {
  const parts: string[] = [];
  if (report.missing.length > 0)
    parts.push(`${report.missing.length} of ${expectedCount} lines missing, e.g. ${first(report.missing).join(', ')}`);
  if (!options.allowDuplicates && report.duplicates.size > 0) {
    parts.push(
      `${report.duplicates.size} lines arrived more than once, e.g. ${first([...report.duplicates])
        .map(([id, n]) => `${id}×${n}`)
        .join(', ')}`,
    );
  }
  if (report.unexpected.length > 0)
    parts.push(
      `${report.unexpected.length} records that were never written as such, e.g. ${first(report.unexpected, 5)
        .map((r) => describeBytes(r.data))
        .join('; ')}`,
    );
  if (report.mismatched.length > 0)
    parts.push(
      `${report.mismatched.length} records not byte-exact, e.g. ${first(report.mismatched, 5)
        .map((m) => `${m.id}: ${m.problem}`)
        .join('; ')}`,
    );
  return parts.length === 0
    ? ''
    : `${report.received} records received for ${expectedCount} lines written: ${parts.join('; ')}`;
}

/** Appends lines to a file in one write. */
export function appendLines(file: string, lines: Buffer[]): void {
  appendFileSync(file, Buffer.concat(lines));
}

/** Numbered ids with a fixed width, e.g. `a-000042`, so that ids sort in writing order. */
export function seqId(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Lines longer than a record

/** Kinesis's limit on one record: data plus partition key. */
export const KINESIS_RECORD_LIMIT = 1024 * 1024;

/**
 * A line of `bytes` bytes (newline included) that starts with the id `#<id># `; its body varies, so a cut in the wrong
 * place shows.
 */
export function bigLine(id: string, bytes: number): Buffer {
  const head = Buffer.from(`#${id}# `);
  const body = Buffer.alloc(bytes - head.length - 1);
  for (let i = 0; i < body.length; i++) body[i] = 0x30 + ((i * 7 + (i >> 10)) % 75); // '0'..'z', varied
  return Buffer.concat([head, body, Buffer.from('\n')]);
}

/** A ledger check: the record is `original` cut to just under 1 MiB and ended by the terminator "\n". */
export function truncatedFrom(original: Buffer): (data: Buffer) => string | undefined {
  return (data) => {
    if (data.length >= original.length) return `not truncated: ${data.length} bytes`;
    if (data.length > KINESIS_RECORD_LIMIT) return `${data.length} bytes is over 1 MiB`;
    if (data.length < KINESIS_RECORD_LIMIT - 1024) return `cut to ${data.length} bytes, far below the 1 MiB limit`;
    if (data[data.length - 1] !== 0x0a)
      return `does not end with the terminator "\\n" (last byte ${data[data.length - 1]})`;
    if (!data.subarray(0, data.length - 1).equals(original.subarray(0, data.length - 1)))
      return 'is not the start of the original line';
    return undefined;
  };
}
