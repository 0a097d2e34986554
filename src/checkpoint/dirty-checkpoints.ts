import type { FileProgress } from '../acknowledge/file-progress.js';
import type { FileIdentity } from '../tail/identity.js';
import type { FileCheckpoint } from './checkpoint-store.js';

/** What a checkpoint is made of: a file's identity and fingerprint, where it is, and how far it is delivered. */
export interface CheckpointedFile {
  readonly key: string;
  readonly path: string;
  readonly identity: FileIdentity;
  readonly fingerprint: string;
  readonly progress: FileProgress;
}

/**
 * A flow's checkpoints that moved since the last save: of the files it tails, and of files let go
 * whose last records are still in flight (their checkpoints still move). A let-go file leaves once
 * everything it read is delivered and saved.
 */
export class DirtyCheckpoints {
  private readonly retiring = new Set<CheckpointedFile>();

  constructor(private readonly flowId: string) {}

  retire(file: CheckpointedFile): void {
    this.retiring.add(file);
  }

  /** Let-go files with records not yet delivered. */
  undelivered(): CheckpointedFile[] {
    return [...this.retiring].filter((file) => file.progress.outstanding > 0);
  }

  get allDelivered(): boolean {
    for (const file of this.retiring) if (file.progress.outstanding > 0) return false;
    return true;
  }

  /**
   * Checkpoints whose offset moved. Call `saved()` once they are durable; until then they stay
   * dirty, so a failed save (a full disk) is retried at the next one. `isTailed` tells whether a
   * file tailed now has an identity: a let-go file whose inode such a file got has no row of its own.
   */
  collect(
    tailed: Iterable<CheckpointedFile>,
    isTailed: (key: string) => boolean,
    nowMs: number,
  ): { checkpoints: FileCheckpoint[]; saved: () => void } {
    const checkpoints: FileCheckpoint[] = [];
    const progresses: FileProgress[] = [];
    const add = (file: CheckpointedFile) => {
      const progress = file.progress;
      if (!progress.dirty) return;
      progresses.push(progress);
      checkpoints.push({
        flowId: this.flowId,
        path: file.path,
        dev: file.identity.dev,
        ino: file.identity.ino,
        fingerprint: file.fingerprint,
        offset: progress.committedOffset,
        updatedMs: nowMs,
      });
    };
    for (const file of tailed) add(file);
    for (const file of this.retiring) {
      if (isTailed(file.key)) file.progress.saved();
      else add(file);
    }
    const saved = () => {
      for (const progress of progresses) progress.saved();
      for (const file of this.retiring) {
        if (file.progress.outstanding === 0 && !file.progress.dirty) this.retiring.delete(file);
      }
    };
    return { checkpoints, saved };
  }
}
