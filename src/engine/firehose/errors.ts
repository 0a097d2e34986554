import { AwsApiError } from '../../client/api-error.js';

/**
 * Every error the Firehose service answers after a request passed validation, worded as Firehose
 * words it where that is known (spec firehose.md §1.1); `account` is the account id it names.
 */

export const invalidArgument = (message: string) => new AwsApiError('InvalidArgumentException', message, 400);
const resourceInUse = (message: string) => new AwsApiError('ResourceInUseException', message, 400);

export function unsupportedOperation(action: string): AwsApiError {
  return new AwsApiError('UnknownOperationException', `Operation ${action} is not supported by this engine.`, 400);
}

export function deliveryStreamNotFound(name: string, account: string): AwsApiError {
  return new AwsApiError('ResourceNotFoundException', `Firehose ${name} under account ${account} not found.`, 400);
}

export function deliveryStreamExists(name: string, account: string): AwsApiError {
  return resourceInUse(`Firehose ${name} under account ${account} already exists.`);
}

/** The wording is ours (unverified against AWS). */
export function deliveryStreamNotActive(name: string, account: string, status: string): AwsApiError {
  return resourceInUse(`Firehose ${name} under account ${account} is not ACTIVE, instead in state ${status}.`);
}

export function deleteWhileCreating(name: string, account: string): AwsApiError {
  return resourceInUse(
    `Firehose ${name} under account ${account} is in CREATING state and cannot be deleted until it is ACTIVE.`,
  );
}

export function tooManyDeliveryStreams(account: string, limit: number): AwsApiError {
  return new AwsApiError(
    'LimitExceededException',
    `You have already consumed your firehose quota of ${limit} hoses under account ${account}.`,
    400,
  );
}

export function tooManyTags(name: string, limit: number): AwsApiError {
  return new AwsApiError(
    'LimitExceededException',
    `Adding these tags would exceed the limit of ${limit} tags for the delivery stream ${name}.`,
    400,
  );
}

export function staleVersion(name: string, given: string, current: number): AwsApiError {
  return new AwsApiError(
    'ConcurrentModificationException',
    `Firehose ${name}: CurrentDeliveryStreamVersionId ${given} does not match the current version ${current}.`,
    400,
  );
}

export function unknownDestinationId(destinationId: string, name: string): AwsApiError {
  return invalidArgument(`Destination ${destinationId} does not exist in Firehose ${name}.`);
}

export function putOnStreamSource(): AwsApiError {
  return invalidArgument('This operation is not permitted on KinesisStreamAsSource delivery stream type.');
}

export function batchTooLarge(): AwsApiError {
  return invalidArgument('Records size exceeds 4 MB limit');
}

export function encryptionNotSupported(action: string): AwsApiError {
  return invalidArgument(
    `${action}: server-side encryption of delivery streams is not supported by this engine; records are ` +
      'stored unencrypted in its data directory.',
  );
}

export function onlyS3AndHttp(member: string): AwsApiError {
  return invalidArgument(
    `${member} is not supported: this engine delivers to S3 (a directory or an S3-compatible store) and ` +
      'HTTP endpoints only (ExtendedS3DestinationConfiguration, S3DestinationConfiguration, ' +
      'HttpEndpointDestinationConfiguration).',
  );
}
