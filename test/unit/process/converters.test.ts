/**
 * Golden tests for dataProcessingOptions: input records and the exact bytes the Java agent makes
 * of them. Expected outputs come from the Java agent's own unit tests (DataConverterTest, marked
 * "Java test") and from its code as the research notes read it (§2): key order, null for `-`
 * in Apache formats only, values as strings, `referer`, `[client addr]`, Jackson's escapes and
 * pretty printer, String.split and String.trim, and Java's `.` stopping at "\r".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonValue } from '../../../src/config/jsonc.js';
import type { DataProcessingOption, LogFormat } from '../../../src/config/types.js';
import { FileProgress } from '../../../src/acknowledge/file-progress.js';
import { ConverterChain, processorsFor } from '../../../src/process/converter-chain.js';
import { AddBrackets } from '../../../src/process/converters/add-brackets.js';
import { NewlineFramer } from '../../../src/tail/framer.js';
import { ChunkRecords, type FramedChunk } from '../../../src/tail/records.js';
import { chunkOf, recordingEvents, textsOf } from '../support.js';

/** Newline-ended lines as the tailer frames them. */
function framed(text: string): FramedChunk {
  const buffer = Buffer.from(text);
  return new NewlineFramer({ maxRecordBytes: 1 << 20, skipHeaderLines: 0, startOffset: 0 }).frame(
    buffer,
    buffer.length,
    0,
  );
}

const FIXED_NOW = Date.parse('2024-05-01T12:00:00.000Z');

/** The records each input line becomes through `options`, and the not-converted events. */
function convert(options: DataProcessingOption[], input: string | string[]) {
  const { events, named } = recordingEvents();
  const processors = processorsFor(options, events, { now: () => FIXED_NOW });
  let chunk = typeof input === 'string' ? framed(input) : chunkOf(input);
  for (const processor of processors) chunk = processor.process(chunk);
  return { outputs: textsOf(chunk), chunk, notConverted: named('recordsNotConverted') };
}

function logToJson(
  logFormat: LogFormat,
  more: { matchPattern?: string; customFieldNames?: string[]; jsonFormat?: 'COMPACT' | 'PRETTYPRINT' } = {},
): DataProcessingOption {
  return {
    optionName: 'LOGTOJSON',
    logFormat,
    matchPattern: more.matchPattern,
    customFieldNames: more.customFieldNames,
    jsonFormat: more.jsonFormat ?? 'COMPACT',
  };
}

const COMMON_LINE = '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200 10450';
const COMMON_JSON =
  '{"host":"123.45.67.89","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400",' +
  '"request":"GET /java/javaResources.html HTTP/1.0","response":"200","bytes":"10450"}\n';
const AGENT = 'Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)';

