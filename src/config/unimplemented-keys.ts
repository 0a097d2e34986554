/**
 * The agent.json keys shardtail accepts, because Java agent configs use them, but does not act on
 * (yet): one table, so that `check` and `start` can say so for each one a file uses, naming the key,
 * the flow and what happens instead, rather than quietly doing something else.
 *
 * Every key of the schema is either here or in IMPLEMENTED_KEYS; test/config/unimplemented-keys.test.ts
 * fails for a key that is in neither, so a key added later cannot go unread without a word.
 */
import type { Findings } from './findings.js';
import { childKeyPath, isJsonObject, type JsonObject, type JsonValue } from './jsonc.js';
import type { DataProcessingOption } from './types.js';
import type { FirehoseFlowSettings, GlobalSettings, KinesisFlowSettings } from './schema.js';

/** A flow's parsed settings; the keys of the other destination are absent. */
export type AnyFlowSettings = Partial<KinesisFlowSettings> & Partial<FirehoseFlowSettings>;

interface Row<Scope extends 'global' | 'flow', Settings> {
  scope: Scope;
  key: string;
  /**
   * Whether the file asks for what shardtail does not do, given the parsed settings of the key's
   * scope (the key's value, and defaults for what the file leaves out). Without it, any value does.
   */
  warnWhen?: (settings: Settings) => boolean;
  /** The warning, after the key: what happens instead, in the user's terms. */
  message: string;
}

interface ListRow {
  scope: 'flow';
  key: string;
  /** One warning per entry of the list, keyed `key[i]`; undefined for an entry that asks for nothing missing. */
  perEntry: (entry: JsonValue) => string | undefined;
}

export type UnimplementedKey = Row<'global', GlobalSettings> | Row<'flow', AnyFlowSettings> | ListRow;

const NOT_YET = 'is not implemented yet:';

/** What a converter does otherwise than the Java agent's, for those that do. */
const PROCESSING_DIFFERENCES: Readonly<Partial<Record<DataProcessingOption['optionName'], string>>> = {
  ADDEC2METADATA:
    "adds the instance's tags only where its metadata exposes them (instance metadata tags enabled); it does " +
    'not call ec2:DescribeTags as the Java agent does',
};

export const UNIMPLEMENTED_KEYS: readonly UnimplementedKey[] = [
  // false is the default and asks for nothing.
  {
    scope: 'global',
    key: 'useHttpGzip',
    warnWhen: (settings) => settings.useHttpGzip,
    message: `${NOT_YET} request bodies are sent uncompressed`,
  },
  // Any value: there is no time limit to set.
  {
    scope: 'global',
    key: 'checkpoints.queryTimeoutSeconds',
    message: `${NOT_YET} expired checkpoints are purged without a time limit`,
  },
  {
    scope: 'global',
    key: 'checkpoints.connectionTimeoutSeconds',
    message: 'has no effect (nor in the Java agent): the checkpoint database is a local file, opened without a timeout',
  },
  // Any value: shardtail has no sender thread pool for them to size.
  {
    scope: 'global',
    key: 'sendingThreadsKeepAliveMillis',
    message:
      'has no effect: shardtail sends from one event loop, not from a thread pool (maxSendingThreads bounds ' +
      'the sends in flight)',
  },
  {
    scope: 'global',
    key: 'sendingThreadsMaxQueueSize',
    message:
      'has no effect: shardtail has no sender thread pool; sealed batches wait in their flow (publishQueueCapacity)',
  },
  // undici's connect timeout is 10000 ms, the Java default: only another value asks for something else.
  {
    scope: 'global',
    key: 'connectionTimeoutMillis',
    warnWhen: (settings) => settings.connectionTimeoutMillis !== 10_000,
    message: `${NOT_YET} connecting times out after 10000 ms, and a whole call after socketTimeoutMillis`,
  },
  // -1, the default, is "no limit", which is what shardtail does.
  {
    scope: 'global',
    key: 'connectionTTLMillis',
    warnWhen: (settings) => settings.connectionTTLMillis !== -1,
    message: `${NOT_YET} connections are not retired by age (an idle one is closed after a few seconds)`,
  },
  // TCP keep-alive is always on (undici), so only false asks for something else.
  {
    scope: 'global',
    key: 'useTcpKeepAlive',
    warnWhen: (settings) => !settings.useTcpKeepAlive,
    message: `${NOT_YET} TCP keep-alive is always on (first probe after 60 s idle)`,
  },
  // Both default to false, which asks for nothing.
  {
    scope: 'global',
    key: 'log.emitInternalMetrics',
    warnWhen: (settings) => settings['log.emitInternalMetrics'],
    message: `${NOT_YET} no status JSON lines are logged, only the progress lines`,
  },
  {
    scope: 'global',
    key: 'log.emitMetrics',
    warnWhen: (settings) => settings['log.emitMetrics'],
    message: `${NOT_YET} metrics are not logged`,
  },

  // One warning per converter that differs, naming its index; [] asks for nothing.
  {
    scope: 'flow',
    key: 'dataProcessingOptions',
    perEntry: (entry) => {
      // An entry without a known optionName is an error already.
      const name = isJsonObject(entry) && typeof entry.optionName === 'string' ? entry.optionName : undefined;
      return name !== undefined && Object.hasOwn(PROCESSING_DIFFERENCES, name)
        ? `${name} ${PROCESSING_DIFFERENCES[name as DataProcessingOption['optionName']]}`
        : undefined;
    },
  },
  // Any value: there is no publisher thread waiting on a queue.
  {
    scope: 'flow',
    key: 'waitOnEmptyPublishQueueMillis',
    message: 'has no effect: a sealed batch is sent at once, with no publisher thread waiting for it',
  },
  {
    scope: 'flow',
    key: 'waitOnFullPublishQueueMillis',
    message: "has no effect (nor in the Java agent): reading pauses while the flow's queue is full",
  },
  // false is the default and asks for nothing.
  {
    scope: 'flow',
    key: 'log.emitInternalMetrics',
    warnWhen: (settings) => settings['log.emitInternalMetrics'] === true,
    message: `${NOT_YET} no status JSON lines are logged for the flow, only the progress lines`,
  },
];

