/**
 * Bytes of file data held in memory between reading and acknowledgement. When a budget is full,
 * reading pauses: the files on disk are the spool, so a slow or absent destination costs disk
 * reads later, never memory now. A flow's budget also draws on the agent's overall one.
 */
export class MemoryBudget {
  used = 0;
  private readonly root: MemoryBudget;
  /** Kept on the root only: any release anywhere may make room for any waiter. */
  private waiters: Array<() => void> = [];

  constructor(
    readonly limit: number,
    private readonly parent?: MemoryBudget,
  ) {
    this.root = parent?.root ?? this;
  }

  get exhausted(): boolean {
    return this.used >= this.limit || (this.parent?.exhausted ?? false);
  }

  take(bytes: number): void {
    this.used += bytes;
    this.parent?.take(bytes);
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.parent !== undefined) {
      this.parent.release(bytes);
      return;
    }
    if (this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves when there is room again in this budget and its parents. */
  async whenRoom(): Promise<void> {
    while (this.exhausted) {
      await new Promise<void>((resolve) => this.root.waiters.push(resolve));
    }
  }
}
