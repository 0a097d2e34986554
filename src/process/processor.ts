import { FramedChunkWriter, type FramedChunk } from '../tail/records.js';
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
  private readonly out: FramedChunkWriter;

  constructor(private readonly source: FramedChunk) {
    this.out = new FramedChunkWriter(source.records.buffer, source.startOffset);
  }

  /** Record `index` of the source, unchanged. */
  keep(index: number): void {
    const position = this.source.records.positionOf(index);
    const end = this.source.ends[index];
    if (position === undefined) this.out.copy(this.source.records.data(index), end);
    else this.out.view(position.start, position.stop, end);
    const originalBytes = this.source.cut?.get(index);
    if (originalBytes !== undefined) this.out.markCut(originalBytes);
  }

  /** New bytes standing for source records up to `lastIndex` (one record replaced, or several merged). */
  replace(lastIndex: number, data: Buffer): void {
    this.out.copy(data, this.source.ends[lastIndex]);
  }

  build(): FramedChunk {
    return this.out.build(this.source.endOffset);
  }
}
