import { AwsApiError } from '../../client/api-error.js';

/**
 * Every error the Kinesis service answers after a request passed validation, one constructor each,
 * worded as Kinesis words it (clients and people match on these texts). `account` is the account
 * id that Kinesis names in most of them.
 */

const invalidArgument = (message: string) => new AwsApiError('InvalidArgumentException', message, 400);
const resourceNotFound = (message: string) => new AwsApiError('ResourceNotFoundException', message, 400);
const resourceInUse = (message: string) => new AwsApiError('ResourceInUseException', message, 400);
const limitExceeded = (message: string) => new AwsApiError('LimitExceededException', message, 400);

// ---- the API and its streams ----------------------------------------------------------------------

export function unsupportedOperation(action: string): AwsApiError {
  return new AwsApiError('UnknownOperationException', `Operation ${action} is not supported by this engine.`, 400);
}

export function streamNotFound(streamName: string, account: string): AwsApiError {
  return resourceNotFound(`Stream ${streamName} under account ${account} not found.`);
}

export function streamNotNamed(): AwsApiError {
  return invalidArgument('Either StreamName or StreamARN should be provided.');
}

export function streamNameAndArnDiffer(arn: string, streamName: string): AwsApiError {
  return invalidArgument(`StreamARN ${arn} and StreamName ${streamName} refer to different streams.`);
}

export function streamNotActive(streamName: string, account: string, status: string): AwsApiError {
  return resourceInUse(`Stream ${streamName} under account ${account} not ACTIVE, instead in state ${status}`);
}

export function shardLimitExceeded(
  account: string,
  region: string,
  current: number,
  limit: number,
  additional: number,
): AwsApiError {
  return limitExceeded(
    `This request would exceed the shard limit for the account ${account} in ${region}. Current shard count for the account: ${current}. Limit: ${limit}. Number of additional shards that would have resulted from this request: ${additional}. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.`,
  );
}

// ---- control plane --------------------------------------------------------------------------------

export function shardCountWithOnDemand(): AwsApiError {
  return invalidArgument('ShardCount is not expected when StreamMode=ON_DEMAND.');
}

export function shardCountMissingForProvisioned(): AwsApiError {
  return invalidArgument('ShardCount is required when StreamMode=PROVISIONED.');
}

export function streamExists(streamName: string, account: string): AwsApiError {
  return resourceInUse(`Stream ${streamName} under account ${account} already exists.`);
}

export function tooManyStreamsCreating(account: string, limit: number): AwsApiError {
  return limitExceeded(`Number of streams in CREATING state for account ${account} exceeds the limit of ${limit}.`);
}

export function invalidNextToken(token: string): AwsApiError {
  return invalidArgument(`Invalid NextToken: ${token}`);
}

export function expiredNextToken(lifetimeSeconds: number): AwsApiError {
  return new AwsApiError(
    'ExpiredNextTokenException',
    `The nextToken has expired. Tokens are valid for ${lifetimeSeconds} seconds.`,
    400,
  );
}

export function nextTokenWith(member: 'StreamName' | 'StreamARN' | 'ExclusiveStartShardId'): AwsApiError {
  return invalidArgument(`NextToken and ${member} cannot be provided together.`);
}

export function neitherNextTokenNorStream(): AwsApiError {
  return invalidArgument('Either NextToken or StreamName should be provided.');
}

/** ListShards words this one differently from streamNotActive ("is not"). */
export function streamStillCreating(streamName: string, account: string): AwsApiError {
  return resourceInUse(`Stream ${streamName} under account ${account} is not ACTIVE, instead in state CREATING`);
}

export function shardFilterWithoutShardId(): AwsApiError {
  return invalidArgument('ShardId must be provided with ShardFilter type AFTER_SHARD_ID.');
}

export function shardFilterWithoutTimestamp(type: string): AwsApiError {
  return invalidArgument(`Timestamp must be provided with ShardFilter type ${type}.`);
}

// ---- writes ---------------------------------------------------------------------------------------

export function invalidExplicitHashKey(explicitHashKey: string): AwsApiError {
  return invalidArgument(
    `Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was ` +
      `${explicitHashKey}`,
  );
}