describe('LOGTOJSON COMMONAPACHELOG', () => {
  it('fields in order, `-` as null, numbers as strings, one "\\n" after the JSON (Java test)', () => {
    assert.deepEqual(convert([logToJson('COMMONAPACHELOG')], `${COMMON_LINE}\n`).outputs, [COMMON_JSON]);
  });

  it('allows trailing text, such as the combined fields (Java test)', () => {
    const line = `${COMMON_LINE} "-" "${AGENT}"\n`;
    assert.deepEqual(convert([logToJson('COMMONAPACHELOG')], line).outputs, [COMMON_JSON]);
  });

  it('a host name, a user and a dash for bytes', () => {
    const line = 'lj1036.inktomisearch.com - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 304 -\n';
    assert.deepEqual(convert([logToJson('COMMONAPACHELOG')], line).outputs, [
      '{"host":"lj1036.inktomisearch.com","ident":null,"authuser":"frank","datetime":"10/Oct/2000:13:55:36 -0700",' +
        '"request":"GET /a.gif HTTP/1.0","response":"304","bytes":null}\n',
    ]);
  });

  it('customFieldNames without matchPattern rename the fields (Java test)', () => {
    const names = ['column1', 'column2', 'column3', 'column4', 'column5', 'column6', 'column7'];
    assert.deepEqual(convert([logToJson('COMMONAPACHELOG', { customFieldNames: names })], `${COMMON_LINE}\n`).outputs, [
      '{"column1":"123.45.67.89","column2":null,"column3":null,"column4":"27/Oct/2000:09:27:09 -0400",' +
        '"column5":"GET /java/javaResources.html HTTP/1.0","column6":"200","column7":"10450"}\n',
    ]);
  });

  it('drops lines that do not match, empty lines and CRLF lines (Java `.` stops at "\\r"), and counts them', () => {
    const input = [
      `${COMMON_LINE.replace(' 10450', '')}\n`, // no bytes field (Java test)
      '\n',
      `${COMMON_LINE}\r\n`,
      `${COMMON_LINE}\n`,
      'not a log line\n',
    ].join('');
    const { outputs, notConverted, chunk } = convert([logToJson('COMMONAPACHELOG')], input);
    assert.deepEqual(outputs, [COMMON_JSON]);
    assert.deepEqual(notConverted, [['dataProcessingOptions[0] LOGTOJSON', 'skipped', 4, undefined]]);
    assert.equal(chunk.endOffset, Buffer.byteLength(input), 'dropped lines still count as read');
  });

  it('PRETTYPRINT is Jackson\'s default pretty printer: two-space indent, " : ", then "\\n"', () => {
    assert.deepEqual(
      convert([logToJson('COMMONAPACHELOG', { jsonFormat: 'PRETTYPRINT' })], `${COMMON_LINE}\n`).outputs,
      [
        '{\n' +
          '  "host" : "123.45.67.89",\n' +
          '  "ident" : null,\n' +
          '  "authuser" : null,\n' +
          '  "datetime" : "27/Oct/2000:09:27:09 -0400",\n' +
          '  "request" : "GET /java/javaResources.html HTTP/1.0",\n' +
          '  "response" : "200",\n' +
          '  "bytes" : "10450"\n' +
          '}\n',
      ],
    );
  });

  it('unicode is written as UTF-8, quotes and backslashes escaped, control characters as upper-case \\u00XX', () => {
    const line = '10.0.0.1 - - [27/Oct/2000:09:27:09 -0400] "GET /\u00e9t\u00e9\\\u0001 \u{1F600}" 200 5\n';
    assert.deepEqual(convert([logToJson('COMMONAPACHELOG')], line).outputs, [
      '{"host":"10.0.0.1","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400",' +
        '"request":"GET /\u00e9t\u00e9\\\\\\u0001 \u{1F600}","response":"200","bytes":"5"}\n',
    ]);
    assert.deepEqual(
      convert([logToJson('COMMONAPACHELOG')], line.replace('- - [', '- j\u00f6rg [')).notConverted,
      [['dataProcessingOptions[0] LOGTOJSON', 'skipped', 1, undefined]],
      'a user name outside [a-zA-Z0-9._-] does not match',
    );
  });
});

describe('LOGTOJSON COMBINEDAPACHELOG', () => {
  it('adds referer (so spelled) and agent; trailing text is allowed (Java test)', () => {
    const line = `${COMMON_LINE} "-" "${AGENT}" "ANY_RANDOM_DATA"\n`;
    assert.deepEqual(convert([logToJson('COMBINEDAPACHELOG')], line).outputs, [
      `${COMMON_JSON.slice(0, -2)},"referer":null,"agent":"${AGENT}"}\n`,
    ]);
  });

  it('a referer URL is kept; a line without the two quoted fields is dropped', () => {
    const line = `${COMMON_LINE} "http://example.com/start.html" "curl/8.0"\n`;
    const { outputs, notConverted } = convert([logToJson('COMBINEDAPACHELOG')], `${line}${COMMON_LINE}\n`);
    assert.deepEqual(outputs, [
      `${COMMON_JSON.slice(0, -2)},"referer":"http://example.com/start.html","agent":"curl/8.0"}\n`,
    ]);
    assert.deepEqual(notConverted, [['dataProcessingOptions[0] LOGTOJSON', 'skipped', 1, undefined]]);
  });
});

