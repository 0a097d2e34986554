/**
 * How agent.json values are read, the way the Java agent reads them: numbers and booleans may be
 * written as strings ("1000", "yes"), a number or boolean given for a text key is used as its text,
 * and each reader says in one line what it expected. The key tables in schema.ts are built of these.
 */
import { z } from 'zod';
import { EndpointError, normalizeEndpointUrl } from '../client/endpoint.js';

export const INT_MAX = 2_147_483_647; // Java int: keys the Java agent reads with readInteger
export const LONG_MAX = Number.MAX_SAFE_INTEGER; // Java long, capped to what a JS number holds exactly

/**
 * How a value is quoted in messages: strings in single quotes, everything else as JSON. Control
 * characters are escaped so that every problem stays on one line of `check` output.
 */
export function describeValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? // Control characters are what is to be shown escaped.
        // eslint-disable-next-line no-control-regex
        `'${value.replace(/[\u0000-\u001f\u007f]/g, (char) => JSON.stringify(char).slice(1, -1))}'`
      : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

type IssueWithInput = { readonly input?: unknown };

/** An error message for a value that is missing or fails `expectation`. */
export function invalid(expectation: string): (issue: IssueWithInput) => string {
  return (issue) => (issue.input === undefined ? 'is required' : `${describeValue(issue.input)} ${expectation}`);
}

const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;

function integerFromText(value: unknown): unknown {
  return typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
}

function wholeNumber(min: number, max: number, typeLimit: number) {
  const bounded = max < typeLimit;
  const outOfRange = invalid(`is outside the valid range ${min}–${max}`);
  return z.preprocess(
    integerFromText,
    z
      .number({ error: invalid('is not an integer') })
      .int({ error: invalid('is not an integer') })
      .min(min, { error: bounded ? outOfRange : invalid(`is below the minimum of ${min}`) })
      .max(max, { error: bounded ? outOfRange : invalid(`is above the maximum of ${max}`) }),
  );
}

/** A key the Java agent reads as `int`. */
export function integer(min: number, max: number = INT_MAX) {
  return wholeNumber(min, max, INT_MAX);
}

/** A key the Java agent reads as `long` (durations in milliseconds, mostly). */
export function long(min: number, max: number = LONG_MAX) {
  return wholeNumber(min, max, LONG_MAX);
}

// The Java agent's BooleanConverter: these words, in any case, and nothing else.
const BOOLEAN_WORDS = new Map<string, boolean>([
  ['true', true],
  ['yes', true],
  ['t', true],
  ['y', true],
  ['1', true],
  ['false', false],
  ['no', false],
  ['f', false],
  ['n', false],
  ['0', false],
]);

export function booleanFromText(value: unknown): unknown {
  return typeof value === 'string' || typeof value === 'number'
    ? (BOOLEAN_WORDS.get(String(value).toLowerCase()) ?? value)
    : value;
}

export function bool() {
  return z.preprocess(
    booleanFromText,
    z.boolean({ error: invalid('is not a boolean (true/false, yes/no, t/f, y/n, 1/0)') }),
  );
}

function textFromScalar(value: unknown): unknown {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

export function text() {
  return z.preprocess(textFromScalar, z.string({ error: invalid('is not a string') }));
}

export function nonEmptyText() {
  return text().pipe(z.string().min(1, { error: 'must not be empty' }));
}

/** The Java agent treats null and (for the keys that use this) "" as "not set". */
function unsetWhenEmpty(value: unknown): unknown {
  return value === '' || value === null ? undefined : value;
}

export function optionalText() {
  return z.preprocess(unsetWhenEmpty, text().optional());
}

export function oneOf<const Values extends readonly [string, ...string[]]>(values: Values) {
  return z.enum(values, { error: invalid(`is not one of ${values.join(', ')}`) });
}

/**
 * A regular expression. The Java agent compiles Java regexes; shardtail runs JavaScript ones, which
 * agree on the syntax log patterns use, so a pattern JavaScript cannot compile is rejected here
 * rather than failing on the first record.
 */
export function regex() {
  return text().superRefine((pattern, context) => {
    try {
      new RegExp(pattern);
    } catch (error) {
      context.addIssue({
        code: 'custom',
        message: `${describeValue(pattern)} is not a valid regular expression: ${(error as Error).message}`,
      });
    }
  });
}

/** An optional regex where an empty string means "not set" (multiLineStartPattern, fileFooterPattern). */
export function optionalRegex() {
  return z.preprocess(unsetWhenEmpty, regex().optional());
}

/**
 * An AWS endpoint, given as a bare host (as most Java agent configs do) or a URL. Normalised to an
 * absolute URL with https:// as the default scheme, so clients never interpret the raw form.
 */
export function endpoint() {
  return optionalText().transform((value, context) => {
    if (value === undefined) return undefined;
    try {
      return normalizeEndpointUrl(value, '').origin;
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof EndpointError ? error.reason : String(error) });
      return z.NEVER;
    }
  });
}

export function roleArn() {
  return optionalText().pipe(
    z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, {
        error: invalid('is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)'),
      })
      .optional(),
  );
}
