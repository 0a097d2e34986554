import type { MemoryBudget } from '../acknowledge/memory-budget.js';
import type { TrackedFile } from './tracked-file.js';

export interface ReadLoopOptions {
  /** The files that should be read now, in turn; asked afresh each round (a snapshot it may keep). */
  files: () => Iterable<TrackedFile>;
  /** Reads one chunk of one file; returns the bytes read (0: nothing now). */
  read: (file: TrackedFile) => Promise<number>;
  /** Reading pauses while it is full: what was read waits for delivery. */
  budget: MemoryBudget;
  onError: (error: unknown) => void;
  now?: () => number;
}

/**
 * Reads every file that should be read now, one chunk each in turn, until none has more or the
 * memory budget is full: a busy file does not starve the others. One loop at a time; a call to
 * pump() while it runs makes it go round once more.
 */
export class ReadLoop {
  private running = false;
  private again = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: ReadLoopOptions) {
    this.now = options.now ?? Date.now;
  }

  get busy(): boolean {
    return this.running;
  }

  pump(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.rounds()
      .catch((error) => this.options.onError(error))
      .finally(() => {
        this.running = false;
        if (this.again && !this.stopped) {
          this.again = false;
          this.pump();
        }
      });
  }

  stop(): void {
    this.stopped = true;
  }

  private async rounds(): Promise<void> {
    const { budget } = this.options;
    for (;;) {
      this.again = false;
      let readSomething = false;
      for (const file of this.options.files()) {
        if (this.stopped) return;
        if (budget.exhausted) {
          await budget.whenRoom();
          if (this.stopped) return;
        }
        if (!file.shouldReadNow(this.now())) continue;
        if ((await this.options.read(file)) > 0) readSomething = true;
      }
      if (!readSomething && !this.again) return;
    }
  }
}