describe('LOGTOJSON APACHEERRORLOG', () => {
  const ERROR_MESSAGE = 'File does not exist: /usr/local/apache2/htdocs/favicon.ico';

  it('module:severity, pid:tid and [client addr] (Java test)', () => {
    const line =
      '[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] ' +
      `${ERROR_MESSAGE}\n`;
    assert.deepEqual(convert([logToJson('APACHEERRORLOG')], line).outputs, [
      '{"timestamp":"Fri Sep 09 10:42:29.902022 2011","module":"core","severity":"error","processid":"35708",' +
        `"threadid":"4328636416","client":"72.15.99.187","message":"${ERROR_MESSAGE}"}\n`,
    ]);
  });

  it('a missing tid or module is null; the client may have a port (Java test)', () => {
    const input =
      `[Fri Sep 09 10:42:29 2011] [core:error] [pid 35708] [client 72.15.99.187] ${ERROR_MESSAGE}\n` +
      '[Fri Sep 09 10:42:29.902022 2011] [error] [pid 35708:tid 4328636416] [client 72.15.99.187:12345] ' +
      `${ERROR_MESSAGE}\n`;
    assert.deepEqual(convert([logToJson('APACHEERRORLOG')], input).outputs, [
      '{"timestamp":"Fri Sep 09 10:42:29 2011","module":"core","severity":"error","processid":"35708",' +
        `"threadid":null,"client":"72.15.99.187","message":"${ERROR_MESSAGE}"}\n`,
      '{"timestamp":"Fri Sep 09 10:42:29.902022 2011","module":null,"severity":"error","processid":"35708",' +
        `"threadid":"4328636416","client":"72.15.99.187:12345","message":"${ERROR_MESSAGE}"}\n`,
    ]);
  });

  it('drops a line without [client addr], and one written "[client: addr]" as the docs show it', () => {
    const input =
      '[Fri Sep 09 10:42:29 2011] [core:notice] [pid 1] AH00094: Command line: httpd\n' +
      '[Fri Sep 09 10:42:29 2011] [core:error] [pid 1] [client: 1.2.3.4] oops\n';
    const { outputs, notConverted } = convert([logToJson('APACHEERRORLOG')], input);
    assert.deepEqual(outputs, []);
    assert.deepEqual(notConverted, [['dataProcessingOptions[0] LOGTOJSON', 'skipped', 2, undefined]]);
  });

  it('a message of "-" is null, as every Apache field is', () => {
    const line = '[Fri Sep 09 10:42:29 2011] [error] [pid 7] [client 1.2.3.4] -\n';
    assert.deepEqual(convert([logToJson('APACHEERRORLOG')], line).outputs, [
      '{"timestamp":"Fri Sep 09 10:42:29 2011","module":null,"severity":"error","processid":"7","threadid":null,' +
        '"client":"1.2.3.4","message":null}\n',
    ]);
  });
});

describe('LOGTOJSON SYSLOG and RFC3339SYSLOG', () => {
  it('with and without a pid (Java test), and two spaces before a one-digit day', () => {
    const input =
      "Mar 12 12:00:08 server2 rcd[308]: Loaded 12 packages in 'ximian-red-carpet|351' (0.01878 seconds) \n" +
      'Mar 12 12:01:02 server4 snort: Ports to decode telnet on: 21 23 25 119\n' +
      'Mar  7 10:15:01 ip-10-0-0-1 sshd[1234]: Accepted key\n';
    assert.deepEqual(convert([logToJson('SYSLOG')], input).outputs, [
      '{"timestamp":"Mar 12 12:00:08","hostname":"server2","program":"rcd","processid":"308",' +
        '"message":"Loaded 12 packages in \'ximian-red-carpet|351\' (0.01878 seconds) "}\n',
      '{"timestamp":"Mar 12 12:01:02","hostname":"server4","program":"snort","processid":null,' +
        '"message":"Ports to decode telnet on: 21 23 25 119"}\n',
      '{"timestamp":"Mar  7 10:15:01","hostname":"ip-10-0-0-1","program":"sshd","processid":"1234",' +
        '"message":"Accepted key"}\n',
    ]);
  });

  it('a facility is skipped; "-" stays a string; CRLF and non-matching lines are dropped', () => {
    const input =
      'Mar 12 12:00:08 <4.6> host1 cron[9]: -\n' +
      'Mar 12 12:00:08 host1 cron[9]: done\r\n' +
      '2024-05-01 12:00:00 host1 cron: not a syslog timestamp\n';
    const { outputs, notConverted } = convert([logToJson('SYSLOG')], input);
    assert.deepEqual(outputs, [
      '{"timestamp":"Mar 12 12:00:08","hostname":"host1","program":"cron","processid":"9","message":"-"}\n',
    ]);
    assert.deepEqual(notConverted, [['dataProcessingOptions[0] LOGTOJSON', 'skipped', 2, undefined]]);
  });

  it('RFC3339SYSLOG takes an RFC 3339 timestamp, with fraction and offset', () => {
    const input =
      '2024-05-01T12:00:00.123+02:00 web-1 nginx[77]: started\n' +
      '2024-05-01T12:00:00Z web-1 kernel: eth0 up\n' +
      'Mar 12 12:00:08 host1 cron[9]: done\n';
    const { outputs, notConverted } = convert([logToJson('RFC3339SYSLOG')], input);
    assert.deepEqual(outputs, [
      '{"timestamp":"2024-05-01T12:00:00.123+02:00","hostname":"web-1","program":"nginx","processid":"77",' +
        '"message":"started"}\n',
      '{"timestamp":"2024-05-01T12:00:00Z","hostname":"web-1","program":"kernel","processid":null,' +
        '"message":"eth0 up"}\n',
    ]);
    assert.equal(notConverted[0][2], 1);
  });
});

