/** The top-level keys of agent.json: validated against the schema, then turned into the resolved AgentConfig. */
import os from 'node:os';
import { metricsByDefault } from './embedded-engine.js';
import type { Findings } from './findings.js';
import { isJsonObject, type JsonObject } from './jsonc.js';
import { describeUnknownGlobalKey, warnAboutUnknownKeys } from './keys.js';
import { resolvePath } from './paths.js';
import {
  AUTO_CREATE_STREAMS_KEYS,
  engineSchema,
  globalSchema,
  monitoringSchema,
  IGNORED_GLOBAL_KEYS,
  type GlobalSettings,
} from './schema.js';
import type { AgentConfig, FlowConfig } from './types.js';
import { reportUnimplementedKeys } from './unimplemented-keys.js';

export function validateGlobals(document: JsonObject, file: string, findings: Findings): GlobalSettings | undefined {
  for (const [key, value] of Object.entries(document)) {
    if (key === 'flows' || Object.hasOwn(globalSchema.shape, key)) continue;
    findings.warning(file, key, IGNORED_GLOBAL_KEYS.get(key) ?? describeUnknownGlobalKey(key, value));
  }
  const engine = document.engine;
  if (isJsonObject(engine)) {
    warnAboutUnknownKeys(engine, Object.keys(engineSchema.shape), file, 'engine', findings);
    if (isJsonObject(engine.autoCreateStreams)) {
      warnAboutUnknownKeys(
        engine.autoCreateStreams,
        AUTO_CREATE_STREAMS_KEYS,
        file,
        'engine.autoCreateStreams',
        findings,
      );
    }
  }

  if (isJsonObject(document.monitoring))
    warnAboutUnknownKeys(document.monitoring, Object.keys(monitoringSchema.shape), file, 'monitoring', findings);

  const parsed = globalSchema.safeParse(document);
  if (!parsed.success) {
    findings.zodIssues(file, '', parsed.error.issues);
    return undefined;
  }
  const settings = parsed.data;
  if ((settings.awsAccessKeyId === undefined) !== (settings.awsSecretAccessKey === undefined)) {
    const [present, missing] =
      settings.awsAccessKeyId === undefined
        ? ['awsSecretAccessKey', 'awsAccessKeyId']
        : ['awsAccessKeyId', 'awsSecretAccessKey'];
    findings.warning(
      file,
      present,
      `is ignored because ${missing} is not set; credentials come from the default chain`,
    );
  }
  if (settings.assumeRoleExternalId !== undefined && settings.assumeRoleARN === undefined) {
    findings.warning(file, 'assumeRoleExternalId', 'is ignored because assumeRoleARN is not set');
  }
  reportUnimplementedKeys({ scope: 'global', raw: document, settings }, globalSchema.shape, file, '', findings);
  return settings;
}

export function buildAgentConfig(configFile: string, settings: GlobalSettings, flows: FlowConfig[]): AgentConfig {
  const maxSendingThreads =
    settings.maxSendingThreads ?? Math.max(2, settings.maxSendingThreadsPerCore * os.availableParallelism());
  const { awsAccessKeyId, awsSecretAccessKey, assumeRoleARN } = settings;
  const config: AgentConfig = {
    configFile,
    flows,
    checkpointFile: resolvePath(settings.checkpointFile, configFile),
    checkpointTimeToLiveDays: settings.checkpointTimeToLiveDays,
    checkpoints: {
      queryTimeoutSeconds: settings['checkpoints.queryTimeoutSeconds'],
      connectionTimeoutSeconds: settings['checkpoints.connectionTimeoutSeconds'],
    },
    cloudwatch: {
      emitMetrics: settings['cloudwatch.emitMetrics'] ?? true,
      offForEmbeddedEngine: false,
      endpoint: settings['cloudwatch.endpoint'],
      namespace: settings['cloudwatch.namespace'],
      tagInstance: settings['cloudwatch.tagInstance'],
      metricsBufferTimeMillis: settings['cloudwatch.metricsBufferTimeMillis'],
      metricsQueueSize: settings['cloudwatch.metricsQueueSize'],
    },
    kinesis: { endpoint: settings['kinesis.endpoint'], region: settings['kinesis.region'] },
    firehose: { endpoint: settings['firehose.endpoint'] },
    sts: { endpoint: settings['sts.endpoint'] },
    staticCredentials:
      awsAccessKeyId !== undefined && awsSecretAccessKey !== undefined
        ? { accessKeyId: awsAccessKeyId, secretAccessKey: awsSecretAccessKey }
        : undefined,
    assumeRole:
      assumeRoleARN === undefined ? undefined : { roleArn: assumeRoleARN, externalId: settings.assumeRoleExternalId },
    userAgent: settings.userAgent,
    userAgentOverride: settings.userAgentOverride,
    maxSendingThreads,
    maxSendingThreadsPerCore: settings.maxSendingThreadsPerCore,
    sendingThreadsKeepAliveMillis: settings.sendingThreadsKeepAliveMillis,
    sendingThreadsMaxQueueSize: settings.sendingThreadsMaxQueueSize,
    maxConnections: settings.maxConnections ?? Math.max(50, maxSendingThreads),
    connectionTimeoutMillis: settings.connectionTimeoutMillis,
    socketTimeoutMillis: settings.socketTimeoutMillis,
    connectionTTLMillis: settings.connectionTTLMillis,
    useTcpKeepAlive: settings.useTcpKeepAlive,
    useHttpGzip: settings.useHttpGzip,
    shutdownTimeoutMillis: settings.shutdownTimeoutMillis,
    log: {
      statusReportingPeriodSeconds: settings['log.statusReportingPeriodSeconds'],
      emitInternalMetrics: settings['log.emitInternalMetrics'],
      emitMetrics: settings['log.emitMetrics'],
    },
    engine: { ...settings.engine, dataDir: resolvePath(settings.engine.dataDir, configFile) },
    monitoring: settings.monitoring,
  };
  if (settings['cloudwatch.emitMetrics'] === undefined && !metricsByDefault(config)) {
    config.cloudwatch.emitMetrics = false;
    config.cloudwatch.offForEmbeddedEngine = true;
  }
  return config;
}
