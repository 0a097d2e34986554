import { TARGET_PREFIX } from '../../client/json-api-client.js';
import type { Logger } from '../../log.js';
import type { PeriodicWork, Service } from '../host/service.js';
import { checkConstraints, checkTypes } from '../host/validate.js';
import {
  createStream,
  deleteStream,
  describeStream,
  describeStreamSummary,
  listShards,
  listStreams,
} from './control-plane.js';
import { unsupportedOperation } from './errors.js';
import { OPERATIONS } from './models.js';
import { acceptValidPutRecords } from './put-records-fast-path.js';
import { getRecords, getShardIterator } from './reads.js';
import { mergeShards, splitShard, updateShardCount } from './resharding.js';
import {
  addTags,
  decreaseRetention,
  describeLimits,
  increaseRetention,
  listTags,
  removeTags,
  sweep,
} from './retention-tags-limits.js';
import { serializeOutput } from './serialize.js';
import { KinesisStore } from './store.js';
import { StreamRegistry, type Input, type StreamRegistryOptions } from './streams.js';
import { putRecord, putRecords } from './writes.js';

export interface KinesisServiceOptions extends Omit<StreamRegistryOptions, 'store'> {
  dataDir: string;
  /** fsync every commit (survives power loss), not only process crashes. */
  fsync?: boolean;
  /** How often records past retention are deleted. */
  retentionSweepMs?: number;
  logger: Logger;
}

type Handler = (streams: StreamRegistry, input: Input) => object | undefined;

const HANDLERS: Record<string, Handler> = {
  CreateStream: createStream,
  DeleteStream: deleteStream,
  DescribeStream: describeStream,
  DescribeStreamSummary: describeStreamSummary,
  ListStreams: listStreams,
  ListShards: listShards,
  PutRecord: putRecord,
  PutRecords: putRecords,
  GetShardIterator: getShardIterator,
  GetRecords: getRecords,
  SplitShard: splitShard,
  MergeShards: mergeShards,
  UpdateShardCount: updateShardCount,
  IncreaseStreamRetentionPeriod: increaseRetention,
  DecreaseStreamRetentionPeriod: decreaseRetention,
  AddTagsToStream: addTags,
  RemoveTagsFromStream: removeTags,
  ListTagsForStream: listTags,
  DescribeLimits: describeLimits,
};

/** Kinesis Data Streams on the engine's host: its storage, its API, and its retention sweep. */
export class KinesisService implements Service {
  readonly name = 'Kinesis';
  readonly targetPrefix = TARGET_PREFIX.kinesis;
  readonly periodic: readonly PeriodicWork[];
  readonly store: KinesisStore;
  private readonly streams: StreamRegistry;
  private readonly logger: Logger;

  /** Opens the storage (throws StorageOpenError when it cannot) and logs what its start-up check found. */
  constructor(options: KinesisServiceOptions) {
    this.logger = options.logger;
    this.store = new KinesisStore(options.dataDir, { fsync: options.fsync });
    for (const problem of this.store.problems) this.logger[problem.level](problem.fields, problem.message);
    try {
      this.streams = new StreamRegistry({
        store: this.store,
        now: options.now,
        statusDelayMs: options.statusDelayMs,
        enforceLimits: options.enforceLimits,
        shardLimit: options.shardLimit,
        region: options.region,
        accountId: options.accountId,
      });
    } catch (error) {
      this.store.close();
      throw error;
    }
    this.periodic = [{ intervalMs: options.retentionSweepMs ?? 60_000, run: () => this.sweepAndLog() }];
  }

  /**
   * Blobs arrive as base64 text from HTTP, or as bytes from the in-process client; both go through
   * the same checks, so both see the same results and errors.
   */
  call(action: string, body: Record<string, unknown>): object | undefined {
    // Own properties only: a name such as `valueOf` or `__proto__` must not reach Object.prototype.
    const members = Object.hasOwn(OPERATIONS, action) ? OPERATIONS[action] : undefined;
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (!members || !handler) throw unsupportedOperation(action);
    if (action === 'PutRecords') {
      const valid = acceptValidPutRecords(body);
      if (valid !== undefined) return putRecords(this.streams, valid);
    }
    const input = checkTypes(members, body);
    checkConstraints(members, input);
    return handler(this.streams, input);
  }

  serialize(action: string, output: object | undefined): string {
    return serializeOutput(action, output);
  }

  /**
   * Deletes records past retention (and gives their space back), forgets closed shards whose data is
   * all gone, and finishes deletions. Runs on the host's timer; tests call it directly.
   */
  sweep(): { expiredSegments: number } {
    return sweep(this.streams);
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
    this.streams.close();
    this.store.close();
  }
}
