/**
 * Golden tests for CSVTOJSON, SINGLELINE, ADDMETADATA, ADDBRACKETS and chains of options (LOGTOJSON
 * has its own file): input records and the exact bytes the Java agent makes of them, from its own
 * unit tests (DataConverterTest, marked "Java test") and from its code as the research notes read
 * it (§2): key order, Jackson's escapes and pretty printer, String.split and String.trim, the raw
 * record when a converter throws; and the checkpoint offsets of what comes out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonValue } from '../../../src/config/jsonc.js';
import type { DataProcessingOption } from '../../../src/config/types.js';
import { FileProgress } from '../../../src/acknowledge/file-progress.js';
import { ConverterChain, processorsFor } from '../../../src/process/converter-chain.js';
import { AddBrackets } from '../../../src/process/converters/add-brackets.js';
import { ChunkRecords, type FramedChunk } from '../../../src/tail/records.js';
import { chunkOf, recordingEvents, textsOf } from '../support.js';
import { convert, logToJson } from './converting.js';

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
