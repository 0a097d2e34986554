/**
 * The Java agent's publisher backoff: a failure count that grows by one per failed call (by the
 * failed fraction for a partial success) and shrinks tenfold per clean success, so recovery is
 * quick once the destination answers again. Delay = initial × 2^(failures − 1), capped, ±30 % jitter
 * (or the given fraction: Firehose's HTTP endpoint retries use ±15 %).
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
    private readonly jitter = 0.3,
  ) {}

  failed(fraction = 1): void {
    this.failures += fraction;
  }

  succeeded(): void {
    this.failures = this.failures / 10 < 1 ? 0 : this.failures / 10;
  }

  get failing(): boolean {
    return this.failures > 0;
  }

  delayMs(): number {
    if (this.failures <= 0) return 0;
    const exponent = Math.max(0, Math.round(this.failures) - 1);
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(exponent, 30));
    return Math.round(base * (1 - this.jitter + 2 * this.jitter * this.random()));
  }

  get maxDelayMs(): number {
    return this.maxMs;
  }
}
