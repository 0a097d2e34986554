/**
 * A token bucket that may go into debt: a call that finds tokens is let through even if it spends
 * more than are left (a 1 MiB record must pass an empty-ish 1 MiB/s bucket), and the debt then
 * throttles later calls until it is paid back, as Kinesis does after a large GetRecords response.
 */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.updatedMs = nowMs;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.updatedMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.updatedMs) * this.ratePerSecond) / 1000);
      this.updatedMs = nowMs;
    }
  }

  /** Takes `amount` only if all of it is there. */
  tryTake(amount: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }

  /** True while the bucket holds any tokens at all. */
  hasTokens(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens > 0;
  }

  spend(amount: number): void {
    this.tokens -= amount;
  }
}

/** Per-shard quotas of a provisioned shard. */
export const SHARD_WRITE_BYTES_PER_SECOND = 1024 * 1024;
export const SHARD_WRITE_RECORDS_PER_SECOND = 1000;
export const SHARD_READ_BYTES_PER_SECOND = 2 * 1024 * 1024;
export const SHARD_READ_CALLS_PER_SECOND = 5;

export class ShardThroughput {
  readonly writeBytes: TokenBucket;
  readonly writeRecords: TokenBucket;
  readonly readBytes: TokenBucket;
  readonly readCalls: TokenBucket;

  constructor(nowMs: number) {
    this.writeBytes = new TokenBucket(SHARD_WRITE_BYTES_PER_SECOND, SHARD_WRITE_BYTES_PER_SECOND, nowMs);
    this.writeRecords = new TokenBucket(SHARD_WRITE_RECORDS_PER_SECOND, SHARD_WRITE_RECORDS_PER_SECOND, nowMs);
    this.readBytes = new TokenBucket(SHARD_READ_BYTES_PER_SECOND, SHARD_READ_BYTES_PER_SECOND, nowMs);
    this.readCalls = new TokenBucket(SHARD_READ_CALLS_PER_SECOND, SHARD_READ_CALLS_PER_SECOND, nowMs);
  }

  /** One record of `bytes` (data + partition key) may be written now; takes both budgets or neither. */
  admitWrite(bytes: number, nowMs: number): boolean {
    if (!this.writeRecords.tryTake(1, nowMs)) return false;
    if (!this.writeBytes.tryTake(bytes, nowMs)) {
      this.writeRecords.spend(-1);
      return false;
    }
    return true;
  }

  admitRead(nowMs: number): boolean {
    if (!this.readBytes.hasTokens(nowMs)) return false;
    return this.readCalls.tryTake(1, nowMs);
  }
}
