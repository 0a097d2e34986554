import type { DataProcessingOption } from '../config/types.js';
import type { AgentEvents } from '../observe/events.js';
import type { FramedChunk } from '../tail/records.js';
import { AddBrackets } from './converters/add-brackets.js';
import { AddEc2Metadata } from './converters/add-ec2-metadata.js';
import { AddMetadata } from './converters/add-metadata.js';
import type { Converter } from './converters/converter.js';
import { CsvToJson } from './converters/csv-to-json.js';
import { javaUtf8 } from './converters/java-strings.js';
import { JavaScriptTransform } from './converters/javascript-transform.js';
import { instanceMetadataFromEnv, type InstanceMetadataSource } from './converters/instance-metadata.js';
import { LogToJson } from './converters/log-to-json.js';
import { SingleLine } from './converters/single-line.js';
import { ChunkBuilder, type RecordProcessor } from './processor.js';

/** A converter with how messages name it: `dataProcessingOptions[1] LOGTOJSON`. */
export interface NamedConverter {
  name: string;
  converter: Converter;
}

export type ConversionEvents = Pick<AgentEvents, 'recordsNotConverted'>;

/**
 * The flow's dataProcessingOptions as processors: one chain, since the Java agent runs the
 * converters on each record in turn and, when one throws, ships the record as it was read rather
 * than what the converters before made of it. No options, no processor.
 */
export function processorsFor(
  options: readonly DataProcessingOption[],
  events: ConversionEvents,
  context: ConverterContext = {},
): RecordProcessor[] {
  const converters = options.map((option, index): NamedConverter => ({
    name: `dataProcessingOptions[${index}] ${option.optionName}`,
    converter: converterFor(option, context),
  }));
  return converters.length === 0 ? [] : [new ConverterChain(converters, events)];
}

/** What converters read besides the record; tests give their own. */
export interface ConverterContext {
  now?: () => number;
  /** Where ADDEC2METADATA reads the instance's metadata; the instance metadata service by default. */
  instanceMetadata?: InstanceMetadataSource;
}

function converterFor(option: DataProcessingOption, context: ConverterContext): Converter {
  const now = context.now ?? Date.now;
  switch (option.optionName) {
    case 'SINGLELINE':
      return new SingleLine(option.parseOptions);
    case 'CSVTOJSON':
      return new CsvToJson(option.customFieldNames, option.delimiter, option.jsonFormat);
    case 'LOGTOJSON':
      return new LogToJson(option);
    case 'ADDMETADATA':
      return new AddMetadata(option.metadata, option.timestamp, option.jsonFormat, now);
    case 'ADDBRACKETS':
      return new AddBrackets();
    case 'USINGJAVASCRIPT':
      return new JavaScriptTransform(option.modulePath);
    case 'ADDEC2METADATA':
      return new AddEc2Metadata(
        context.instanceMetadata ?? instanceMetadataFromEnv(),
        option.metadataTTL * 1000,
        option.jsonFormat,
        now,
      );
  }
}

export class ConverterChain implements RecordProcessor {
  readonly name = 'dataProcessingOptions';

  constructor(
    private readonly converters: readonly NamedConverter[],
    private readonly events: ConversionEvents,
  ) {}

  async ready(): Promise<void> {
    for (const { converter } of this.converters) await converter.ready?.();
  }

  process(chunk: FramedChunk): FramedChunk {
    const out = new ChunkBuilder(chunk);
    const skipped = new Map<string, number>();
    const failed = new Map<string, { records: number; reason: string }>();
    const unchanged = new Map<string, { records: number; reason: string }>();
    for (let i = 0; i < chunk.records.count; i++) {
      const raw = chunk.records.data(i);
      const outcome = this.convert(raw.toString('utf8'), unchanged);
      if ('failedIn' in outcome) {
        const failure = failed.get(outcome.failedIn) ?? { records: 0, reason: outcome.reason };
        failure.records++;
        failed.set(outcome.failedIn, failure);
        out.keep(i);
      } else if ('droppedBy' in outcome) {
        skipped.set(outcome.droppedBy, (skipped.get(outcome.droppedBy) ?? 0) + 1);
      } else {
        const converted = javaUtf8(outcome.text);
        // A record no converter changed stays a view of the read buffer rather than a copy.
        if (converted.equals(raw)) out.keep(i);
        else out.replace(i, converted);
      }
    }
    for (const [name, records] of skipped) this.events.recordsNotConverted(name, 'skipped', records, undefined);
    for (const [name, { records, reason }] of failed) this.events.recordsNotConverted(name, 'failed', records, reason);
    for (const [name, { records, reason }] of unchanged)
      this.events.recordsNotConverted(name, 'unchanged', records, reason);
    return out.build();
  }

  private convert(
    text: string,
    unchanged: Map<string, { records: number; reason: string }>,
  ): { text: string } | { droppedBy: string } | { failedIn: string; reason: string } {
    let converted = text;
    for (const { name, converter } of this.converters) {
      const unavailable = converter.unavailable;
      if (unavailable !== undefined) {
        const tally = unchanged.get(name) ?? { records: 0, reason: unavailable };
        tally.records++;
        unchanged.set(name, tally);
        continue;
      }
      try {
        const result = converter.convert(converted);
        if (result === null) return { droppedBy: name };
        converted = result;
      } catch (error) {
        return { failedIn: name, reason: error instanceof Error ? error.message : String(error) };
      }
    }
    return { text: converted };
  }
}
