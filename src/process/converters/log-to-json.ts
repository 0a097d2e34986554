import type { JsonFormat, LogFormat } from '../../config/types.js';
import type { Converter } from './converter.js';
import { LinkedMap, writeJackson } from './jackson-json.js';
import { withoutNewline } from './java-strings.js';
import { LOG_FORMAT_DEFINITIONS } from './log-formats.js';

export interface LogToJsonSettings {
  logFormat: LogFormat;
  matchPattern: string | undefined;
  customFieldNames: readonly string[] | undefined;
  jsonFormat: JsonFormat;
}

/**
 * LOGTOJSON: the record matched, whole, against the format's pattern (or matchPattern), each
 * capture group a string field, a group that took no part null. A record that does not match,
 * or whose pattern has another number of groups than there are field names, is dropped, as the
 * Java agent drops it.
 */
export class LogToJson implements Converter {
  private readonly pattern: RegExp;
  private readonly fields: readonly string[];
  private readonly dashIsNull: boolean;

  constructor(private readonly settings: LogToJsonSettings) {
    const format = LOG_FORMAT_DEFINITIONS[settings.logFormat];
    // Wrapped so that an alternation in matchPattern is anchored as a whole, as matches() does.
    this.pattern = new RegExp(`^(?:${settings.matchPattern ?? format.pattern})$`);
    this.fields = settings.customFieldNames ?? format.fields;
    this.dashIsNull = format.dashIsNull;
  }

  convert(text: string): string | null {
    const match = this.pattern.exec(withoutNewline(text));
    if (match === null || match.length - 1 !== this.fields.length) return null;
    const record = new LinkedMap();
    this.fields.forEach((name, index) => {
      const value = match[index + 1] ?? null;
      record.put(name, this.dashIsNull && value === '-' ? null : value);
    });
    return `${writeJackson(record, this.settings.jsonFormat)}\n`;
  }
}
