/** Helpers for the unit tests: records and spans built in memory, and an events recorder. */
import { FileProgress, type Span } from '../../src/acknowledge/file-progress.js';
import type { Batch } from '../../src/batch/batcher.js';
import { ignoredEvents, type AgentEvents } from '../../src/observe/events.js';
import type { Destination } from '../../src/send/destination.js';
import { SendSlots } from '../../src/send/send-slots.js';
import { Sender } from '../../src/send/sender.js';
import { ChunkRecords, type FramedChunk } from '../../src/tail/records.js';

/** A span holding `lines` as records (each line's bytes as given), from offset `start` of a new file. */
export function spanOf(lines: string[], start = 0, progress = new FileProgress(start, () => undefined)): Span {
  const chunk = chunkOf(lines, start);
  return progress.openSpan(start, chunk.ends, chunk.endOffset, chunk.heldBytes, chunk.records);
}

/** A chunk holding `records` (any bytes, a multi-line record say) one after the other from offset `start`. */
export function chunkOf(records: string[], start = 0): FramedChunk {
  const buffer = Buffer.from(records.join(''));
  const starts: number[] = [];
  const stops: number[] = [];
  let offset = 0;
  for (const record of records) {
    starts.push(offset);
    offset += Buffer.byteLength(record);
    stops.push(offset);
  }
  return {
    records: new ChunkRecords(buffer, Uint32Array.from(starts), Uint32Array.from(stops), undefined),
    startOffset: start,
    ends: Uint32Array.from(stops),
    endOffset: start + buffer.length,
    bytes: buffer.length,
    heldBytes: buffer.length,
    cut: undefined,
  };
}

/** The records of a chunk, as text. */
export function textsOf(chunk: FramedChunk): string[] {
  return Array.from({ length: chunk.records.count }, (_, i) => chunk.records.data(i).toString('utf8'));
}

export interface RecordedEvent {
  name: string;
  args: unknown[];
}

/** An AgentEvents that records every call, in order. */
export function recordingEvents(): {
  events: AgentEvents;
  calls: RecordedEvent[];
  named: (name: string) => unknown[][];
} {
  const calls: RecordedEvent[] = [];
  const events = new Proxy(ignoredEvents, {
    get:
      (_target, name: string) =>
      (...args: unknown[]) => {
        calls.push({ name, args });
      },
  });
  return { events, calls, named: (name) => calls.filter((call) => call.name === name).map((call) => call.args) };
}

/**
 * Sends `batch` with a Sender of one call in flight and 1–2 ms backoffs until every record is
 * delivered; `onDelivered` sees each record acknowledged, as it is.
 */
export async function sendToCompletion(
  destination: Destination,
  batch: Batch,
  onDelivered: (span: Span, index: number) => void = () => undefined,
): Promise<{ delivered: string[]; done: number; events: ReturnType<typeof recordingEvents> }> {
  const delivered: string[] = [];
  let done = 0;
  const events = recordingEvents();
  const sender = new Sender({
    destination,
    maxInFlight: 1,
    slots: new SendSlots(1),
    retryInitialBackoffMillis: 1,
    retryMaxBackoffMillis: 2,
    events: events.events,
    onDelivered: (span, index) => {
      delivered.push(span.records.data(index).toString());
      onDelivered(span, index);
    },
    onBatchDone: () => done++,
    random: () => 0.5,
  });
  // Backoff waits do not hold a process up (unref'd timers), so this holds itself up meanwhile.
  const keepAlive = setInterval(() => undefined, 1_000);
  sender.submit(batch);
  await sender.idle();
  clearInterval(keepAlive);
  return { delivered, done, events };
}
