import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../../../src/log.js';
import { openFirehoseDatabase } from '../../../../src/engine/firehose/database.js';
import { RecordBuffer } from '../../../../src/engine/firehose/record-buffer.js';
import {
  DeliveryStreamWorker,
  type AttemptOutcome,
  type BatchDeliverer,
  type DeliveryBatch,
} from '../../../../src/engine/firehose/delivery/stream-worker.js';
import type { DeliveryStreamConfig } from '../../../../src/engine/firehose/types.js';
import { waitFor } from '../../../support/wait.js';
import { makeTempDir, removeTempDirs } from '../../../support/tmp.js';

after(removeTempDirs);

function configWith(sizeBytes: number, intervalMs: number): DeliveryStreamConfig {
  const s3 = {
    bucketArn: 'arn:aws:s3:::b',
    target: { kind: 'directory' as const, root: '/nonexistent' },
    prefix: '',
    errorOutputPrefix: undefined,
    compression: 'UNCOMPRESSED' as const,
    fileExtension: undefined,
    bufferingHints: { sizeBytes, intervalMs },
  };
  return {
    name: 's',
    arn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/s',
    type: 'DirectPut',
    source: undefined,
    versionId: 1,
    region: 'us-east-1',
    destination: {
      kind: 's3',
      s3,
      processing: { lambda: undefined, metadataQueries: undefined, appendDelimiter: false },
      partitioning: { enabled: false, retryDurationMs: 0 },
    },
  };
}

/** A deliverer that records what it was given and answers from a script (then done). */
class ScriptedDeliverer implements BatchDeliverer {
  readonly delivered: string[][] = [];
  readonly attempts: number[] = [];
  constructor(
    private readonly buffer: RecordBuffer,
    private readonly script: AttemptOutcome[] = [],
  ) {}
  async deliver(batch: DeliveryBatch): Promise<AttemptOutcome> {
    this.attempts.push(batch.batchId);
    const outcome = this.script.shift() ?? { done: true };
    if (outcome.done) {
      this.delivered.push(this.buffer.recordsOf(batch).map((record) => record.data.toString()));
      this.buffer.complete(batch);
    }
    return outcome;
  }
}

async function setUp(sizeBytes: number, intervalMs: number, script?: AttemptOutcome[]) {
  const db = openFirehoseDatabase(makeTempDir('fh-worker-'), { fsync: false });
  const buffer = new RecordBuffer(db);
  const deliverer = new ScriptedDeliverer(buffer, script);
  const worker = new DeliveryStreamWorker(configWith(sizeBytes, intervalMs), buffer, deliverer, silentLogger);
  buffer.onAppend = () => worker.appended();
  return { db, buffer, deliverer, worker };
}

const put = (buffer: RecordBuffer, ...texts: string[]) =>
  buffer.append(
    's',
    texts.map((text) => ({ data: Buffer.from(text) })),
    Date.now(),
  );

describe('DeliveryStreamWorker', () => {
  it('delivers when the size hint is reached, in batches of at most that size, before the interval', async () => {
    const { db, buffer, deliverer, worker } = await setUp(8, 60_000);
    put(buffer, 'aaaa', 'bbb');
    // A cut is made synchronously when an append reaches the hint, so none now means none was due.
    assert.deepEqual(buffer.batchesOf('s'), [], '7 bytes wait for the 8-byte hint');
    put(buffer, 'cc', 'dddd');
    await waitFor(() => deliverer.delivered.length === 1, { timeoutMs: 2_000 });
    assert.deepEqual(deliverer.delivered, [['aaaa', 'bbb']], 'the next record would pass 8 bytes');
    assert.equal(buffer.waitingOf('s').recordCount, 2, 'the rest waits for the size or the interval');
    await worker.stop();
    db.close();
  });

  it('delivers what waits once its oldest record has waited the interval, and not before', async () => {
    const { db, buffer, deliverer, worker } = await setUp(1 << 20, 300);
    const start = Date.now();
    put(buffer, 'one');
    put(buffer, 'two');
    await waitFor(() => deliverer.delivered.length === 1, { timeoutMs: 3_000 });
    assert.ok(Date.now() - start >= 290, `delivered after ${Date.now() - start} ms`);
    assert.deepEqual(deliverer.delivered, [['one', 'two']]);
    await worker.stop();
    db.close();
  });

  it('tries a failed batch again after the delay it was given, before any later one, and keeps its range', async () => {
    const { db, buffer, deliverer, worker } = await setUp(3, 0, [
      { done: false, retryInMs: 200, error: 'bucket gone' },
      { done: false, retryInMs: 200, error: 'bucket gone' },
    ]);
    put(buffer, 'abc');
    await waitFor(() => deliverer.attempts.length === 1, { timeoutMs: 2_000 });
    put(buffer, 'def');
    await waitFor(() => deliverer.delivered.length === 2, { timeoutMs: 3_000 });
    assert.deepEqual(deliverer.delivered, [['abc'], ['def']]);
    assert.equal(deliverer.attempts[0], deliverer.attempts[2], 'the third attempt is at the first batch again');
    await worker.stop();
    db.close();
  });

  it('delivers the batches cut before a restart first, as they were cut', async () => {
    const dir = makeTempDir('fh-worker-');
    let db = openFirehoseDatabase(dir, { fsync: false });
    let buffer = new RecordBuffer(db);
    put(buffer, 'cut-1', 'cut-2');
    buffer.cut('s', 1 << 20, () => ({ versionId: 1, cutAtMs: 5, attempts: 0 }));
    put(buffer, 'later');
    db.close();

    db = openFirehoseDatabase(dir, { fsync: false });
    buffer = new RecordBuffer(db);
    const deliverer = new ScriptedDeliverer(buffer);
    const worker = new DeliveryStreamWorker(configWith(1 << 20, 0), buffer, deliverer, silentLogger);
    await waitFor(() => deliverer.delivered.length === 2, { timeoutMs: 2_000 });
    assert.deepEqual(deliverer.delivered, [['cut-1', 'cut-2'], ['later']]);
    await worker.stop();
    db.close();
  });
});
