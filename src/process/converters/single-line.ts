import type { Converter } from './converter.js';
import { javaSplit, javaTrim } from './java-strings.js';

/**
 * SINGLELINE: a multi-line record made one line. Each line is trimmed (unless NO_TRIM), and the
 * lines are joined with nothing, or with ESCAPE_NEW_LINE with the three characters `\\n` (two
 * backslashes, as the Java agent writes them); empty lines at the end go, and one "\n" ends it.
 */
export class SingleLine implements Converter {
  private readonly trim: boolean;
  private readonly joiner: string;

  constructor(parseOptions: ReadonlyArray<'NO_TRIM' | 'ESCAPE_NEW_LINE'>) {
    this.trim = !parseOptions.includes('NO_TRIM');
    this.joiner = parseOptions.includes('ESCAPE_NEW_LINE') ? '\\\\n' : '';
  }

  convert(text: string): string {
    const lines = javaSplit(text, NEWLINE);
    return `${(this.trim ? lines.map(javaTrim) : lines).join(this.joiner)}\n`;
  }
}

const NEWLINE = /\n/;
