import type Database from 'better-sqlite3';
import type { AwsApiError } from '../../client/api-error.js';
import { deliveryDestination, type ConfigEnvironment, type StoredDestination } from './delivery-stream-config.js';
import * as errors from './errors.js';
import type { DeliveryStreamConfig, DeliveryStreamType } from './types.js';

export type DeliveryStreamStatus = 'CREATING' | 'ACTIVE' | 'DELETING';

export interface StreamSource {
  streamName: string;
  streamArn: string;
  roleArn: string;
  startTimestampMs: number;
}

export interface DeliveryStream {
  name: string;
  arn: string;
  type: DeliveryStreamType;
  /** The status being entered; it is the visible one once statusUntilMs has passed (then ACTIVE, or gone). */
  pendingStatus: DeliveryStreamStatus;
  statusUntilMs: number;
  versionId: number;
  createdMs: number;
  updatedMs: number;
  tags: Map<string, string>;
  destination: StoredDestination;
  source: StreamSource | undefined;
  directPutThroughputHint: number | undefined;
  /** undefined when the stored configuration no longer checks (say its function file is gone). */
  config: DeliveryStreamConfig | undefined;
  configProblem: AwsApiError | undefined;
}

/** What the delivery side and the buffer are told as streams come and go. */
export interface StreamLifecycle {
  activated(stream: DeliveryStream): void;
  updated(stream: DeliveryStream): void;
  deleting(name: string): void;
  gone(name: string): void;
}

export interface RegistryOptions extends ConfigEnvironment {
  db: Database.Database;
  now: () => number;
  statusDelayMs: number;
  accountId: string;
  lifecycle: StreamLifecycle;
}

interface StreamRow {
  name: string;
  type: string;
  destination: string;
  source: string | null;
  direct_put_hint: number | null;
  status: string;
  status_until_ms: number;
  version: number;
  created_ms: number;
  updated_ms: number;
  tags: string;
}

/**
 * The delivery streams, in memory and in firehose.db (`firehose_delivery_streams`, the configuration
 * as sent plus status, version, timestamps and tags), with their status transitions.
 */
export class DeliveryStreamRegistry {
  readonly accountId: string;
  readonly region: string;
  readonly now: () => number;
  private readonly byName = new Map<string, DeliveryStream>();
  private readonly statements;

  constructor(private readonly options: RegistryOptions) {
    this.accountId = options.accountId;
    this.region = options.region;
    this.now = options.now;
    options.db.exec(`CREATE TABLE IF NOT EXISTS firehose_delivery_streams (
      name TEXT PRIMARY KEY, type TEXT NOT NULL, destination TEXT NOT NULL, source TEXT, direct_put_hint INTEGER,
      status TEXT NOT NULL, status_until_ms INTEGER NOT NULL, version INTEGER NOT NULL,
      created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, tags TEXT NOT NULL)`);
    this.statements = {
      all: options.db.prepare('SELECT * FROM firehose_delivery_streams'),
      save: options.db.prepare(
        `INSERT OR REPLACE INTO firehose_delivery_streams (name, type, destination, source, direct_put_hint, status,
         status_until_ms, version, created_ms, updated_ms, tags) VALUES (@name, @type, @destination, @source,
         @direct_put_hint, @status, @status_until_ms, @version, @created_ms, @updated_ms, @tags)`,
      ),
      remove: options.db.prepare('DELETE FROM firehose_delivery_streams WHERE name = ?'),
    };
    for (const row of this.statements.all.all() as StreamRow[]) {
      const stream: DeliveryStream = {
        name: row.name,
        arn: this.arnOf(row.name),
        type: row.type as DeliveryStreamType,
        pendingStatus: row.status as DeliveryStreamStatus,
        statusUntilMs: row.status_until_ms,
        versionId: row.version,
        createdMs: row.created_ms,
        updatedMs: row.updated_ms,
        tags: new Map(Object.entries(JSON.parse(row.tags) as Record<string, string>)),
        destination: JSON.parse(row.destination) as StoredDestination,
        source: row.source === null ? undefined : (JSON.parse(row.source) as StreamSource),
        directPutThroughputHint: row.direct_put_hint ?? undefined,
        config: undefined,
        configProblem: undefined,
      };
      this.refreshConfig(stream);
      this.byName.set(stream.name, stream);
    }
  }

  arnOf(name: string): string {
    return `arn:aws:firehose:${this.region}:${this.accountId}:deliverystream/${name}`;
  }

