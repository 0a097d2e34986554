import type Database from 'better-sqlite3';
import { TARGET_PREFIX } from '../../client/json-api-client.js';
import type { Logger } from '../../log.js';
import type { PeriodicWork, Service } from '../host/service.js';
import { checkConstraints, checkTypes } from '../host/validate.js';
import {
  createDeliveryStream,
  deleteDeliveryStream,
  describeDeliveryStream,
  listDeliveryStreams,
  updateDestination,
  type Input,
  type KinesisStreamLookup,
} from './control-plane.js';
import { openFirehoseDatabase } from './database.js';
import { encryptionNotSupported, unsupportedOperation } from './errors.js';
import { OPERATIONS } from './models.js';
import { putRecord, putRecordBatch, type Puts } from './puts.js';
import { RecordBuffer } from './record-buffer.js';
import { DeliveryStreamRegistry, type DeliveryStream } from './registry.js';
import { listTagsForDeliveryStream, tagDeliveryStream, untagDeliveryStream } from './tags.js';
import type { DeliveryStreamConfig } from './types.js';

/**
 * What the delivery side is told. Each ACTIVE stream is `started` once (also those found ACTIVE at
 * start-up), `updated` after each UpdateDestination, and `deleted` when DeleteDeliveryStream is
 * accepted, before its buffered records are dropped (when the stream is gone, after the status delay).
 */
export interface DeliveryLifecycle {
  started(config: DeliveryStreamConfig): void;
  updated(config: DeliveryStreamConfig): void;
  deleted(name: string): void;
  stop(): Promise<void>;
}

export interface FirehoseServiceOptions {
  dataDir: string;
  fsync?: boolean;
  now?: () => number;
  /** How long CREATING and DELETING last; 0 makes every change visible at once. */
  statusDelayMs?: number;
  region?: string;
  accountId?: string;
  /** The engine's Kinesis streams, for KinesisStreamAsSource. */
  findKinesisStream?: KinesisStreamLookup;
  deliveryStreamLimit?: number;
  /** Makes the delivery side, over the service's own database and buffer. */
  delivery?: (storage: { db: Database.Database; buffer: RecordBuffer }) => DeliveryLifecycle;
  logger: Logger;
}

type Handler = (plane: Puts, input: Input) => object | undefined;

const encryptionRefused = (action: string) => () => {
  throw encryptionNotSupported(action);
};

const HANDLERS: Record<string, Handler> = {
  CreateDeliveryStream: createDeliveryStream,
  DescribeDeliveryStream: describeDeliveryStream,
  ListDeliveryStreams: listDeliveryStreams,
  DeleteDeliveryStream: deleteDeliveryStream,
  UpdateDestination: updateDestination,
  TagDeliveryStream: tagDeliveryStream,
  UntagDeliveryStream: untagDeliveryStream,
  ListTagsForDeliveryStream: listTagsForDeliveryStream,
  PutRecord: putRecord,
  PutRecordBatch: putRecordBatch,
  StartDeliveryStreamEncryption: encryptionRefused('StartDeliveryStreamEncryption'),
  StopDeliveryStreamEncryption: encryptionRefused('StopDeliveryStreamEncryption'),
};

/** Amazon Data Firehose on the engine's host: the control plane, the puts, and the record buffer. */
export class FirehoseService implements Service {
  readonly name = 'Firehose';
  readonly targetPrefix = TARGET_PREFIX.firehose;
  readonly periodic: readonly PeriodicWork[] = [];
  readonly db: Database.Database;
  readonly buffer: RecordBuffer;
  private readonly streams: DeliveryStreamRegistry;
  private readonly plane: Puts;
  private readonly logger: Logger;
  private readonly delivery: DeliveryLifecycle | undefined;
  private readonly started = new Set<string>();
  private transitionTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** Opens firehose.db (throws StorageOpenError when it cannot) and starts delivery of the ACTIVE streams. */
  constructor(options: FirehoseServiceOptions) {
    this.logger = options.logger;
    this.db = openFirehoseDatabase(options.dataDir, { fsync: options.fsync ?? false });
    try {
      this.buffer = new RecordBuffer(this.db);
      this.delivery = options.delivery?.({ db: this.db, buffer: this.buffer });
      this.streams = new DeliveryStreamRegistry({
        db: this.db,
        dataDir: options.dataDir,
        region: options.region ?? 'us-east-1',
        accountId: options.accountId ?? '000000000000',
        now: options.now ?? Date.now,
        statusDelayMs: options.statusDelayMs ?? 0,
        lifecycle: {
          activated: (stream) => this.activated(stream),
          updated: (stream) => this.notify('updated', stream.name, () => this.whenStarted(stream, 'updated')),
          deleting: (name) => this.deleting(name),
          gone: (name) => this.buffer.drop(name),
        },
      });
      for (const stream of this.streams.all()) {
        if (stream.configProblem)
          this.logger.error(
            { deliveryStream: stream.name, err: stream.configProblem },
            'delivery stream configuration no longer checks; its records are kept but not delivered',
          );
      }
      for (const stream of this.streams.active()) this.activated(stream);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.plane = {
      streams: this.streams,
      buffer: this.buffer,
      findKinesisStream: options.findKinesisStream ?? (() => undefined),
      deliveryStreamLimit: options.deliveryStreamLimit ?? 5000,
    };
    this.scheduleTransition();
  }

  call(action: string, body: Record<string, unknown>): object | undefined {
    // Own properties only: a name such as `valueOf` or `__proto__` must not reach Object.prototype.
    const members = Object.hasOwn(OPERATIONS, action) ? OPERATIONS[action] : undefined;
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (!members || !handler) throw unsupportedOperation(action);
    const input = checkTypes(members, body);
    checkConstraints(members, input);
    try {
      return handler(this.plane, input);
    } finally {
      this.scheduleTransition();
    }
  }

  serialize(_action: string, output: object | undefined): string {
    return output === undefined ? '' : JSON.stringify(output);
  }

  /** The configurations of the ACTIVE delivery streams whose configuration checks. */
  activeConfigs(): DeliveryStreamConfig[] {
    return this.streams.active().flatMap((stream) => (stream.config ? [stream.config] : []));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.transitionTimer);
    try {
      await this.delivery?.stop();
    } finally {
      this.db.close();
    }
  }

  /** CREATING → ACTIVE and DELETING → gone happen on time even when no request comes. */
  private scheduleTransition(): void {
    clearTimeout(this.transitionTimer);
    this.transitionTimer = undefined;
    const next = this.streams.nextTransitionMs();
    if (next === undefined || this.stopped) return;
    const delay = Math.max(0, next - this.streams.now()) + 1;
    this.transitionTimer = setTimeout(() => {
      this.streams.settle();
      this.scheduleTransition();
    }, delay);
    this.transitionTimer.unref();
  }

  private activated(stream: DeliveryStream): void {
    if (this.started.has(stream.name) || !stream.config) return;
    this.started.add(stream.name);
    this.notify('started', stream.name, () => this.delivery?.started(stream.config!));
  }

  private whenStarted(stream: DeliveryStream, what: 'updated'): void {
    if (!stream.config) return;
    if (this.started.has(stream.name)) this.delivery?.[what](stream.config);
    else this.activated(stream);
  }

  private deleting(name: string): void {
    if (!this.started.delete(name)) return;
    this.notify('deleted', name, () => this.delivery?.deleted(name));
  }

  /** A failing delivery side must not fail the API call that changed the stream. */
  private notify(what: string, name: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.logger.error({ deliveryStream: name, err: error }, `delivery side failed on ${what}`);
    }
  }
}
