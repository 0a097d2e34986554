/**
 * A Firehose flow end to end: the agent as a child process with its embedded engine ships a log
 * file that is rotated (rename and create) to a delivery stream, and every line is in the objects
 * the engine delivers into `<dataDir>/s3/<bucket>/`, exactly once, byte for byte.
 */
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  appendLines,
  assertCliBuilt,
  embeddedEngine,
  Ledger,
  logsUnder,
  runCli,
  seqId,
  startAgent,
  stopCleanly,
  writeAgentConfig,
  type ReceivedRecord,
} from '../support/agent-process.js';
import { startEngineProcess } from '../support/engine-process.js';
import { deliveredObjects } from '../support/firehose-calls.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

before(assertCliBuilt);
after(removeTempDirs);

const STREAM = 'web-logs';

/** The delivered objects' lines, as records the ledger can check (each object is the records concatenated). */
function deliveredLines(bucketDir: string): ReceivedRecord[] {
  return deliveredObjects(bucketDir, STREAM).flatMap((object) => {
    const lines: ReceivedRecord[] = [];
    let start = 0;
    for (let end = object.data.indexOf(0x0a); end !== -1; end = object.data.indexOf(0x0a, start)) {
      lines.push({
        shardId: '',
        sequenceNumber: object.key,
        partitionKey: '',
        data: object.data.subarray(start, end + 1),
      });
      start = end + 1;
    }
    if (start < object.data.length)
      lines.push({ shardId: '', sequenceNumber: object.key, partitionKey: '', data: object.data.subarray(start) });
    return lines;
  });
}

describe('a Firehose flow on the embedded engine', { timeout: 90_000 }, () => {
  test('a rotated log file: every line delivered once into the bucket folder', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-firehose-flow-'));
    const dataDir = path.join(dir, 'engine');
    // The stream is made beforehand with a 1 s interval: the agent would create it with AWS's 300 s.
    const engine = await startEngineProcess({ dataDir });
    try {
      const created = await runCli(['firehose', 'create', STREAM, '--buffer-seconds', '1', '--endpoint', engine.url]);
      assert.equal(created.code, 0, created.stderr);
    } finally {
      await engine.stop(5_000);
    }
    const configFile = writeAgentConfig(dir, {
      engine: embeddedEngine('engine'),
      checkpointFile: 'state/checkpoints.db',
      'cloudwatch.emitMetrics': false,
      flows: [
        {
          filePattern: 'logs/app.log*',
          deliveryStream: STREAM,
          initialPosition: 'START_OF_FILE',
          maxBufferAgeMillis: 100,
          aggregatedRecordSizeBytes: 4096,
        },
      ],
    });
    const bucketDir = path.join(dataDir, 's3', STREAM);
    const ledger = new Ledger();
    const write = (file: string, from: number, count: number) => {
      const lines: Buffer[] = [];
      for (let i = from; i < from + count; i++)
        lines.push(ledger.line(seqId('fh', i), `line ${i} ${'x'.repeat(i % 97)}`));
      appendLines(path.join(logDir, file), lines);
    };

    const agent = await startAgent({ configFile });
    try {
      write('app.log', 0, 300);
      await waitFor(() => ledger.allArrived(deliveredLines(bucketDir)), {
        timeoutMs: 20_000,
        message: () => `the first 300 lines in ${bucketDir}; agent:\n${agent.tail()}`,
      });
      // logrotate's default: the file renamed (still matching the glob), a new one in its place.
      write('app.log', 300, 100);
      renameSync(path.join(logDir, 'app.log'), path.join(logDir, 'app.log.1'));
      write('app.log', 400, 150);
      write('app.log', 550, 150);
      await waitFor(() => ledger.allArrived(deliveredLines(bucketDir)), {
        timeoutMs: 30_000,
        message: () => `all 700 lines in ${bucketDir}; agent:\n${agent.tail()}`,
      });
    } finally {
      await stopCleanly(agent);
    }
    const report = ledger.assertExactlyOnce(deliveredLines(bucketDir), `objects in ${bucketDir}`);
    assert.equal(report.received, 700);
    assert.ok(deliveredObjects(bucketDir, STREAM).every((object) => /^\d{4}\/\d{2}\/\d{2}\/\d{2}\//.test(object.key)));
  });
});
