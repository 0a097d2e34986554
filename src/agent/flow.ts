import type { Span } from '../acknowledge/file-progress.js';
import { MemoryBudget } from '../acknowledge/memory-budget.js';
import { Batcher } from '../batch/batcher.js';
import type { CheckpointStore, FileCheckpoint } from '../checkpoint/checkpoint-store.js';
import { DirtyCheckpoints } from '../checkpoint/dirty-checkpoints.js';
import { ResumePoints } from '../checkpoint/resume.js';
import type { FlowConfig } from '../config/agent-config.js';
import { FlowDiscovery } from '../discover/flow-discovery.js';
import type { AgentEvents } from '../observe/events.js';
import { processorsFor } from '../process/converter-chain.js';
import { ProcessingPipeline } from '../process/processor.js';
import { RecordLimit } from '../process/record-limit.js';
import type { Destination } from '../send/destination.js';
import type { SendSlots } from '../send/send-slots.js';
import { Sender } from '../send/sender.js';
import { FileSet } from '../tail/file-set.js';
import { OpenFiles } from '../tail/open-files.js';
import { ReadBuffers } from '../tail/read-buffers.js';
import { ReadLoop } from '../tail/read-loop.js';
import { RECORD_OVERHEAD_BYTES, type FramedChunk } from '../tail/records.js';
import type { TrackedFile } from '../tail/tracked-file.js';

export type RunMode = 'daemon' | 'backfill';

export interface FlowOptions {
  config: FlowConfig;
  destination: Destination;
  checkpoints: CheckpointStore;
  /** This flow's events (logging, metrics). */
  events: AgentEvents;
  mode: RunMode;
  /** The agent-wide byte budget this flow's budget draws on. */
  agentBudget: MemoryBudget;
  /** Batch calls of this flow in flight at once. */
  maxInFlight: number;
  /** The agent's batch calls in flight at once, across flows. */
  sendSlots: SendSlots;
  /** Bytes per read(2). */
  chunkSize?: number;
  /** A batch was delivered in full: the moment to save checkpoints. */
  onBatchDelivered: () => void;
  /** Globs of the agent's own files (engine data, checkpoints), never tailed (see ownStateGlobs). */
  ownState: string[];
}

/**
 * A flow never holds more than this in memory, whatever publishQueueCapacity × maxBufferSizeBytes
 * says: read-ahead beyond a few batches does not make shipping faster, it only costs memory when
 * the destination is slower than the disk.
 */
const MAX_FLOW_BUDGET_BYTES = 8 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Per-file bytes behind are reported for this many files of a flow at most, so metrics labels stay few. */
const FILES_BEHIND_REPORTED = 10;
/** Files grown this recently have their path checked on every poll, for rotations the watcher missed. */
const ACTIVE_FILE_MS = 5000;

export interface FlowStats {
  files: number;
  recordsParsed: number;
  bytesParsed: number;
  recordsTruncated: number;
  recordsSent: number;
  bytesSent: number;
  /** Bytes in tailed files not read yet. */
  bytesBehind: number;
  /** Descriptors held now (at most MAX_OPEN_FILES_PER_FLOW, plus files being looked at). */
  filesOpen: number;
  /** Batches the sender is delivering now (sent, or waiting to be sent again). */
  batchesInFlight: number;
  /** Bytes read and not yet acknowledged, held against the flow's memory budget, and that budget. */
  memoryBudgetUsed: number;
  memoryBudgetLimit: number;
}

/**
 * One flow of agent.json: the rooms of the data path, put together. Discovery finds the files of
 * one glob; the file set tails them, read in turn by the read loop; each chunk's records go
 * through processing (and the record limit), are charged to the memory budget and batched; the
 * sender delivers them, and acknowledgements move each file's checkpoint.
 */
export class Flow {
  readonly config: FlowConfig;
  readonly budget: MemoryBudget;
  readonly sender: Sender;
  private readonly events: AgentEvents;
  private readonly readBuffers: ReadBuffers;
  private readonly pipeline: ProcessingPipeline;
  private readonly batcher: Batcher;
  private readonly dirty: DirtyCheckpoints;
  private readonly files: FileSet;
  private readonly openFiles = new OpenFiles();
  private readonly readLoop: ReadLoop;
  private readonly discovery: FlowDiscovery;
  private pollTimer: NodeJS.Timeout | undefined;
  private recordsTruncated = 0;

