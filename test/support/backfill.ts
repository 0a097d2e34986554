import assert from 'node:assert/strict';
import { runCli, type ReceivedRecord } from './agent-process.js';
import { startEngineProcess } from './engine-process.js';

/**
 * Every record a stream holds in an embedded engine's data dir, read after the agent exited:
 * through `shardtail engine` on that dir and `shardtail stream read --json`.
 */
export async function readStoredRecords(dataDir: string, stream: string): Promise<ReceivedRecord[]> {
  const engine = await startEngineProcess({ dataDir });
  try {
    const read = await runCli(['stream', 'read', stream, '--endpoint', engine.url, '--json'], { timeoutMs: 30_000 });
    assert.equal(read.code, 0, `stream read: ${read.stderr}`);
    return read.stdout
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        const entry = JSON.parse(line);
        return {
          shardId: entry.shardId,
          sequenceNumber: entry.sequenceNumber,
          partitionKey: entry.partitionKey,
          data: Buffer.from(entry.dataBase64, 'base64'),
        };
      });
  } finally {
    await engine.stop(5_000);
  }
}

const SUMMARY = /^backfill: (\d+) files, (\d+) records, (\d+) bytes in (\d+(?:\.\d+)?) s \((\d+) records\/s\)/m;

export interface BackfillSummary {
  files: number;
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSecond: number;
}

/** The summary line `shardtail backfill` prints on stdout. */
export function parseBackfillSummary(stdout: string): BackfillSummary {
  const match = SUMMARY.exec(stdout);
  assert.ok(match, `no summary line in stdout:\n${stdout}`);
  return {
    files: Number(match[1]),
    records: Number(match[2]),
    bytes: Number(match[3]),
    seconds: Number(match[4]),
    recordsPerSecond: Number(match[5]),
  };
}
