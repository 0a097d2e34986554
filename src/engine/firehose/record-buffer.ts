import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { BufferedRecord } from './types.js';

/**
 * The records of every delivery stream from the moment PutRecord(Batch) answers until their delivery
 * is done, in the engine's SQLite file: a put commits before it is answered, so a crash of the engine
 * loses nothing that was acknowledged.
 *
 * Delivery takes records in batches. A batch is cut (its range written down) before anything is
 * delivered, and its records are deleted in the transaction that marks it delivered; after a crash
 * the same batch, with the same range and the same state (object names among them), is delivered
 * again, so what a restart redoes overwrites what the crash left instead of adding to it.
 */

export interface IncomingRecord {
  data: Buffer;
  kinesis?: BufferedRecord['kinesis'];
}

/** A cut batch: a run of one delivery stream's records, with what delivery has written down about it. */
export interface Batch<State = unknown> {
  stream: string;
  batchId: number;
  firstSeq: number;
  lastSeq: number;
  recordCount: number;
  bytes: number;
  oldestArrivalMs: number;
  state: State;
}

/** What is buffered and not yet in a batch. */
export interface Waiting {
  recordCount: number;
  bytes: number;
  /** Arrival of the oldest such record; undefined when there is none. */
  oldestArrivalMs: number | undefined;
}

interface WaitingCounts {
  recordCount: number;
  bytes: number;
  /** Seq of the last record already in a batch (0 before the first). */
  cutThrough: number;
}

