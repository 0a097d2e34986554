/**
 * Every agent.json key, its type, default and valid range — the single table the loader validates
 * against. Keys, defaults and ranges follow the Java Kinesis Agent 2.0.x (research notes §1), except
 * where a comment says shardtail deliberately differs.
 *
 * Values are read the way the Java agent reads them: numbers and booleans may be written as
 * strings ("1000", "yes"), and a number or boolean given for a text key is used as its text.
 */
import { z } from 'zod';
import type { JsonValue } from './jsonc.js';
import { parseListenAddress } from './listen-address.js';
import { FIREHOSE_LIMITS, KINESIS_LIMITS } from '../client/api-limits.js';
import {
  bool,
  booleanFromText,
  describeValue,
  endpoint,
  integer,
  invalid,
  long,
  nonEmptyText,
  oneOf,
  optionalRegex,
  optionalText,
  regex,
  roleArn,
  text,
} from './values.js';

// ---------------------------------------------------------------------------------------------
// Global keys (research §1a). Dotted keys are flat strings, exactly as in the Java agent's file.

/**
 * Not /var/run as in the Java agent: /var/run is a tmpfs on most distros, so checkpoints were lost on reboot (#129).
 */
const DEFAULT_CHECKPOINT_FILE = '/var/lib/shardtail/checkpoints.db';
const DEFAULT_ENGINE_DATA_DIR = '/var/lib/shardtail/engine';

const autoCreateStreamsSchema = z.object(
  { shards: integer(1).default(1) },
  { error: invalid('must be false or an object such as { "shards": 1 }') },
);

/** shardtail's own settings for the embedded Kinesis-compatible engine; the Java agent has no such key. */
export const engineSchema = z.object(
  {
    embedded: bool().default(false),
    host: nonEmptyText().default('127.0.0.1'),
    // 0 lets the OS pick a free port, as `shardtail engine --port 0` does (tests run engines side by side).
    port: integer(0, 65_535).default(4567),
    dataDir: nonEmptyText().default(DEFAULT_ENGINE_DATA_DIR),
    autoCreateStreams: z
      .preprocess((value) => {
        const flag = booleanFromText(value);
        if (flag === true) return {};
        return flag === false ? null : value;
      }, autoCreateStreamsSchema.nullable())
      .transform((value) => value ?? (false as const))
      .default({ shards: 1 }),
  },
  { error: invalid('must be an object') },
);

/** shardtail's own: the metrics, health and status listener (off when the key is absent). */
export const monitoringSchema = z.object(
  {
    listen: z
      .preprocess(
        (value) => (typeof value === 'number' ? String(value) : value),
        z.string({ error: invalid('is not an address such as "127.0.0.1:9464" or a port') }),
      )
      .transform((value, context) => {
        const address = parseListenAddress(value);
        if (typeof address !== 'string') return address;
        context.addIssue({ code: 'custom', input: value, message: `${describeValue(value)} ${address}` });
        return z.NEVER;
      }),
    /** How long unread bytes may wait with nothing read before /readyz calls the flow stalled. */
    stallAfterSeconds: integer(1).default(60),
  },
  { error: invalid('must be an object such as { "listen": "127.0.0.1:9464" }') },
);

export const AUTO_CREATE_STREAMS_KEYS: readonly string[] = Object.keys(autoCreateStreamsSchema.shape);

export const globalSchema = z.object({
  checkpointFile: nonEmptyText().default(DEFAULT_CHECKPOINT_FILE),
  checkpointTimeToLiveDays: integer(0).default(7),
  'checkpoints.queryTimeoutSeconds': integer(0).default(30),
  'checkpoints.connectionTimeoutSeconds': integer(0).default(5),
  // No default here: left out, it depends on where the flows go (metricsByDefault, embedded-engine.ts).
  'cloudwatch.emitMetrics': bool().optional(),
  'cloudwatch.endpoint': endpoint(),
  'cloudwatch.namespace': nonEmptyText().default('AWSKinesisAgent'),
  'cloudwatch.tagInstance': bool().default(false),
  'cloudwatch.metricsBufferTimeMillis': long(1).default(30_000),
  'cloudwatch.metricsQueueSize': integer(1).default(10_000),
  'kinesis.endpoint': endpoint(),
  'kinesis.region': optionalText(),
  'firehose.endpoint': endpoint(),
  'sts.endpoint': endpoint(),
  awsAccessKeyId: optionalText(),
  awsSecretAccessKey: optionalText(),
  assumeRoleARN: roleArn(),
  assumeRoleExternalId: optionalText(),
  userAgent: optionalText(),
  userAgentOverride: optionalText(),
  // Defaults depend on the CPU count and on maxSendingThreads; the loader computes them.
  maxSendingThreads: integer(1).optional(),
  maxSendingThreadsPerCore: integer(1).default(12),
  sendingThreadsKeepAliveMillis: long(0).default(60_000),
  sendingThreadsMaxQueueSize: integer(1).default(100),
  maxConnections: integer(1).optional(),
  connectionTimeoutMillis: integer(0).default(10_000),
  socketTimeoutMillis: integer(0).default(50_000),
  connectionTTLMillis: long(-1).default(-1),
  useTcpKeepAlive: bool().default(false),
  useHttpGzip: bool().default(false),
  shutdownTimeoutMillis: long(0).default(10_000),
  'log.statusReportingPeriodSeconds': integer(1).default(30),
  'log.emitInternalMetrics': bool().default(false),
  'log.emitMetrics': bool().default(false),
  engine: engineSchema.prefault({}),
  monitoring: monitoringSchema.optional(),
});

