/**
 * The validated, fully-defaulted configuration. Field names follow the agent.json keys; a dotted
 * key becomes a nested field (`kinesis.endpoint` → `config.kinesis.endpoint`). Every default has
 * been applied by the loader, so code reading this never needs its own fallback. `undefined`
 * appears only where the Java agent's own default is "not set".
 */
import type { ListenAddress } from './listen-address.js';
import type { JsonValue } from './jsonc.js';
import type { ConfigProblem } from './problems.js';
import type { LogFormat } from './schema.js';

export type { LogFormat };

export interface AgentConfig {
  /** Absolute path of the agent.json this was loaded from. */
  configFile: string;
  /** Flows of agent.json followed by those of agent.d/*, in file-name order. */
  flows: FlowConfig[];

  /** SQLite checkpoint database; absolute. Default /var/lib/shardtail/checkpoints.db. */
  checkpointFile: string;
  /** Checkpoints not updated for this many days are purged at startup. Default 7. */
  checkpointTimeToLiveDays: number;
  checkpoints: {
    /** Timeout of the startup TTL purge. Default 30. */
    queryTimeoutSeconds: number;
    /** Read but unused by the Java agent. Default 5. */
    connectionTimeoutSeconds: number;
  };

  cloudwatch: {
    /** Default true (the Java agent's), but false when every flow goes to the embedded engine. */
    emitMetrics: boolean;
    /** Off only because every flow goes to the embedded engine and agent.json does not set it: `check` says so. */
    offForEmbeddedEngine: boolean;
    /** Absolute URL; undefined = the region's (the Java agent has no cloudwatch.region). */
    endpoint: string | undefined;
    /** Default AWSKinesisAgent. */
    namespace: string;
    /** Add an `Instance` dimension. Default false. */
    tagInstance: boolean;
    /** Default 30000. */
    metricsBufferTimeMillis: number;
    /** Default 10000. */
    metricsQueueSize: number;
  };
  /** Endpoints are absolute URLs (a bare host in agent.json gets https://); undefined = not set. */
  kinesis: { endpoint: string | undefined; region: string | undefined };
  firehose: { endpoint: string | undefined };
  sts: { endpoint: string | undefined };

  /** awsAccessKeyId + awsSecretAccessKey; undefined unless both are set (the Java agent needs both). */
  staticCredentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** assumeRoleARN (+ assumeRoleExternalId): wraps the whole credential chain. */
  assumeRole: { roleArn: string; externalId: string | undefined } | undefined;
  userAgent: string | undefined;
  userAgentOverride: string | undefined;

  /** Shared sender concurrency. Default max(2, maxSendingThreadsPerCore × CPU count). */
  maxSendingThreads: number;
  /** Default 12. */
  maxSendingThreadsPerCore: number;
  /** Default 60000. */
  sendingThreadsKeepAliveMillis: number;
  /** Default 100. */
  sendingThreadsMaxQueueSize: number;
  /** HTTP connection pool size. Default max(50, maxSendingThreads). */
  maxConnections: number;
  /** Default 10000. */
  connectionTimeoutMillis: number;
  /** Default 50000. */
  socketTimeoutMillis: number;
  /** -1 = no limit (default). */
  connectionTTLMillis: number;
  /** Default false. */
  useTcpKeepAlive: boolean;
  /** Default false. */
  useHttpGzip: boolean;
  /** Default 10000. */
  shutdownTimeoutMillis: number;

  log: {
    /** Period of the progress lines. Default 30. */
    statusReportingPeriodSeconds: number;
    /** Default false. */
    emitInternalMetrics: boolean;
    /** Default false. */
    emitMetrics: boolean;
  };

  /** shardtail's embedded Kinesis-compatible engine (no Java agent equivalent). */
  engine: EngineConfig;
  /** shardtail's metrics, health and status listener; undefined (off) when the key is absent. */
  monitoring: { listen: ListenAddress; stallAfterSeconds: number } | undefined;
}

export interface EngineConfig {
  /** Run the engine inside the agent process. Default false. */
  embedded: boolean;
  /** Default 127.0.0.1. */
  host: string;
  /** Default 4567. */
  port: number;
  /** Absolute. Default /var/lib/shardtail/engine. */
  dataDir: string;
  /** Create a flow's stream on first use with this many shards, or never (false). Default { shards: 1 }. */
  autoCreateStreams: { shards: number } | false;
}

export type InitialPosition = 'START_OF_FILE' | 'END_OF_FILE';

