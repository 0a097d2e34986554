/**
 * A log line for events that any client can cause as often as it likes (a disconnect mid-request,
 * a connection that meets the cap): the first one is written at once, later ones are counted and
 * written as one line per interval, so what the log holds does not grow with what clients do.
 */
export class IntervalLog<Kind extends string> {
  private counts = new Map<Kind, number>();
  private windowStartMs = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `write` gets the counts since the last line; `periodMs` is undefined for the first event after
   * a quiet interval (written at once), else the length of the period the counts cover.
   */
  constructor(
    private readonly intervalMs: number,
    private readonly write: (counts: ReadonlyMap<Kind, number>, periodMs: number | undefined) => void,
  ) {}

  add(kind: Kind): void {
    if (this.timer === undefined) {
      this.write(new Map([[kind, 1]]), undefined);
      this.startWindow();
      return;
    }
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** Writes what is counted but not yet written (at shutdown), and stops the timer. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writeCounts();
  }

  private startWindow(): void {
    this.windowStartMs = Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A window with nothing in it ends the throttling: the next event is written at once again.
      if (this.writeCounts()) this.startWindow();
    }, this.intervalMs);
    this.timer.unref();
  }

  private writeCounts(): boolean {
    if (this.counts.size === 0) return false;
    const counts = this.counts;
    this.counts = new Map();
    this.write(counts, Date.now() - this.windowStartMs);
    return true;
  }
}

/** "1 thing" / "3 things", for the lines above. */
export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
