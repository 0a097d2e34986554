/**
 * The sidecar's start-up path, without a container (none runs on this machine): the config in
 * SHARDTAIL_CONFIG and no -c, one setting overridden by a SHARDTAIL_SET_* variable, lines shipped
 * to an engine in its own process, SIGTERM while shipping, exit 0 with every line delivered once;
 * and `check` and `backfill` reading the same environment.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  appendLines,
  assertCliBuilt,
  createStream,
  describeReport,
  Ledger,
  runCli,
  seqId,
  startAgent,
  stopCleanly,
  StreamCollector,
} from '../support/agent-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'sidecar-stream';

/** agent.json as a pod spec would hold it; its filePattern matches nothing until overridden. */
function sidecarConfig(dir: string, endpoint: string): string {
  return JSON.stringify({
    'kinesis.endpoint': endpoint,
    'kinesis.region': 'us-east-1',
    awsAccessKeyId: 'AKIDSHARDTAILSIDECAR',
    awsSecretAccessKey: 'shardtail-sidecar-secret',
    'cloudwatch.emitMetrics': false,
    checkpointFile: path.join(dir, 'state', 'checkpoints.db'),
    flows: [
      {
        filePattern: path.join(dir, 'not-the-shared-volume', '*.log'),
        kinesisStream: STREAM,
        initialPosition: 'START_OF_FILE',
        maxBufferAgeMillis: 100,
      },
    ],
  });
}

describe('the sidecar: config from the environment', { timeout: 60_000 }, () => {
  test('check: SHARDTAIL_CONFIG without -c is used, and a bad override is named in each problem', async () => {
    const dir = makeTempDir('shardtail-sidecar-check-');
    const env = {
      SHARDTAIL_CONFIG: sidecarConfig(dir, 'http://127.0.0.1:9'),
      SHARDTAIL_SET_flows__0__maxBufferAgeMillis: '10',
      SHARDTAIL_SET_flows__3__filePattern: '/logs/*.log',
      SHARDTAIL_SET_checkpointFile__path: 'x',
    };
    const bad = await runCli(['check'], { cwd: dir, env });
    assert.equal(bad.code, 2, bad.stderr);
    const lines = bad.stderr.trimEnd().split('\n').sort();
    assert.equal(lines.length, 3, bad.stderr);
    assert.match(
      lines[0],
      /^\$SHARDTAIL_CONFIG: maxBufferAgeMillis \(flows\[0\].*\): 10 .*\(set by SHARDTAIL_SET_flows__0__maxBufferAgeMillis\)$/,
    );
    assert.match(lines[1], /^SHARDTAIL_SET_checkpointFile__path: checkpointFile is '.*', so it has no keys to set$/);
    assert.match(lines[2], /^SHARDTAIL_SET_flows__3__filePattern: flows has 1 entry; there is no flows\[3\]$/);

    const good = await runCli(['check'], {
      cwd: dir,
      env: { SHARDTAIL_CONFIG: env.SHARDTAIL_CONFIG, SHARDTAIL_SET_flows__0__maxBufferAgeMillis: '500' },
    });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^\$SHARDTAIL_CONFIG: OK \(1 flow\)$/m);
  });

  test('start: the overridden filePattern is tailed; SIGTERM while shipping drains and exits 0', async (t) => {
    const engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-sidecar-engine-') });
    t.after(() => engine.stop(5_000));
    await createStream(engine.url, STREAM, 1);
    const dir = makeTempDir('shardtail-sidecar-');
    const sharedVolume = path.join(dir, 'shared');
    mkdirSync(sharedVolume);
    const file = path.join(sharedVolume, 'app.log');
    const ledger = new Ledger();
    const initial: Buffer[] = [];
    for (let i = 0; i < 2_000; i++) initial.push(ledger.line(seqId('before', i), 'written before start'));
    appendLines(file, initial);

    const env = {
      SHARDTAIL_CONFIG: sidecarConfig(dir, engine.url),
      SHARDTAIL_SET_flows__0__filePattern: path.join(sharedVolume, '*.log'),
    };
    const agent = await startAgent({ cwd: dir, env });
    t.after(() => agent.kill());
    const collector = new StreamCollector(engine.url, STREAM);
    await collector.until((records) => records.length > 0, { agent, message: 'the first records' });

    // Lines keep coming while SIGTERM arrives, so the stop happens with batches open and in flight.
    for (let chunk = 0; chunk < 20; chunk++) {
      const lines: Buffer[] = [];
      for (let i = 0; i < 200; i++) lines.push(ledger.line(seqId(`during-${chunk}`, i), 'written while shipping'));
      appendLines(file, lines);
    }
    await stopCleanly(agent);
    const stopped = agent.logs.find((entry) => entry.msg === 'shardtail stopped');
    assert.equal(stopped?.drained, true, `every batch read must be acknowledged before exit:\n${agent.tail()}`);

    // What had not been read yet at SIGTERM is still in the file: a restart (as the pod's would be)
    // ships exactly that, so nothing acknowledged is sent twice and nothing is lost.
    const restarted = await startAgent({ cwd: dir, env });
    t.after(() => restarted.kill());
    await collector.until((records) => ledger.allArrived(records), {
      agent: restarted,
      message: () => `every line after the restart (${describeReport(ledger.report(collector.records), ledger.size)})`,
    });
    await stopCleanly(restarted);
    ledger.assertExactlyOnce(collector.records, 'a drained stop must leave nothing to resend');
  });

  test('backfill: SHARDTAIL_CONFIG and an override are honoured too', async (t) => {
    const engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-sidecar-engine-') });
    t.after(() => engine.stop(5_000));
    await createStream(engine.url, STREAM, 1);
    const dir = makeTempDir('shardtail-sidecar-backfill-');
    const sharedVolume = path.join(dir, 'shared');
    mkdirSync(sharedVolume);
    const ledger = new Ledger();
    const lines: Buffer[] = [];
    for (let i = 0; i < 500; i++) lines.push(ledger.line(seqId('old', i), 'an old line'));
    appendLines(path.join(sharedVolume, 'old.log'), lines);
    const result = await runCli(['backfill'], {
      cwd: dir,
      env: {
        SHARDTAIL_CONFIG: sidecarConfig(dir, engine.url),
        SHARDTAIL_SET_flows__0__filePattern: path.join(sharedVolume, '*.log'),
      },
    });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const collector = new StreamCollector(engine.url, STREAM);
    await collector.poll();
    ledger.assertExactlyOnce(collector.records);
  });
});
