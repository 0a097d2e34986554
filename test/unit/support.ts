/** Helpers for the unit tests: records and spans built in memory, and an events recorder. */
import { FileProgress, type Span } from '../../src/acknowledge/file-progress.js';
import { ignoredEvents, type AgentEvents } from '../../src/observe/events.js';
import { ChunkRecords } from '../../src/tail/records.js';

/** A span holding `lines` as records (each line's bytes as given), from offset `start` of a new file. */
export function spanOf(lines: string[], start = 0, progress = new FileProgress(start, () => undefined)): Span {
  const buffer = Buffer.from(lines.join(''));
  const starts: number[] = [];
  const stops: number[] = [];
  let offset = 0;
  for (const line of lines) {
    starts.push(offset);
    offset += Buffer.byteLength(line);
    stops.push(offset);
  }
  return progress.openSpan(
    start,
    Uint32Array.from(stops),
    start + buffer.length,
    buffer.length,
    new ChunkRecords(buffer, Uint32Array.from(starts), Uint32Array.from(stops), undefined),
  );
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
