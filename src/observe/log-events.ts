import type { Logger } from '../log.js';
import type { AgentObserver, DestinationName, NotConverted } from './events.js';

/** Retryable send failures are logged at most this often per error code: an outage is visible but not noisy. */
const RETRYABLE_LOG_INTERVAL_MS = 30_000;
/** Records a converter drops or cannot convert: logged at most this often per option (a wrong format hits all). */
const NOT_CONVERTED_LOG_INTERVAL_MS = 30_000;
/** Failed checkpoint saves are retried after every batch: the first is logged, then a reminder this often. */
const FAILED_SAVE_LOG_INTERVAL_MS = 30_000;

/**
 * The agent's events as log lines: the messages, levels and fields operators and tests read.
 * Repetitive failures are logged once or now and then, as noted at each; every event is still
 * a call, for whatever else listens.
 */
export class LogEvents implements AgentObserver {
  private readonly retryableLoggedMs = new Map<string, number>();
  /** Non-retryable codes logged since the destination last accepted records. */
  private readonly reported = new Set<string>();
  private failedSaves = 0;
  private failedSaveLoggedMs = -Infinity;
  private tooManyReported = false;
  private compressedNoticeGiven = false;
  private readonly watchFailures = new Set<string>();
  /** Per option and outcome: when last logged, and the records since, for the next line. */
  private readonly notConverted = new Map<string, { loggedMs: number; records: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly destination?: DestinationName,
    private readonly now: () => number = Date.now,
  ) {}

  /** The events of one flow, logged with its id. */
  forFlow(flowId: string, destination: DestinationName): LogEvents {
    return new LogEvents(this.logger.child({ flow: flowId }), destination, this.now);
  }

  scanFailed(filePattern: string, error: unknown): void {
    this.logger.error({ err: error, filePattern }, 'file scan failed; will retry at the next scan');
  }

  tooManyFiles(filePattern: string, limit: number): void {
    if (this.tooManyReported) return;
    this.tooManyReported = true;
    this.logger.error(
      { filePattern, limit },
      `filePattern matches more than ${limit} files; only the first ${limit} found are tailed (narrow ` +
        `filePattern or use excludePattern)`,
    );
  }

  watchFailed(directory: string, error: NodeJS.ErrnoException): void {
    const code = error.code ?? 'UNKNOWN';
    if (this.watchFailures.has(code)) return;
    this.watchFailures.add(code);
    this.logger.warn(
      { directory, code, err: error },
      'cannot watch a directory for changes; its files are found by the periodic scans',
    );
  }

  cannotOpen(path: string, code: string | undefined): void {
    this.logger.error({ path, code }, 'cannot open file; skipping it until it becomes readable');
  }

  compressedNotTailed(path: string, compression: string): void {
    if (this.compressedNoticeGiven) return;
    // Once per flow: a glob over rotated logs matches many compressed files, at every scan.
    this.compressedNoticeGiven = true;
    this.logger.info(
      { path, compression },
      'compressed files matched by the glob are not tailed (as the Java agent does); backfill reads gzip files',
    );
  }

  compressionNotSupported(path: string, compression: string): void {
    this.logger.warn({ path, compression }, `${compression} files are not supported (gzip is); skipping it`);
  }

  resumed(path: string, offset: number): void {
    this.logger.info({ path, offset }, 'resuming from checkpoint');
  }

  inodeReusedAtStart(path: string, previousPath: string): void {
    this.logger.warn({ path, previousPath }, 'inode reused by a different file; reading it from the start');
  }

  truncatedWhileStopped(path: string, offset: number, size: number): void {
    this.logger.warn(
      { path, offset, size },
      'file is shorter than its checkpoint (truncated); reading it from the start',
    );
  }

  inodeReused(path: string, previousPath: string): void {
    this.logger.info({ path, previousPath }, 'inode reused by a new file; reading it from the start');
  }

  renamed(from: string, to: string): void {
    this.logger.info({ from, to }, 'file renamed; reading on by identity');
  }

  leftGlob(path: string): void {
    this.logger.info({ path }, 'file left the glob (rotated or deleted); reading it to its end');
  }

  truncated(path: string, size: number, offset: number, how: 'shrank' | 'rewritten'): void {
    this.logger.warn(
      { path, size, offset },
      how === 'rewritten'
        ? 'file was truncated and written again past the read offset (copytruncate); reading it again from the start'
        : 'file shrank below the read offset (copytruncate); reading it again from the start',
    );
  }

  letGo(path: string): void {
    this.logger.debug({ path }, 'file let go');
  }

  footerFound(path: string, offset: number, droppedBytes: number): void {
    if (droppedBytes === 0) this.logger.info({ path, offset }, 'file footer (fileFooterPattern) found; not shipped');
    else
      this.logger.warn(
        { path, offset, droppedBytes },
        'file footer (fileFooterPattern) found; it and the bytes read after it in the same chunk are dropped, ' +
          'as the Java agent does',
      );
  }

  copyFound(offset: number): void {
    this.logger.info(
      { offset },
      'found the copy of a truncated file; reading it on from where the original was read to',
    );
  }

  copySuspected(original: string, offset: number): void {
    this.logger.info(
      { original, offset },
      'a file with the head of a tailed file appeared: a copytruncate copy if the original is truncated now',
    );
  }

