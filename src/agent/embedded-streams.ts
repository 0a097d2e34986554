import path from 'node:path';
import { AwsApiError } from '../client/api-error.js';
import {
  bucketNameFor,
  createDeliveryStreamRequest,
  deliveryStreamStatus,
  waitUntilActive,
} from '../client/delivery-streams.js';
import type { Logger } from '../log.js';
import type { Destination } from '../send/destination.js';

/** The embedded engine's status delay is short; this only bounds a start that would hang. */
const DELIVERY_STREAM_ACTIVE_TIMEOUT_MS = 60_000;

/**
 * Creates a flow's stream on the embedded engine when it is missing, so that a fresh install just
 * works. Only ever called for the embedded engine: on AWS, streams cost money and carry permissions
 * that only their owner can decide.
 */
export async function ensureEmbeddedStream(
  destination: Destination,
  options: { shards: number; engineDataDir: string; logger: Logger },
): Promise<void> {
  const { client, streamName } = destination;
  if (destination.service === 'firehose') {
    // Delivering to the directory standing in for its bucket, with AWS's default buffering; ACTIVE
    // before the flow starts, since puts are refused before.
    if ((await deliveryStreamStatus(client, streamName)) === undefined) {
      await client.call('CreateDeliveryStream', createDeliveryStreamRequest({ name: streamName }));
      const bucket = bucketNameFor(streamName);
      options.logger.info(
        { deliveryStream: streamName, bucket, objects: path.join(path.resolve(options.engineDataDir), 's3', bucket) },
        'created delivery stream on the embedded engine',
      );
    }
    await waitUntilActive(client, streamName, DELIVERY_STREAM_ACTIVE_TIMEOUT_MS);
    return;
  }
  try {
    await client.call('DescribeStreamSummary', { StreamName: streamName });
  } catch (error) {
    if (!(error instanceof AwsApiError) || error.code !== 'ResourceNotFoundException') throw error;
    await client.call('CreateStream', { StreamName: streamName, ShardCount: options.shards });
    options.logger.info({ stream: streamName, shards: options.shards }, 'created stream on the embedded engine');
  }
}
