/**
 * Counting what arrived by the sequence number inside each line, for runs of hundreds of thousands
 * of lines: `#<prefix>-<seq>#` (the id format of agent-process.ts `seqId`, so `idOf` reads it),
 * then a filler that is a pure function of (prefix, seq, width), so every record is also checked
 * byte for byte without keeping the written lines in memory.
 *
 * Figures per scenario: written / delivered (distinct lines that arrived) / missing / duplicated
 * (extra copies), plus records that were never written as such (torn or garbled) and records whose
 * bytes differ from the line written.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import {
  describeBytes,
  idOf,
  seqId,
  type AgentProcess,
  type DeliveryReport,
  type ReceivedRecord,
  type StreamCollector,
} from './agent-process.js';

const FILLER = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The exact bytes of line `seq` of source `prefix`, about `width` bytes long (at least the id). */
export function seqLine(prefix: string, seq: number, width: number): Buffer {
  const head = `#${seqId(prefix, seq)}# `;
  const room = Math.max(0, width - head.length - 1);
  let filler = '';
  const offset = seq % FILLER.length;
  while (filler.length < room) filler += FILLER.slice(offset) + FILLER.slice(0, offset);
  return Buffer.from(`${head}${filler.slice(0, room)}\n`, 'latin1');
}

export interface Figures {
  written: number;
  delivered: number;
  missing: number;
  duplicated: number;
  /** Records with no known id (torn lines, garbage). */
  unexpected: number;
  /** Records with a known id whose bytes differ from the line written. */
  mismatched: number;
  /**
   * Lines not delivered that no longer exist in any file (destroyed by the rotation tool itself): not counted as
   * missing.
   */
  excused: number;
  /**
   * Lines the rotation tool tore (copytruncate copied the head of a line, then truncated its rest
   * away) that arrived as exactly the head left on disk, as a let-go file's last line should.
   */
  torn?: number;
  /** Records read from the stream in all. */
  received: number;
}

interface Source {
  width: number;
  written: number;
  /** Copies received, by seq. */
  counts: number[];
  excused: Set<number>;
  /** The bytes left on disk of lines the rotation tool tore, by seq. */
  torn: Map<number, Buffer>;
}

export class SeqTally {
  private readonly sources = new Map<string, Source>();
  private consumed = 0;
  private extraCopies = 0;
  private received = 0;
  private readonly unexpectedSamples: ReceivedRecord[] = [];
  private unexpectedCount = 0;
  /**
   * Records with a known id whose bytes differ from the line written; judged when counted, since a torn line may be
   * declared later.
   */
  private readonly mismatches: Array<{ source: Source; seq: number; id: string; data: Buffer }> = [];

  /** Declares a source of lines; `width` is the line length seqLine() is called with. */
  source(prefix: string, width: number): void {
    assert.ok(!prefix.includes('#'), 'test bug: a prefix may not contain #');
    assert.ok(!this.sources.has(prefix), `test bug: source ${prefix} declared twice`);
    this.sources.set(prefix, { width, written: 0, counts: [], excused: new Set(), torn: new Map() });
  }

  /** The next line of a source; counts it as written. */
  next(prefix: string): Buffer {
    const source = this.sources.get(prefix)!;
    return seqLine(prefix, source.written++, source.width);
  }

  written(prefix?: string): number {
    if (prefix !== undefined) return this.sources.get(prefix)?.written ?? 0;
    let total = 0;
    for (const source of this.sources.values()) total += source.written;
    return total;
  }

  /**
   * A line that no longer exists on disk (lost by the rotation tool, not the agent): not missing if it never arrives.
   */
  excuse(prefix: string, seq: number): void {
    this.sources.get(prefix)?.excused.add(seq);
  }

  /**
   * A line of which only `head` is left on disk, unterminated (torn by the rotation tool): arriving as `head` is right.
   */
  excuseTorn(prefix: string, seq: number, head: Buffer): void {
    this.sources.get(prefix)?.torn.set(seq, head);
  }

  private tornArrivals(): number {
    return this.mismatches.filter((m) => m.source.torn.get(m.seq)?.equals(m.data) === true).length;
  }

  private realMismatches(): Array<{ id: string; data: Buffer }> {
    return this.mismatches.filter((m) => m.source.torn.get(m.seq)?.equals(m.data) !== true);
  }

