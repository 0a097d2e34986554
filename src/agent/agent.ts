import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentConfig, FlowConfig } from '../config/agent-config.js';
import { usesEmbeddedEngine } from '../config/embedded-engine.js';
import type { Logger } from '../log.js';
import type { CredentialProvider } from '../client/credentials.js';
import { resolveEndpoint } from '../client/endpoint.js';
import type { AwsService, JsonApiClient } from '../client/json-api-client.js';
import { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { InProcessClient } from '../engine/in-process-client.js';
import { startEngine, type RunningEngine } from '../engine/server.js';
import { ownStateGlobs } from '../discover/scan.js';
import type { AgentObserver } from '../observe/events.js';
import { fanOut } from '../observe/fan-out.js';
import { LogEvents } from '../observe/log-events.js';
import type { Destination } from '../send/destination.js';
import { FirehoseDestination } from '../send/firehose-destination.js';
import { KinesisDestination } from '../send/kinesis-destination.js';
import { SendSlots } from '../send/send-slots.js';
import { MemoryBudget } from '../acknowledge/memory-budget.js';
import { ensureEmbeddedStream } from './embedded-streams.js';
import { Flow, type FlowStats, type RunMode } from './flow.js';

/**
 * Everything read but not yet acknowledged, across flows. With the JS heap (about 30 MiB, up to
 * 50 MiB while catching up, when V8's young generation has grown) and request bodies in flight,
 * this keeps the process under about 100 MiB of heap, whatever the destination does.
 */
const AGENT_BUDGET_BYTES = 32 * 1024 * 1024;
/** Checkpoints are also saved after every delivered batch; the timer catches the rest (new files, truncations). */
const CHECKPOINT_SAVE_INTERVAL_MS = 1000;
const CHECKPOINT_EXPIRY_INTERVAL_MS = 3_600_000;
/**
 * One batch call in flight per flow: a crash can then resend at most that one batch (checkpoints
 * are saved after each delivered batch), and records reach the stream in file order.
 */
const MAX_IN_FLIGHT_PER_FLOW = 1;

export interface AgentOptions {
  config: AgentConfig;
  logger: Logger;
  mode: RunMode;
  /** Where the embedded engine keeps data, overriding engine.dataDir (tests, benchmarks). */
  engineDataDir?: string;
  /** What else watches the agent's events beside logging (metrics). */
  observers?: AgentObserver[];
}

export interface RunSummary {
  files: number;
  records: number;
  bytes: number;
  recordsTruncated: number;
  seconds: number;
  recordsPerSecond: number;
  undelivered: number;
  /** Files with records read but not acknowledged when the run gave up; empty on success. */
  undeliveredFiles: string[];
  /** Compressed files of formats not supported (bzip2, zstd): skipped, named in a warning. */
  unsupportedFiles: string[];
  /** Gzip files that failed to decompress: not shipped to their end. */
  undecompressableFiles: string[];
}

/**
 * The daemon: the embedded engine when configured, a Flow per agent.json flow, periodic
 * checkpoint saves and progress lines, and an orderly stop that drains in-flight batches.
 */
export class Agent {
  private readonly config: AgentConfig;
  private readonly logger: Logger;
  private engine: RunningEngine | undefined;
  private checkpoints: CheckpointStore | undefined;
  private readonly events: AgentObserver;
  private readonly clients = new Map<string, JsonApiClient>();
  private flows: Flow[] = [];
  private checkpointTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly startedMs = Date.now();
  private readonly budget = new MemoryBudget(AGENT_BUDGET_BYTES);
  /** maxSendingThreads: the agent's batch calls in flight at once, across its flows. */
  private readonly sendSlots: SendSlots;

  constructor(private readonly options: AgentOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.events = fanOut([new LogEvents(options.logger), ...(options.observers ?? [])]);
    this.sendSlots = new SendSlots(options.config.maxSendingThreads);
  }

  private get engineDataDir(): string {
    return this.options.engineDataDir ?? this.config.engine.dataDir;
  }

  get engineUrl(): string | undefined {
    return this.engine?.url;
  }

  async start(): Promise<void> {
    const config = this.config;
    this.checkpoints = CheckpointStore.openOrReset(config.checkpointFile, {
      onReset: (movedTo, error) => this.events.checkpointStoreReset(config.checkpointFile, movedTo, error),
      onUnavailable: (error) => this.events.checkpointStoreUnavailable(config.checkpointFile, error),
    });
    if (config.engine.embedded) {
      this.engine = await startEngine({
        host: config.engine.host,
        port: config.engine.port,
        dataDir: this.engineDataDir,
        logger: this.logger.child({ component: 'engine' }),
      });
      this.logger.info({ url: this.engine.url }, 'embedded engine listening');
    }
    const ownState = ownStateGlobs({
      directories: config.engine.embedded ? [resolve(this.engineDataDir)] : [],
      checkpointFile: resolve(config.checkpointFile),
    });
    for (const flowConfig of config.flows) {
      const destination = await this.destinationFor(flowConfig);
      const autoCreate = config.engine.autoCreateStreams;
      if (this.usesEmbedded(flowConfig) && autoCreate !== false)
        await ensureEmbeddedStream(destination, {
          shards: autoCreate.shards,
          engineDataDir: this.engineDataDir,
          logger: this.logger,
        });
      this.flows.push(
        new Flow({
          config: flowConfig,
          destination,
          checkpoints: this.checkpoints,
          events: this.events.forFlow(flowConfig.id, destination),
          mode: this.options.mode,
          agentBudget: this.budget,
          maxInFlight: MAX_IN_FLIGHT_PER_FLOW,
          sendSlots: this.sendSlots,
          onBatchDelivered: () => this.saveCheckpoints(),
          ownState,
        }),
      );
    }
    for (const flow of this.flows) {
      await flow.start();
      this.logger.info(
        { flow: flow.config.id, filePattern: flow.config.filePattern, stream: flow.config.streamName },
        'flow started',
      );
    }
    // What is older than the TTL once every file found has been saved afresh belongs to files that
    // are gone, deleted while the agent was stopped included.
    this.expireCheckpoints();
    this.checkpointTimer = setInterval(() => this.saveCheckpoints(), CHECKPOINT_SAVE_INTERVAL_MS);
    this.checkpointTimer.unref();
    this.expiryTimer = setInterval(() => this.expireCheckpoints(), CHECKPOINT_EXPIRY_INTERVAL_MS);
    this.expiryTimer.unref();
    this.statusTimer = setInterval(() => this.reportStatus(), config.log.statusReportingPeriodSeconds * 1000);
    this.statusTimer.unref();
  }

  private usesEmbedded(flow: FlowConfig): boolean {
    return usesEmbeddedEngine(this.config, flow);
  }

  private async destinationFor(flow: FlowConfig): Promise<Destination> {
    const service: AwsService = flow.kind === 'kinesisStream' ? 'kinesis' : 'firehose';
    let client: JsonApiClient;
    if (this.usesEmbedded(flow)) {
      const engine = this.engine!;
      client = this.clientFor(
        `embedded:${service}`,
        () => new InProcessClient(service === 'kinesis' ? engine.kinesis : engine.firehose),
      );
    } else {
      const endpoint = service === 'kinesis' ? this.config.kinesis.endpoint : this.config.firehose.endpoint;
      // The Java agent has no firehose.region: Firehose signs for the region of its endpoint, else us-east-1.
      const region = service === 'kinesis' ? this.config.kinesis.region : undefined;
      const resolved = resolveEndpoint({ service, endpoint, region });
      // Loaded only when something goes over HTTP: the embedded engine alone starts faster without it.
      const { HttpJsonApiClient } = await import('../client/http-client.js');
      const credentials = await this.credentials(resolved.region);
      client = this.clientFor(`${service}:${resolved.endpoint}:${resolved.region}`, () => {
        this.logger.info(
          { service, endpoint: resolved.endpoint, region: resolved.region, regionSource: resolved.regionSource },
          'destination endpoint',
        );
        return new HttpJsonApiClient({
          service,
          endpoint: resolved.endpoint,
          region: resolved.region,
          credentials,
          connections: Math.max(1, Math.min(this.config.maxConnections, 64)),
          requestTimeoutMs: this.config.socketTimeoutMillis,
          userAgent:
            this.config.userAgentOverride ?? [this.config.userAgent, 'shardtail/0.1'].filter(Boolean).join(' '),
        });
      });
    }
    return flow.kind === 'kinesisStream'
      ? new KinesisDestination(flow.streamName, client, flow.partitioning)
      : // The Java agent aggregates single lines only: with multiLineStartPattern the setting is ignored.
        new FirehoseDestination(
          flow.streamName,
          client,
          flow.multiLineStartPattern === undefined ? flow.aggregatedRecordSizeBytes : 0,
        );
  }

  private credentialProvider: CredentialProvider | undefined;

  private async credentials(region: string): Promise<CredentialProvider> {
    const { agentCredentialProvider } = await import('../client/credentials.js');
    this.credentialProvider ??= agentCredentialProvider(this.config, region);
    return this.credentialProvider;
  }

  private clientFor(key: string, create: () => JsonApiClient): JsonApiClient {
    let client = this.clients.get(key);
    if (!client) {
      client = create();
      this.clients.set(key, client);
    }
    return client;
  }

  private expireCheckpoints(): void {
    // Files still tailed are re-saved first, however long they have been idle: only the gone expire.
    for (const flow of this.flows) flow.touchCheckpoints();
    this.saveCheckpoints();
    try {
      this.events.checkpointsExpired(
        this.checkpoints!.expire(this.config.checkpointTimeToLiveDays, Date.now()),
        this.config.checkpointTimeToLiveDays,
      );
    } catch (error) {
      this.events.checkpointExpiryFailed(error);
    }
  }

  saveCheckpoints(): void {
    if (!this.checkpoints) return;
    const now = Date.now();
    const batches = this.flows.map((flow) => flow.dirtyCheckpoints(now));
    const all = batches.flatMap((b) => b.checkpoints);
    if (all.length === 0) return;
    try {
      this.checkpoints.save(all);
    } catch (error) {
      // Saves are attempted after every batch; each failure is an event (logging says it now and then).
      this.events.checkpointSaveFailed(this.checkpoints.file, error);
      return;
    }
    for (const batch of batches) batch.saved();
    this.events.checkpointsSaved(this.checkpoints.file, all.length);
  }

  totals(): FlowStats {
    const total: FlowStats = {
      files: 0,
      recordsParsed: 0,
      bytesParsed: 0,
      recordsTruncated: 0,
      recordsSent: 0,
      bytesSent: 0,
      bytesBehind: 0,
      filesOpen: 0,
    };
    for (const flow of this.flows) {
      const stats = flow.stats();
      for (const key of Object.keys(total) as Array<keyof FlowStats>) total[key] += stats[key];
    }
    return total;
  }

  /** Each flow's counts now, for metrics and `shardtail status`. */
  flowStats(): Array<FlowStats & { flow: string }> {
    return this.flows.map((flow) => ({ flow: flow.config.id, ...flow.stats() }));
  }

  private reportStatus(): void {
    for (const flow of this.flows) {
      const stats = flow.stats();
      this.logger.info(
        { flow: flow.config.id, ...stats },
        `Tailer Progress: Tailer has parsed ${stats.recordsParsed} records (${stats.bytesParsed} bytes), and ` +
          `has successfully sent ${stats.recordsSent} records to destination; ${stats.bytesBehind} bytes behind.`,
      );
    }
    const total = this.totals();
    const uptimeMs = Date.now() - this.startedMs;
    this.logger.info(
      { ...total, uptimeMs },
      `Agent: Progress: ${total.recordsParsed} records parsed (${total.bytesParsed} bytes), and ` +
        `${total.recordsSent} records sent successfully to destinations. Uptime: ${uptimeMs}ms`,
    );
  }

  /** A backfill's bytes read of its total (known once start() has taken the files on). */
  bytesProgress(): { done: number; total: number } {
    let done = 0;
    let total = 0;
    for (const flow of this.flows) {
      const progress = flow.bytesProgress;
      done += progress.done;
      total += progress.total;
    }
    return { done, total };
  }

  /**
   * Backfill: waits until every file was read to its end and every record acknowledged, or until
   * nothing was delivered for `giveUpAfterMs` (a destination that stays down), whichever is first.
   */
  async runToCompletion(giveUpAfterMs = 60_000): Promise<RunSummary> {
    const started = process.hrtime.bigint();
    let lastSent = -1;
    let lastProgressMs = Date.now();
    let gaveUp = false;
    for (;;) {
      let allDone = true;
      for (const flow of this.flows) {
        if (flow.drained) continue;
        allDone = false;
        if (flow.readingFinished) flow.flush();
      }
      if (allDone) break;
      const sent = this.totals().recordsSent;
      if (sent !== lastSent) {
        lastSent = sent;
        lastProgressMs = Date.now();
      } else if (Date.now() - lastProgressMs > giveUpAfterMs) {
        gaveUp = true;
        break;
      }
      await sleep(5);
    }
    this.saveCheckpoints();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const total = this.totals();
    return {
      files: this.flows.reduce((n, f) => n + f.filesSeen, 0),
      records: total.recordsSent,
      bytes: total.bytesSent,
      recordsTruncated: total.recordsTruncated,
      seconds,
      recordsPerSecond: seconds > 0 ? total.recordsSent / seconds : 0,
      undelivered: total.recordsParsed - total.recordsSent,
      undeliveredFiles: gaveUp ? this.flows.flatMap((flow) => flow.filesNotDelivered()) : [],
      unsupportedFiles: this.flows.flatMap((flow) => flow.compressedNotRead.unsupported),
      undecompressableFiles: this.flows.flatMap((flow) => flow.compressedNotRead.undecompressable),
    };
  }

  /**
   * Stops reading, sends what was read, waits up to shutdownTimeoutMillis for acknowledgements,
   * saves checkpoints. Whatever is still unacknowledged then is simply read again next time.
   */
  async stop(timeoutMs = this.config.shutdownTimeoutMillis): Promise<{ drained: boolean }> {
    clearInterval(this.statusTimer);
    clearInterval(this.expiryTimer);
    for (const flow of this.flows) await flow.stopReading();
    for (const flow of this.flows) flow.flush();
    const idle = Promise.all(this.flows.map((flow) => flow.sender.idle())).then(() => true);
    // A timer that holds the process up: while the sender only waits on unref'd backoff timers (a
    // destination that is down), nothing else would, and Node would quit with exit code 13 in the
    // middle of the shutdown, before checkpoints are saved.
    const timeout = new AbortController();
    const timedOut = sleep(timeoutMs, false, { signal: timeout.signal }).catch(() => false);
    const drained = await Promise.race([idle, timedOut]);
    timeout.abort();
    clearInterval(this.checkpointTimer);
    this.saveCheckpoints();
    for (const flow of this.flows) await flow.close();
    for (const client of this.clients.values()) await client.close();
    await this.engine?.stop();
    this.checkpoints?.close();
    if (!drained)
      this.logger.warn(
        { timeoutMs },
        'shutdown timeout: some records were not acknowledged and will be sent again at the next start',
      );
    return { drained };
  }
}
