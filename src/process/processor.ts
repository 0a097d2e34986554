import { ChunkRecords, type FramedChunk } from '../tail/records.js';
import type { RecordLimit } from './record-limit.js';

/**
 * One of the flow's data processing options: it gets the records of one read chunk, in file
 * order, and returns the records to ship instead. It may replace a record's bytes, drop records,
 * or merge consecutive ones into one. Each record it returns ends where the last input record it
 * stands for ends, so acknowledging it moves the file's checkpoint past exactly those input bytes;
 * a dropped record's bytes count as delivered once the records around it are.
 */
export interface RecordProcessor {
  readonly name: string;
  process(chunk: FramedChunk): FramedChunk;
  /** Resolves once it can process (see Converter.ready); rejects when it never will. */
  ready?(): Promise<void>;
}

/**
 * Between the tailer and the batch: the flow's processors in order, then the cut to the
 * destination's record limit. With no processors a chunk goes through untouched but for the cut.
 */
export class ProcessingPipeline {
  constructor(
    private readonly processors: readonly RecordProcessor[],
    private readonly limit: RecordLimit,
  ) {}

  async ready(): Promise<void> {
    for (const processor of this.processors) await processor.ready?.();
  }

  /** `onTruncated`: a record was cut to the limit; it was `originalBytes` long. */
  run(chunk: FramedChunk, onTruncated: (originalBytes: number, limit: number) => void): FramedChunk {
    let processed = chunk;
    for (const processor of this.processors) processed = processor.process(processed);
    // The framer never makes a record longer than the limit; only processors can.
    return this.limit.apply(processed, this.processors.length > 0, onTruncated);
  }
}

/**
 * Builds a processor's output from its input chunk: records kept as they are stay positions in the
 * read buffer; new bytes are copies.
 */
export class ChunkBuilder {
  private readonly starts: number[] = [];
  private readonly stops: number[] = [];
  private readonly ends: number[] = [];
  private readonly copies = new Map<number, Buffer>();
  private cut: Map<number, number> | undefined;
  private bytes = 0;
  private copiedBytes = 0;

  constructor(private readonly source: FramedChunk) {}

  /** Record `index` of the source, unchanged. */
  keep(index: number): void {
    const position = this.source.records.positionOf(index);
    const originalBytes = this.source.cut?.get(index);
    if (originalBytes !== undefined) (this.cut ??= new Map()).set(this.starts.length, originalBytes);
    if (position === undefined) {
      this.add(this.source.records.data(index), this.source.ends[index]);
      return;
    }
    this.starts.push(position.start);
    this.stops.push(position.stop);
    this.ends.push(this.source.ends[index]);
    this.bytes += position.stop - position.start;
  }

  /** New bytes standing for source records up to `lastIndex` (one record replaced, or several merged). */
  replace(lastIndex: number, data: Buffer): void {
    this.add(data, this.source.ends[lastIndex]);
  }

  private add(data: Buffer, end: number): void {
    this.copies.set(this.starts.length, data);
    this.starts.push(0);
    this.stops.push(0);
    this.ends.push(end);
    this.bytes += data.length;
    this.copiedBytes += data.length;
  }

  build(): FramedChunk {
    const source = this.source;
    return {
      records: new ChunkRecords(
        source.records.buffer,
        Uint32Array.from(this.starts),
        Uint32Array.from(this.stops),
        this.copies.size > 0 ? this.copies : undefined,
      ),
      startOffset: source.startOffset,
      ends: Uint32Array.from(this.ends),
      endOffset: source.endOffset,
      bytes: this.bytes,
      heldBytes: source.records.buffer.length + this.copiedBytes,
      cut: this.cut,
    };
  }
}
