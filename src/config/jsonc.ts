/**
 * JSON as the Java agent reads agent.json (Jackson with ALLOW_COMMENTS), plus trailing commas.
 *
 * A hand-written parser rather than "strip comments, then JSON.parse" because Node 20's JSON.parse
 * does not report where a syntax error is, and operators need a line and column to fix a file they
 * edited by hand. It also reports duplicate keys, which Jackson silently resolves to the last one.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export class JsoncSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} at line ${line}, column ${column}`);
    this.name = 'JsoncSyntaxError';
  }
}

export interface JsoncOptions {
  /** Called with the dotted path of every key that appears twice in one object (the last value is kept). */
  onDuplicateKey?: (keyPath: string) => void;
}

export function parseJsonc(text: string, options: JsoncOptions = {}): JsonValue {
  return new JsoncParser(text, options).parseDocument();
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `flows[0].initialPosition`: the notation used for key paths in every config message. */
export function childKeyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

const NUMBER_SYNTAX = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

class JsoncParser {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly options: JsoncOptions,
  ) {}

  parseDocument(): JsonValue {
    if (this.text.startsWith('\uFEFF')) this.position = 1;
    this.skipWhitespaceAndComments();
    const value = this.parseValue('');
    this.skipWhitespaceAndComments();
    if (this.position < this.text.length) this.fail('unexpected content after the end of the JSON value');
    return value;
  }

  private parseValue(keyPath: string): JsonValue {
    const char = this.text[this.position];
    if (char === undefined) this.fail('unexpected end of file');
    if (char === '{') return this.parseObject(keyPath);
    if (char === '[') return this.parseArray(keyPath);
    if (char === '"') return this.parseString();
    if (char === '-' || (char >= '0' && char <= '9')) return this.parseNumber();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.position)) {
        this.position += word.length;
        return value;
      }
    }
    return this.fail(`unexpected ${describeChar(char)}`);
  }

  private parseObject(keyPath: string): JsonObject {
    const result: JsonObject = {};
    this.position++;
    this.skipWhitespaceAndComments();
    if (this.consume('}')) return result;
    for (;;) {
      if (this.text[this.position] !== '"') {
        this.fail(`expected a property name in double quotes but found ${this.describeCurrent()}`);
      }
      const key = this.parseString();
      this.skipWhitespaceAndComments();
      if (!this.consume(':')) this.fail(`expected ':' after property name "${key}"`);
      this.skipWhitespaceAndComments();
      const memberPath = childKeyPath(keyPath, key);
      const value = this.parseValue(memberPath);
      if (Object.hasOwn(result, key)) this.options.onDuplicateKey?.(memberPath);
      // defineProperty, because assigning a key named "__proto__" would replace the prototype.
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespaceAndComments();
      if (this.consume(',')) {
        this.skipWhitespaceAndComments();
        if (this.consume('}')) return result;
        continue;
      }
      if (this.consume('}')) return result;
      this.fail(`expected ',' or '}' after the value of "${key}" but found ${this.describeCurrent()}`);
    }
  }

  private parseArray(keyPath: string): JsonValue[] {
    const result: JsonValue[] = [];
    this.position++;
    this.skipWhitespaceAndComments();
    if (this.consume(']')) return result;
    for (;;) {
      result.push(this.parseValue(childKeyPath(keyPath, result.length)));
      this.skipWhitespaceAndComments();
      if (this.consume(',')) {
        this.skipWhitespaceAndComments();
        if (this.consume(']')) return result;
        continue;
      }
      if (this.consume(']')) return result;
      this.fail(`expected ',' or ']' in array but found ${this.describeCurrent()}`);
    }
  }

  private parseString(): string {
    const start = this.position;
    this.position++;
    for (;;) {
      const char = this.text[this.position];
      if (char === undefined) {
        this.position = start;
        this.fail('unterminated string');
      }
      if (char === '"') break;
      if (char < ' ') this.fail('control character inside a string (write it as an escape such as \\n)');
      if (char === '\\') {
        const escaped = this.text[this.position + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.position + 2, this.position + 6))) {
            this.fail('\\u must be followed by four hex digits');
          }
          this.position += 6;
          continue;
        }
        if (escaped === undefined || !SIMPLE_ESCAPES.has(escaped)) this.fail('invalid escape sequence in string');
        this.position += 2;
        continue;
      }
      this.position++;
    }
    this.position++;
    // The literal has been checked against the JSON grammar above, so JSON.parse decodes it exactly.
    return JSON.parse(this.text.slice(start, this.position)) as string;
  }

  private parseNumber(): number {
    NUMBER_SYNTAX.lastIndex = this.position;
    const match = NUMBER_SYNTAX.exec(this.text);
    if (match === null) this.fail('invalid number');
    this.position += match[0].length;
    return Number(match[0]);
  }

  private skipWhitespaceAndComments(): void {
    for (;;) {
      const char = this.text[this.position];
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
        this.position++;
      } else if (this.text.startsWith('//', this.position)) {
        const end = this.text.indexOf('\n', this.position);
        this.position = end === -1 ? this.text.length : end + 1;
      } else if (this.text.startsWith('/*', this.position)) {
        const end = this.text.indexOf('*/', this.position + 2);
        if (end === -1) this.fail('unterminated /* comment');
        this.position = end + 2;
      } else {
        return;
      }
    }
  }

  private consume(char: string): boolean {
    if (this.text[this.position] !== char) return false;
    this.position++;
    return true;
  }

  private describeCurrent(): string {
    const char = this.text[this.position];
    return char === undefined ? 'the end of the file' : describeChar(char);
  }

  private fail(reason: string): never {
    const before = this.text.slice(0, this.position);
    const line = before.split('\n').length;
    const column = this.position - before.lastIndexOf('\n');
    throw new JsoncSyntaxError(reason, line, column);
  }
}

function describeChar(char: string): string {
  return char < ' ' ? `character U+${char.charCodeAt(0).toString(16).padStart(4, '0')}` : `'${char}'`;
}