  /** Checks the stored destination into the delivery side's view; throws only when `strict`. */
  refreshConfig(stream: DeliveryStream, strict = false): void {
    try {
      stream.config = this.configOf(stream, stream.destination, stream.versionId);
      stream.configProblem = undefined;
    } catch (error) {
      if (strict) throw error;
      stream.config = undefined;
      stream.configProblem = error as AwsApiError;
    }
  }

  configOf(
    stream: Omit<DeliveryStream, 'config'>,
    destination: StoredDestination,
    versionId: number,
  ): DeliveryStreamConfig {
    return {
      name: stream.name,
      arn: stream.arn,
      type: stream.type,
      source: stream.source && {
        streamName: stream.source.streamName,
        streamArn: stream.source.streamArn,
        startTimestampMs: stream.source.startTimestampMs,
      },
      versionId,
      region: this.region,
      destination: deliveryDestination(destination, this.options),
    };
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every stream not yet gone, by name. */
  all(): DeliveryStream[] {
    this.settle();
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  find(name: string): DeliveryStream | undefined {
    this.settle();
    return this.byName.get(name);
  }

  require(name: string): DeliveryStream {
    const stream = this.find(name);
    if (!stream) throw errors.deliveryStreamNotFound(name, this.accountId);
    return stream;
  }

  requireActive(name: string): DeliveryStream {
    const stream = this.require(name);
    const status = this.statusOf(stream);
    if (status !== 'ACTIVE') throw errors.deliveryStreamNotActive(name, this.accountId, status);
    return stream;
  }

  statusOf(stream: DeliveryStream): DeliveryStreamStatus {
    if (stream.pendingStatus === 'ACTIVE' || this.now() < stream.statusUntilMs) return stream.pendingStatus;
    return stream.pendingStatus === 'CREATING' ? 'ACTIVE' : 'DELETING';
  }

  add(stream: DeliveryStream): void {
    stream.pendingStatus = this.options.statusDelayMs > 0 ? 'CREATING' : 'ACTIVE';
    stream.statusUntilMs = this.now() + this.options.statusDelayMs;
    this.byName.set(stream.name, stream);
    this.save(stream);
    if (stream.pendingStatus === 'ACTIVE') this.options.lifecycle.activated(stream);
  }

  startDeleting(stream: DeliveryStream): void {
    stream.pendingStatus = 'DELETING';
    stream.statusUntilMs = this.now() + this.options.statusDelayMs;
    this.save(stream);
    this.options.lifecycle.deleting(stream.name);
    this.settle();
  }

  updated(stream: DeliveryStream): void {
    this.save(stream);
    if (this.statusOf(stream) === 'ACTIVE') this.options.lifecycle.updated(stream);
  }

  save(stream: DeliveryStream): void {
    this.statements.save.run({
      name: stream.name,
      type: stream.type,
      destination: JSON.stringify(stream.destination),
      source: stream.source === undefined ? null : JSON.stringify(stream.source),
      direct_put_hint: stream.directPutThroughputHint ?? null,
      status: stream.pendingStatus,
      status_until_ms: stream.statusUntilMs,
      version: stream.versionId,
      created_ms: stream.createdMs,
      updated_ms: stream.updatedMs,
      tags: JSON.stringify(Object.fromEntries(stream.tags)),
    });
  }

  /** The ACTIVE streams, for the delivery side at start-up. */
  active(): DeliveryStream[] {
    return this.all().filter((stream) => this.statusOf(stream) === 'ACTIVE');
  }

  /** Makes due transitions durable and tells the lifecycle: CREATING → ACTIVE, DELETING → gone. */
  settle(): void {
    const now = this.now();
    for (const stream of this.byName.values()) {
      if (stream.pendingStatus === 'ACTIVE' || now < stream.statusUntilMs) continue;
      if (stream.pendingStatus === 'CREATING') {
        stream.pendingStatus = 'ACTIVE';
        this.save(stream);
        this.options.lifecycle.activated(stream);
      } else {
        this.byName.delete(stream.name);
        this.statements.remove.run(stream.name);
        this.options.lifecycle.gone(stream.name);
      }
    }
  }

  /** When the next transition is due (epoch ms), if any. */
  nextTransitionMs(): number | undefined {
    let next: number | undefined;
    for (const stream of this.byName.values()) {
      if (stream.pendingStatus !== 'ACTIVE' && (next === undefined || stream.statusUntilMs < next))
        next = stream.statusUntilMs;
    }
    return next;
  }
}
