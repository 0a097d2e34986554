import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JsoncSyntaxError, parseJsonc } from '../../src/config/jsonc.js';

function syntaxError(text: string): JsoncSyntaxError {
  try {
    parseJsonc(text);
  } catch (error) {
    assert.ok(error instanceof JsoncSyntaxError, `expected a JsoncSyntaxError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${JSON.stringify(text)} parsed although it is invalid`);
}

describe('parseJsonc', () => {
  test('parses plain JSON exactly as JSON.parse does', () => {
    const text = '{"a":[1,-2.5e3,true,false,null],"b":{"c":"\\u00e9\\n\\"\\\\\\/"},"d":""}';
    assert.deepEqual(parseJsonc(text), JSON.parse(text));
  });

  test('skips // and /* */ comments, but not comment markers inside strings', () => {
    const text = `// leading
      {
        /* block
           over lines */ "url": "http://example.com/*x*/", // trailing
        "n": 1 /* between */ }
      // after`;
    assert.deepEqual(parseJsonc(text), { url: 'http://example.com/*x*/', n: 1 });
  });

  test('tolerates trailing commas in objects and arrays', () => {
    assert.deepEqual(parseJsonc('{ "a": [1, 2,], "b": {},  }'), { a: [1, 2], b: {} });
  });

  test('tolerates a byte-order mark', () => {
    assert.deepEqual(parseJsonc('\uFEFF{"a":1}'), { a: 1 });
  });

  test('reports duplicate keys by path and keeps the last value', () => {
    const duplicates: string[] = [];
    const value = parseJsonc('{ "flows": [ {}, { "x": 1, "x": 2 } ], "y": 1, "y": 3 }', {
      onDuplicateKey: (keyPath) => duplicates.push(keyPath),
    });
    assert.deepEqual(value, { flows: [{}, { x: 2 }], y: 3 });
    assert.deepEqual(duplicates, ['flows[1].x', 'y']);
  });

  test('a "__proto__" key is an ordinary key', () => {
    const value = parseJsonc('{ "__proto__": { "polluted": true } }') as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), ['__proto__']);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('syntax errors carry the line and column of the offending character', () => {
    const error = syntaxError('{\n  "a": 1\n  "b": 2\n}');
    assert.equal(error.line, 3);
    assert.equal(error.column, 3);
    assert.equal(error.message, `expected ',' or '}' after the value of "a" but found '"' at line 3, column 3`);
  });

  for (const [text, message] of [
    ['', 'unexpected end of file at line 1, column 1'],
    ['{ a: 1 }', "expected a property name in double quotes but found 'a' at line 1, column 3"],
    ["{ 'a': 1 }", "expected a property name in double quotes but found ''' at line 1, column 3"],
    ['{ "a" 1 }', `expected ':' after property name "a" at line 1, column 7`],
    ['[1 2]', "expected ',' or ']' in array but found '2' at line 1, column 4"],
    ['{ "a": "x', 'unterminated string at line 1, column 8'],
    ['{ "a": "x\ty" }', 'control character inside a string (write it as an escape such as \\n) at line 1, column 10'],
    ['"\\x"', 'invalid escape sequence in string at line 1, column 2'],
    ['"\\u12g4"', '\\u must be followed by four hex digits at line 1, column 2'],
    ['{ "a": 01 }', "expected ',' or '}' after the value of \"a\" but found '1' at line 1, column 9"],
    ['{ "a": tru }', "unexpected 't' at line 1, column 8"],
    ['/* open', 'unterminated /* comment at line 1, column 1'],
    ['{} {}', 'unexpected content after the end of the JSON value at line 1, column 4'],
    ['{ "a": [1,, 2] }', "unexpected ',' at line 1, column 11"],
  ] as const) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.equal(syntaxError(text).message, message);
    });
  }
});
