/**
 * The agent's concurrent batch calls, across flows: at most maxSendingThreads at once, as the Java
 * agent's sender thread pool bounds them. A call waits for a slot in the order it asked for one.
 */
export class SendSlots {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`send slots: ${limit} is not a whole number >= 1`);
  }

  get inUse(): number {
    return this.busy;
  }

  /** Runs `call` once a slot is free, and frees it when the call settles. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.busy >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so a new caller cannot overtake it.
      if (next !== undefined) next();
      else this.busy--;
    }
  }
}
