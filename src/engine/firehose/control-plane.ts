import { destinationOfCreate, mergeUpdate } from './delivery-stream-config.js';
import { describeDeliveryStream as describe } from './describe.js';
import * as errors from './errors.js';
import type { DeliveryStream, DeliveryStreamRegistry, StreamSource } from './registry.js';
import { tagsOfRequest } from './tags.js';
import type { DeliveryStreamType } from './types.js';

/** A request after validation: the members of the operation's model, blobs as Buffers. */
export type Input = Record<string, any>;

/** The engine's Kinesis stream an ARN names, if there is one. */
export type KinesisStreamLookup = (streamArn: string) => { streamName: string; streamArn: string } | undefined;

export interface ControlPlane {
  streams: DeliveryStreamRegistry;
  findKinesisStream: KinesisStreamLookup;
  deliveryStreamLimit: number;
}

export const DESTINATION_ID = 'destinationId-000000000001';

export function createDeliveryStream(plane: ControlPlane, input: Input): object {
  const { streams } = plane;
  const name = input.DeliveryStreamName as string;
  const type = (input.DeliveryStreamType ?? 'DirectPut') as DeliveryStreamType | 'MSKAsSource' | 'DatabaseAsSource';
  if (type !== 'DirectPut' && type !== 'KinesisStreamAsSource')
    throw errors.invalidArgument(
      `DeliveryStreamType ${type} is not supported by this engine: use DirectPut or KinesisStreamAsSource.`,
    );
  if (input.DeliveryStreamEncryptionConfigurationInput)
    throw errors.encryptionNotSupported('DeliveryStreamEncryptionConfigurationInput');
  const source = type === 'KinesisStreamAsSource' ? sourceOf(plane, input) : undefined;
  if (type === 'DirectPut' && input.KinesisStreamSourceConfiguration)
    throw errors.invalidArgument(
      'KinesisStreamSourceConfiguration is only allowed with DeliveryStreamType KinesisStreamAsSource.',
    );
  const destination = destinationOfCreate(input);
  const tags = tagsOfRequest(input.Tags);
  if (streams.find(name)) throw errors.deliveryStreamExists(name, streams.accountId);
  if (streams.size >= plane.deliveryStreamLimit)
    throw errors.tooManyDeliveryStreams(streams.accountId, plane.deliveryStreamLimit);
  const now = streams.now();
  const stream: DeliveryStream = {
    name,
    arn: streams.arnOf(name),
    type,
    pendingStatus: 'CREATING',
    statusUntilMs: now,
    versionId: 1,
    createdMs: now,
    updatedMs: now,
    tags,
    destination,
    source,
    directPutThroughputHint: input.DirectPutSourceConfiguration?.ThroughputHintInMBs,
    config: undefined,
    configProblem: undefined,
  };
  // Checked before anything is stored: a configuration that does not check creates nothing.
  streams.refreshConfig(stream, true);
  streams.add(stream);
  return { DeliveryStreamARN: stream.arn };
}

function sourceOf(plane: ControlPlane, input: Input): StreamSource {
  const config = input.KinesisStreamSourceConfiguration as Input | undefined;
  if (!config)
    throw errors.invalidArgument(
      'KinesisStreamSourceConfiguration is required for a KinesisStreamAsSource delivery stream.',
    );
  const found = plane.findKinesisStream(config.KinesisStreamARN as string);
  if (!found)
    throw errors.invalidArgument(
      `KinesisStreamARN ${config.KinesisStreamARN} names no stream of this engine (region ${plane.streams.region}, ` +
        `account ${plane.streams.accountId}).`,
    );
  return { ...found, roleArn: config.RoleARN as string, startTimestampMs: plane.streams.now() };
}

export function describeDeliveryStream(plane: ControlPlane, input: Input): object {
  const stream = plane.streams.require(input.DeliveryStreamName as string);
  return describe(stream, plane.streams.statusOf(stream), DESTINATION_ID);
}

export function listDeliveryStreams(plane: ControlPlane, input: Input): object {
  const limit = (input.Limit as number | undefined) ?? 10;
  const after = input.ExclusiveStartDeliveryStreamName as string | undefined;
  const matching = plane.streams
    .all()
    .filter((stream) => input.DeliveryStreamType === undefined || stream.type === input.DeliveryStreamType)
    .filter((stream) => after === undefined || stream.name > after);
  return {
    DeliveryStreamNames: matching.slice(0, limit).map((stream) => stream.name),
    HasMoreDeliveryStreams: matching.length > limit,
  };
}

export function deleteDeliveryStream(plane: ControlPlane, input: Input): object {
  const { streams } = plane;
  const stream = streams.require(input.DeliveryStreamName as string);
  const status = streams.statusOf(stream);
  if (status === 'CREATING') throw errors.deleteWhileCreating(stream.name, streams.accountId);
  if (status !== 'DELETING') streams.startDeleting(stream);
  return {};
}

export function updateDestination(plane: ControlPlane, input: Input): object {
  const { streams } = plane;
  const stream = streams.require(input.DeliveryStreamName as string);
  const status = streams.statusOf(stream);
  if (status !== 'ACTIVE') throw errors.deliveryStreamNotActive(stream.name, streams.accountId, status);
  if (input.DestinationId !== DESTINATION_ID)
    throw errors.unknownDestinationId(input.DestinationId as string, stream.name);
  if (BigInt(input.CurrentDeliveryStreamVersionId as string) !== BigInt(stream.versionId))
    throw errors.staleVersion(stream.name, input.CurrentDeliveryStreamVersionId as string, stream.versionId);
  const destination = mergeUpdate(stream.destination, input);
  const versionId = stream.versionId + 1;
  const config = streams.configOf(stream, destination, versionId);
  Object.assign(stream, { destination, versionId, config, configProblem: undefined, updatedMs: streams.now() });
  streams.updated(stream);
  return {};
}