  /** Reads the records `collector.records` got since the last call (they only ever grow). */
  ingest(records: ReceivedRecord[]): void {
    for (; this.consumed < records.length; this.consumed++) {
      const record = records[this.consumed];
      this.received++;
      const id = idOf(record.data);
      const dash = id === undefined ? -1 : id.lastIndexOf('-');
      const source = dash === -1 ? undefined : this.sources.get(id!.slice(0, dash));
      const seq = dash === -1 ? NaN : Number(id!.slice(dash + 1));
      if (source === undefined || !Number.isInteger(seq) || seq < 0 || seq >= source.written) {
        this.unexpectedCount++;
        if (this.unexpectedSamples.length < 5) this.unexpectedSamples.push(record);
        continue;
      }
      const copies = (source.counts[seq] ?? 0) + 1;
      source.counts[seq] = copies;
      if (copies > 1) this.extraCopies++;
      if (!record.data.equals(seqLine(id!.slice(0, dash), seq, source.width)))
        this.mismatches.push({ source, seq, id: id!, data: record.data });
    }
  }

  /** Extra copies received so far: compare two readings to attribute duplicates to a crash. */
  get duplicatesSoFar(): number {
    return this.extraCopies;
  }

  /** Every written line arrived (or is excused). */
  complete(): boolean {
    for (const source of this.sources.values()) {
      for (let seq = 0; seq < source.written; seq++)
        if (!(source.counts[seq] > 0) && !source.excused.has(seq)) return false;
    }
    return true;
  }

  figures(): Figures {
    let written = 0;
    let delivered = 0;
    let missing = 0;
    let excused = 0;
    for (const source of this.sources.values()) {
      written += source.written;
      for (let seq = 0; seq < source.written; seq++) {
        if (source.counts[seq] > 0) delivered++;
        else if (source.excused.has(seq)) excused++;
        else missing++;
      }
    }
    const torn = this.tornArrivals();
    return {
      written,
      delivered,
      missing,
      duplicated: this.extraCopies,
      unexpected: this.unexpectedCount,
      mismatched: this.mismatches.length - torn,
      excused,
      ...(torn > 0 ? { torn } : {}),
      received: this.received,
    };
  }

  /** Missing seqs as ranges, e.g. `app-000100..app-000150 (51)`. */
  missingRanges(limit = 8): string[] {
    const ranges: string[] = [];
    for (const [prefix, source] of this.sources) {
      let start = -1;
      const flush = (end: number) => {
        if (start === -1) return;
        ranges.push(
          end === start ? seqId(prefix, start) : `${seqId(prefix, start)}..${seqId(prefix, end)} (${end - start + 1})`,
        );
        start = -1;
      };
      for (let seq = 0; seq < source.written; seq++) {
        const isMissing = !(source.counts[seq] > 0) && !source.excused.has(seq);
        if (isMissing && start === -1) start = seq;
        if (!isMissing) flush(seq - 1);
      }
      flush(source.written - 1);
    }
    return ranges.length > limit ? [...ranges.slice(0, limit), `… ${ranges.length - limit} more ranges`] : ranges;
  }

  /** Seqs that are missing, per source (for callers that map them to files or rotations). */
  missingSeqs(prefix: string): number[] {
    const source = this.sources.get(prefix);
    if (!source) return [];
    const out: number[] = [];
    for (let seq = 0; seq < source.written; seq++)
      if (!(source.counts[seq] > 0) && !source.excused.has(seq)) out.push(seq);
    return out;
  }

  duplicateRanges(limit = 8): string[] {
    const ranges: string[] = [];
    for (const [prefix, source] of this.sources) {
      let start = -1;
      for (let seq = 0; seq <= source.written; seq++) {
        const dup = seq < source.written && source.counts[seq] > 1;
        if (dup && start === -1) start = seq;
        if (!dup && start !== -1) {
          ranges.push(`${seqId(prefix, start)}..${seqId(prefix, seq - 1)} (${seq - start})`);
          start = -1;
        }
      }
    }
    return ranges.length > limit ? [...ranges.slice(0, limit), `… ${ranges.length - limit} more ranges`] : ranges;
  }

