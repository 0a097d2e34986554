import type Database from 'better-sqlite3';
import type { Logger } from '../../../log.js';
import type { Service } from '../../host/service.js';
import { KinesisStreamSource } from '../source/kinesis-source.js';
import type { RecordBuffer } from '../record-buffer.js';
import { FunctionRunnerPool } from '../transform/function-runner.js';
import type { DeliveryLifecycle } from '../service.js';
import type { DeliveryStreamConfig, ObjectStoreTarget } from '../types.js';
import { FirehoseBatchDeliverer } from './batch-deliverer.js';
import { openSink, type ObjectSink } from './object-sink.js';
import { DeliveryStreamWorker } from './stream-worker.js';

export interface DeliveryOptions {
  db: Database.Database;
  buffer: RecordBuffer;
  /** The engine's Kinesis, read by KinesisStreamAsSource delivery streams. */
  kinesis: Pick<Service, 'call'>;
  logger: Logger;
  now?: () => number;
}

/**
 * The delivery side of the engine's Firehose: a worker per active delivery stream, the sinks its
 * outputs write to (one per bucket target, shared) and the functions its transforms run (one warm
 * process per function file, shared). The service tells it which streams exist.
 */
export class FirehoseDelivery implements DeliveryLifecycle {
  private readonly workers = new Map<string, DeliveryStreamWorker>();
  private readonly sources = new Map<string, KinesisStreamSource>();
  private readonly sinks = new Map<string, Promise<ObjectSink>>();
  private readonly functions: FunctionRunnerPool;
  private readonly deliverer: FirehoseBatchDeliverer;
  private readonly now: () => number;

  constructor(private readonly options: DeliveryOptions) {
    this.now = options.now ?? Date.now;
    this.functions = new FunctionRunnerPool(options.logger);
    this.deliverer = new FirehoseBatchDeliverer({
      buffer: options.buffer,
      sinkFor: (target) => this.sinkFor(target),
      runnerFor: (lambda) => this.functions.runnerFor(lambda),
      logger: options.logger,
      now: this.now,
    });
    options.buffer.onAppend = (stream) => this.workers.get(stream)?.appended();
  }

  /** A delivery stream became ACTIVE (or was found ACTIVE at start-up): its delivery starts. */
  started(config: DeliveryStreamConfig): void {
    if (this.workers.has(config.name)) {
      this.updated(config);
      return;
    }
    const worker = new DeliveryStreamWorker(config, this.options.buffer, this.deliverer, this.options.logger, this.now);
    this.workers.set(config.name, worker);
    const { source } = config;
    if (source !== undefined) {
      const { db, buffer, kinesis, logger } = this.options;
      this.sources.set(
        config.name,
        new KinesisStreamSource({ ...config, source }, kinesis, db, buffer, logger, this.now),
      );
    }
  }

  updated(config: DeliveryStreamConfig): void {
    this.workers.get(config.name)?.update(config);
  }

  /** A deleted stream's delivery stops; what it had not delivered is gone with it, as on AWS. */
  deleted(name: string): void {
    const worker = this.workers.get(name);
    this.workers.delete(name);
    void worker?.stop();
    this.sources.get(name)?.forget();
    this.sources.delete(name);
  }

  /** Lets the attempts under way end (what they wrote is kept; what they did not is redone at the next start). */
  async stop(): Promise<void> {
    const workers = [...this.workers.values()];
    this.workers.clear();
    for (const source of this.sources.values()) source.stop();
    this.sources.clear();
    const stopping = Promise.all(workers.map((worker) => worker.stop()));
    await this.deliverer.stop();
    // Functions are stopped before the attempts under way are awaited: a hanging one must not hold the stop.
    await this.functions.stopAll();
    await stopping;
    const sinks = await Promise.allSettled([...this.sinks.values()]);
    const opened = sinks.flatMap((sink) => (sink.status === 'fulfilled' ? [sink.value] : []));
    await Promise.all(opened.map((sink) => sink.close()));
  }

  private sinkFor(target: ObjectStoreTarget): Promise<ObjectSink> {
    const key = JSON.stringify(target);
    let sink = this.sinks.get(key);
    if (sink === undefined) {
      sink = openSink(target);
      // A sink that could not be opened is opened again at the next attempt, not remembered broken.
      sink.catch(() => this.sinks.delete(key));
      this.sinks.set(key, sink);
    }
    return sink;
  }
}
