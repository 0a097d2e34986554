/**
 * Dynamic partitioning's inline parsing (the MetadataExtraction processor): each partition key is a
 * jq query run on the record's JSON. Firehose runs jq 1.6; we take the part of it partition keys are
 * written in, paths of object keys: `.a`, `.a.b`, `."b-c"`, `.a["b-c"]`, `.["a"]`.
 *
 * A record that is not JSON, a query that comes to null (a key that is not there) or to an object or
 * array, or a path through something that is not an object, fails the record the way Firehose fails
 * it: to the error output, as DynamicPartitioning.MetadataExtractionFailed (the messages are ours).
 */

export const METADATA_EXTRACTION_FAILED = 'DynamicPartitioning.MetadataExtractionFailed';

export type PartitionKeyExtraction =
  { ok: true; keys: Record<string, string> } | { ok: false; errorCode: string; errorMessage: string };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*/;

/** A double-quoted JSON string at `start`: its value and where it ends, or undefined. */
function quotedAt(text: string, start: number): { value: string; end: number } | undefined {
  if (text[start] !== '"') return undefined;
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') {
      try {
        return { value: JSON.parse(text.slice(start, i + 1)) as string, end: i + 1 };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** `["key"]` at `start` (spaces allowed inside the brackets). */
function bracketAt(text: string, start: number): { value: string; end: number } | undefined {
  if (text[start] !== '[') return undefined;
  let i = start + 1;
  while (text[i] === ' ') i++;
  const quoted = quotedAt(text, i);
  if (!quoted) return undefined;
  i = quoted.end;
  while (text[i] === ' ') i++;
  return text[i] === ']' ? { value: quoted.value, end: i + 1 } : undefined;
}

/**
 * The object keys a jq path names, in order (`.` alone: none, the whole record); undefined when the
 * text is not such a path. The API checks MetadataExtractionQuery values with this at creation.
 */
export function parseJqPath(path: string): string[] | undefined {
  const text = path.trim();
  if (!text.startsWith('.')) return undefined;
  if (text === '.') return [];
  const keys: string[] = [];
  let i = 0;
  while (i < text.length) {
    let segment: { value: string; end: number } | undefined;
    if (text[i] === '.') {
      const identifier = IDENTIFIER.exec(text.slice(i + 1));
      if (identifier) segment = { value: identifier[0], end: i + 1 + identifier[0].length };
      else segment = quotedAt(text, i + 1) ?? bracketAt(text, i + 1);
    } else if (keys.length > 0) {
      segment = bracketAt(text, i);
    }
    if (!segment) return undefined;
    keys.push(segment.value);
    i = segment.end;
  }
  return keys;
}

function failed(errorMessage: string): PartitionKeyExtraction {
  return { ok: false, errorCode: METADATA_EXTRACTION_FAILED, errorMessage };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** The partition key values `queries` (key name → jq path) give for one record's data. */
export function extractPartitionKeys(data: Buffer, queries: Record<string, string>): PartitionKeyExtraction {
  let document: unknown;
  try {
    document = JSON.parse(data.toString('utf8'));
  } catch {
    return failed('Non JSON record provided: the record could not be parsed as JSON for metadata extraction.');
  }
  const keys: Record<string, string> = {};
  for (const [name, query] of Object.entries(queries)) {
    const path = parseJqPath(query);
    if (!path) return failed(`The query for partition key ${name} is not a supported jq path: ${query}`);
    let value: unknown = document;
    for (const key of path) {
      // As in jq, a key of null is null; of anything but an object, an error.
      if (value === null) break;
      if (!isObject(value))
        return failed(`${query} (partition key ${name}): cannot index ${describeType(value)} with "${key}"`);
      value = Object.hasOwn(value, key) ? value[key] : null;
    }
    if (value === null || value === undefined)
      return failed(`${query} (partition key ${name}) evaluated to null: the record has no such field.`);
    if (typeof value === 'object')
      return failed(
        `${query} (partition key ${name}) evaluated to an ${describeType(value)}, not a string, number or boolean.`,
      );
    // Numbers and booleans as jq prints them.
    keys[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { ok: true, keys };
}
