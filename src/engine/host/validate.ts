import { AwsApiError } from '../../client/api-error.js';
import { BlobBytes } from '../../client/blob-bytes.js';

/**
 * Request checking in the two phases AWS's JSON services (Coral: Kinesis, Firehose) run before any
 * state lookup, against the request shapes of a service's model:
 * 1. type check of every modelled member (SerializationException), which also decodes blobs from
 *    base64 and timestamps from epoch seconds, and drops members the model does not have;
 * 2. model constraints (ValidationException), all violations listed in one message, at most 10.
 */
export type Shape =
  | { type: 'string'; min?: number; max?: number; pattern?: RegExp; patternText?: string; enum?: readonly string[] }
  | { type: 'integer'; min?: number; max?: number }
  | { type: 'boolean' }
  | { type: 'blob'; max?: number }
  | { type: 'timestamp' }
  | { type: 'list'; member: Shape; min?: number; max?: number }
  | { type: 'map'; key: Shape & { type: 'string' }; value: Shape & { type: 'string' }; min?: number; max?: number }
  /** `javaClass` is how a ValidationException prints each member of a list of these structures. */
  | { type: 'structure'; members: Members; javaClass?: string };

export type Member = Shape & { required?: boolean };
/** Ordered as the service lists their violations. */
export type Members = Record<string, Member>;

const MAX_JAVA_INT = 2_147_483_647;

function serializationError(message: string): AwsApiError {
  return new AwsApiError('SerializationException', message, 400);
}

/** Phase 1: returns a new object holding only modelled members, with blobs as Buffers and timestamps in ms. */
export function checkTypes(members: Members, input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in members) {
    const value = input[name];
    if (value === undefined || value === null) continue;
    out[name] = checkValueType(members[name], value);
  }
  return out;
}

function describeJsonType(value: unknown): string {
  if (typeof value === 'string') return 'class java.lang.String';
  if (typeof value === 'boolean') return 'class java.lang.Boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'class java.lang.Integer' : 'class java.lang.Double';
  return 'class java.lang.Object';
}

function checkValueType(shape: Shape, value: unknown): unknown {
  switch (shape.type) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number') throw serializationError('NUMBER_VALUE can not be converted to a String');
      if (typeof value === 'boolean')
        throw serializationError(`${value ? 'TRUE' : 'FALSE'}_VALUE can not be converted to a String`);
      throw serializationError(
        Array.isArray(value)
          ? 'Start of list found where not expected'
          : 'Start of structure or map found where not expected.',
      );
    case 'integer':
      if (typeof value === 'number' && Number.isFinite(value)) return Math.min(Math.floor(value), MAX_JAVA_INT);
      if (typeof value === 'object')
        throw serializationError(
          Array.isArray(value)
            ? 'Start of list found where not expected'
            : 'Start of structure or map found where not expected.',
        );
      throw serializationError(`${describeJsonType(value)} can not be converted to an Integer`);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'object')
        throw serializationError(
          Array.isArray(value)
            ? 'Start of list found where not expected'
            : 'Start of structure or map found where not expected.',
        );
      throw serializationError(`${describeJsonType(value)} can not be converted to an Boolean`);
    case 'timestamp':
      if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value * 1000);
      if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return Date.parse(value);
      throw serializationError(`${describeJsonType(value)} can not be converted to milliseconds since epoch`);
    case 'blob':
      // Bytes come straight from the in-process client; over HTTP they are base64 text.
      if (value instanceof BlobBytes) {
        const bytes = value.bytes;
        return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      if (typeof value !== 'string') {
        if (typeof value === 'object')
          throw serializationError(
            Array.isArray(value)
              ? 'Start of list found where not expected'
              : 'Start of structure or map found where not expected.',
          );
        throw serializationError(`${describeJsonType(value)} can not be converted to a Blob`);
      }
      return decodeBase64Strict(value);
    case 'list': {
      if (!Array.isArray(value))
        throw serializationError(
          typeof value === 'object' ? 'Start of structure or map found where not expected.' : 'Expected list or null',
        );
      const items = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        // A list member has no "absent": every handler reads each element, so a null one is a type error.
        if (item === null || item === undefined) throw serializationError('Null list element found where not expected');
        items[i] = checkValueType(shape.member, item);
      }
      return items;
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value))
        throw serializationError(
          Array.isArray(value) ? 'Start of list found where not expected' : 'Expected map or null',
        );
      const out: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
        if (entry !== null && entry !== undefined) out[key] = checkValueType(shape.value, entry);
      }
      return out;
    }
    case 'structure':
      if (typeof value !== 'object' || Array.isArray(value))
        throw serializationError(Array.isArray(value) ? 'Start of list found where not expected' : 'Expected null');
      return checkTypes(shape.members, value as Record<string, unknown>);
  }
}

/**
 * Node's decoder silently skips characters outside the alphabet and accepts base64url; AWS
 * rejects both. A decoded length that differs from the one the text implies reveals skipped chars.
 */
