/**
 * Configuration from the environment, for containers: the whole agent.json in SHARDTAIL_CONFIG,
 * and single settings overridden by SHARDTAIL_SET_* variables (on top of either source), so that a
 * pod spec can change one value without templating a file.
 *
 * Naming rule: `SHARDTAIL_SET_` followed by the key path, `__` between levels, a number to address a
 * list entry, keys spelled exactly as in agent.json (case matters; the Java agent's dotted keys keep
 * their dots, which Docker and Kubernetes allow in variable names):
 *   SHARDTAIL_SET_flows__0__filePattern=/logs/*.log
 *   SHARDTAIL_SET_kinesis.endpoint=http://127.0.0.1:4567
 *   SHARDTAIL_SET_monitoring__listen=0.0.0.0:9464
 * A value is used as JSON when it parses as JSON (`10`, `true`, `{"a":1}`), else as a string.
 * A key containing `__` cannot be addressed; an empty level (`____`) is an error.
 */
import type { Findings } from './findings.js';
import { childKeyPath, isJsonObject, JsoncSyntaxError, parseJsonc, type JsonObject, type JsonValue } from './jsonc.js';
import { describeValue } from './values.js';

export const CONFIG_VARIABLE = 'SHARDTAIL_CONFIG';
export const OVERRIDE_PREFIX = 'SHARDTAIL_SET_';

/**
 * What stands for the config file when it comes from SHARDTAIL_CONFIG: problems are reported
 * against it, so they name the variable. Relative paths in it resolve against the working
 * directory, as path.dirname of this name is `.`.
 */
export const ENVIRONMENT_CONFIG_SOURCE = `$${CONFIG_VARIABLE}`;

export function isEnvironmentSource(configPath: string): boolean {
  return configPath === ENVIRONMENT_CONFIG_SOURCE;
}

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Applies every SHARDTAIL_SET_* variable to the document, in name order so that the result never
 * depends on the order of the environment. A variable that cannot be applied is an error naming
 * it; the keys it sets are remembered so that validation problems about them name it too.
 */
export function applyEnvironmentOverrides(
  document: JsonObject,
  configFile: string,
  findings: Findings,
  environment: Environment = process.env,
): void {
  const variables = Object.keys(environment)
    .filter((name) => name.startsWith(OVERRIDE_PREFIX))
    .sort();
  for (const variable of variables) {
    const segments = variable.slice(OVERRIDE_PREFIX.length).split('__');
    const reason = applyOverride(document, segments, parseOverrideValue(environment[variable] ?? ''));
    if (reason.ok) findings.overridden(configFile, reason.keyPath, variable);
    else findings.error(variable, '', reason.message);
  }
}

function parseOverrideValue(text: string): JsonValue {
  try {
    return parseJsonc(text);
  } catch (error) {
    if (error instanceof JsoncSyntaxError) return text;
    throw error;
  }
}

type OverrideResult = { ok: true; keyPath: string } | { ok: false; message: string };

function applyOverride(document: JsonObject, segments: string[], value: JsonValue): OverrideResult {
  if (segments.some((segment) => segment === ''))
    return { ok: false, message: `names an empty key; the rule is ${OVERRIDE_PREFIX}<key>__<key>…` };
  let node: JsonObject | JsonValue[] = document;
  let keyPath = '';
  for (const [position, segment] of segments.entries()) {
    const last = position === segments.length - 1;
    let key: string | number = segment;
    if (Array.isArray(node)) {
      const index = /^\d+$/.test(segment) ? Number(segment) : undefined;
      if (index === undefined)
        return { ok: false, message: `${keyPath} is a list; "${segment}" is not an index into it` };
      if (index >= node.length) {
        const entries = `${node.length} ${node.length === 1 ? 'entry' : 'entries'}`;
        return { ok: false, message: `${keyPath} has ${entries}; there is no ${keyPath}[${index}]` };
      }
      key = index;
    }
    keyPath = childKeyPath(keyPath, key);
    if (last) {
      setMember(node, key, value);
      break;
    }
    // Own members only: `constructor` or `toString` in a name are keys to create, not Object's.
    let child: JsonValue | undefined = Object.hasOwn(node, key) ? (node as Record<string, JsonValue>)[key] : undefined;
    if (child === undefined) {
      child = {};
      setMember(node, key, child);
    }
    if (!Array.isArray(child) && !isJsonObject(child))
      return { ok: false, message: `${keyPath} is ${describeValue(child)}, so it has no keys to set` };
    node = child;
  }
  return { ok: true, keyPath };
}

function setMember(node: JsonObject | JsonValue[], key: string | number, value: JsonValue): void {
  if (Array.isArray(node)) node[key as number] = value;
  // defineProperty, as the parser does: the one way to set any key as a plain own member.
  else Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}
