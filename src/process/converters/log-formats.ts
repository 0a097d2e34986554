/**
 * The Java agent's built-in LOGTOJSON formats (its PatternConstants, ApacheLogParser and
 * SysLogParser), as JavaScript regexes that match what the Java ones match. Two Java defaults
 * differ from JavaScript's and are spelled out: `.` stops at any Java line terminator (so also at
 * U+0085, and at the "\r" of a CRLF line, which therefore never matches), and `\s` is ASCII
 * whitespace only (a no-break space is not a separator).
 */
import type { LogFormat } from '../../config/types.js';

const ANY = '[^\\n\\r\\u0085\\u2028\\u2029]';
const SPACE = '[ \\t\\n\\x0B\\f\\r]';

const INT = '(?:[+-]?(?:[0-9]+))';
const POSINT = '(?:[1-9][0-9]*)';
const NONNEGINT = '(?:[0-9]+)';
const ANYDATA = `${ANY}*`;
const WORD = '\\w+';
const NOQUOTE = '[^"]+';
const IP = '(?:[\\d\\.]+)';
const HOSTNAME = '(?:[\\w\\-]+)(?:\\.(?:[\\w\\-]+))*(?:\\.?|\\b)';
const IPORHOST = `(?:${HOSTNAME}|${IP})`;
const URIHOST = `(?:${IPORHOST}(?::${POSINT})?)`;
const USER = '(?:[a-zA-Z0-9._-]+)';
const MONTHDAY = '(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])';
const DAY = '(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)';
const MONTH =
  '\\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:tember)?|' +
  'Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\b';
const YEAR = '(?:[1-9]\\d*)';
const HOUR = '(?:2[0123]|[01]?[0-9])';
const MINUTE = '(?:[0-5][0-9])';
const SECOND = '(?:(?:[0-5]?[0-9]|60)(?:[:\\.,][0-9]+)?)';
const TIME = `(?:${HOUR}:${MINUTE}:${SECOND})`;
const HTTPDATE = `(?:${MONTHDAY}/${MONTH}/${YEAR}:${TIME}${SPACE}${INT})`;
const APACHE_ERROR_TIMESTAMP = `(?:${DAY}${SPACE}+${MONTH}${SPACE}+${MONTHDAY}${SPACE}+${TIME}${SPACE}+${YEAR})`;
const SYSLOG_TIMESTAMP = `(?:${MONTH}${SPACE}+${MONTHDAY}${SPACE}+${TIME})`;
const RFC3339 = '(?:\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?)(?:Z|(?:[-+]\\d{2}:\\d{2}))';
// The Java constant leaves the dot unescaped: any character separates the two numbers.
const SYSLOG_FACILITY = `<${NONNEGINT}${ANY}${NONNEGINT}>`;
const SYSLOG_PROG = `([\\w\\._/%-]+)(?:\\[(${POSINT})\\])?`;

const COMMON_APACHE_LOG =
  `^(${IPORHOST}) (${USER}) (${USER}) \\[(${HTTPDATE})\\] "(${NOQUOTE})" ` + `(${INT}|\\-) (${INT}|\\-)`;
const COMBINED_APACHE_LOG = `${COMMON_APACHE_LOG} "(${NOQUOTE})" "(${NOQUOTE})"`;
const APACHE_ERROR_LOG =
  `^\\[(${APACHE_ERROR_TIMESTAMP})\\] \\[(?:(${WORD}):)?(${WORD})\\] ` +
  `\\[pid (${NONNEGINT})(?::tid (${NONNEGINT}))?\\] \\[client (${URIHOST})\\] (${ANYDATA})`;
const syslog = (timestamp: string) => `^(${timestamp}) (?:${SYSLOG_FACILITY} )?(${USER}) ${SYSLOG_PROG}: (${ANYDATA})`;

export interface LogFormatDefinition {
  /** Matched against the whole record (Java's Matcher.matches), its trailing "\n" taken off. */
  pattern: string;
  fields: readonly string[];
  /** The Apache parser (also with a matchPattern) turns a value of `-` into null; the syslog one does not. */
  dashIsNull: boolean;
}

const COMMON_FIELDS = ['host', 'ident', 'authuser', 'datetime', 'request', 'response', 'bytes'];
const SYSLOG_FIELDS = ['timestamp', 'hostname', 'program', 'processid', 'message'];

export const LOG_FORMAT_DEFINITIONS: Readonly<Record<LogFormat, LogFormatDefinition>> = {
  // The two access-log formats allow anything after the fields.
  COMMONAPACHELOG: { pattern: `${COMMON_APACHE_LOG}${ANYDATA}`, fields: COMMON_FIELDS, dashIsNull: true },
  COMBINEDAPACHELOG: {
    pattern: `${COMBINED_APACHE_LOG}${ANYDATA}`,
    // "referer", as the Java code spells it (its documentation says "referrer").
    fields: [...COMMON_FIELDS, 'referer', 'agent'],
    dashIsNull: true,
  },
  APACHEERRORLOG: {
    pattern: APACHE_ERROR_LOG,
    fields: ['timestamp', 'module', 'severity', 'processid', 'threadid', 'client', 'message'],
    dashIsNull: true,
  },
  SYSLOG: { pattern: syslog(SYSLOG_TIMESTAMP), fields: SYSLOG_FIELDS, dashIsNull: false },
  RFC3339SYSLOG: { pattern: syslog(RFC3339), fields: SYSLOG_FIELDS, dashIsNull: false },
};
