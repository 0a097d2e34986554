import type { JsonValue } from '../../config/jsonc.js';
import type { JsonFormat } from '../../config/types.js';
import type { Converter } from './converter.js';
import { LinkedMap, writeJackson } from './jackson-json.js';
import { withoutNewline } from './java-strings.js';

/**
 * ADDMETADATA: `{"ts":…,"metadata":…,"data":"<record>"}`, in that order; `ts` (with timestamp
 * on) is the time of processing in UTC with milliseconds, `metadata` the configured value (null
 * when unset), `data` the record as a string.
 */
export class AddMetadata implements Converter {
  constructor(
    private readonly metadata: JsonValue,
    private readonly timestamp: boolean,
    private readonly format: JsonFormat,
    private readonly now: () => number = Date.now,
  ) {}

  convert(text: string): string {
    const record = new LinkedMap();
    // SimpleDateFormat "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'" in UTC is toISOString for years 0–9999.
    if (this.timestamp) record.put('ts', new Date(this.now()).toISOString());
    record.put('metadata', this.metadata).put('data', withoutNewline(text));
    return `${writeJackson(record, this.format)}\n`;
  }
}