export function recordTooLarge(
  recordBytes: number,
  maxBytes: number,
  streamName: string,
  account: string,
): AwsApiError {
  return invalidArgument(
    `Record size of ${recordBytes} bytes (data plus partition key) exceeds the maximum record size of ` +
      `${maxBytes} bytes for stream ${streamName} under account ${account}.`,
  );
}

export function callTooLarge(maxCallBytes: number): AwsApiError {
  return invalidArgument(`Records size exceeds ${maxCallBytes / (1024 * 1024)} MB limit`);
}

export function invalidSequenceForOrdering(sequence: string, streamName: string, account: string): AwsApiError {
  return invalidArgument(
    `ExclusiveMinimumSequenceNumber ${sequence} used in PutRecord on stream ${streamName} under account ` +
      `${account} is invalid.`,
  );
}

/** The text of a throttled PutRecords entry, and of the error a throttled call throws. */
export function throttledMessage(shardId: string, streamName: string, account: string): string {
  return `Rate exceeded for shard ${shardId} in stream ${streamName} under account ${account}.`;
}

export function throughputExceeded(shardId: string, streamName: string, account: string): AwsApiError {
  return new AwsApiError('ProvisionedThroughputExceededException', throttledMessage(shardId, streamName, account), 400);
}

// ---- reads ----------------------------------------------------------------------------------------

/** A shard id that is not one (or, when resharding, names no shard of the stream). */
export function shardNotFound(shardIdText: string, streamName: string, account: string): AwsApiError {
  return resourceNotFound(`Could not find shard ${shardIdText} in stream ${streamName} under account ${account}.`);
}

/** A well-formed shard id of a shard the stream does not have (any more). */
export function shardDoesNotExist(shardId: string, streamName: string, account: string): AwsApiError {
  return resourceNotFound(`Shard ${shardId} in stream ${streamName} under account ${account} does not exist`);
}

const ITERATOR_TYPE_RULE =
  'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) ' +
  'TRIM_HORIZON or LATEST and no StartingSequenceNumber.';

export function iteratorTypeNeedsSequence(type: string): AwsApiError {
  return invalidArgument(`${ITERATOR_TYPE_RULE} Request specified ${type} and no StartingSequenceNumber.`);
}

export function iteratorTypeTakesNoSequence(type: string): AwsApiError {
  return invalidArgument(`${ITERATOR_TYPE_RULE} Request specified ${type} and also a StartingSequenceNumber.`);
}

export function iteratorTimestampMissing(): AwsApiError {
  return invalidArgument(
    'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no ' +
      'timestamp parameter.',
  );
}

export function iteratorTimestampInFuture(timestamp: number, now: number): AwsApiError {
  return invalidArgument(
    `The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: ` +
      `${timestamp}, currentTimestampInMillis: ${now}`,
  );
}

export function invalidStartingSequence(
  sequence: string,
  shardId: string,
  streamName: string,
  account: string,
): AwsApiError {
  return invalidArgument(
    `StartingSequenceNumber ${sequence} used in GetShardIterator on shard ${shardId} in stream ${streamName} ` +
      `under account ${account} is invalid.`,
  );
}

export function startingSequenceOfOtherStream(
  sequence: string,
  shardId: string,
  streamName: string,
  account: string,
): AwsApiError {
  return invalidArgument(
    `StartingSequenceNumber ${sequence} used in GetShardIterator on shard ${shardId} in stream ${streamName} ` +
      `under account ${account} is invalid because it did not come from this stream.`,
  );
}

export function startingSequenceOfOtherShard(encodedShardId: string, shardId: string): AwsApiError {
  return invalidArgument(
    `Invalid StartingSequenceNumber. It encodes ${encodedShardId}, while it was used in a call to a shard with ` +
      `${shardId}`,
  );
}

export function invalidShardIterator(): AwsApiError {
  return invalidArgument('Invalid ShardIterator.');
}

/** `createdAt` and `now` as Kinesis prints them, e.g. `Mon Jan 05 10:00:00 UTC 2026`. */
export function expiredIterator(createdAt: string, now: string, lifetimeMs: number): AwsApiError {
  return new AwsApiError(
    'ExpiredIteratorException',
    `Iterator expired. The iterator was created at time ${createdAt} while right now it is ${now} which is ` +
      `further in the future than the tolerated delay of ${lifetimeMs} milliseconds.`,
    400,
  );
}

export function iteratorOfOtherStream(arn: string): AwsApiError {
  return invalidArgument(`StreamARN ${arn} does not match the stream of the shard iterator.`);
}

