import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentEvents, AgentObserver } from './events.js';
import { someEvents } from './fan-out.js';

/** What a flow looks like when metrics are scraped: read from the flow, not counted from events. */
export interface FlowSample {
  flow: string;
  files: number;
  filesOpen: number;
  recordsParsed: number;
  bytesParsed: number;
  recordsSent: number;
  bytesBehind: number;
  batchesInFlight: number;
  memoryBudgetUsed: number;
  memoryBudgetLimit: number;
  /** The flow's busiest files by bytes not read yet (a few, so the `file` label stays bounded). */
  filesBehind: Array<{ path: string; bytesBehind: number }>;
}

/** The agent-wide memory budget the flows' budgets draw on. */
export interface BudgetSample {
  used: number;
  limit: number;
}

/** The error codes that mean "slow down" rather than "broken". */
const THROTTLE_CODES = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException']);
/** Batch calls take milliseconds against a local engine and up to the socket timeout against AWS. */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Unread bytes waiting this long with nothing read make a stalled flow (monitoring.stallAfterSeconds). */
export const DEFAULT_STALL_AFTER_MS = 60_000;

/** What readiness and `shardtail status` know of a flow beyond its sample. */
export interface FlowHealth {
  /** Whether the destination answered the flow's last call; undefined before the first. */
  lastCallAnswered: boolean | undefined;
  lastError: { code: string; message: string; atMs: number } | undefined;
  stalledSinceMs: number | undefined;
}

interface StallWatch {
  bytesParsed: number;
  /** When reading was last seen to progress, or to have nothing left. */
  progressMs: number;
}