describe('LOGTOJSON matchPattern', () => {
  it('matches the whole record; groups named by customFieldNames; `-` null under an Apache format (Java test)', () => {
    const option = logToJson('COMMONAPACHELOG', {
      matchPattern: '^([\\d.]+) (\\S+) (\\S+) \\[([\\w:/]+\\s[+\\-]\\d{4})\\] "(.+?)" (\\d{3})',
      customFieldNames: ['column1', 'column2', 'column3', 'column4', 'column5', 'column6'],
    });
    const line = '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200';
    const { outputs, notConverted } = convert([option], `${line}\n${line} 10450\n`);
    assert.deepEqual(outputs, [
      '{"column1":"123.45.67.89","column2":null,"column3":null,"column4":"27/Oct/2000:09:27:09 -0400",' +
        '"column5":"GET /java/javaResources.html HTTP/1.0","column6":"200"}\n',
    ]);
    assert.deepEqual(notConverted, [['dataProcessingOptions[0] LOGTOJSON', 'skipped', 1, undefined]], 'trailing text');
  });

  it('under a syslog format `-` stays a string; a group that took no part is null', () => {
    const option = logToJson('SYSLOG', { matchPattern: '(\\w+)=(-|\\d+)(?: (x))?', customFieldNames: ['k', 'v', 'x'] });
    assert.deepEqual(convert([option], 'a=-\nb=2 x\n').outputs, [
      '{"k":"a","v":"-","x":null}\n',
      '{"k":"b","v":"2","x":"x"}\n',
    ]);
  });

  it('an alternation must match the whole record, not one side of it', () => {
    const option = logToJson('SYSLOG', { matchPattern: 'a|(b)', customFieldNames: ['b'] });
    const { outputs, notConverted } = convert([option], 'abc\nb\n');
    assert.deepEqual(outputs, ['{"b":"b"}\n']);
    assert.equal(notConverted[0][2], 1);
  });

  it('drops every record when the groups and the names differ in number', () => {
    const option = logToJson('SYSLOG', { matchPattern: '(\\w+) (\\w+)', customFieldNames: ['only'] });
    assert.deepEqual(convert([option], 'a b\n').outputs, []);
  });

  it('field names that look like numbers keep their order; a name given twice keeps its first place', () => {
    const option = logToJson('SYSLOG', { matchPattern: '(.)(.)(.)', customFieldNames: ['2', '1', '2'] });
    assert.deepEqual(convert([option], 'abc\n').outputs, ['{"2":"c","1":"b"}\n']);
  });
});