/**
 * The keys that do what the Java agent's do (and shardtail's own). Nothing reads this list at run
 * time: it is the other half of the table, which the test checks against the schema.
 */
export const IMPLEMENTED_KEYS: Readonly<Record<'global' | 'flow', readonly string[]>> = {
  global: [
    'checkpointFile',
    'checkpointTimeToLiveDays',
    'cloudwatch.emitMetrics',
    'cloudwatch.endpoint',
    'cloudwatch.namespace',
    'cloudwatch.tagInstance',
    'cloudwatch.metricsBufferTimeMillis',
    'cloudwatch.metricsQueueSize',
    'kinesis.endpoint',
    'kinesis.region',
    'firehose.endpoint',
    'sts.endpoint',
    'awsAccessKeyId',
    'awsSecretAccessKey',
    'assumeRoleARN',
    'assumeRoleExternalId',
    'userAgent',
    'userAgentOverride',
    'maxSendingThreads',
    'maxSendingThreadsPerCore',
    'maxConnections',
    'socketTimeoutMillis',
    'shutdownTimeoutMillis',
    'log.statusReportingPeriodSeconds',
    'engine',
    'monitoring',
  ],
  flow: [
    'filePattern',
    'excludePattern',
    'initialPosition',
    'kinesisStream',
    'deliveryStream',
    'partitionKeyOption',
    'partitionKey',
    'partitionKeyField',
    'maxBufferAgeMillis',
    'maxBufferSizeRecords',
    'maxBufferSizeBytes',
    'publishQueueCapacity',
    'skipHeaderLines',
    'multiLineStartPattern',
    'fileFooterPattern',
    'truncatedRecordTerminator',
    'minTimeBetweenFilePollsMillis',
    'maxTimeBetweenFileTrackerRefreshMillis',
    'retryInitialBackoffMillis',
    'retryMaxBackoffMillis',
    'aggregatedRecordSizeBytes',
    'aggregation',
  ],
};

/**
 * Warns about each key of the table that `raw` (the global object, or one flow) sets and whose value
 * asks for what shardtail does not do. `schemaKeys`: the keys this object's schema reads, so that
 * a key of the other destination (reported as ignored already) is not reported twice.
 */
export function reportUnimplementedKeys(
  target:
    | { scope: 'global'; raw: JsonObject; settings: GlobalSettings }
    | { scope: 'flow'; raw: JsonObject; settings: AnyFlowSettings },
  schemaKeys: object,
  file: string,
  keyPath: string,
  findings: Findings,
): void {
  for (const row of UNIMPLEMENTED_KEYS) {
    if (row.scope !== target.scope || !Object.hasOwn(target.raw, row.key) || !Object.hasOwn(schemaKeys, row.key))
      continue;
    const rowPath = childKeyPath(keyPath, row.key);
    if ('perEntry' in row) {
      const value = target.raw[row.key];
      if (!Array.isArray(value)) continue;
      value.forEach((entry, index) => {
        const message = row.perEntry(entry);
        if (message !== undefined) findings.warning(file, childKeyPath(rowPath, index), message);
      });
      continue;
    }
    // The scopes match, so the settings are the ones this row's predicate takes.
    const wanted = row.warnWhen === undefined || (row.warnWhen as (settings: object) => boolean)(target.settings);
    if (wanted) findings.warning(file, rowPath, row.message);
  }
}