export class RecordBuffer {
  private readonly waiting = new Map<string, WaitingCounts>();
  private readonly statements;
  /** Told of each append after it committed: delivery measures its buffering hints then. */
  onAppend: ((stream: string) => void) | undefined;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS firehose_sequences (stream TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS firehose_records (
        stream TEXT NOT NULL, seq INTEGER NOT NULL, record_id TEXT NOT NULL, arrival_ms INTEGER NOT NULL,
        data BLOB NOT NULL, kinesis TEXT, PRIMARY KEY (stream, seq));
      CREATE TABLE IF NOT EXISTS firehose_batches (
        stream TEXT NOT NULL, batch_id INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
        record_count INTEGER NOT NULL, bytes INTEGER NOT NULL, oldest_arrival_ms INTEGER NOT NULL,
        state TEXT NOT NULL, PRIMARY KEY (stream, batch_id));
    `);
    this.statements = {
      nextSeq: db.prepare('SELECT next_seq FROM firehose_sequences WHERE stream = ?').pluck(),
      setNextSeq: db.prepare(
        'INSERT INTO firehose_sequences (stream, next_seq) VALUES (?, ?) ' +
          'ON CONFLICT (stream) DO UPDATE SET next_seq = excluded.next_seq',
      ),
      insert: db.prepare(
        'INSERT INTO firehose_records (stream, seq, record_id, arrival_ms, data, kinesis) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      lastCut: db.prepare('SELECT max(last_seq) FROM firehose_batches WHERE stream = ?').pluck(),
      lastDelivered: db.prepare('SELECT min(seq) FROM firehose_records WHERE stream = ?').pluck(),
      countAfter: db.prepare(
        'SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes ' +
          'FROM firehose_records WHERE stream = ? AND seq > ?',
      ),
      oldestAfter: db
        .prepare('SELECT arrival_ms FROM firehose_records WHERE stream = ? AND seq > ? ORDER BY seq LIMIT 1')
        .pluck(),
      sizesAfter: db.prepare(
        'SELECT seq, length(data) AS bytes, arrival_ms FROM firehose_records WHERE stream = ? AND seq > ? ORDER BY seq',
      ),
      insertBatch: db.prepare(
        'INSERT INTO firehose_batches (stream, batch_id, first_seq, last_seq, record_count, bytes, ' +
          'oldest_arrival_ms, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      batches: db.prepare('SELECT * FROM firehose_batches WHERE stream = ? ORDER BY batch_id'),
      updateBatch: db.prepare('UPDATE firehose_batches SET state = ? WHERE stream = ? AND batch_id = ?'),
      deleteBatch: db.prepare('DELETE FROM firehose_batches WHERE stream = ? AND batch_id = ?'),
      deleteRange: db.prepare('DELETE FROM firehose_records WHERE stream = ? AND seq BETWEEN ? AND ?'),
      range: db.prepare(
        'SELECT seq, record_id, arrival_ms, data, kinesis FROM firehose_records ' +
          'WHERE stream = ? AND seq BETWEEN ? AND ? ORDER BY seq',
      ),
      dropRecords: db.prepare('DELETE FROM firehose_records WHERE stream = ?'),
      dropBatches: db.prepare('DELETE FROM firehose_batches WHERE stream = ?'),
    };
  }

  /** Buffers records that arrived together; returns their RecordIds. Committed when it returns. */
  append(stream: string, records: readonly IncomingRecord[], arrivalMs: number): string[] {
    const ids: string[] = [];
    const salt = saltOf(stream);
    // Loaded before the insert, which would otherwise be counted twice.
    const counts = this.countsOf(stream);
    this.db.transaction(() => {
      let seq = (this.statements.nextSeq.get(stream) as number | undefined) ?? 1;
      for (const record of records) {
        const recordId = salt + seq.toString(16).padStart(16, '0');
        const kinesis = record.kinesis === undefined ? null : JSON.stringify(record.kinesis);
        this.statements.insert.run(stream, seq, recordId, arrivalMs, record.data, kinesis);
        ids.push(recordId);
        seq += 1;
      }
      this.statements.setNextSeq.run(stream, seq);
    })();
    counts.recordCount += records.length;
    for (const record of records) counts.bytes += record.data.length;
    this.onAppend?.(stream);
    return ids;
  }

  /** What is buffered and in no batch yet: what the buffering hints are measured against. */
  waitingOf(stream: string): Waiting {
    const counts = this.countsOf(stream);
    const oldestArrivalMs =
      counts.recordCount === 0
        ? undefined
        : (this.statements.oldestAfter.get(stream, counts.cutThrough) as number | undefined);
    return { recordCount: counts.recordCount, bytes: counts.bytes, oldestArrivalMs };
  }

  /**
   * Cuts the next batch: the waiting records in order, as many as fit in `maxBytes` (always at least
   * one). Undefined when nothing waits.
   */
  cut<State>(
    stream: string,
    maxBytes: number,
    state: (batch: Omit<Batch, 'state'>) => State,
  ): Batch<State> | undefined {
    const counts = this.countsOf(stream);
    if (counts.recordCount === 0) return undefined;
    let firstSeq = 0;
    let lastSeq = 0;
    let recordCount = 0;
    let bytes = 0;
    let oldestArrivalMs = 0;
    for (const row of this.statements.sizesAfter.iterate(stream, counts.cutThrough) as Iterable<{
      seq: number;
      bytes: number;
      arrival_ms: number;
    }>) {
      if (recordCount > 0 && bytes + row.bytes > maxBytes) break;
      if (recordCount === 0) {
        firstSeq = row.seq;
        oldestArrivalMs = row.arrival_ms;
      }
      lastSeq = row.seq;
      recordCount += 1;
      bytes += row.bytes;
    }
    if (recordCount === 0) return undefined;
    // A batch is named by its first record, so that no two batches of a stream ever share a name.
    const batchId = firstSeq;
    const shape = { stream, batchId, firstSeq, lastSeq, recordCount, bytes, oldestArrivalMs };
    const batch = { ...shape, state: state(shape) };
    this.statements.insertBatch.run(
      stream,
      batchId,
      firstSeq,
      lastSeq,
      recordCount,
      bytes,
      oldestArrivalMs,
      JSON.stringify(batch.state),
    );
    counts.cutThrough = lastSeq;
    counts.recordCount -= recordCount;
    counts.bytes -= bytes;
    return batch;
  }

  /** The batches cut and not yet delivered, oldest first: after a restart, delivery resumes with them. */
  batchesOf<State>(stream: string): Batch<State>[] {
    return (this.statements.batches.all(stream) as BatchRow[]).map((row) => ({
      stream: row.stream,
      batchId: row.batch_id,
      firstSeq: row.first_seq,
      lastSeq: row.last_seq,
      recordCount: row.record_count,
      bytes: row.bytes,
      oldestArrivalMs: row.oldest_arrival_ms,
      state: JSON.parse(row.state) as State,
    }));
  }

  recordsOf(batch: Batch<unknown>): BufferedRecord[] {
    const rows = this.statements.range.all(batch.stream, batch.firstSeq, batch.lastSeq) as RecordRow[];
    return rows.map((row) => ({
      seq: row.seq,
      recordId: row.record_id,
      approximateArrivalMs: row.arrival_ms,
      data: row.data,
      ...(row.kinesis === null ? {} : { kinesis: JSON.parse(row.kinesis) as BufferedRecord['kinesis'] }),
    }));
  }

  /** Writes down how far delivery of a batch got (attempts, what was written), durably. */
  saveState<State>(batch: Batch<State>, state: State): void {
    this.statements.updateBatch.run(JSON.stringify(state), batch.stream, batch.batchId);
    batch.state = state;
  }

  /** Delivery of a batch is done: its records and the batch go, in one transaction. */
  complete(batch: Batch<unknown>): void {
    this.db.transaction(() => {
      this.statements.deleteRange.run(batch.stream, batch.firstSeq, batch.lastSeq);
      this.statements.deleteBatch.run(batch.stream, batch.batchId);
    })();
  }

  /**
   * A deleted delivery stream's records and batches go with it. Its sequence stays, so that a stream
   * made again under the name never answers a RecordId the old one did.
   */
  drop(stream: string): void {
    this.db.transaction(() => {
      this.statements.dropRecords.run(stream);
      this.statements.dropBatches.run(stream);
    })();
    this.waiting.delete(stream);
  }

  private countsOf(stream: string): WaitingCounts {
    let counts = this.waiting.get(stream);
    if (counts === undefined) {
      const cut = this.statements.lastCut.get(stream) as number | null;
      const cutThrough = cut ?? ((this.statements.lastDelivered.get(stream) as number | null) ?? 1) - 1;
      const { n, bytes } = this.statements.countAfter.get(stream, cutThrough) as { n: number; bytes: number };
      counts = { recordCount: n, bytes, cutThrough };
      this.waiting.set(stream, counts);
    }
    return counts;
  }
}

interface BatchRow {
  stream: string;
  batch_id: number;
  first_seq: number;
  last_seq: number;
  record_count: number;
  bytes: number;
  oldest_arrival_ms: number;
  state: string;
}

interface RecordRow {
  seq: number;
  record_id: string;
  arrival_ms: number;
  data: Buffer;
  kinesis: string | null;
}

/**
 * RecordIds are opaque to clients; this one is unique per stream and position and says nothing a
 * client could lean on (real ones are long base64-looking strings).
 */
function saltOf(stream: string): string {
  return createHash('sha256').update(stream).digest('hex').slice(0, 32);
}
