import { TARGET_PREFIX } from '../../client/json-api-client.js';
import type { Logger } from '../../log.js';
import type { PeriodicWork, Service } from '../host/service.js';
import { KinesisEngine } from './kinesis-engine.js';
import { serializeOutput } from './serialize.js';
import { KinesisStore } from './store.js';

export interface KinesisServiceOptions {
  dataDir: string;
  /** fsync every commit (survives power loss), not only process crashes. */
  fsync?: boolean;
  now?: () => number;
  /** How long CREATING, UPDATING and DELETING last; 0 makes every change visible at once. */
  statusDelayMs?: number;
  /** Per-shard read and write quotas of provisioned Kinesis; off by default for local use. */
  enforceLimits?: boolean;
  /** Open shards allowed across all streams, as the account shard quota. */
  shardLimit?: number;
  region?: string;
  /** How often records past retention are deleted. */
  retentionSweepMs?: number;
  logger: Logger;
}

/** Kinesis Data Streams on the engine's host: its storage, its API, and its retention sweep. */
export class KinesisService implements Service {
  readonly name = 'Kinesis';
  readonly targetPrefix = TARGET_PREFIX.kinesis;
  readonly periodic: readonly PeriodicWork[];
  readonly store: KinesisStore;
  private readonly engine: KinesisEngine;
  private readonly logger: Logger;

  /** Opens the storage (throws StorageOpenError when it cannot) and logs what its start-up check found. */
  constructor(options: KinesisServiceOptions) {
    this.logger = options.logger;
    this.store = new KinesisStore(options.dataDir, { fsync: options.fsync });
    for (const problem of this.store.problems) this.logger[problem.level](problem.fields, problem.message);
    try {
      this.engine = new KinesisEngine({
        store: this.store,
        now: options.now,
        statusDelayMs: options.statusDelayMs,
        enforceLimits: options.enforceLimits,
        shardLimit: options.shardLimit,
        region: options.region,
      });
    } catch (error) {
      this.store.close();
      throw error;
    }
    this.periodic = [{ intervalMs: options.retentionSweepMs ?? 60_000, run: () => this.sweepAndLog() }];
  }

  call(action: string, input: Record<string, unknown>): object | undefined {
    return this.engine.call(action, input);
  }

  serialize(action: string, output: object | undefined): string {
    return serializeOutput(action, output);
  }

  /**
   * Deletes records past retention (and gives their space back), forgets closed shards whose data is
   * all gone, and finishes deletions. Runs on the host's timer; tests call it directly.
   */
  sweep(): { expiredSegments: number } {
    return this.engine.sweep();
  }

  private sweepAndLog(): void {
    try {
      const { expiredSegments } = this.sweep();
      if (expiredSegments > 0) this.logger.info({ expiredSegments }, 'retention removed expired records');
    } catch (error) {
      this.logger.error({ err: error }, 'retention sweep failed; will retry');
    }
  }

  /** Saves every shard counter, then closes the storage. */
  stop(): void {
    if (!this.store.db.open) return;
    this.engine.close();
    this.store.close();
  }
}
