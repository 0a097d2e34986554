/**
 * Full-size read buffers, reused once every record read into them is acknowledged.
 *
 * A buffer of a chunk whose records were all delivered is garbage, but V8 frees it only at a full
 * collection, which external memory triggers late: left to the GC, dead read buffers added tens
 * of MiB to the agent's memory beside the budget of live ones. Reusing them keeps the memory the
 * budget counts the memory there is. Safe because no destination keeps a record's bytes once it
 * has answered the call (the HTTP client has serialised them; the embedded engine has copied them
 * into its own segment).
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    /** Idle buffers kept for the next reads; more go back to the GC. */
    private readonly maxFree = 4,
  ) {}

  /**
   * A buffer for a read of `bytes`: a reused full-size one for reads of a quarter of that or more
   * (the last read of a file that a backfill reads whole is one: fresh ones for the last reads of
   * many files finishing at once were tens of MiB of garbage), a fresh one for shorter ones, so that
   * a line appended to a tailed file does not pin a whole buffer until it is acknowledged.
   */
  take(bytes: number): Buffer {
    if (bytes * 4 >= this.size) return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    return Buffer.allocUnsafe(bytes);
  }

  give(buffer: Buffer): void {
    // Only a buffer that owns its memory: a short one may be a slice of Node's shared pool.
    const owned = buffer.byteOffset === 0 && buffer.buffer.byteLength === this.size && buffer.length === this.size;
    if (owned && this.free.length < this.maxFree) this.free.push(buffer);
  }
}
