import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorDocuments } from '../../../../src/engine/firehose/delivery/error-records.js';
import type { BufferedRecord } from '../../../../src/engine/firehose/types.js';

function lines(buffer: Buffer): string[] {
  const text = buffer.toString('utf8');
  assert.ok(text.endsWith('\n'), 'each document ends in a newline');
  return text.slice(0, -1).split('\n');
}

describe('error output documents', () => {
  const direct: BufferedRecord = {
    seq: 1,
    recordId: 'r1',
    approximateArrivalMs: 1594265943615,
    data: Buffer.from('hi'),
  };

  it('are one JSON document per record, in Firehose field order, with lambdaArn for processing-failed', () => {
    const binary: BufferedRecord = { ...direct, seq: 2, recordId: 'r2', data: Buffer.from([0, 255, 10]) };
    const failure = {
      attemptsMade: 4,
      errorCode: 'Lambda.FunctionError',
      errorMessage: 'The Lambda function was successfully invoked but it returned an error result.',
      attemptEndingMs: 1594266081318,
      lambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:xform:$LATEST',
    };
    const out = errorDocuments([direct, binary].map((record) => ({ record, ...failure })));
    const [first, second] = lines(out);
    assert.equal(
      first,
      '{"attemptsMade":4,"arrivalTimestamp":1594265943615,"errorCode":"Lambda.FunctionError",' +
        '"errorMessage":"The Lambda function was successfully invoked but it returned an error result.",' +
        '"attemptEndingTimestamp":1594266081318,"rawData":"aGk=",' +
        '"lambdaArn":"arn:aws:lambda:us-east-1:123456789012:function:xform:$LATEST"}',
    );
    assert.deepEqual(Buffer.from(JSON.parse(second).rawData, 'base64'), Buffer.from([0, 255, 10]));
  });

  it('name the stream record (subsequenceNumber, dataId) for a Kinesis source, and no lambdaArn without one', () => {
    const sequenceNumber = '49607357361271740811418664280693044274821622880012337186';
    const kinesis = { shardId: 'shardId-000000000000', partitionKey: 'pk', sequenceNumber, approximateArrivalMs: 1 };
    const records: BufferedRecord[] = [
      { ...direct, kinesis },
      { ...direct, kinesis: { ...kinesis, subsequenceNumber: 3 } },
    ];
    const failure = { attemptsMade: 5, errorCode: 'HttpEndpoint.DestinationException', errorMessage: 'x' };
    const failed = records.map((record) => ({ record, ...failure, attemptEndingMs: 2 }));
    const docs = lines(errorDocuments(failed)).map((line) => JSON.parse(line));
    assert.deepEqual(Object.keys(docs[0]), [
      'attemptsMade',
      'arrivalTimestamp',
      'errorCode',
      'errorMessage',
      'attemptEndingTimestamp',
      'rawData',
      'subsequenceNumber',
      'dataId',
    ]);
    assert.equal(docs[0].dataId, `${sequenceNumber}.0`);
    assert.equal(docs[1].subsequenceNumber, 3);
    assert.equal(docs[1].dataId, `${sequenceNumber}.3`);
  });

  it('keep messages with quotes and newlines on one line', () => {
    const out = errorDocuments([
      {
        record: direct,
        attemptsMade: 1,
        errorCode: 'HttpEndpoint.DestinationException',
        errorMessage: 'line one\nline "two"',
        attemptEndingMs: 3,
      },
    ]);
    assert.equal(lines(out).length, 1);
    assert.equal(JSON.parse(lines(out)[0]).errorMessage, 'line one\nline "two"');
  });
});