describe('CSVTOJSON', () => {
  const names = ['column1', 'column2', 'column3', 'column4'];
  const csv = (delimiter = ',', jsonFormat: 'COMPACT' | 'PRETTYPRINT' = 'COMPACT'): DataProcessingOption => ({
    optionName: 'CSVTOJSON',
    customFieldNames: names,
    delimiter,
    jsonFormat,
  });

  it('no trimming; fewer columns give null, more are ignored (Java test)', () => {
    const input = 'value1, value2,value3\nvalue1,value2,value3,value4,value5\n';
    assert.deepEqual(convert([csv()], input).outputs, [
      '{"column1":"value1","column2":" value2","column3":"value3","column4":null}\n',
      '{"column1":"value1","column2":"value2","column3":"value3","column4":"value4"}\n',
    ]);
  });

  it('a "\\n" inside a (multi-line) record is escaped (Java test)', () => {
    assert.deepEqual(convert([csv()], ['value1, value2,valu\ne3,    value4\n']).outputs, [
      '{"column1":"value1","column2":" value2","column3":"valu\\ne3","column4":"    value4"}\n',
    ]);
  });

  it('delimiter is a regex: "\\\\t" for tab (Java test), "\\\\|" for a pipe, "|" alone splits every character', () => {
    assert.deepEqual(convert([csv('\\t')], 'value1\t value2\tvalue3\t    value4\n').outputs, [
      '{"column1":"value1","column2":" value2","column3":"value3","column4":"    value4"}\n',
    ]);
    assert.deepEqual(convert([csv('\\|')], 'a|b|c|d\n').outputs, [
      '{"column1":"a","column2":"b","column3":"c","column4":"d"}\n',
    ]);
    assert.deepEqual(convert([csv('|')], 'ab\n').outputs, [
      '{"column1":"a","column2":"b","column3":null,"column4":null}\n',
    ]);
    assert.deepEqual(convert([csv(' *; *')], 'a ; b;c\n').outputs, [
      '{"column1":"a","column2":"b","column3":"c","column4":null}\n',
    ]);
  });

  it("String.split's edges: empty columns at the end are null, ',,,' all nulls, an empty line one empty string", () => {
    assert.deepEqual(convert([csv()], 'a,,c,\n,,,\n\n,b\n').outputs, [
      '{"column1":"a","column2":"","column3":"c","column4":null}\n',
      '{"column1":null,"column2":null,"column3":null,"column4":null}\n',
      '{"column1":"","column2":null,"column3":null,"column4":null}\n',
      '{"column1":"","column2":"b","column3":null,"column4":null}\n',
    ]);
  });

  it('quotes are not understood; CRLF leaves "\\r" in the last column; unicode passes as UTF-8', () => {
    assert.deepEqual(convert([csv()], '"a,b",c\r\nж,\u{1F600}\n').outputs, [
      '{"column1":"\\"a","column2":"b\\"","column3":"c\\r","column4":null}\n',
      '{"column1":"ж","column2":"\u{1F600}","column3":null,"column4":null}\n',
    ]);
  });

  it('PRETTYPRINT', () => {
    assert.deepEqual(convert([csv(',', 'PRETTYPRINT')], 'a,b\n').outputs, [
      '{\n  "column1" : "a",\n  "column2" : "b",\n  "column3" : null,\n  "column4" : null\n}\n',
    ]);
  });
});

describe('SINGLELINE', () => {
  const singleLine = (...parseOptions: Array<'NO_TRIM' | 'ESCAPE_NEW_LINE'>): DataProcessingOption => ({
    optionName: 'SINGLELINE',
    parseOptions,
  });

  it('a one-line record is trimmed (CRLF too) and ends in "\\n"; an empty line stays "\\n"', () => {
    assert.deepEqual(convert([singleLine()], '  a b \t\r\n\n\u00a0x\u00a0\n\u0001y\n').outputs, [
      'a b\n',
      '\n',
      '\u00a0x\u00a0\n', // String.trim leaves a no-break space
      'y\n', // and takes control characters
    ]);
  });

  it('NO_TRIM keeps the line as it is', () => {
    const { outputs, chunk } = convert([singleLine('NO_TRIM')], '  a \r\n');
    assert.deepEqual(outputs, ['  a \r\n']);
    assert.ok(chunk.records.positionOf(0), 'an unchanged record stays a view of the read buffer');
  });

  it('joins the lines of a multi-line record; ESCAPE_NEW_LINE with backslash, backslash, n (Java test)', () => {
    const record =
      '{\n   "a": {\n           "b": 1,\n           "c": null,\n           "d": true\n    },\n' +
      '   "e": "f",\n   "g": 2\n     }\n';
    assert.deepEqual(convert([singleLine()], [record]).outputs, [
      '{"a": {"b": 1,"c": null,"d": true},"e": "f","g": 2}\n',
    ]);
    assert.deepEqual(convert([singleLine('ESCAPE_NEW_LINE')], [record]).outputs, [
      '{\\\\n"a": {\\\\n"b": 1,\\\\n"c": null,\\\\n"d": true\\\\n},\\\\n"e": "f",\\\\n"g": 2\\\\n}\n',
    ]);
  });

  it('empty lines inside are kept as empty parts, those at the end go; NO_TRIM with ESCAPE_NEW_LINE', () => {
    assert.deepEqual(convert([singleLine('ESCAPE_NEW_LINE')], ['a\n  \nb\n\n\n']).outputs, ['a\\\\n\\\\nb\n']);
    assert.deepEqual(convert([singleLine('NO_TRIM', 'ESCAPE_NEW_LINE')], [' a\r\n b\n']).outputs, [' a\r\\\\n b\n']);
    assert.deepEqual(convert([singleLine()], ['no newline']).outputs, ['no newline\n']);
  });
});

