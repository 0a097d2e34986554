/** The java.lang.String methods the Java agent's converters lean on, with their edge cases. */

/**
 * String.split(regex): no match gives the whole text; a zero-width match at the start adds no
 * empty first part; empty parts at the end are removed, so ",," gives none at all.
 */
export function javaSplit(text: string, delimiter: RegExp): string[] {
  const pattern = new RegExp(delimiter.source, `${delimiter.flags.replace(/[gy]/g, '')}g`);
  const parts: string[] = [];
  let index = 0;
  let matched = false;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const start = match.index;
    const end = start + match[0].length;
    // Matcher.find goes on one character after an empty match.
    if (end === start) pattern.lastIndex = start + 1;
    if (start === 0 && end === 0) continue;
    parts.push(text.slice(index, start));
    index = end;
    matched = true;
  }
  if (!matched) return [text];
  parts.push(text.slice(index));
  let kept = parts.length;
  while (kept > 0 && parts[kept - 1] === '') kept--;
  return parts.slice(0, kept);
}

/** String.trim: every character up to U+0020 at either end (control characters too), and no other space. */
export function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}

/** The converters that make JSON take one trailing "\n" off the record, and put one after the JSON. */
export function withoutNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** String.getBytes(UTF_8): a lone surrogate (a record's JSON may spell one, `"\ud800"`) becomes `?`. */
export function javaUtf8(text: string): Buffer {
  return Buffer.from(text.replace(LONE_SURROGATE, '?'), 'utf8');
}