  /** Detail for failure messages. */
  describeProblems(): string {
    const parts: string[] = [];
    const missing = this.missingRanges();
    if (missing.length > 0) parts.push(`missing: ${missing.join(', ')}`);
    const dups = this.duplicateRanges();
    if (dups.length > 0) parts.push(`duplicated: ${dups.join(', ')}`);
    if (this.unexpectedCount > 0)
      parts.push(
        `${this.unexpectedCount} records never written as such, e.g. ` +
          `${this.unexpectedSamples.map((r) => describeBytes(r.data)).join('; ')}`,
      );
    const mismatched = this.realMismatches();
    if (mismatched.length > 0) {
      const samples = mismatched.slice(0, 5).map((m) => `${m.id}: got ${describeBytes(m.data)}`);
      parts.push(`${mismatched.length} records not byte-exact, e.g. ${samples.join('; ')}`);
    }
    return parts.join('\n');
  }
}

/** Figures from a Ledger report (the byte-exact, id-by-id checks of the bad-input scenarios). */
export function figuresFromLedger(report: DeliveryReport, expected: number): Figures {
  const duplicated = [...report.duplicates.values()].reduce((sum, n) => sum + n - 1, 0);
  return {
    written: expected,
    delivered: expected - report.missing.length,
    missing: report.missing.length,
    duplicated,
    unexpected: report.unexpected.length,
    mismatched: report.mismatched.length,
    excused: 0,
    received: report.received,
  };
}

export function formatFigures(scenario: string, f: Figures, extra: Record<string, unknown> = {}): string {
  let line =
    `${scenario}: written ${f.written} / delivered ${f.delivered} / missing ${f.missing} / duplicated ` +
    `${f.duplicated}`;
  if (f.unexpected > 0) line += ` / unexpected ${f.unexpected}`;
  if (f.mismatched > 0) line += ` / not byte-exact ${f.mismatched}`;
  if (f.excused > 0) line += ` / lost by the rotation tool (not counted as missing) ${f.excused}`;
  if (f.torn) line += ` / torn by the rotation tool, shipped as the head left on disk ${f.torn}`;
  const more = Object.entries(extra).map(([key, value]) => `${key} ${value}`);
  if (more.length > 0) line += ` (${more.join('; ')})`;
  return line;
}

/**
 * Prints the scenario's figures (test diagnostic, and a line appended to
 * $SHARDTAIL_RELIABILITY_SUMMARY when set, for a summary across files).
 */
export function reportFigures(
  t: TestContext,
  scenario: string,
  f: Figures,
  extra: Record<string, unknown> = {},
): string {
  const line = formatFigures(scenario, f, extra);
  t.diagnostic(line);
  const summary = process.env.SHARDTAIL_RELIABILITY_SUMMARY;
  if (summary) appendFileSync(summary, JSON.stringify({ scenario, ...f, ...extra }) + '\n');
  return line;
}

/** missing = 0, nothing torn or altered, and at most `maxDuplicates` extra copies. */
export function assertFigures(
  f: Figures,
  options: { maxDuplicates: number; scenario: string; details?: string },
): void {
  const problems: string[] = [];
  if (f.missing > 0) problems.push(`${f.missing} lines missing`);
  if (f.duplicated > options.maxDuplicates)
    problems.push(`${f.duplicated} duplicates, over the bound of ${options.maxDuplicates}`);
  if (f.unexpected > 0) problems.push(`${f.unexpected} records that were never written as such`);
  if (f.mismatched > 0) problems.push(`${f.mismatched} records not byte-exact`);
  assert.ok(
    problems.length === 0,
    `${formatFigures(options.scenario, f)}: ${problems.join('; ')}${options.details ? `\n${options.details}` : ''}`,
  );
}

/**
 * A tally scenario's failure details: why waiting ended early (if it did), what the tally found wrong, the agent's last
 * lines.
 */
export function tallyDetails(timedOut: string, tally: SeqTally, agent: AgentProcess, lines = 10): string {
  return [timedOut, tally.describeProblems(), `agent output:\n${agent.tail(lines)}`].filter(Boolean).join('\n');
}

/** Reads what is new on the stream into the tally. */
export async function readLatest(collector: StreamCollector, tally: SeqTally): Promise<void> {
  await collector.poll();
  tally.ingest(collector.records);
}

/**
 * Reads the stream into the tally until every line written has arrived. Gives up after
 * `timeoutMs` and returns why ('' when every line came), so that a scenario still reports its
 * figures before its assertions fail.
 */
export async function untilEveryLine(
  collector: StreamCollector,
  tally: SeqTally,
  options: { timeoutMs: number; agent: AgentProcess; message: string },
): Promise<string> {
  try {
    await collector.until((records) => {
      tally.ingest(records);
      return tally.complete();
    }, options);
    return '';
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}
