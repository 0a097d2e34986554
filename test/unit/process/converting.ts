/** Running dataProcessingOptions over records in the golden tests. */
import type { DataProcessingOption, LogFormat } from '../../../src/config/types.js';
import { processorsFor } from '../../../src/process/converter-chain.js';
import { NewlineFramer } from '../../../src/tail/framer.js';
import type { FramedChunk } from '../../../src/tail/records.js';
import { chunkOf, recordingEvents, textsOf } from '../support.js';

/** Newline-ended lines as the tailer frames them. */
export function framed(text: string): FramedChunk {
  const buffer = Buffer.from(text);
  return new NewlineFramer({ maxRecordBytes: 1 << 20, skipHeaderLines: 0, startOffset: 0 }).frame(
    buffer,
    buffer.length,
    0,
  );
}

export const FIXED_NOW = Date.parse('2024-05-01T12:00:00.000Z');

/** The records each input line becomes through `options`, and the not-converted events. */
export function convert(options: DataProcessingOption[], input: string | string[]) {
  const { events, named } = recordingEvents();
  const processors = processorsFor(options, events, { now: () => FIXED_NOW });
  let chunk = typeof input === 'string' ? framed(input) : chunkOf(input);
  for (const processor of processors) chunk = processor.process(chunk);
  return { outputs: textsOf(chunk), chunk, notConverted: named('recordsNotConverted') };
}

export function logToJson(
  logFormat: LogFormat,
  more: { matchPattern?: string; customFieldNames?: string[]; jsonFormat?: 'COMPACT' | 'PRETTYPRINT' } = {},
): DataProcessingOption {
  return {
    optionName: 'LOGTOJSON',
    logFormat,
    matchPattern: more.matchPattern,
    customFieldNames: more.customFieldNames,
    jsonFormat: more.jsonFormat ?? 'COMPACT',
  };
}