/**
 * The agent's Prometheus metrics, fed by its events (sends, retries, checkpoint saves) and, for
 * gauges and read counts, by sampling the flows at scrape time. It outlives the Agent across
 * reloads, so counters fed by events keep counting.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly health = new Map<string, FlowHealth>();
  private readonly stalls = new Map<string, StallWatch>();
  private lastCheckpointSaveMs: number;
  private samples: () => FlowSample[] = () => [];
  private agentBudget: (() => BudgetSample) | undefined;

  private readonly recordsSent = this.counter('records_sent_total', 'Records the destination accepted');
  private readonly bytesSent = this.counter('bytes_sent_total', 'Bytes of the records the destination accepted');
  private readonly apiCalls = new Counter({
    name: 'shardtail_api_calls_total',
    help: 'Batch calls (PutRecords, PutRecordBatch) by outcome: ok, or the error code',
    labelNames: ['flow', 'outcome'],
    registers: [this.registry],
  });
  private readonly failedRecords = new Counter({
    name: 'shardtail_failed_records_total',
    help: "Records a call refused, to be sent again, by the first refused entry's error code",
    labelNames: ['flow', 'code'],
    registers: [this.registry],
  });
  private readonly notConverted = new Counter({
    name: 'shardtail_records_not_converted_total',
    help:
      'Records a dataProcessingOptions entry did not convert, by outcome: skipped (dropped, as LOGTOJSON drops a ' +
      'line that does not match), failed (shipped as read), unchanged (the option could not run)',
    labelNames: ['flow', 'option', 'outcome'],
    registers: [this.registry],
  });
  private readonly retries = this.counter('retries_total', 'Calls or refused records sent again');
  private readonly throttles = this.counter('throttles_total', 'Calls or records refused for throughput');
  private readonly latency = new Histogram({
    name: 'shardtail_send_latency_seconds',
    help: 'Time a batch call took, from when it got a sending slot',
    labelNames: ['flow'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  constructor(private readonly options: { now?: () => number; stallAfterMs?: number; processMetrics?: boolean } = {}) {
    this.lastCheckpointSaveMs = this.now();
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.sampled('lines_read_total', 'Lines (records) read from files', (s) => s.recordsParsed, Counter);
    this.sampled('bytes_read_total', 'Bytes read from files', (s) => s.bytesParsed, Counter);
    this.sampled('bytes_behind', 'Bytes in tracked files not read yet', (s) => s.bytesBehind, Gauge);
    this.sampled('files_tracked', 'Files the flow tails', (s) => s.files, Gauge);
    this.sampled('files_open', 'File descriptors the flow holds', (s) => s.filesOpen, Gauge);
    this.sampled(
      'batches_in_flight',
      'Batches being delivered (sent, or waiting to be sent again)',
      (s) => s.batchesInFlight,
      Gauge,
    );
    this.sampled(
      'memory_budget_used_bytes',
      "Bytes read and not yet acknowledged, of the flow's budget",
      (s) => s.memoryBudgetUsed,
      Gauge,
    );
    this.sampled(
      'memory_budget_limit_bytes',
      "The flow's memory budget: reading pauses when it is used up",
      (s) => s.memoryBudgetLimit,
      Gauge,
    );
    const fileBehind: Gauge<'flow' | 'file'> = new Gauge({
      name: 'shardtail_file_bytes_behind',
      help: 'Bytes not read yet in the files furthest behind, a few per flow (files read to their end are left out)',
      labelNames: ['flow', 'file'],
      registers: [this.registry],
      collect: () => {
        // Reset each scrape: a file caught up, or let go, is no longer a series.
        fileBehind.reset();
        for (const sample of this.samples())
          for (const file of sample.filesBehind)
            fileBehind.set({ flow: sample.flow, file: file.path }, file.bytesBehind);
      },
    });
    const agentBudget = (name: string, help: string, value: (budget: BudgetSample) => number) => {
      const gauge: Gauge = new Gauge({
        name: `shardtail_agent_memory_budget_${name}`,
        help,
        registers: [this.registry],
        collect: () => {
          gauge.reset();
          const budget = this.agentBudget?.();
          if (budget !== undefined) gauge.set(value(budget));
        },
      });
    };
    agentBudget(
      'used_bytes',
      'Bytes read and not yet acknowledged across flows, of the budget they share',
      (b) => b.used,
    );
    agentBudget('limit_bytes', 'The budget all flows share: reading pauses when it is used up', (b) => b.limit);
    const sinceSave: Gauge = new Gauge({
      name: 'shardtail_seconds_since_checkpoint_save',
      help: 'Seconds since checkpoints were last saved (since start before the first save)',
      registers: [this.registry],
      collect: () => sinceSave.set((this.now() - this.lastCheckpointSaveMs) / 1000),
    });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * Where scrapes, readiness and status read the flows (and the agent-wide budget) from: the running
   * Agent's, which a reload replaces.
   */
  sampleFrom(samples: () => FlowSample[], agentBudget?: () => BudgetSample): void {
    this.samples = samples;
    this.agentBudget = agentBudget;
  }

  private counter(name: string, help: string): Counter<'flow'> {
    return new Counter({ name: `shardtail_${name}`, help, labelNames: ['flow'], registers: [this.registry] });
  }

  private sampled(
    name: string,
    help: string,
    value: (sample: FlowSample) => number,
    Kind: typeof Counter | typeof Gauge,
  ): void {
    const metric: Counter<'flow'> | Gauge<'flow'> = new Kind({
      name: `shardtail_${name}`,
      help,
      labelNames: ['flow'],
      registers: [this.registry],
      collect: () => {
        // Sampled afresh each scrape: flows a reload removed must not linger.
        metric.reset();
        for (const sample of this.sample()) {
          if (metric instanceof Gauge) metric.set({ flow: sample.flow }, value(sample));
          else metric.inc({ flow: sample.flow }, value(sample));
        }
      },
    });
  }

  /** The flows now, with their stall watch brought up to date. */
  sample(): FlowSample[] {
    const now = this.now();
    const samples = this.samples();
    for (const sample of samples) {
      const watch = this.stalls.get(sample.flow);
      const health = this.flowHealth(sample.flow);
      if (watch === undefined || watch.bytesParsed !== sample.bytesParsed || sample.bytesBehind === 0) {
        this.stalls.set(sample.flow, { bytesParsed: sample.bytesParsed, progressMs: now });
        health.stalledSinceMs = undefined;
      } else if (now - watch.progressMs > (this.options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS)) {
        health.stalledSinceMs ??= watch.progressMs;
      }
    }
    return samples;
  }

  flowHealth(flow: string): FlowHealth {
    let health = this.health.get(flow);
    if (health === undefined) {
      health = { lastCallAnswered: undefined, lastError: undefined, stalledSinceMs: undefined };
      this.health.set(flow, health);
    }
    return health;
  }

  /** The events that feed these metrics; give it to the Agent beside logging. */
  observer(): AgentObserver {
    const agentWide = someEvents({
      checkpointsSaved: () => {
        this.lastCheckpointSaveMs = this.now();
      },
    });
    return Object.assign(agentWide, { forFlow: (flow: string) => this.flowEvents(flow) });
  }

  private flowEvents(flow: string): AgentEvents {
    const labels = { flow };
    const health = this.flowHealth(flow);
    const failed = (code: string, message: string) => {
      health.lastError = { code, message, atMs: this.now() };
      if (THROTTLE_CODES.has(code)) this.throttles.inc(labels);
    };
    return someEvents({
      callEnded: (durationMs: number, code: string | undefined) => {
        this.apiCalls.inc({ flow, outcome: code ?? 'ok' });
        this.latency.observe(labels, durationMs / 1000);
        health.lastCallAnswered = code === undefined;
      },
      delivered: (records: number, bytes: number) => {
        this.recordsSent.inc(labels, records);
        this.bytesSent.inc(labels, bytes);
      },
      sendRetried: (code: string, message: string) => {
        this.retries.inc(labels);
        failed(code, message);
      },
      sendFailed: (code: string, message: string) => {
        this.retries.inc(labels);
        failed(code, message);
      },
      recordsRejected: (code: string, message: string, failedRecords: number) => {
        this.failedRecords.inc({ flow, code }, failedRecords);
        this.retries.inc(labels);
        failed(code, message);
      },
      recordsNotConverted: (option: string, outcome: string, records: number) => {
        this.notConverted.inc({ flow, option, outcome }, records);
      },
    });
  }
}