  copyConfirmed(path: string, original: string, offset: number): void {
    this.logger.info(
      { path, original, offset },
      'the copy of a truncated file (copytruncate); reading it on from where the original was read to',
    );
  }

  notACopy(path: string, original: string): void {
    this.logger.info(
      { path, original },
      'not a copy after all (its original was not truncated); reading it from its start',
    );
  }

  statFailed(path: string, error: unknown): void {
    this.logger.error({ path, err: error }, 'cannot stat open file; letting it go');
  }

  readFailed(path: string, error: unknown): void {
    this.logger.error({ path, err: error }, 'read failed; will retry');
  }

  readLoopFailed(error: unknown): void {
    this.logger.error({ err: error }, 'read loop failed; will resume at the next poll');
  }

  recordTruncated(path: string, originalBytes: number, limit: number): void {
    this.logger.warn({ path, originalBytes, limit }, 'record longer than the API allows was truncated');
  }

  recordsNotConverted(option: string, outcome: NotConverted, records: number, reason: string | undefined): void {
    const key = `${option} ${outcome}`;
    const tally = this.notConverted.get(key) ?? { loggedMs: -Infinity, records: 0 };
    this.notConverted.set(key, tally);
    tally.records += records;
    const now = this.now();
    if (now - tally.loggedMs < NOT_CONVERTED_LOG_INTERVAL_MS) return;
    const count = `${tally.records} record${tally.records === 1 ? '' : 's'}`;
    const happened = {
      skipped: `${count} did not match and ${tally.records === 1 ? 'was' : 'were'} dropped, as the Java agent does`,
      failed: `cannot convert ${count} (${reason}); shipped as read`,
      unchanged: `passed ${count} on unchanged (${reason})`,
    }[outcome];
    this.logger.warn(
      { option, outcome, records: tally.records, reason },
      `${option}: ${happened} (logged at most every ${NOT_CONVERTED_LOG_INTERVAL_MS / 1000} s)`,
    );
    tally.loggedMs = now;
    tally.records = 0;
  }

  /** Calls are counted by metrics; their failures are logged by the events that follow. */
  callEnded(): void {}

  delivered(): void {
    if (this.reported.size === 0) return;
    this.logger.info({ stream: this.destination?.streamName }, 'destination accepts records again');
    this.reported.clear();
  }

  sendRetried(code: string, message: string): void {
    const now = this.now();
    if (now - (this.retryableLoggedMs.get(code) ?? -Infinity) < RETRYABLE_LOG_INTERVAL_MS) return;
    this.retryableLoggedMs.set(code, now);
    const { service, streamName } = this.destinationNames();
    this.logger.warn(
      { stream: streamName, code, reason: message },
      `${service} stream ${streamName}: ${code}; retrying with backoff`,
    );
  }

  recordsRejected(code: string, message: string, failed: number, of: number): void {
    this.logger.debug(
      { stream: this.destinationNames().streamName, failed, of, code },
      'records rejected; resending only those',
    );
    this.sendRetried(code, message);
  }

  private destinationNames(): DestinationName {
    return this.destination ?? { service: 'destination', streamName: '' };
  }

  sendFailed(code: string, message: string, retryInMs: number): void {
    if (this.reported.has(code)) return;
    this.reported.add(code);
    const { service, streamName } = this.destinationNames();
    this.logger.error(
      { stream: streamName, service, code, reason: message },
      `cannot deliver to ${service} stream ${streamName}: ${code}; retrying every ${retryInMs} ms`,
    );
  }

  checkpointsSaved(file: string, _count: number): void {
    if (this.failedSaves === 0) return;
    this.logger.info({ file, failedSaves: this.failedSaves }, 'checkpoints saved again');
    this.failedSaves = 0;
    this.failedSaveLoggedMs = -Infinity;
  }

  checkpointSaveFailed(file: string, error: unknown): void {
    this.failedSaves++;
    const now = this.now();
    if (now - this.failedSaveLoggedMs < FAILED_SAVE_LOG_INTERVAL_MS) return;
    this.failedSaveLoggedMs = now;
    this.logger.error(
      { err: error, file, failedSaves: this.failedSaves },
      'cannot save checkpoints; shipping goes on and saving is retried (a restart now would resend what was ' +
        'shipped since the last save)',
    );
  }

  checkpointStoreReset(file: string, movedTo: string, error: unknown): void {
    this.logger.error(
      { file, movedTo, err: error },
      'checkpoint database unreadable; moved it aside and starting without checkpoints',
    );
  }

  checkpointStoreUnavailable(file: string, error: unknown): void {
    this.logger.error(
      { file, err: error },
      'cannot open or create the checkpoint database (check checkpointFile and its directory); shipping with ' +
        'checkpoints in memory only, so a restart starts over as if there were none',
    );
  }

  checkpointsExpired(count: number, ttlDays: number): void {
    if (count > 0)
      this.logger.info(
        { expired: count, ttlDays },
        'forgot checkpoints of files gone for longer than checkpointTimeToLiveDays',
      );
  }

  checkpointExpiryFailed(error: unknown): void {
    this.logger.error({ err: error }, 'cannot expire old checkpoints; will retry');
  }
}