describe('ADDMETADATA', () => {
  const addMetadata = (
    metadata: JsonValue,
    timestamp: boolean,
    jsonFormat: 'COMPACT' | 'PRETTYPRINT' = 'COMPACT',
  ): DataProcessingOption => ({ optionName: 'ADDMETADATA', metadata, timestamp, jsonFormat });

  it('ts (processing time, UTC, ms), metadata, data, in that order; the record as a string', () => {
    assert.deepEqual(convert([addMetadata({ env: 'prod' }, true)], 'hello\n').outputs, [
      '{"ts":"2024-05-01T12:00:00.000Z","metadata":{"env":"prod"},"data":"hello"}\n',
    ]);
  });

  it('without timestamp, no ts; metadata keeps its key order (Java test); unset metadata is null', () => {
    const metadata = { key: 'value', foo: { bar: 'bas' } };
    assert.deepEqual(convert([addMetadata(metadata, false)], ['This is the data']).outputs, [
      '{"metadata":{"key":"value","foo":{"bar":"bas"}},"data":"This is the data"}\n',
    ]);
    assert.deepEqual(convert([addMetadata(null, false)], 'a "q" \\ \t\n').outputs, [
      '{"metadata":null,"data":"a \\"q\\" \\\\ \\t"}\n',
    ]);
  });

  it('metadata of every JSON type, as Jackson prints them; PRETTYPRINT nests objects and keeps arrays inline', () => {
    const metadata = { n: 1, f: 0.5, small: 1e-7, t: true, list: [1, 'a', { x: [] }], empty: {}, none: [] };
    assert.deepEqual(convert([addMetadata(metadata, false)], 'x\n').outputs, [
      '{"metadata":{"n":1,"f":0.5,"small":1.0E-7,"t":true,"list":[1,"a",{"x":[]}],"empty":{},"none":[]},"data":"x"}\n',
    ]);
    assert.deepEqual(convert([addMetadata(metadata, true, 'PRETTYPRINT')], 'x\n').outputs, [
      '{\n' +
        '  "ts" : "2024-05-01T12:00:00.000Z",\n' +
        '  "metadata" : {\n' +
        '    "n" : 1,\n' +
        '    "f" : 0.5,\n' +
        '    "small" : 1.0E-7,\n' +
        '    "t" : true,\n' +
        '    "list" : [ 1, "a", {\n' +
        '      "x" : [ ]\n' +
        '    } ],\n' +
        '    "empty" : { },\n' +
        '    "none" : [ ]\n' +
        '  },\n' +
        '  "data" : "x"\n' +
        '}\n',
    ]);
  });
});

describe('ADDBRACKETS', () => {
  const brackets: DataProcessingOption = { optionName: 'ADDBRACKETS' };

  it('wraps the record, its newline inside (Java test: a record without one)', () => {
    assert.deepEqual(convert([brackets], ['hello there!! :)', 'hello\n', 'crlf\r\n']).outputs, [
      '{hello there!! :)}',
      '{hello\n}',
      '{crlf\r\n}',
    ]);
  });

  it('bytes that are not UTF-8 become U+FFFD, as decoding them into a Java String does', () => {
    const processor = processorsFor([brackets], recordingEvents().events)[0];
    const buffer = Buffer.from([0x61, 0xff, 0x0a]);
    const chunk: FramedChunk = {
      ...chunkOf(['a?\n']),
      records: new ChunkRecords(buffer, Uint32Array.of(0), Uint32Array.of(3), undefined),
    };
    assert.deepEqual([...processor.process(chunk).records.data(0)], [0x7b, 0x61, 0xef, 0xbf, 0xbd, 0x0a, 0x7d]);
  });
});

