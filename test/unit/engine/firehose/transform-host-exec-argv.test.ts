import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostExecArgv } from '../../../../src/engine/firehose/transform/function-runner.js';

describe("hostExecArgv: the engine's node flags a function process is started with", () => {
  const cases: Array<[string, string[], string[]]> = [
    ['the built engine: none', [], []],
    ['tsx in tests: kept', ['--import', 'tsx'], ['--import', 'tsx']],
    [
      "the test runner's flags, with their values: dropped",
      ['--import', 'tsx', '--test', '--test-reporter', 'spec', '--test-name-pattern=x', '--test-concurrency', '1'],
      ['--import', 'tsx'],
    ],
    [
      'code given with -e, and its input type: dropped',
      ['--import', 'tsx', '--input-type=module', '-e', '--not-a-flag-but-code()'],
      ['--import', 'tsx'],
    ],
    ['an inspector: dropped', ['--inspect-brk=9229', '--enable-source-maps'], ['--enable-source-maps']],
    [
      'loaders and options around dropped flags: kept in order',
      ['--require', './preflight.cjs', '--watch', '--max-old-space-size=512', '--loader', 'x.mjs'],
      ['--require', './preflight.cjs', '--max-old-space-size=512', '--loader', 'x.mjs'],
    ],
  ];
  for (const [what, execArgv, expected] of cases) it(what, () => assert.deepEqual(hostExecArgv(execArgv), expected));
});
