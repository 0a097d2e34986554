/**
 * Which keys exist where, and what to say about one that does not: the Java agent silently ignores
 * unknown keys, so a typo quietly falls back to a default; here it is a warning with the closest
 * known key, or with the usual mistake spelt out (a flow key at the top, nested instead of dotted keys).
 */
import { childKeyPath, isJsonObject, type JsonObject, type JsonValue } from './jsonc.js';
import type { Findings } from './findings.js';
import { firehoseFlowSchema, globalSchema, IGNORED_GLOBAL_KEYS, kinesisFlowSchema } from './schema.js';
import { closestMatch } from './suggest.js';

export const GLOBAL_KEYS: ReadonlySet<string> = new Set([
  ...Object.keys(globalSchema.shape),
  'flows',
  ...IGNORED_GLOBAL_KEYS.keys(),
]);
export const FLOW_KEYS: ReadonlySet<string> = new Set([
  ...Object.keys(kinesisFlowSchema.shape),
  ...Object.keys(firehoseFlowSchema.shape),
]);

export function unknownKeyMessage(key: string, knownKeys: Iterable<string>): string {
  const suggestion = closestMatch(key, knownKeys);
  return `unknown key '${key}' is ignored${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`;
}

export function warnAboutUnknownKeys(
  object: JsonObject,
  knownKeys: readonly string[],
  file: string,
  keyPath: string,
  findings: Findings,
): void {
  for (const key of Object.keys(object)) {
    if (!knownKeys.includes(key)) findings.warning(file, childKeyPath(keyPath, key), unknownKeyMessage(key, knownKeys));
  }
}

export function describeUnknownGlobalKey(key: string, value: JsonValue): string {
  if (FLOW_KEYS.has(key)) return `is a per-flow key and is ignored here; move it into an entry of "flows"`;
  for (const nested of ['engine', 'monitoring']) {
    if (key.startsWith(`${nested}.`)) {
      return (
        `is ignored: ${nested} settings are a nested object, e.g. ` +
        `"${nested}": { "${key.slice(nested.length + 1)}": … }`
      );
    }
  }
  if (isJsonObject(value)) {
    const flatKeys = Object.keys(value)
      .map((subKey) => `${key}.${subKey}`)
      .filter((flatKey) => GLOBAL_KEYS.has(flatKey));
    if (flatKeys.length > 0) {
      return (
        `is ignored: agent.json keys are flat, write ` +
        `${flatKeys.map((flatKey) => `"${flatKey}"`).join(', ')} at the top level instead`
      );
    }
  }
  return unknownKeyMessage(key, GLOBAL_KEYS);
}