  constructor(private readonly options: FlowOptions) {
    const { config, destination, events } = options;
    this.config = config;
    this.events = events;
    const maxRecordBytes = destination.limits.maxRecordBytes - destination.recordOverheadBytes;
    const budgetBytes = Math.min(
      MAX_FLOW_BUDGET_BYTES,
      Math.max(config.maxBufferSizeBytes, config.publishQueueCapacity * config.maxBufferSizeBytes),
    );
    this.budget = new MemoryBudget(budgetBytes, options.agentBudget);
    this.readBuffers = new ReadBuffers(options.chunkSize ?? DEFAULT_CHUNK_BYTES);
    this.pipeline = new ProcessingPipeline(
      processorsFor(config.dataProcessingOptions, events),
      new RecordLimit(maxRecordBytes, Buffer.from(config.truncatedRecordTerminator, 'utf8')),
    );
    this.sender = new Sender({
      destination,
      maxInFlight: options.maxInFlight,
      slots: options.sendSlots,
      retryInitialBackoffMillis: config.retryInitialBackoffMillis,
      retryMaxBackoffMillis: config.retryMaxBackoffMillis,
      events,
      onDelivered: (span, index) => span.acknowledge(index),
      onBatchDone: () => options.onBatchDelivered(),
    });
    this.batcher = new Batcher({
      maxEntries: Math.min(config.maxBufferSizeRecords, destination.limits.maxEntriesPerCall),
      maxBytes: Math.min(config.maxBufferSizeBytes, destination.limits.maxCallBytes),
      maxAgeMs: config.maxBufferAgeMillis,
      packer: destination.packer,
      onSealed: (batch) => this.sender.submit(batch),
    });
    this.dirty = new DirtyCheckpoints(config.id);
    this.files = new FileSet({
      events,
      openFiles: this.openFiles,
      buffers: this.readBuffers,
      resume: new ResumePoints(options.checkpoints.load(config.id), events),
      checkpoints: this.dirty,
      backfill: options.mode === 'backfill',
      initialPosition: config.initialPosition,
      maxRecordBytes,
      skipHeaderLines: config.skipHeaderLines,
      multiLineStartPattern: config.multiLineStartPattern,
      fileFooterPattern: config.fileFooterPattern,
      minPollMs: config.minTimeBetweenFilePollsMillis,
      onChunk: (file, chunk) => this.ship(file, chunk),
      onSpanComplete: (span) => this.spanComplete(span),
    });
    this.readLoop = new ReadLoop({
      files: () => this.files.readyFiles(),
      read: (file) => this.files.read(file),
      budget: this.budget,
      onError: (error) => events.readLoopFailed(error),
    });
    this.discovery = new FlowDiscovery({
      filePattern: config.filePattern,
      excludePatterns: config.excludePatterns,
      ownState: options.ownState,
      refreshMs: config.maxTimeBetweenFileTrackerRefreshMillis,
      watch: options.mode === 'daemon',
      events,
      listener: {
        listed: (found, initial) => this.files.reconcile(found, initial),
        noticed: (file) => this.files.noticed(file),
        gone: (path) => this.files.gone(path),
        written: (identity) => {
          const file = this.files.byIdentity(identity);
          file?.wake();
          return file !== undefined;
        },
        changed: () => this.readLoop.pump(),
      },
    });
  }

  /** Finds the files and starts reading. */
  async start(): Promise<void> {
    await this.pipeline.ready();
    const firstStart =
      this.options.mode === 'daemon' && this.options.checkpoints.markFlowStarted(this.config.id, Date.now());
    await this.discovery.start(firstStart);
    if (this.options.mode === 'daemon') {
      this.pollTimer = setInterval(() => this.poll(), this.config.minTimeBetweenFilePollsMillis);
      this.pollTimer.unref();
    }
    this.readLoop.pump();
  }

