/**
 * S3 prefixes with `!{namespace:value}` expressions (spec firehose.md §6.3): checked when a delivery
 * stream is created or updated, evaluated for every object the delivery side writes.
 */

export type PrefixMember = 'Prefix' | 'ErrorOutputPrefix';

type FormatToken = { literal: string } | { field: DateField; width: number };
type DateField = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'dayOfYear';

type PrefixPart =
  | { kind: 'text'; text: string }
  | { kind: 'timestamp'; format: FormatToken[] }
  | { kind: 'errorOutputType' }
  | { kind: 'randomString' }
  | { kind: 'partitionKey'; from: 'Query' | 'Lambda'; key: string };

export interface ParsedPrefix {
  parts: PrefixPart[];
  hasExpressions: boolean;
  hasTimestamp: boolean;
  hasErrorOutputType: boolean;
  partitionKeys: Array<{ from: 'Query' | 'Lambda'; key: string }>;
}

/** Thrown for a template that breaks a rule; the control plane answers it as InvalidArgumentException. */
export class PrefixRuleError extends Error {}

export interface PrefixContext {
  /** The approximate arrival of the oldest record in the object. */
  timestampMs: number;
  /** Set when evaluating an error prefix, e.g. `processing-failed`. */
  errorOutputType?: string;
  partitionKeys?: Record<string, string>;
  /** 11 characters, a new value for each `!{firehose:random-string}`. */
  randomString(): string;
}

export const DEFAULT_TIME_PREFIX = '!{timestamp:yyyy/MM/dd/HH/}';
/** The longest error-output-type Firehose uses: the bound rule 6 checks against. */
const LONGEST_ERROR_OUTPUT_TYPE = 'AmazonOpenSearchService-failed';
const MAX_EVALUATED_LENGTH = 512;

/** Pattern letters of Java's DateTimeFormatter that this engine formats, by run of letters. */
const DATE_PATTERNS: Record<string, { field: DateField; width: number }> = {
  yyyy: { field: 'year', width: 4 },
  yy: { field: 'year', width: 2 },
  MM: { field: 'month', width: 2 },
  M: { field: 'month', width: 1 },
  dd: { field: 'day', width: 2 },
  d: { field: 'day', width: 1 },
  HH: { field: 'hour', width: 2 },
  H: { field: 'hour', width: 1 },
  mm: { field: 'minute', width: 2 },
  m: { field: 'minute', width: 1 },
  ss: { field: 'second', width: 2 },
  s: { field: 'second', width: 1 },
  DDD: { field: 'dayOfYear', width: 3 },
};

function parseDateFormat(pattern: string, member: PrefixMember): FormatToken[] {
  const tokens: FormatToken[] = [];
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i];
    if (char === "'") {
      // Java: '' is a quote; text between quotes is literal.
      if (pattern[i + 1] === "'") {
        tokens.push({ literal: "'" });
        i += 2;
        continue;
      }
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new PrefixRuleError(`${member} has an unclosed quote in !{timestamp:${pattern}}.`);
      tokens.push({ literal: pattern.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(char)) {
      let end = i;
      while (pattern[end] === char) end++;
      const run = pattern.slice(i, end);
      const known = DATE_PATTERNS[run];
      if (!known)
        throw new PrefixRuleError(
          `${member} uses the pattern letters '${run}' in !{timestamp:${pattern}}, which this engine does not ` +
            `support; supported: ${Object.keys(DATE_PATTERNS).join(', ')} and quoted text.`,
        );
      tokens.push(known);
      i = end;
    } else if (char === '[' || char === ']' || char === '{' || char === '}' || char === '#') {
      throw new PrefixRuleError(`${member} uses the reserved character '${char}' in !{timestamp:${pattern}}.`);
    } else {
      tokens.push({ literal: char });
      i++;
    }
  }
  return tokens;
}

