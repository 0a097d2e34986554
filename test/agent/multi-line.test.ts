/**
 * multiLineStartPattern end to end: `shardtail start` with its embedded engine tails Java stack
 * traces written the way slow writers write them (the first line, then the rest a second later),
 * and each trace must arrive as one record, byte-exact; a kill -9 while a trace is half read must
 * resend that trace whole after the restart, never its tail as a record of its own.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { appendLines, assertCliBuilt, Ledger, seqId, stopCleanly } from '../support/agent-process.js';
import {
  embeddedScenario,
  launch,
  restartUntilAllArrived,
  untilAllArrived,
  type EmbeddedScenario,
} from '../support/embedded-scenario.js';
import { removeTempDirs } from '../support/tmp.js';

const STREAM = 'multi-line-stream';
const FLOW = { multiLineStartPattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}' };

function setup(t: TestContext): EmbeddedScenario {
  return embeddedScenario(t, 'shardtail-multi-line-', STREAM, FLOW);
}

const logFileOf = (s: EmbeddedScenario) => path.join(s.logDir, 'app.log');

/** A Java stack trace with the id `id` in its first line, which the ledger expects as one record. */
function trace(ledger: Ledger, id: string, n: number): { first: Buffer; rest: Buffer } {
  const second = String(n % 60).padStart(2, '0');
  const first = Buffer.from(`2024-05-01 12:00:${second} ERROR [main] #${id}# request failed\n`);
  let rest = `java.lang.IllegalStateException: request ${n} failed\n`;
  for (let i = 0; i < 3 + (n % 4); i++) rest += `\tat com.example.Service${i}.handle(Service${i}.java:${10 * i + n})\n`;
  rest += `Caused by: java.io.IOException: connection reset\n\t... ${n + 5} more\n`;
  ledger.expect(id, Buffer.concat([first, Buffer.from(rest)]));
  return { first, rest: Buffer.from(rest) };
}

before(assertCliBuilt);
after(removeTempDirs);

describe('multiLineStartPattern', { timeout: 60_000 }, () => {
  test('stack traces whose continuation lines come a second after their first line: one record each', async (t) => {
    const s = setup(t);
    const agent = await launch(s);
    for (let n = 0; n < 4; n++) {
      const { first, rest } = trace(s.ledger, seqId('slow', n), n);
      appendLines(logFileOf(s), [first]);
      await sleep(1000); // the slow writer, not a wait for the agent
      appendLines(logFileOf(s), [rest]);
    }
    // The last trace has no start line after it: it ships once the file has been idle for 5 s.
    await untilAllArrived(s, agent, 20_000);
    await stopCleanly(agent);
    s.ledger.assertExactlyOnce(s.collector!.records);
  });

  test('kill -9 while a trace is half read: after the restart the trace arrives whole', async (t) => {
    const s = setup(t);
    const first = await launch(s);
    const traces = Array.from({ length: 4 }, (_, n) => trace(s.ledger, seqId('crash', n), n));
    // Traces 0 and 1 whole, then the start of trace 2, in the same write as the end of trace 1:
    // trace 1 is complete only once the agent read the start of trace 2, so its arrival says so.
    const half = traces[2].rest.indexOf('\tat ');
    appendLines(logFileOf(s), [
      traces[0].first,
      traces[0].rest,
      traces[1].first,
      traces[1].rest,
      traces[2].first,
      traces[2].rest.subarray(0, half),
    ]);
    await s.collector!.until((records) => records.some((record) => record.data.includes('#crash-000001#')), {
      agent: first,
      message: 'trace 1 to arrive before kill -9',
    });
    const killed = await first.kill();
    assert.equal(killed.signal, 'SIGKILL');
    // The rest of trace 2 comes while the agent is down, then trace 3.
    appendLines(logFileOf(s), [traces[2].rest.subarray(half), traces[3].first, traces[3].rest]);

    const report = await restartUntilAllArrived(s, 'each trace arrives whole: none lost, split or altered');
    const duplicated = [...report.duplicates.keys()].sort();
    t.diagnostic(`traces delivered twice after kill -9: ${duplicated.join(', ') || 'none'}`);
    assert.ok(
      duplicated.every((id) => id === seqId('crash', 0) || id === seqId('crash', 1)),
      `only traces delivered before the kill may be resent (in flight, or not yet checkpointed): ${duplicated}`,
    );
  });
});