/** A server fault that retrying cannot mend, so the message tells the reader how to get past it. */
export function damagedRecords(
  first: string,
  last: string,
  shardId: string,
  streamName: string,
  account: string,
  file: string,
  reason: string,
): AwsApiError {
  return new AwsApiError(
    'InternalFailureException',
    `Records ${first} to ${last} of shard ${shardId} in stream ${streamName} under account ${account} are ` +
      `damaged in the engine's storage (${file}: ${reason}) and cannot be returned. ` +
      `To read the records after them, get a shard iterator of type AFTER_SEQUENCE_NUMBER with ` +
      `StartingSequenceNumber ${last}.`,
    500,
    { retryable: false },
  );
}

// ---- resharding -----------------------------------------------------------------------------------

export function notForOnDemand(operation: string, streamName: string, account: string): AwsApiError {
  return new AwsApiError(
    'ValidationException',
    `${operation} is not supported for stream ${streamName} under account ${account} because it is in ` +
      `ON_DEMAND capacity mode.`,
    400,
  );
}

export function shardAlreadyClosed(shardId: string, streamName: string, account: string): AwsApiError {
  return resourceInUse(
    `Shard ${shardId} in stream ${streamName} under account ${account} has already been merged or split, and ` +
      `thus is not eligible for merging or splitting.`,
  );
}

export function splitPointOutsideShard(
  newStartingHashKey: string,
  shardId: string,
  streamName: string,
  account: string,
  startHash: bigint,
  endHash: bigint,
): AwsApiError {
  return invalidArgument(
    `NewStartingHashKey ${newStartingHashKey} used in SplitShard() on shard ${shardId} in stream ${streamName} ` +
      `under account ${account} is not both greater than one plus the shard's StartingHashKey ${startHash} and ` +
      `less than the shard's EndingHashKey ${endHash}.`,
  );
}

export function shardsNotAdjacent(
  shardId: string,
  adjacentShardId: string,
  streamName: string,
  account: string,
): AwsApiError {
  return invalidArgument(
    `Shards ${shardId} and ${adjacentShardId} in stream ${streamName} under account ${account} are not an ` +
      `adjacent pair of shards eligible for merging`,
  );
}

export function scaleUpTooFar(current: number, target: number): AwsApiError {
  return limitExceeded(
    `UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: ` +
      `${current} Target shard count: ${target}`,
  );
}

export function scaleDownTooFar(current: number, target: number): AwsApiError {
  return limitExceeded(
    `UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: ` +
      `${current} Target shard count: ${target}`,
  );
}

// ---- retention and tags ---------------------------------------------------------------------------

export function retentionTooShort(minimumHours: number, hours: number): AwsApiError {
  return invalidArgument(
    `Minimum allowed retention period is ${minimumHours} hours. Requested retention period (${hours} hours) is ` +
      `too short.`,
  );
}

export function retentionTooLong(maximumHours: number, hours: number): AwsApiError {
  return invalidArgument(
    `Maximum allowed retention period is ${maximumHours} hours. Requested retention period (${hours} hours) ` +
      `is too long.`,
  );
}

export function retentionNotIncreased(hours: number, streamName: string, currentHours: number): AwsApiError {
  return invalidArgument(
    `Requested retention period (${hours} hours) for stream ${streamName} can not be shorter than existing ` +
      `retention period (${currentHours} hours). Use DecreaseRetentionPeriod API.`,
  );
}

export function retentionNotDecreased(hours: number, streamName: string, currentHours: number): AwsApiError {
  return invalidArgument(
    `Requested retention period (${hours} hours) for stream ${streamName} can not be longer than existing ` +
      `retention period (${currentHours} hours). Use IncreaseRetentionPeriod API.`,
  );
}

export function invalidTagCharacters(): AwsApiError {
  return invalidArgument(
    'Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - @.',
  );
}

export function reservedTagPrefix(key: string): AwsApiError {
  return invalidArgument(`Tag key ${key} uses the reserved prefix aws:.`);
}

export function tooManyTags(streamName: string, account: string, limit: number): AwsApiError {
  return invalidArgument(
    `Failed to add tags to stream ${streamName} under account ${account} because a given stream cannot have ` +
      `more than ${limit} tags associated with it.`,
  );
}