interface FlowSettings {
  /**
   * The Java agent's flow id, `kinesis:<stream>:<filePattern>` or `fh:<stream>:<filePattern>`:
   * its checkpoint key, and unique across flows.
   */
  id: string;
  /** How messages name the flow: `flows[1] (kinesisStream demo-stream)`. */
  label: string;
  /** Absolute path of the file (agent.json or agent.d/*) that declared the flow. */
  sourceFile: string;
  /** Absolute glob. May contain directory globs and `**` (the Java agent allows a glob only in the last component). */
  filePattern: string;
  /**
   * Files never tailed. A pattern containing `/` is an absolute path glob (relative ones were
   * resolved like filePattern); one without `/` matches file names in any directory.
   */
  excludePatterns: string[];
  /** Default END_OF_FILE. */
  initialPosition: InitialPosition;
  /** Seal a batch this long after its first record: 50–900000, default 60000. */
  maxBufferAgeMillis: number;
  /** 1–500, default 500. */
  maxBufferSizeRecords: number;
  /** Kinesis 1–5242880 (default 5242880); Firehose 1–4194304 (default 4194304). */
  maxBufferSizeBytes: number;
  /** Sealed batches that may wait per flow. Default 100. */
  publishQueueCapacity: number;
  /** Start-of-record regex for multi-line records; undefined = one record per line. */
  multiLineStartPattern: string | undefined;
  /** Lines skipped whenever a file is read from offset 0. Default 0. */
  skipHeaderLines: number;
  /** Written over the end of a record cut to the API maximum. Default "\n". */
  truncatedRecordTerminator: string;
  /** Converter chain, in order. Default []. */
  dataProcessingOptions: DataProcessingOption[];
  /** Default 100. */
  minTimeBetweenFilePollsMillis: number;
  /** Default 10000. */
  maxTimeBetweenFileTrackerRefreshMillis: number;
  /** Default 100. */
  retryInitialBackoffMillis: number;
  /** Default 10000. */
  retryMaxBackoffMillis: number;
  /** 1000–900000, default 60000. */
  waitOnEmptyPublishQueueMillis: number;
  /** 1000–900000, default 60000 (unused by the Java agent too). */
  waitOnFullPublishQueueMillis: number;
  /** Regex; a record fully matching it ends the current read chunk (undocumented Java agent key). */
  fileFooterPattern: string | undefined;
  log: { /** Default false. */ emitInternalMetrics: boolean };
}

export interface KinesisFlowConfig extends FlowSettings {
  kind: 'kinesisStream';
  streamName: string;
  partitioning: Partitioning;
  /** `"aggregation": true`: KPL aggregated records of up to this many bytes (64–1048576, default 51200); 0 = off. */
  aggregatedRecordSizeBytes: number;
}

export interface FirehoseFlowConfig extends FlowSettings {
  kind: 'deliveryStream';
  streamName: string;
  /** Pack lines into records of up to this many bytes; 0 = off (default), 0–1024000. */
  aggregatedRecordSizeBytes: number;
}

export type FlowConfig = KinesisFlowConfig | FirehoseFlowConfig;

/**
 * partitionKeyOption (default RANDOM) with what FIXED and FIELD require: FIXED sends every record
 * with `partitionKey`; FIELD takes the key from the top-level field `partitionKeyField` of the JSON record.
 */
export type Partitioning =
  | { option: 'RANDOM' }
  | { option: 'DETERMINISTIC' }
  | { option: 'FIXED'; partitionKey: string }
  | { option: 'FIELD'; partitionKeyField: string };

export type JsonFormat = 'COMPACT' | 'PRETTYPRINT';

export type DataProcessingOption =
  | { optionName: 'SINGLELINE'; parseOptions: Array<'NO_TRIM' | 'ESCAPE_NEW_LINE'> }
  | {
      optionName: 'CSVTOJSON';
      customFieldNames: string[];
      /** A regex. Default ",". */ delimiter: string;
      jsonFormat: JsonFormat;
    }
  | {
      optionName: 'LOGTOJSON';
      logFormat: LogFormat;
      /** Custom regex; always comes with customFieldNames. */
      matchPattern: string | undefined;
      /** With matchPattern: its field names; without: new names for the format's built-in fields. */
      customFieldNames: string[] | undefined;
      jsonFormat: JsonFormat;
    }
  | { optionName: 'ADDMETADATA'; metadata: JsonValue; timestamp: boolean; jsonFormat: JsonFormat }
  | { optionName: 'ADDEC2METADATA'; /** Seconds. Default 3600. */ metadataTTL: number; jsonFormat: JsonFormat }
  | { optionName: 'ADDBRACKETS' }
  | {
      optionName: 'USINGJAVASCRIPT';
      /** Absolute path of an ES or CommonJS module whose default export transforms a record. */
      modulePath: string;
    };

export interface LoadedAgentConfig {
  config: AgentConfig;
  /** Things that do not stop startup but probably are not what the operator meant. */
  warnings: ConfigProblem[];
}