describe('a chain of options', () => {
  it('runs them in the configured order: SINGLELINE, LOGTOJSON, ADDBRACKETS', () => {
    const chain: DataProcessingOption[] = [
      { optionName: 'SINGLELINE', parseOptions: [] },
      logToJson('SYSLOG'),
      { optionName: 'ADDBRACKETS' },
    ];
    const { outputs } = convert(chain, ['  Mar 12 12:01:02 server4 snort: a\n   b  \n']);
    assert.deepEqual(outputs, [
      '{{"timestamp":"Mar 12 12:01:02","hostname":"server4","program":"snort","processid":null,"message":"ab"}\n}',
    ]);
  });

  it('LOGTOJSON then ADDMETADATA: the JSON line becomes the data string', () => {
    const chain: DataProcessingOption[] = [
      logToJson('SYSLOG'),
      { optionName: 'ADDMETADATA', metadata: 'web', timestamp: false, jsonFormat: 'COMPACT' },
    ];
    assert.deepEqual(convert(chain, 'Mar 12 12:01:02 h p: m\n').outputs, [
      '{"metadata":"web","data":"{\\"timestamp\\":\\"Mar 12 12:01:02\\",\\"hostname\\":\\"h\\",\\"program\\":\\"p\\",' +
        '\\"processid\\":null,\\"message\\":\\"m\\"}"}\n',
    ]);
  });

  it('a dropped record goes no further, and is counted against the option that dropped it', () => {
    const chain: DataProcessingOption[] = [{ optionName: 'ADDBRACKETS' }, logToJson('SYSLOG'), logToJson('SYSLOG')];
    const { outputs, notConverted } = convert(chain, 'x\ny\n');
    assert.deepEqual(outputs, []);
    assert.deepEqual(notConverted, [['dataProcessingOptions[1] LOGTOJSON', 'skipped', 2, undefined]]);
  });

  it('a converter that throws ships the raw record, not what the converters before it made, and is counted', () => {
    const { events, named } = recordingEvents();
    const failing = {
      convert(text: string): string {
        if (text.startsWith('{bad')) throw new Error('not a JSON object');
        return text;
      },
    };
    const chain = new ConverterChain(
      [
        { name: 'dataProcessingOptions[0] ADDBRACKETS', converter: new AddBrackets() },
        { name: 'dataProcessingOptions[1] TEST', converter: failing },
      ],
      events,
    );
    const input = chunkOf(['bad 1\n', 'good\n', 'bad 2\n']);
    const out = chain.process(input);
    assert.deepEqual(textsOf(out), ['bad 1\n', '{good\n}', 'bad 2\n']);
    assert.ok(out.records.positionOf(0), 'the raw record is the read bytes themselves');
    assert.deepEqual(named('recordsNotConverted'), [
      ['dataProcessingOptions[1] TEST', 'failed', 2, 'not a JSON object'],
    ]);
  });

  it('no options, no processor', () => {
    assert.deepEqual(processorsFor([], recordingEvents().events), []);
  });
});

describe('checkpoints through the converters', () => {
  it('a converted record ends where its input record ends; a dropped line is passed once those around it are', () => {
    const lines = ['Mar 12 12:01:02 h p: one\n', 'junk\n', 'Mar 12 12:01:03 h p: two\n', 'junk again\n'];
    const input = chunkOf(lines);
    const processor = processorsFor([logToJson('SYSLOG')], recordingEvents().events)[0];
    const out = processor.process(input);
    assert.equal(out.records.count, 2);
    assert.deepEqual([...out.ends], [input.ends[0], input.ends[2]]);
    assert.equal(out.endOffset, input.endOffset);
    assert.equal(out.startOffset, input.startOffset);

    const progress = new FileProgress(0, () => undefined);
    const span = progress.openSpan(out.startOffset, out.ends, out.endOffset, out.heldBytes, out.records);
    span.acknowledge(1);
    assert.equal(progress.committedOffset, 0, 'the second record is acknowledged but the first is not');
    span.acknowledge(0);
    assert.equal(progress.committedOffset, input.endOffset, 'both delivered: past the dropped lines too');
  });
});
