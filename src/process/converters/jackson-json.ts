/**
 * JSON text as the Java agent's converters print it: Jackson's ObjectMapper (2.17), compact or
 * with its default pretty printer. JSON.stringify differs in ways a consumer comparing bytes
 * sees: control characters are escaped in upper-case hex (`\u001F`), and pretty output has
 * `"key" : value` lines indented by two spaces, inline arrays (`[ 1, 2 ]`) and `{ }` for an
 * empty object. Objects are lists of entries, since converters keep fields in the order they
 * were named (a JS object would move integer-like keys such as "1" to the front).
 */
import type { JsonFormat } from '../../config/types.js';
import type { JsonValue } from '../../config/jsonc.js';

/**
 * A config value (metadata), or what a converter built or parsed: a whole number read from a
 * record is a bigint (Jackson's Integer, Long or BigInteger), a fraction a JavaDouble.
 */
export type JacksonValue = JsonValue | LinkedMap | bigint | JavaDouble | readonly JacksonValue[];

/** A JSON number Jackson reads as a Double: `1.0` and `1e2` print back as `1.0` and `100.0`. */
export class JavaDouble {
  constructor(readonly value: number) {}
}

/**
 * An object as a Java LinkedHashMap holds it: fields in the order first put, and a name put
 * twice keeps its first place and takes the last value (as a Map does).
 */
export class LinkedMap {
  private readonly fields = new Map<string, JacksonValue>();

  put(name: string, value: JacksonValue): this {
    this.fields.set(name, value);
    return this;
  }

  entries(): Array<[string, JacksonValue]> {
    return [...this.fields];
  }
}

export function writeJackson(object: LinkedMap, format: JsonFormat): string {
  return writeValue(object, format === 'PRETTYPRINT' ? 1 : 0);
}

/** `depth` 0: compact; otherwise the pretty printer's object nesting level (1 at the root). */
function writeValue(value: JacksonValue, depth: number): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return javaNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof JavaDouble) return javaDouble(value.value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return writeArray(value, depth);
  return writeObject(value instanceof LinkedMap ? value.entries() : Object.entries(value), depth);
}

function writeObject(fields: Array<[string, JacksonValue]>, depth: number): string {
  if (depth === 0) return `{${fields.map(([name, value]) => `${quote(name)}:${writeValue(value, 0)}`).join(',')}}`;
  if (fields.length === 0) return '{ }';
  const indent = `\n${'  '.repeat(depth)}`;
  const entries = fields.map(([name, value]) => `${indent}${quote(name)} : ${writeValue(value, depth + 1)}`);
  return `{${entries.join(',')}\n${'  '.repeat(depth - 1)}}`;
}

/** Jackson's pretty printer keeps arrays on one line and does not indent what is inside them further. */
function writeArray(values: readonly JacksonValue[], depth: number): string {
  if (depth === 0) return `[${values.map((value) => writeValue(value, 0)).join(',')}]`;
  if (values.length === 0) return '[ ]';
  return `[ ${values.map((value) => writeValue(value, depth)).join(', ')} ]`;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

/** Where JSON.stringify differs from Jackson: control characters (hex case), lone surrogates (Jackson keeps them). */
// eslint-disable-next-line no-control-regex
const STRINGIFY_DIFFERS = /[\u0000-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function quote(text: string): string {
  if (!STRINGIFY_DIFFERS.test(text)) return JSON.stringify(text);
  // eslint-disable-next-line no-control-regex
  return `"${text.replace(/["\\\u0000-\u001f]/g, (char) => SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)}"`;
}

/**
 * Jackson reads a whole JSON number as an Integer, Long or BigInteger and prints it back as
 * written; a fraction becomes a Double, printed as Java's Double.toString does (`0.5`, `1.0E-4`,
 * `1.5E10`). The config parser keeps neither form, so an integral value prints as an integer.
 */
function javaNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return BigInt(value).toString();
  return javaDouble(value);
}

function javaDouble(value: number): string {
  if (!Number.isFinite(value)) return `"${Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity'}"`;
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) return Number.isInteger(value) ? `${value}.0` : String(value);
  const [mantissa, exponent] = value.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}
