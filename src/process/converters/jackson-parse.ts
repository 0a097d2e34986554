import { JavaDouble, LinkedMap, type JacksonValue } from './jackson-json.js';

/**
 * A record read as Jackson's ObjectMapper reads it into a LinkedHashMap: a JSON object, fields
 * in order (a name given twice keeps its first place, the last value); whole numbers kept exact,
 * fractions as doubles; whatever follows the object ignored (Jackson does not look past the
 * root value). Anything else, an empty record or a raw control character in a string throws.
 */
export function parseJacksonObject(text: string): LinkedMap {
  const reader = new Reader(text);
  reader.skipSpace();
  if (reader.peek() !== '{') throw new Error('not a JSON object');
  return reader.object();
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Reader {
  private at = 0;

  constructor(private readonly text: string) {}

  peek(): string | undefined {
    return this.text[this.at];
  }

  skipSpace(): void {
    while (/[ \t\r\n]/.test(this.text[this.at] ?? '')) this.at++;
  }

  private expect(char: string): void {
    this.skipSpace();
    if (this.text[this.at] !== char) this.fail(`expected '${char}'`);
    this.at++;
  }

  private fail(reason: string): never {
    throw new Error(`${reason} at character ${this.at + 1}`);
  }

  object(): LinkedMap {
    const object = new LinkedMap();
    this.sequence('{', '}', () => {
      this.skipSpace();
      const name = this.string();
      this.expect(':');
      object.put(name, this.value());
    });
    return object;
  }

  private array(): JacksonValue[] {
    const values: JacksonValue[] = [];
    this.sequence('[', ']', () => values.push(this.value()));
    return values;
  }

  /** `open`, then items separated by commas, then `close`. */
  private sequence(open: string, close: string, item: () => void): void {
    this.expect(open);
    this.skipSpace();
    if (this.peek() === close) {
      this.at++;
      return;
    }
    for (;;) {
      item();
      this.skipSpace();
      if (this.peek() === close) {
        this.at++;
        return;
      }
      this.expect(',');
    }
  }

  private value(): JacksonValue {
    this.skipSpace();
    const char = this.peek();
    if (char === '{') return this.object();
    if (char === '[') return this.array();
    if (char === '"') return this.string();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.at;
    const number = NUMBER.exec(this.text);
    if (number === null) this.fail('unexpected character');
    this.at += number[0].length;
    return number[1] === undefined && number[2] === undefined ? BigInt(number[0]) : new JavaDouble(Number(number[0]));
  }

  private string(): string {
    if (this.peek() !== '"') this.fail('expected a string');
    this.at++;
    let value = '';
    for (;;) {
      const char = this.text[this.at++];
      if (char === undefined) this.fail('unterminated string');
      if (char === '"') return value;
      if (char < ' ') this.fail('unescaped control character');
      if (char !== '\\') {
        value += char;
        continue;
      }
      const escape = this.text[this.at++];
      if (escape === 'u') {
        const hex = this.text.slice(this.at, this.at + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
        value += String.fromCharCode(parseInt(hex, 16));
        this.at += 4;
      } else if (escape !== undefined && Object.hasOwn(ESCAPES, escape)) value += ESCAPES[escape];
      else this.fail('bad escape');
    }
  }
}
