/**
 * The delivery streams the agent and `shardtail firehose create` make: a valid bucket name of any
 * stream name, and the request of a spec with nothing, or everything, given.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketNameFor, createDeliveryStreamRequest, LOCAL_ROLE_ARN } from '../../src/client/delivery-streams.js';

/** S3's rules for a bucket name (those a delivery stream name can break). */
const VALID_BUCKET = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

describe('delivery streams on a local engine', () => {
  it('a valid bucket name made of any delivery stream name', () => {
    const cases: Array<[string, string]> = [
      ['web-logs', 'web-logs'],
      ['Cli.Stream_1', 'cli.stream-1'],
      ['_under_', 'under'],
      ['a..b', 'a.b'],
      ['ab', 'ab-firehose'],
      ['__', 'firehose'],
      ['X'.repeat(64), 'x'.repeat(63)],
      [`${'a'.repeat(62)}_b`, 'a'.repeat(62)],
    ];
    for (const [name, bucket] of cases) {
      assert.equal(bucketNameFor(name), bucket, name);
      assert.match(bucketNameFor(name), VALID_BUCKET, name);
    }
  });

  it("the agent's default: DirectPut to the stream's bucket, with AWS's buffering (no hints)", () => {
    assert.deepEqual(createDeliveryStreamRequest({ name: 'Web_Logs' }), {
      DeliveryStreamName: 'Web_Logs',
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: { RoleARN: LOCAL_ROLE_ARN, BucketARN: 'arn:aws:s3:::web-logs' },
    });
  });

  it('one buffering hint given: the other is AWS default, since BufferingHints takes both', () => {
    const request = createDeliveryStreamRequest({ name: 'd', bufferSeconds: 1 });
    assert.deepEqual((request.ExtendedS3DestinationConfiguration as Record<string, unknown>).BufferingHints, {
      SizeInMBs: 5,
      IntervalInSeconds: 1,
    });
  });
});