function parseExpression(body: string, member: PrefixMember): PrefixPart {
  const colon = body.indexOf(':');
  const namespace = colon < 0 ? body : body.slice(0, colon);
  const value = colon < 0 ? '' : body.slice(colon + 1);
  switch (namespace) {
    case 'timestamp':
      if (value.length === 0) throw new PrefixRuleError(`${member} has an empty !{timestamp:} expression.`);
      return { kind: 'timestamp', format: parseDateFormat(value, member) };
    case 'firehose':
      if (value === 'error-output-type') return { kind: 'errorOutputType' };
      if (value === 'random-string') return { kind: 'randomString' };
      throw new PrefixRuleError(
        `${member} has an unknown firehose expression !{${body}}: expected error-output-type or random-string.`,
      );
    case 'partitionKeyFromQuery':
    case 'partitionKeyFromLambda':
      if (!/^[A-Za-z0-9_-]+$/.test(value))
        throw new PrefixRuleError(`${member} has an invalid partition key name in !{${body}}.`);
      return { kind: 'partitionKey', from: namespace === 'partitionKeyFromQuery' ? 'Query' : 'Lambda', key: value };
    default:
      throw new PrefixRuleError(
        `${member} has an expression of unknown namespace '${namespace}' in !{${body}}: expected timestamp, ` +
          `firehose, partitionKeyFromQuery or partitionKeyFromLambda.`,
      );
  }
}

export function parsePrefix(template: string, member: PrefixMember): ParsedPrefix {
  const parts: PrefixPart[] = [];
  let i = 0;
  while (i < template.length) {
    const start = template.indexOf('!{', i);
    if (start < 0) {
      parts.push({ kind: 'text', text: template.slice(i) });
      break;
    }
    if (start > i) parts.push({ kind: 'text', text: template.slice(i, start) });
    const end = template.indexOf('}', start + 2);
    // Rule 1: `!{` only ever starts an expression, so one left open is an error, not text.
    if (end < 0) throw new PrefixRuleError(`${member} has '!{' at position ${start} that starts no expression.`);
    parts.push(parseExpression(template.slice(start + 2, end), member));
    i = end + 1;
  }
  const expressions = parts.filter((part) => part.kind !== 'text');
  return {
    parts,
    hasExpressions: expressions.length > 0,
    hasTimestamp: parts.some((part) => part.kind === 'timestamp'),
    hasErrorOutputType: parts.some((part) => part.kind === 'errorOutputType'),
    partitionKeys: parts.flatMap((part) => (part.kind === 'partitionKey' ? [{ from: part.from, key: part.key }] : [])),
  };
}

export interface PrefixRules {
  prefix: string;
  /** undefined when not configured (an empty one counts as not configured). */
  errorOutputPrefix: string | undefined;
  dynamicPartitioning: boolean;
  /** Partition keys the MetadataExtraction processor defines, and whether a Lambda processor runs. */
  queryKeys: readonly string[];
  hasLambda: boolean;
}

/** Rules 1-4 and 6 of §6.3, and the dynamic partitioning ones; throws PrefixRuleError. */
export function checkPrefixes(rules: PrefixRules): void {
  const prefix = parsePrefix(rules.prefix, 'Prefix');
  const errorPrefix =
    rules.errorOutputPrefix === undefined ? undefined : parsePrefix(rules.errorOutputPrefix, 'ErrorOutputPrefix');
  if (prefix.hasErrorOutputType)
    throw new PrefixRuleError('Prefix cannot use !{firehose:error-output-type}; only ErrorOutputPrefix can.');
  if (errorPrefix && errorPrefix.partitionKeys.length > 0)
    throw new PrefixRuleError('ErrorOutputPrefix cannot use partitionKeyFromQuery or partitionKeyFromLambda.');
  if (errorPrefix && !errorPrefix.hasErrorOutputType)
    throw new PrefixRuleError('ErrorOutputPrefix must contain !{firehose:error-output-type} at least once.');
  if (prefix.hasExpressions && !errorPrefix)
    throw new PrefixRuleError('ErrorOutputPrefix is required when Prefix contains expressions.');
  if (prefix.partitionKeys.length > 0 && !rules.dynamicPartitioning)
    throw new PrefixRuleError(
      'Prefix uses partitionKeyFromQuery or partitionKeyFromLambda, which need dynamic partitioning enabled ' +
        '(DynamicPartitioningConfiguration.Enabled).',
    );
  if (rules.dynamicPartitioning && prefix.partitionKeys.length === 0)
    throw new PrefixRuleError(
      'With dynamic partitioning enabled, Prefix must contain at least one partitionKeyFromQuery or ' +
        'partitionKeyFromLambda expression.',
    );
  for (const { from, key } of prefix.partitionKeys) {
    if (from === 'Query' && !rules.queryKeys.includes(key))
      throw new PrefixRuleError(
        `Prefix uses !{partitionKeyFromQuery:${key}}, but no MetadataExtractionQuery defines the key ${key}.`,
      );
    if (from === 'Lambda' && !rules.hasLambda)
      throw new PrefixRuleError(`Prefix uses !{partitionKeyFromLambda:${key}}, but no Lambda processor is enabled.`);
  }
  // Rule 6, as far as it can be known before any record: partition key values only make it longer.
  const sample: PrefixContext = { timestampMs: Date.UTC(2000, 11, 31, 23), randomString: () => 'x'.repeat(11) };
  const shortestKeys = Object.fromEntries(prefix.partitionKeys.map(({ key }) => [key, '']));
  if (evaluate(prefix, { ...sample, partitionKeys: shortestKeys }, true).length > MAX_EVALUATED_LENGTH)
    throw new PrefixRuleError(`Prefix evaluates to more than ${MAX_EVALUATED_LENGTH} characters.`);
  const errorSample = { ...sample, errorOutputType: LONGEST_ERROR_OUTPUT_TYPE };
  if (errorPrefix && evaluate(errorPrefix, errorSample, false).length > MAX_EVALUATED_LENGTH)
    throw new PrefixRuleError(`ErrorOutputPrefix evaluates to more than ${MAX_EVALUATED_LENGTH} characters.`);
}

