import assert from 'node:assert/strict';
import { silentLogger } from '../../../../src/log.js';
import { FirehoseService, type FirehoseServiceOptions } from '../../../../src/engine/firehose/service.js';
import type { DeliveryStreamConfig } from '../../../../src/engine/firehose/types.js';
import { makeTempDir } from '../../../support/tmp.js';

/** A FirehoseService in this process over a temporary data directory, on a clock the test moves. */
export class Harness {
  clock = Date.UTC(2026, 0, 5, 10);
  readonly dataDir: string;
  readonly events: string[] = [];
  readonly configs = new Map<string, DeliveryStreamConfig>();
  service: FirehoseService;

  constructor(
    private readonly options: Partial<FirehoseServiceOptions> = {},
    dataDir?: string,
  ) {
    this.dataDir = dataDir ?? makeTempDir('shardtail-unit-firehose-');
    this.service = this.open();
  }

  open(): FirehoseService {
    return new FirehoseService({
      dataDir: this.dataDir,
      now: () => this.clock,
      logger: silentLogger,
      delivery: () => ({
        started: (config) => {
          this.events.push(`started ${config.name} v${config.versionId}`);
          this.configs.set(config.name, config);
        },
        updated: (config) => {
          this.events.push(`updated ${config.name} v${config.versionId}`);
          this.configs.set(config.name, config);
        },
        deleted: (name) => this.events.push(`deleted ${name}`),
        stop: async () => {
          this.events.push('stop');
        },
      }),
      ...this.options,
    });
  }

  async restart(): Promise<void> {
    await this.service.stop();
    this.service = this.open();
  }

  call(action: string, input: Record<string, unknown>): any {
    return this.service.call(action, input);
  }

  /** Asserts the call fails with this error code and, when given, exactly this message (or one matching). */
  fails(action: string, input: Record<string, unknown>, code: string, message?: string | RegExp): void {
    assert.throws(
      () => this.call(action, input),
      (error: any) => {
        assert.equal(error.code, code, `${action}: ${error.message}`);
        assert.equal(error.status, 400);
        if (typeof message === 'string') assert.equal(error.message, message);
        else if (message) assert.match(error.message, message);
        return true;
      },
    );
  }

  create(name: string, destination: Record<string, unknown> = { ExtendedS3DestinationConfiguration: s3() }): any {
    return this.call('CreateDeliveryStream', { DeliveryStreamName: name, ...destination });
  }

  /** Counted in the table rather than through the buffer's own bookkeeping, which is not what is tested here. */
  bufferedCount(name: string): number {
    return this.service.db
      .prepare('SELECT count(*) FROM firehose_records WHERE stream = ?')
      .pluck()
      .get(name) as number;
  }

  describe(name: string): any {
    return this.call('DescribeDeliveryStream', { DeliveryStreamName: name }).DeliveryStreamDescription;
  }
}

export const ROLE = 'arn:aws:iam::000000000000:role/firehose';
export const ACCOUNT = '000000000000';

export function s3(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { RoleARN: ROLE, BucketARN: 'arn:aws:s3:::logs-bucket', ...extra };
}
