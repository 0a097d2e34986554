/**
 * `"aggregation": true` end to end, with `shardtail start` and `shardtail stream read` as real child
 * processes: 100,000 short lines reach the engine as KPL aggregated records (fewer than 1,000
 * Kinesis records), `stream read` prints every line once, and a `kill -9` in the middle of shipping
 * followed by a restart loses none, with duplicates only from the one batch in flight.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deaggregate, recordFieldBytes } from '../../src/client/kpl-format.js';
import {
  appendLines,
  assertCliBuilt,
  createStream,
  describeReport,
  embeddedConfig,
  Ledger,
  logsUnder,
  remoteConfig,
  runCli,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
  type AgentProcess,
  type ReceivedRecord,
} from '../support/agent-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

const STREAM = 'kpl-stream';
const LINES = 100_000;

before(assertCliBuilt);
after(removeTempDirs);

/**
 * The user records of what a collector read, de-aggregated as KCL does, kept up to date as it reads
 * more; every user record must carry its Kinesis record's partition key.
 */
class UserRecords {
  readonly records: ReceivedRecord[] = [];
  private read = 0;

  constructor(private readonly collector: StreamCollector) {}

  update(): ReceivedRecord[] {
    for (const record of this.collector.records.slice(this.read)) {
      const result = deaggregate(record.data);
      assert.notEqual(result.kind, 'corrupt', `record ${record.sequenceNumber} is a corrupt aggregate`);
      if (result.kind !== 'aggregate') {
        this.records.push(record);
        continue;
      }
      for (const user of result.records) {
        assert.equal(user.partitionKey, record.partitionKey, 'a user record has its Kinesis record key');
        this.records.push({ ...record, data: Buffer.from(user.data) });
      }
    }
    this.read = this.collector.records.length;
    return this.records;
  }
}

function shortLines(ledger: Ledger, prefix: string, from: number, to: number): Buffer[] {
  const lines: Buffer[] = [];
  for (let i = from; i < to; i++) lines.push(ledger.line(seqId(prefix, i), `short ${i}`));
  return lines;
}

describe('KPL aggregation end to end', { timeout: 120_000 }, () => {
  test(`${LINES} short lines arrive as fewer than 1,000 Kinesis records; stream read prints each once`, async (t) => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-kpl-'));
    const ledger = new Ledger();
    writeFileSync(path.join(logDir, 'app.log'), Buffer.concat(shortLines(ledger, 'kpl', 0, LINES)));
    const agent = await startAgent({ configFile: embeddedConfig(dir, STREAM, { aggregation: true }) });
    t.after(() => agent.kill());
    assert.ok(agent.engineUrl, `no "embedded engine listening" line:\n${agent.tail()}`);
    const collector = new StreamCollector(agent.engineUrl, STREAM);
    const users = new UserRecords(collector);
    await collector.until(() => ledger.allArrived(users.update()), {
      timeoutMs: 60_000,
      agent,
      message: () => `all lines (${describeReport(ledger.report(users.records), ledger.size)})`,
    });
    ledger.assertExactlyOnce(users.records);
    const kinesisRecords = collector.records.length;
    t.diagnostic(`${LINES} lines in ${kinesisRecords} Kinesis records`);
    assert.ok(kinesisRecords < 1_000, `${kinesisRecords} Kinesis records`);

    const read = await runCli(['stream', 'read', STREAM, '--endpoint', agent.engineUrl], { timeoutMs: 60_000 });
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stderr, '');
    const printed = read.stdout.split('\n').slice(0, -1);
    assert.equal(printed.length, LINES);
    ledger.assertExactlyOnce(
      printed.map((line) => ({ shardId: '', sequenceNumber: '', partitionKey: '', data: Buffer.from(`${line}\n`) })),
      'stream read',
    );
    await stopCleanly(agent);
  });

  test('kill -9 in the middle of shipping, then a restart: no line lost', async (t) => {
    const engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-kpl-engine-') });
    t.after(() => engine.stop(5_000));
    await createStream(engine.url, STREAM, 1);
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-kpl-crash-'));
    // Small aggregates, one a call: shipping takes hundreds of calls, and the kill lands among them.
    const aggregateBytes = 4096;
    const configFile = remoteConfig(dir, engine.url, STREAM, {
      aggregation: true,
      aggregatedRecordSizeBytes: aggregateBytes,
      maxBufferSizeRecords: 1,
    });
    const ledger = new Ledger();
    const file = path.join(logDir, 'app.log');
    // Half the lines are there before the start: the agent is draining a backlog when it is killed.
    let written = LINES / 2;
    writeFileSync(file, Buffer.concat(shortLines(ledger, 'crash', 0, written)));
    const agents: AgentProcess[] = [];
    t.after(async () => {
      for (const agent of agents) await agent.kill();
    });
    const collector = new StreamCollector(engine.url, STREAM);
    const users = new UserRecords(collector);

    // The writer appends the rest while the agent ships.
    const chunk = 500;
    const writing = (async () => {
      while (written < LINES) {
        appendLines(file, shortLines(ledger, 'crash', written, written + chunk));
        written += chunk;
        await sleep(10);
      }
    })();

    const first = await startAgent({ configFile });
    agents.push(first);
    await collector.until(() => users.update().length >= 10_000, { timeoutMs: 30_000, agent: first });
    const writtenAtKill = written;
    const kill = await first.kill();
    assert.equal(kill.signal, 'SIGKILL');
    await sleep(100); // a call that reached the engine before the kill is stored by now
    await collector.poll();
    const arrivedAtKill = new Set(users.update().map((record) => record.data.toString())).size;
    assert.ok(arrivedAtKill < LINES, `every line had arrived before the kill (${arrivedAtKill}): nothing was tested`);

    const second = await startAgent({ configFile });
    agents.push(second);
    await writing;
    await collector.until(() => ledger.allArrived(users.update()), {
      timeoutMs: 60_000,
      agent: second,
      message: () => `all lines after the restart (${describeReport(ledger.report(users.records), ledger.size)})`,
    });
    await sleep(300); // a window for a late duplicate to show: nothing positive to wait for
    await collector.poll();
    await stopCleanly(second);
    const report = ledger.report(users.update());
    assert.equal(describeReport({ ...report, duplicates: new Map() }, ledger.size), '', 'nothing lost or torn');

    const duplicates = [...report.duplicates.values()].reduce((sum, copies) => sum + copies - 1, 0);
    // The most lines one aggregate holds: the body's key table entry (a RANDOM key of at most 24
    // bytes) and each line's record entry, with magic, MD5 and the key itself around them.
    const lineBytes = Buffer.byteLength(`#${seqId('crash', LINES - 1)}# short ${LINES - 1}\n`);
    const perAggregate = Math.floor((aggregateBytes - 20 - 26 - 24) / recordFieldBytes(lineBytes, 0));
    t.diagnostic(
      `kill -9 with ${arrivedAtKill} of ${writtenAtKill} lines written arrived; ${duplicates} duplicates after ` +
        `the restart (${collector.records.length} Kinesis records in all; the one batch in flight holds at most ` +
        `${perAggregate} lines)`,
    );
    assert.ok(
      duplicates <= perAggregate,
      `${duplicates} duplicates: more than the one batch in flight (an aggregate of at most ${perAggregate} lines)`,
    );
  });
});
