/**
 * Everything observable that happens to the agent's flows, one method each: logging turns them into log
 * lines (log-events.ts), and metrics can count the same calls. Rooms call these; none of them
 * logs by itself. Paths are absolute; `flow` context is the implementation's.
 */
export interface AgentEvents {
  // ---- discovery
  scanFailed(filePattern: string, error: unknown): void;
  /** The glob matched more than `limit` files; only `limit` are tailed. Called on every such scan. */
  tooManyFiles(filePattern: string, limit: number): void;
  watchFailed(directory: string, error: NodeJS.ErrnoException): void;

  // ---- files found, moved, shrunk, let go
  cannotOpen(path: string, code: string | undefined): void;
  /** A daemon tails no compressed file (a rotated log is finished): called once per file, logged once per flow. */
  compressedNotTailed(path: string, compression: string): void;
  /** A backfill reads gzip only. */
  compressionNotSupported(path: string, compression: string): void;
  resumed(path: string, offset: number): void;
  /** At start: the checkpointed inode now holds another file. */
  inodeReusedAtStart(path: string, previousPath: string): void;
  truncatedWhileStopped(path: string, offset: number, size: number): void;
  /** While running: a deleted file's inode went to a new one. */
  inodeReused(path: string, previousPath: string): void;
  renamed(from: string, to: string): void;
  leftGlob(path: string): void;
  truncated(path: string, size: number, offset: number, how: 'shrank' | 'rewritten'): void;
  letGo(path: string): void;
  /** A record matched fileFooterPattern at `offset`: not shipped, nor the `droppedBytes` read after it in its chunk. */
  footerFound(path: string, offset: number, droppedBytes: number): void;
  copyFound(offset: number): void;
  copySuspected(original: string, offset: number): void;
  copyConfirmed(path: string, original: string, offset: number): void;
  notACopy(path: string, original: string): void;
  statFailed(path: string, error: unknown): void;
  readFailed(path: string, error: unknown): void;
  readLoopFailed(error: unknown): void;
  recordTruncated(path: string, originalBytes: number, limit: number): void;

  // ---- processing (dataProcessingOptions)
  /**
   * `records` of one chunk that the converter `option` (`dataProcessingOptions[1] LOGTOJSON`) did
   * not convert: `skipped`, dropped as the Java agent drops them (a line LOGTOJSON's pattern does
   * not match); `failed`, the converter threw (`reason`) and the records were shipped as read; or
   * `unchanged`, the converter could not do its part (`reason`: no EC2 metadata) and passed them on.
   */
  recordsNotConverted(option: string, outcome: NotConverted, records: number, reason: string | undefined): void;

  // ---- sending
  /** One batch call of `records` records returned (`code` undefined) or threw (its error code), after `durationMs`. */
  callEnded(durationMs: number, code: string | undefined, records: number): void;
  /** A call's records were all accepted. */
  delivered(records: number, bytes: number): void;
  /** A call failed with an error retrying can fix (throttling, 5xx, the network); it is sent again. */
  sendRetried(code: string, message: string): void;
  /** `failed` of a call's `of` records were refused (throttled, most often); only those are sent again. */
  recordsRejected(code: string, message: string, failed: number, of: number): void;
  /** A failure retrying cannot fix soon (stream not found, access denied); retried at the slowest pace. */
  sendFailed(code: string, message: string, retryInMs: number): void;

  // ---- checkpoints (the agent's, across flows)
  checkpointsSaved(file: string, count: number): void;
  checkpointSaveFailed(file: string, error: unknown): void;
  checkpointStoreReset(file: string, movedTo: string, error: unknown): void;
  checkpointStoreUnavailable(file: string, error: unknown): void;
  checkpointsExpired(count: number, ttlDays: number): void;
  checkpointExpiryFailed(error: unknown): void;
}

export type NotConverted = 'skipped' | 'failed' | 'unchanged';

/** What a flow's sends go to, as events name it. */
export interface DestinationName {
  service: string;
  streamName: string;
}

/** An implementation for the agent as a whole that also gives each flow its own. */
export interface AgentObserver extends AgentEvents {
  forFlow(flowId: string, destination: DestinationName): AgentEvents;
}

/** An implementation that ignores everything, to extend or to use where nothing is watched. */
export const ignoredEvents: AgentEvents = new Proxy({} as AgentEvents, { get: () => () => undefined });
