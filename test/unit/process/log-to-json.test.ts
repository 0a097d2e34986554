/**
 * Golden tests for LOGTOJSON: input lines and the exact bytes the Java agent makes of them, from
 * its own unit tests (DataConverterTest, marked "Java test") and from its code as the research
 * notes read it (§2): key order, null for `-` in Apache formats only, values as strings,
 * `referer`, `[client addr]`, and Java's `.` stopping at "\r" (so CRLF lines never match).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convert, logToJson } from './converting.js';

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
