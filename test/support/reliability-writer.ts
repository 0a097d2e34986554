/**
 * A log writer for the reliability suite: appends numbered lines (reliability-tally.ts seqLine) to
 * one file at a steady rate, as an application's logger would. `held` keeps one O_APPEND file
 * descriptor open, like a real logger, until told to `reopen()` (what a postrotate script or a
 * SIGHUP does); `reopen-per-write` opens the path for each write.
 *
 * Every chunk written is remembered with the inode it went to, so a missing line can be traced
 * to the rotation generation it was in.
 */
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SeqTally } from './reliability-tally.js';

export interface LineWriterOptions {
  tally: SeqTally;
  prefix: string;
  file: string;
  /** Line length in bytes (the id and newline included). */
  width: number;
  linesPerSecond: number;
  /** Stop by itself after this many lines. */
  total?: number;
  mode?: 'held' | 'reopen-per-write';
  tickMs?: number;
}

export interface WrittenChunk {
  from: number;
  to: number;
  ino: number;
  atMs: number;
}

export class LineWriter {
  readonly chunks: WrittenChunk[] = [];
  private fd: number | undefined;
  private stopping = false;
  private paused = false;
  private loop: Promise<void> | undefined;
  private startedMs = Date.now();
  private stoppedMs: number | undefined;
  /** Lines owed by the rate but not yet written (the rate is kept over time, not per tick). */
  private credited = 0;
  private error: Error | undefined;

  constructor(private readonly options: LineWriterOptions) {
    options.tally.source(options.prefix, options.width);
  }

  get written(): number {
    return this.options.tally.written(this.options.prefix);
  }

  get finished(): boolean {
    return this.options.total !== undefined && this.written >= this.options.total;
  }

  start(): this {
    if ((this.options.mode ?? 'held') === 'held') this.fd = openSync(this.options.file, 'a');
    this.startedMs = Date.now();
    this.loop = this.run();
    return this;
  }

  /** Closes and opens the path again (after a rotation, what postrotate / SIGHUP does). */
  reopen(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = openSync(this.options.file, 'a');
  }

  /** Changes the pace from now on (lines per second). */
  setRate(linesPerSecond: number): void {
    this.options.linesPerSecond = linesPerSecond;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Writes `n` lines at once (outside the rate), e.g. a burst before start. */
  writeNow(n: number): void {
    this.write(n);
  }

  private write(n: number): void {
    const { tally, prefix } = this.options;
    if (n <= 0) return;
    const from = this.written;
    const lines: Buffer[] = new Array(n);
    for (let i = 0; i < n; i++) lines[i] = tally.next(prefix);
    const data = Buffer.concat(lines);
    const held = this.fd !== undefined;
    const fd = held ? this.fd! : openSync(this.options.file, 'a');
    try {
      for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset, data.length - offset);
      this.chunks.push({ from, to: this.written - 1, ino: fstatSync(fd).ino, atMs: Date.now() });
    } finally {
      if (!held) closeSync(fd);
    }
  }

  private async run(): Promise<void> {
    const tickMs = this.options.tickMs ?? 10;
    let lastMs = Date.now();
    try {
      while (!this.stopping && !this.finished) {
        await sleep(tickMs);
        const now = Date.now();
        if (!this.paused) this.credited += ((now - lastMs) * this.options.linesPerSecond) / 1000;
        lastMs = now;
        let n = Math.floor(this.credited);
        if (this.options.total !== undefined) n = Math.min(n, this.options.total - this.written);
        if (n > 0) {
          this.credited -= n;
          this.write(n);
        }
      }
    } catch (error) {
      this.error = error instanceof Error ? error : new Error(String(error));
    }
  }

  /** Resolves once `total` lines are written (or the writer was stopped). */
  async finish(): Promise<void> {
    await this.loop;
    if (this.error) throw this.error;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.stoppedMs ??= Date.now();
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.error) throw this.error;
  }

  /** Lines per second actually written while running (a burst from writeNow included). */
  rate(): number {
    return (this.written * 1000) / Math.max(1, (this.stoppedMs ?? Date.now()) - this.startedMs);
  }

  /** The chunk (and so the inode) a line went to. */
  chunkOf(seq: number): WrittenChunk | undefined {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid];
      if (seq < chunk.from) hi = mid - 1;
      else if (seq > chunk.to) lo = mid + 1;
      else return chunk;
    }
    return undefined;
  }
}