  /** Idle files whose next poll is due are read; the paths of recently written ones are checked. */
  private poll(): void {
    const now = Date.now();
    let due = false;
    const active: TrackedFile[] = [];
    for (const file of this.files.values()) {
      if (file.pollIfDue(now)) due = true;
      if (file.listed && now - file.lastGrowthMs < ACTIVE_FILE_MS) active.push(file);
    }
    if (due) this.readLoop.pump();
    this.discovery.checkActivePaths(active);
  }

  /** The records of a chunk: processed, cut to the limit, charged to the budget, batched. */
  private ship(file: TrackedFile, chunk: FramedChunk): void {
    const records = this.pipeline.run(chunk, (originalBytes, limit) => {
      this.recordsTruncated++;
      this.events.recordTruncated(file.path, originalBytes, limit);
    });
    const pinned = records.heldBytes + records.records.count * RECORD_OVERHEAD_BYTES;
    this.budget.take(pinned);
    const span = file.progress.openSpan(records.startOffset, records.ends, records.endOffset, pinned, records.records);
    if (records.records.count > 0) this.batcher.add(span);
  }

  private spanComplete(span: Span): void {
    this.readBuffers.give(span.records.releaseBuffer());
    this.budget.release(span.pinnedBytes);
  }

  /**
   * Checkpoints whose offset moved since the last save. Call `saved()` once they are durable; until
   * then they stay dirty, so a failed save (a full disk) is retried at the next one.
   */
  dirtyCheckpoints(now: number): { checkpoints: FileCheckpoint[]; saved: () => void } {
    return this.dirty.collect(this.files.values(), (key) => this.files.has(key), now);
  }

  /** Marks every tailed file's checkpoint for saving, which renews its age for checkpointTimeToLiveDays. */
  touchCheckpoints(): void {
    for (const file of this.files.values()) file.progress.touch();
  }

  /** Seals the open batch so that what was read goes out now (shutdown, end of a backfill). */
  flush(): void {
    this.batcher.seal();
  }

  /** Every file found was read to its end and let go (what a backfill waits for before its last flush). */
  get readingFinished(): boolean {
    return this.files.size === 0 && !this.readLoop.busy;
  }

  /** Paths of files whose records are not all acknowledged (or not all read). */
  filesNotDelivered(): string[] {
    return [...[...this.files.values()].map((file) => file.path), ...this.dirty.undelivered().map((file) => file.path)];
  }

  /** Compressed files skipped (unsupported formats) and gzip files that failed to decompress. */
  get compressedNotRead(): { unsupported: readonly string[]; undecompressable: readonly string[] } {
    return this.files.compressed;
  }

  /** Bytes read so far, of the bytes the files had to read when they were taken on: a backfill's progress. */
  get bytesProgress(): { done: number; total: number } {
    return { done: this.files.totals().bytes, total: this.files.plannedBytes };
  }

  /** Files this flow has taken on since it started. */
  get filesSeen(): number {
    return this.files.filesSeen;
  }

  /** True once every file was read to its end and let go, and everything read was acknowledged. */
  get drained(): boolean {
    return (
      this.files.size === 0 && this.dirty.allDelivered && this.batcher.openRecords === 0 && this.sender.pending === 0
    );
  }

  stats(): FlowStats {
    const read = this.files.totals();
    return {
      files: this.files.size,
      recordsParsed: read.records,
      bytesParsed: read.bytes,
      recordsTruncated: this.recordsTruncated,
      recordsSent: this.sender.stats.recordsSent,
      bytesSent: this.sender.stats.bytesSent,
      bytesBehind: read.behind,
      filesOpen: this.openFiles.count,
      batchesInFlight: this.sender.batchesInFlight,
      memoryBudgetUsed: this.budget.used,
      memoryBudgetLimit: this.budget.limit,
    };
  }

  /** The files with the most bytes not read yet (a few only: each is a metrics label), most first. */
  filesBehind(limit = FILES_BEHIND_REPORTED): Array<{ path: string; bytesBehind: number }> {
    return this.files.mostBehind(limit);
  }

  /** Stops finding and reading files; what was read can still be flushed and delivered. */
  async stopReading(): Promise<void> {
    clearInterval(this.pollTimer);
    this.readLoop.stop();
    await this.discovery.stop();
  }

  async close(): Promise<void> {
    await this.stopReading();
    this.sender.abandon();
    await this.files.closeAll();
  }
}