export type GlobalSettings = z.output<typeof globalSchema>;

/** Keys the Java agent knows (or once knew) that shardtail accepts but does not use, and why. */
export const IGNORED_GLOBAL_KEYS: ReadonlyMap<string, string> = new Map([
  ['log.level', 'is ignored (removed from the Java agent in 2.0); set SHARDTAIL_LOG_LEVEL instead'],
  ['log.file', 'is ignored (removed from the Java agent in 2.0); shardtail logs to stdout, which the journal collects'],
  ['log.maxBackupIndex', "is ignored (removed from the Java agent in 2.0); log rotation is the journal's job"],
  ['log.maxFileSize', "is ignored (removed from the Java agent in 2.0); log rotation is the journal's job"],
  [
    'userDefinedCredentialsProvider.classname',
    'is ignored: it names a Java class, which shardtail cannot load; the rest of the credential chain is used',
  ],
  [
    'userDefinedCredentialsProvider.location',
    'is ignored: it names a Java jar, which shardtail cannot load; the rest of the credential chain is used',
  ],
]);

// ---------------------------------------------------------------------------------------------
// Per-flow keys (research §1b)

const INITIAL_POSITIONS = ['START_OF_FILE', 'END_OF_FILE'] as const;
/** FIXED and FIELD are shardtail additions (a constant key; a key taken from a JSON field of the record, #266). */
const PARTITION_KEY_OPTIONS = ['RANDOM', 'DETERMINISTIC', 'FIXED', 'FIELD'] as const;

function filePattern() {
  return nonEmptyText().refine((pattern) => !pattern.endsWith('/'), {
    error: 'must name files, not end in / (e.g. /var/log/app/*.log)',
  });
}

function streamName(maxLength: number) {
  return text().pipe(
    z.string().regex(new RegExp(`^[a-zA-Z0-9_.-]{1,${maxLength}}$`), {
      error: invalid(`is not a valid stream name (1–${maxLength} characters from a-z A-Z 0-9 _ . -)`),
    }),
  );
}

/** The Java agent rejects a terminator that is not shorter than the largest record the API takes. */
function truncatedRecordTerminator(maxRecordBytes: number) {
  return text()
    .refine((terminator) => Buffer.byteLength(terminator, 'utf8') < maxRecordBytes, {
      error: `must be shorter than the maximum record size (${maxRecordBytes} bytes)`,
    })
    .default('\n');
}

function globList() {
  const pattern = nonEmptyText();
  return z
    .union([pattern, z.array(pattern)], { error: invalid('must be a glob or a list of globs') })
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .default([]);
}

const flowKeysForBothDestinations = {
  filePattern: filePattern(),
  // shardtail addition: files matching any of these globs are never tailed.
  excludePattern: globList(),
  initialPosition: oneOf(INITIAL_POSITIONS).default('END_OF_FILE'),
  // The Java agent's minimum is 1000 ms; shardtail seals batches on a timer rather than a 1 s
  // heartbeat, so low-latency flows can go down to 50 ms.
  maxBufferAgeMillis: long(50, 900_000).default(60_000),
  // Both APIs take the same number of records per call.
  maxBufferSizeRecords: integer(1, KINESIS_LIMITS.maxEntriesPerCall).default(KINESIS_LIMITS.maxEntriesPerCall),
  // Not validated by the Java agent, whose queue constructor then throws on 0 or less.
  publishQueueCapacity: integer(1).default(100),
  multiLineStartPattern: optionalRegex(),
  skipHeaderLines: integer(0).default(0),
  // Entries are validated one by one against dataProcessingSchemas.
  dataProcessingOptions: z.array(z.unknown(), { error: invalid('must be a list of processing options') }).default([]),
  minTimeBetweenFilePollsMillis: long(0).default(100),
  maxTimeBetweenFileTrackerRefreshMillis: long(0).default(10_000),
  retryInitialBackoffMillis: long(0).default(100),
  retryMaxBackoffMillis: long(0).default(10_000),
  waitOnEmptyPublishQueueMillis: long(1000, 900_000).default(60_000),
  waitOnFullPublishQueueMillis: long(1000, 900_000).default(60_000),
  fileFooterPattern: optionalRegex(),
  'log.emitInternalMetrics': bool().default(false),
};

