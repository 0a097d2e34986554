/**
 * The records cut from one read chunk, kept as positions in the chunk rather than as one object
 * per line: while a destination is down the agent holds hundreds of thousands of records, and a
 * Buffer view plus a wrapper object per line cost more memory than the lines themselves.
 */
export class ChunkRecords {
  constructor(
    /** The read buffer most records are slices of. */
    private chunk: Buffer,
    private readonly starts: Uint32Array,
    private readonly stops: Uint32Array,
    /** Records that are not a slice of the chunk: lines begun in an earlier chunk, truncated lines. */
    private readonly copies: Map<number, Buffer> | undefined,
  ) {}

  get count(): number {
    return this.starts.length;
  }

  /** Record `index`'s bytes: a view, made when asked for, of memory already held. */
  data(index: number): Buffer {
    return this.copies?.get(index) ?? this.chunk.subarray(this.starts[index], this.stops[index]);
  }

  length(index: number): number {
    return this.copies?.get(index)?.length ?? this.stops[index] - this.starts[index];
  }

  /** Gives up the read buffer once every record is delivered, for reuse; the records are gone. */
  releaseBuffer(): Buffer {
    const chunk = this.chunk;
    this.chunk = EMPTY;
    return chunk;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Memory a record costs besides its bytes, for the budget: its positions in the chunk, its end
 * offset and acknowledgement flag in the span, and a share of the batch slice it travels in.
 */
export const RECORD_OVERHEAD_BYTES = 16;