/**
 * The template of the error prefix: the configured one, or (rule 5, a Prefix without expressions and
 * no ErrorOutputPrefix) `<Prefix><error-output-type>/yyyy/MM/dd/HH/`.
 */
export function errorPrefixTemplate(prefix: string, errorOutputPrefix: string | undefined): string {
  return errorOutputPrefix ?? `${prefix}!{firehose:error-output-type}/${DEFAULT_TIME_PREFIX}`;
}

const parsedCache = new Map<string, ParsedPrefix>();

/**
 * Evaluates a checked template. A main prefix (no errorOutputType in the context) without a timestamp
 * expression gets the default `!{timestamp:yyyy/MM/dd/HH/}` appended (rule 2); an error prefix is
 * evaluated as written (the guide's example table: `myFirehoseFailures/processing-failed/`).
 */
export function evaluatePrefix(template: string, context: PrefixContext): string {
  let parsed = parsedCache.get(template);
  if (!parsed) {
    parsed = parsePrefix(template, context.errorOutputType === undefined ? 'Prefix' : 'ErrorOutputPrefix');
    if (parsedCache.size > 1000) parsedCache.clear();
    parsedCache.set(template, parsed);
  }
  return evaluate(parsed, context, context.errorOutputType === undefined);
}

function evaluate(parsed: ParsedPrefix, context: PrefixContext, appendDefaultTime: boolean): string {
  const date = new Date(context.timestampMs);
  let out = '';
  for (const part of parsed.parts) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'timestamp':
        out += formatDate(part.format, date);
        break;
      case 'errorOutputType':
        out += context.errorOutputType ?? '';
        break;
      case 'randomString':
        out += context.randomString();
        break;
      case 'partitionKey': {
        const value = context.partitionKeys?.[part.key];
        if (value === undefined) throw new PrefixRuleError(`no value for partition key ${part.key}`);
        out += value;
        break;
      }
    }
  }
  if (appendDefaultTime && !parsed.hasTimestamp) out += formatDate(DEFAULT_TIME_FORMAT, date);
  return out;
}

const DEFAULT_TIME_FORMAT = parseDateFormat('yyyy/MM/dd/HH/', 'Prefix');

const DATE_FIELDS: Record<DateField, (date: Date) => number> = {
  year: (date) => date.getUTCFullYear(),
  month: (date) => date.getUTCMonth() + 1,
  day: (date) => date.getUTCDate(),
  hour: (date) => date.getUTCHours(),
  minute: (date) => date.getUTCMinutes(),
  second: (date) => date.getUTCSeconds(),
  dayOfYear: (date) => Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
};

function formatDate(tokens: readonly FormatToken[], date: Date): string {
  let out = '';
  for (const token of tokens) {
    if ('literal' in token) {
      out += token.literal;
      continue;
    }
    const value = DATE_FIELDS[token.field](date);
    const shown = token.field === 'year' && token.width === 2 ? value % 100 : value;
    out += String(shown).padStart(token.width, '0');
  }
  return out;
}

const RANDOM_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The 11 characters of `!{firehose:random-string}`. */
export function randomPrefixString(random: () => number = Math.random): string {
  let out = '';
  for (let i = 0; i < 11; i++) out += RANDOM_ALPHABET[Math.floor(random() * RANDOM_ALPHABET.length)];
  return out;
}
