/**
 * Issue 4, scenario 4: a standalone engine with `--enforce-limits` and a 1-shard stream (1,000
 * records/s, 1 MiB/s in), written to faster than that, so that most PutRecords calls come back
 * partly or wholly throttled. Every line arrives, exactly once (no crash: no duplicate allowed).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertCliBuilt,
  createStream,
  startAgent,
  stopCleanly,
  StreamCollector,
  logsUnder,
  remoteConfig,
} from '../support/agent-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { BATCH_RECORDS, scale, since, SOAK } from '../support/reliability-env.js';
import {
  assertFigures,
  reportFigures,
  SeqTally,
  readLatest,
  untilEveryLine,
  tallyDetails,
} from '../support/reliability-tally.js';
import { LineWriter } from '../support/reliability-writer.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'throttled';
const BEFORE_START = scale(6_000, 40_000);
const APPENDED = scale(6_000, 80_000);
/** Above the shard's 1,000 records/s. */
const LINES_PER_SECOND = 2_000;
const LINE_WIDTH = 100;

describe('reliability: a throttling engine', { timeout: scale(120_000, 600_000) }, () => {
  test('--enforce-limits, 1 shard, written faster than 1,000 records/s: every line exactly once', async (t) => {
    const engine = await startEngineProcess({
      dataDir: makeTempDir('shardtail-rel-throttle-engine-'),
      enforceLimits: true,
    });
    t.after(() => engine.stop(5_000));
    await createStream(engine.url, STREAM, 1);
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-rel-throttle-'));
    const configFile = remoteConfig(dir, engine.url, STREAM, { maxBufferAgeMillis: 50 });
    const tally = new SeqTally();
    const writer = new LineWriter({
      tally,
      prefix: 'thr',
      file: path.join(logDir, 'app.log'),
      width: LINE_WIDTH,
      linesPerSecond: LINES_PER_SECOND,
      total: BEFORE_START + APPENDED,
    });
    writer.writeNow(BEFORE_START);

    const started = Date.now();
    const agent = await startAgent({ configFile, env: { SHARDTAIL_LOG_LEVEL: 'debug' } });
    t.after(() => agent.kill());
    writer.start();
    const collector = new StreamCollector(engine.url, STREAM);
    await writer.finish();
    // 1,000 records/s is the ceiling: allow twice the ideal time, plus start-up.
    const timedOut = await untilEveryLine(collector, tally, {
      timeoutMs: 10_000 + ((BEFORE_START + APPENDED) / 1000) * 2_000,
      agent,
      message: 'every line to arrive through the throttled shard',
    });
    const took = since(started);
    await readLatest(collector, tally);
    await stopCleanly(agent);

    const rejected = agent.logs.filter((entry) => entry.msg === 'records rejected; resending only those');
    const throttled = rejected.filter((entry) => entry.code === 'ProvisionedThroughputExceededException');
    const wholly = throttled.filter((entry) => entry.failed === entry.of).length;
    const recordsRejected = throttled.reduce((sum, entry) => sum + Number(entry.failed ?? 0), 0);
    const figures = tally.figures();
    // Every batch ends with exactly one call without rejections; there are at least written/500 batches.
    const minCleanCalls = Math.ceil(figures.written / BATCH_RECORDS);
    const scenario = 'throttled 1-shard stream';
    reportFigures(t, scenario, figures, {
      took,
      'throttled calls': `${throttled.length} (${wholly} wholly rejected)`,
      'calls without rejection (= batches)': `≥ ${minCleanCalls}`,
      'records rejected and resent': recordsRejected,
      soak: SOAK,
    });
    assertFigures(figures, {
      maxDuplicates: 0,
      scenario,
      details: tallyDetails(timedOut, tally, agent),
    });
    assert.ok(throttled.length > 0, `the engine should have throttled calls:\n${agent.tail()}`);
  });
});
