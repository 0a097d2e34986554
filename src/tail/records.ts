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
    private copies: Map<number, Buffer> | undefined,
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

  /** Where record `index` lies in the read buffer; undefined for a copy. */
  positionOf(index: number): { buffer: Buffer; start: number; stop: number } | undefined {
    if (this.copies?.has(index)) return undefined;
    return { buffer: this.chunk, start: this.starts[index], stop: this.stops[index] };
  }

  /** The read buffer the records are positions in. */
  get buffer(): Buffer {
    return this.chunk;
  }

  /** Makes record `index` these bytes instead (cut to a limit, say); returns the bytes it held before as a copy. */
  replace(index: number, data: Buffer): number {
    this.copies ??= new Map();
    const before = this.copies.get(index)?.length ?? 0;
    this.copies.set(index, data);
    return before;
  }

  /** The first `count` records only (those before a file footer). */
  first(count: number): ChunkRecords {
    let copies: Map<number, Buffer> | undefined;
    for (const [index, data] of this.copies ?? []) if (index < count) (copies ??= new Map()).set(index, data);
    return new ChunkRecords(this.chunk, this.starts.subarray(0, count), this.stops.subarray(0, count), copies);
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

/**
 * The records of one read chunk and where each came from in the file: what leaves the tailer,
 * passes the processors, and becomes a Span once it is cut to the destination's limit.
 */
export interface FramedChunk {
  records: ChunkRecords;
  /** File offset where the first record starts (the end of the last complete record before). */
  startOffset: number;
  /** Each record's end, relative to startOffset: acknowledging a record moves the checkpoint there. */
  ends: Uint32Array;
  /** Just past the chunk's last complete record; skipped and dropped records count as read. */
  endOffset: number;
  /** Bytes of all the records, for the flow's counts. */
  bytes: number;
  /** Memory the records hold: the read buffer (or the copies) they are in. */
  heldBytes: number;
  /**
   * Records the framer cut at the size limit, by index, with their length on disk: the rest of
   * such a line was dropped as it was read, so that a line of any length costs bounded memory.
   */
  cut: Map<number, number> | undefined;
}

/**
 * Builds a FramedChunk record by record: a record is a view of `buffer` (positions only) or a copy.
 * What the multi-line framer completes and what a processor makes of a chunk are both written here.
 */
export class FramedChunkWriter {
  private readonly starts: number[] = [];
  private readonly stops: number[] = [];
  private readonly ends: number[] = [];
  private copies: Map<number, Buffer> | undefined;
  private cut: Map<number, number> | undefined;
  private bytes = 0;
  private copiedBytes = 0;

  constructor(
    /** The read buffer the views are positions in. */
    private readonly buffer: Buffer,
    /** File offset the records' ends count from. */
    private readonly startOffset: number,
  ) {}

  get count(): number {
    return this.starts.length;
  }

  /** Bytes [start, stop) of the buffer, a record ending `end` bytes after startOffset. */
  view(start: number, stop: number, end: number): void {
    this.starts.push(start);
    this.stops.push(stop);
    this.ends.push(end);
    this.bytes += stop - start;
  }

  /** Bytes of their own, a record ending `end` bytes after startOffset. */
  copy(data: Buffer, end: number): void {
    (this.copies ??= new Map()).set(this.starts.length, data);
    this.starts.push(0);
    this.stops.push(0);
    this.ends.push(end);
    this.bytes += data.length;
    this.copiedBytes += data.length;
  }

  /** The record written last was cut to the limit from `originalBytes`. */
  markCut(originalBytes: number): void {
    (this.cut ??= new Map()).set(this.starts.length - 1, originalBytes);
  }

  build(endOffset: number): FramedChunk {
    return {
      records: new ChunkRecords(this.buffer, Uint32Array.from(this.starts), Uint32Array.from(this.stops), this.copies),
      startOffset: this.startOffset,
      ends: Uint32Array.from(this.ends),
      endOffset,
      bytes: this.bytes,
      heldBytes: this.buffer.length + this.copiedBytes,
      cut: this.cut,
    };
  }
}
