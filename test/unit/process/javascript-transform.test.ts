/**
 * USINGJAVASCRIPT: a module's default export transforms each record's text or drops it (null), in
 * the chain's order; what it throws or returns wrongly ships the raw record, counted; a module
 * that cannot be loaded, or exports no function, stops the flow from starting, naming the file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { processorsFor } from '../../../src/process/converter-chain.js';
import { ProcessingPipeline } from '../../../src/process/processor.js';
import { RecordLimit } from '../../../src/process/record-limit.js';
import { makeTempDir, removeTempDirs } from '../../support/tmp.js';
import { recordingEvents, textsOf } from '../support.js';
import { framed } from './converting.js';

after(removeTempDirs);

const dir = makeTempDir('shardtail-unit-js-transform-');

function moduleFile(name: string, source: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

async function run(modulePath: string, input: string, before: 'ADDBRACKETS' | undefined = undefined) {
  const { events, named } = recordingEvents();
  const options = [
    ...(before === undefined ? [] : [{ optionName: before } as const]),
    { optionName: 'USINGJAVASCRIPT' as const, modulePath },
  ];
  const pipeline = new ProcessingPipeline(processorsFor(options, events), new RecordLimit(1 << 20, Buffer.from('\n')));
  await pipeline.ready();
  const chunk = pipeline.run(framed(input), () => undefined);
  return { outputs: textsOf(chunk), chunk, notConverted: named('recordsNotConverted') };
}

describe('USINGJAVASCRIPT', () => {
  const redact = moduleFile(
    'redact.mjs',
    `export default (record) => record.startsWith('DEBUG') ? null : record.replace(/password=\\S+/, 'password=***');\n`,
  );

  it('transforms each record, drops those it returns null for, and keeps the checkpoint offsets', async () => {
    const input = 'INFO login password=hunter2\nDEBUG noise\nWARN done\n';
    const { outputs, chunk, notConverted } = await run(redact, input);
    assert.deepEqual(outputs, ['INFO login password=***\n', 'WARN done\n']);
    assert.equal(chunk.endOffset, Buffer.byteLength(input), 'the dropped line is behind the checkpoint too');
    assert.deepEqual(
      notConverted.map(([name, outcome, records]) => [name, outcome, records]),
      [['dataProcessingOptions[0] USINGJAVASCRIPT', 'skipped', 1]],
    );
  });

  it('runs in the chain after the options before it; a CommonJS module works too', async () => {
    const upper = moduleFile('upper.cjs', 'module.exports = (record) => record.toUpperCase();\n');
    // ADDBRACKETS wraps the record as read, its newline included, as the Java agent does.
    assert.deepEqual((await run(upper, 'a\n', 'ADDBRACKETS')).outputs, ['{A\n}']);
  });

  it('what it throws, or returns other than a string or null, ships the raw record, counted', async () => {
    const picky = moduleFile(
      'picky.mjs',
      `export default (record) => {
  if (record.startsWith('throw')) throw new Error('no thanks');
  if (record.startsWith('number')) return 42;
  if (record.startsWith('async')) return Promise.resolve(record);
  return 'ok\\n';
};\n`,
    );
    const { outputs, notConverted } = await run(picky, 'throw\nnumber\nasync\nfine\n');
    assert.deepEqual(outputs, ['throw\n', 'number\n', 'async\n', 'ok\n']);
    assert.equal(notConverted.length, 1);
    const [name, outcome, records, reason] = notConverted[0];
    assert.deepEqual([name, outcome, records], ['dataProcessingOptions[0] USINGJAVASCRIPT', 'failed', 3]);
    assert.match(String(reason), /no thanks/, 'the first failure says why');
  });

  it('a module that does not load, or has no function as its default export, is refused by name', async () => {
    const broken = moduleFile('broken.mjs', 'export default (record) => {\n');
    await assert.rejects(run(broken, 'x\n'), (error: Error) => error.message.includes(broken));
    const notAFunction = moduleFile('object.mjs', 'export default { transform: (r) => r };\n');
    await assert.rejects(
      run(notAFunction, 'x\n'),
      (error: Error) =>
        error.message.includes(notAFunction) && /default export that is a function.*object/.test(error.message),
    );
  });
});
