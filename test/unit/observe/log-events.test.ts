import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { LogEvents } from '../../../src/observe/log-events.js';

/** LogEvents over a pino logger whose lines are collected, with a clock the test moves. */
function logged() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  let now = 1_000_000;
  const root = new LogEvents(pino({ level: 'info' }, stream), undefined, () => now);
  const events = root.forFlow('kinesis:s:/logs/*.log', { service: 'Kinesis', streamName: 's' });
  return { events, lines, advance: (ms: number) => (now += ms) };
}

describe('LogEvents.recordsNotConverted', () => {
  test('warns naming the flow and the option, then at most every 30 s per option, with the records since', () => {
    const { events, lines, advance } = logged();
    events.recordsNotConverted('dataProcessingOptions[0] LOGTOJSON', 'skipped', 3, undefined);
    events.recordsNotConverted('dataProcessingOptions[0] LOGTOJSON', 'skipped', 2, undefined);
    events.recordsNotConverted('dataProcessingOptions[1] ADDEC2METADATA', 'failed', 1, 'not a JSON object');
    events.recordsNotConverted('dataProcessingOptions[1] ADDEC2METADATA', 'unchanged', 2, 'no EC2 metadata');
    advance(30_000);
    events.recordsNotConverted('dataProcessingOptions[0] LOGTOJSON', 'skipped', 4, undefined);
    assert.deepEqual(
      lines.map(({ flow, option, outcome, records, msg }) => ({ flow, option, outcome, records, msg })),
      [
        {
          flow: 'kinesis:s:/logs/*.log',
          option: 'dataProcessingOptions[0] LOGTOJSON',
          outcome: 'skipped',
          records: 3,
          msg:
            'dataProcessingOptions[0] LOGTOJSON: 3 records did not match and were dropped, as the Java agent does ' +
            '(logged at most every 30 s)',
        },
        {
          flow: 'kinesis:s:/logs/*.log',
          option: 'dataProcessingOptions[1] ADDEC2METADATA',
          outcome: 'failed',
          records: 1,
          msg:
            'dataProcessingOptions[1] ADDEC2METADATA: cannot convert 1 record (not a JSON object); shipped as read ' +
            '(logged at most every 30 s)',
        },
        {
          flow: 'kinesis:s:/logs/*.log',
          option: 'dataProcessingOptions[1] ADDEC2METADATA',
          outcome: 'unchanged',
          records: 2,
          msg:
            'dataProcessingOptions[1] ADDEC2METADATA: passed 2 records on unchanged (no EC2 metadata) (logged at ' +
            'most every 30 s)',
        },
        {
          flow: 'kinesis:s:/logs/*.log',
          option: 'dataProcessingOptions[0] LOGTOJSON',
          outcome: 'skipped',
          records: 6,
          msg:
            'dataProcessingOptions[0] LOGTOJSON: 6 records did not match and were dropped, as the Java agent does ' +
            '(logged at most every 30 s)',
        },
      ],
    );
    assert.ok(lines.every((line) => line.level === 40));
  });
});
