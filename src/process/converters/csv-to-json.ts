import type { JsonFormat } from '../../config/types.js';
import type { Converter } from './converter.js';
import { LinkedMap, writeJackson } from './jackson-json.js';
import { javaSplit, withoutNewline } from './java-strings.js';

/**
 * CSVTOJSON: the record split on `delimiter` (a regex, as String.split takes it) into the named
 * fields, as strings, untrimmed and with quotes kept as they are; a field with no column (fewer
 * columns, or empty ones at the end, which String.split removes) is null, and extra columns go.
 */
export class CsvToJson implements Converter {
  private readonly delimiter: RegExp;

  constructor(
    private readonly fieldNames: readonly string[],
    delimiter: string,
    private readonly format: JsonFormat,
  ) {
    this.delimiter = new RegExp(delimiter);
  }

  convert(text: string): string {
    const columns = javaSplit(withoutNewline(text), this.delimiter);
    const record = new LinkedMap();
    this.fieldNames.forEach((name, index) => record.put(name, columns[index] ?? null));
    return `${writeJackson(record, this.format)}\n`;
  }
}
