/**
 * The sizes Kinesis Data Streams and Firehose accept, in one place for the agent (what it packs),
 * the config (what it allows) and the engine (what it enforces).
 */
export interface ApiLimits {
  /** Largest record (Kinesis counts the partition key in). */
  readonly maxRecordBytes: number;
  /** Records (entries) in one PutRecords / PutRecordBatch call. */
  readonly maxEntriesPerCall: number;
  /** The call's records (and keys) in all. */
  readonly maxCallBytes: number;
}

export const KINESIS_LIMITS: ApiLimits = {
  maxRecordBytes: 1024 * 1024,
  maxEntriesPerCall: 500,
  maxCallBytes: 5 * 1024 * 1024,
};
export const FIREHOSE_LIMITS: ApiLimits = {
  maxRecordBytes: 1000 * 1024,
  maxEntriesPerCall: 500,
  maxCallBytes: 4 * 1024 * 1024,
};