export const kinesisFlowSchema = z.object({
  ...flowKeysForBothDestinations,
  kinesisStream: streamName(128),
  maxBufferSizeBytes: integer(1, KINESIS_LIMITS.maxCallBytes).default(KINESIS_LIMITS.maxCallBytes),
  truncatedRecordTerminator: truncatedRecordTerminator(KINESIS_LIMITS.maxRecordBytes),
  partitionKeyOption: oneOf(PARTITION_KEY_OPTIONS).default('RANDOM'),
  // Kinesis partition keys are 1–256 Unicode characters.
  partitionKey: text()
    .refine((key) => [...key].length >= 1 && [...key].length <= 256, { error: 'must be 1–256 characters long' })
    .optional(),
  partitionKeyField: nonEmptyText().optional(),
  // shardtail's own (the Java agent has no KPL aggregation): KPL aggregated records, of up to
  // aggregatedRecordSizeBytes with their partition key; default and maximum are the KPL's
  // AggregationMaxSize and Kinesis's record limit.
  aggregation: bool().default(false),
  aggregatedRecordSizeBytes: integer(64, KINESIS_LIMITS.maxRecordBytes).default(51_200),
});

export const firehoseFlowSchema = z.object({
  ...flowKeysForBothDestinations,
  deliveryStream: streamName(64),
  maxBufferSizeBytes: integer(1, FIREHOSE_LIMITS.maxCallBytes).default(FIREHOSE_LIMITS.maxCallBytes),
  truncatedRecordTerminator: truncatedRecordTerminator(FIREHOSE_LIMITS.maxRecordBytes),
  aggregatedRecordSizeBytes: integer(0, FIREHOSE_LIMITS.maxRecordBytes).default(0),
});

export type KinesisFlowSettings = z.output<typeof kinesisFlowSchema>;
export type FirehoseFlowSettings = z.output<typeof firehoseFlowSchema>;

/**
 * Keys only one destination type reads; the Java agent silently ignores them on the other.
 * aggregatedRecordSizeBytes is read by both: Firehose packs lines with it, Kinesis bounds aggregates.
 */
export const KINESIS_ONLY_FLOW_KEYS: readonly string[] = [
  'partitionKeyOption',
  'partitionKey',
  'partitionKeyField',
  'aggregation',
];
export const FIREHOSE_ONLY_FLOW_KEYS: readonly string[] = [];

// ---------------------------------------------------------------------------------------------
// dataProcessingOptions entries (research §1c, §2)

export const DATA_PROCESSING_OPTION_NAMES = [
  'SINGLELINE',
  'CSVTOJSON',
  'LOGTOJSON',
  'ADDMETADATA',
  'ADDEC2METADATA',
  'ADDBRACKETS',
  'USINGJAVASCRIPT',
  'USINGPLUGGIN',
] as const;
export const LOG_FORMATS = [
  'COMMONAPACHELOG',
  'COMBINEDAPACHELOG',
  'APACHEERRORLOG',
  'SYSLOG',
  'RFC3339SYSLOG',
] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How many fields each built-in log format produces; renaming them with customFieldNames must keep the count. */
export const LOG_FORMAT_FIELD_COUNTS: Readonly<Record<LogFormat, number>> = {
  COMMONAPACHELOG: 7, // host ident authuser datetime request response bytes
  COMBINEDAPACHELOG: 9, // … referer agent
  APACHEERRORLOG: 7, // timestamp module severity processid threadid client message
  SYSLOG: 5, // timestamp hostname program processid message
  RFC3339SYSLOG: 5,
};

const jsonFormat = () => oneOf(['COMPACT', 'PRETTYPRINT']).default('COMPACT');
const fieldNames = () =>
  z
    .array(nonEmptyText(), { error: invalid('must be a list of field names') })
    .min(1, { error: 'must list at least one field name' });

export const dataProcessingSchemas = {
  SINGLELINE: z.object({
    parseOptions: z.array(oneOf(['NO_TRIM', 'ESCAPE_NEW_LINE']), { error: invalid('must be a list') }).default([]),
  }),
  CSVTOJSON: z.object({
    customFieldNames: fieldNames(),
    // A regex, as in the Java agent (String.split): "\\t" for tab, "\\|" for a literal pipe.
    delimiter: regex().default(','),
    jsonFormat: jsonFormat(),
  }),
  LOGTOJSON: z.object({
    logFormat: oneOf(LOG_FORMATS),
    matchPattern: regex().optional(),
    customFieldNames: fieldNames().optional(),
    jsonFormat: jsonFormat(),
  }),
  ADDMETADATA: z.object({
    metadata: z.custom<JsonValue>(() => true).default(null),
    // The Java agent only accepts the string "true" here and fails on a JSON boolean; both work here.
    timestamp: bool().default(false),
    jsonFormat: jsonFormat(),
  }),
  ADDEC2METADATA: z.object({
    // Required by the Java agent although never used; accepted and checked, not required.
    logFormat: oneOf(LOG_FORMATS).optional(),
    metadataTTL: integer(1).default(3600),
    jsonFormat: jsonFormat(),
  }),
  ADDBRACKETS: z.object({}),
  // Our own option, in place of the Java agent's USINGPLUGGIN: a module whose default export transforms a record.
  USINGJAVASCRIPT: z.object({ modulePath: nonEmptyText() }),
} as const;
