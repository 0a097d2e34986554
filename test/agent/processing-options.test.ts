/**
 * `shardtail start` with a LOGTOJSON COMBINEDAPACHELOG flow to its embedded engine: Apache access
 * lines written to a file arrive on the stream as the Java agent's JSON records, byte for byte,
 * in order; a line that does not match is dropped and warned about, and the lines after it
 * still arrive.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertCliBuilt,
  embeddedConfig,
  logsUnder,
  startAgent,
  stopCleanly,
  StreamCollector,
} from '../support/agent-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

const STREAM = 'access-json';

before(assertCliBuilt);
after(removeTempDirs);

describe('dataProcessingOptions in a running agent', { timeout: 40_000 }, () => {
  test('LOGTOJSON COMBINEDAPACHELOG: written Apache lines arrive as the exact JSON records', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-processing-'));
    const configFile = embeddedConfig(dir, STREAM, {
      dataProcessingOptions: [{ optionName: 'LOGTOJSON', logFormat: 'COMBINEDAPACHELOG' }],
    });
    const logFile = path.join(logDir, 'access.log');
    appendFileSync(
      logFile,
      '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200 10450 "-" ' +
        '"Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)"\n' +
        'not an access log line\n',
    );
    const agent = await startAgent({ configFile });
    try {
      assert.ok(agent.engineUrl, agent.tail());
      const collector = new StreamCollector(agent.engineUrl, STREAM);
      appendFileSync(
        logFile,
        'web-1.example.com - alice [01/May/2024:12:00:00 +0000] "POST /api/é HTTP/1.1" 201 - ' +
          '"https://example.com/" "curl/8.5.0"\n',
      );
      const expected = [
        '{"host":"123.45.67.89","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400",' +
          '"request":"GET /java/javaResources.html HTTP/1.0","response":"200","bytes":"10450","referer":null,' +
          '"agent":"Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)"}\n',
        '{"host":"web-1.example.com","ident":null,"authuser":"alice","datetime":"01/May/2024:12:00:00 +0000",' +
          '"request":"POST /api/é HTTP/1.1","response":"201","bytes":null,"referer":"https://example.com/",' +
          '"agent":"curl/8.5.0"}\n',
      ];
      await collector.until((records) => records.length >= expected.length, {
        agent,
        message: () => `${expected.length} records; got ${collector.records.length}\n${agent.tail()}`,
      });
      assert.deepEqual(
        collector.records.map((record) => record.data.toString('utf8')),
        expected,
      );
      const warning = await agent.waitForLog((entry) => entry.outcome === 'skipped', 5_000, 'the skipped warning');
      assert.equal(warning.option, 'dataProcessingOptions[0] LOGTOJSON');
      assert.equal(warning.records, 1);
      assert.equal(warning.flow, `kinesis:${STREAM}:${path.join(dir, 'logs/*.log')}`);
    } finally {
      await stopCleanly(agent);
    }
  });
});