export function decodeBase64Strict(text: string): Buffer {
  if (text.length % 4 !== 0) {
    throw serializationError(
      `'${text}' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but ` +
        `found: ${text.length}`,
    );
  }
  const decoded = Buffer.from(text, 'base64');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const expected = (text.length / 4) * 3 - padding;
  // indexOf is a native scan; a regular expression over every character costs several times more.
  if (decoded.length !== expected || text.indexOf('-') !== -1 || text.indexOf('_') !== -1) {
    const bad = /[^A-Za-z0-9+/=]/.exec(text)?.[0] ?? '=';
    throw serializationError(`'${text}' can not be converted to a Blob: Invalid Base64 character: '${bad}'`);
  }
  return decoded;
}

function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function printValue(shape: Shape, value: unknown): string {
  if (value === undefined) return 'null';
  switch (shape.type) {
    case 'blob': {
      const n = (value as Buffer).length;
      return `'java.nio.HeapByteBuffer[pos=0 lim=${n} cap=${n}]'`;
    }
    case 'list': {
      const member = shape.member;
      const items = (value as unknown[]).map((item) =>
        member.type === 'structure' ? (member.javaClass ?? 'java.lang.Object') : String(item),
      );
      return `'[${items.join(', ')}]'`;
    }
    case 'map':
      return `'{${Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ')}}'`;
    default:
      return `'${value as string | number | boolean}'`;
  }
}

/** Phase 2: throws one ValidationException listing up to 10 violations, in member order. */
export function checkConstraints(members: Members, input: Record<string, unknown>): void {
  const errors: string[] = [];
  collectViolations(members, input, '', errors);
  if (errors.length === 0) return;
  const shown = errors.slice(0, 10);
  const prefix =
    errors.length === 1 ? '1 validation error detected: ' : `${errors.length} validation errors detected: `;
  throw new AwsApiError('ValidationException', prefix + shown.join('; '), 400);
}

function collectViolations(
  members: Members,
  input: Record<string, unknown>,
  pathPrefix: string,
  errors: string[],
): void {
  for (const name in members) {
    const member = members[name];
    const path = pathPrefix + lowerCamel(name);
    const value = input[name];
    if (value === undefined) {
      if (member.required) errors.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
      continue;
    }
    collectShapeViolations(member, value, path, errors);
  }
}

function collectShapeViolations(shape: Shape, value: unknown, path: string, errors: string[]): void {
  const fail = (rule: string) =>
    errors.push(`Value ${printValue(shape, value)} at '${path}' failed to satisfy constraint: ${rule}`);
  switch (shape.type) {
    case 'string': {
      const text = value as string;
      if (shape.enum && !shape.enum.includes(text))
        fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      if (shape.pattern && !shape.pattern.test(text))
        fail(`Member must satisfy regular expression pattern: ${shape.patternText ?? shape.pattern.source}`);
      checkLength(shape, text.length, fail);
      return;
    }
    case 'blob':
      checkLength(shape, (value as Buffer).length, fail);
      return;
    case 'integer': {
      const n = value as number;
      if (shape.min !== undefined && n < shape.min)
        fail(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && n > shape.max) fail(`Member must have value less than or equal to ${shape.max}`);
      return;
    }
    case 'list': {
      const items = value as unknown[];
      checkLength(shape, items.length, fail);
      for (let i = 0; i < items.length; i++) {
        const itemPath = `${path}.${i + 1}.member`;
        if (shape.member.type === 'structure')
          collectViolations(shape.member.members, items[i] as Record<string, unknown>, itemPath + '.', errors);
        else collectShapeViolations(shape.member, items[i], itemPath, errors);
      }
      return;
    }
    case 'map': {
      const entries = Object.entries(value as Record<string, string>);
      checkLength(shape, entries.length, fail);
      const keyRules: string[] = [];
      const valueRules: string[] = [];
      for (const [key, entry] of entries) {
        collectShapeViolations(shape.key, key, '', keyRules);
        collectShapeViolations(shape.value, entry, '', valueRules);
      }
      const rulesOf = (list: string[]) =>
        [...new Set(list.map((line) => line.slice(line.indexOf('constraint: ') + 12)))].join(', ');
      if (keyRules.length) fail(`Map keys must satisfy constraint: [${rulesOf(keyRules)}]`);
      if (valueRules.length) fail(`Map value must satisfy constraint: [${rulesOf(valueRules)}]`);
      return;
    }
    case 'structure':
      collectViolations(shape.members, value as Record<string, unknown>, path + '.', errors);
      return;
    default:
      return;
  }
}

function checkLength(shape: { min?: number; max?: number }, length: number, fail: (rule: string) => void): void {
  if (shape.min !== undefined && length < shape.min)
    fail(`Member must have length greater than or equal to ${shape.min}`);
  if (shape.max !== undefined && length > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);
}
