import type { Converter } from './converter.js';

/** ADDBRACKETS, the Java agent's demo converter: the record inside `{` `}`, its newline too (`{hello\n}`). */
export class AddBrackets implements Converter {
  convert(text: string): string {
    return `{${text}}`;
  }
}
