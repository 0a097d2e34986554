/**
 * The entries of `flows` (research §1b): destination, per-flow keys, processing options, and the
 * checks across flows (duplicates, globs that can match the agent's own files).
 */
import { flowLabel, type Findings, type FlowSource } from './findings.js';
import { globHazards } from './glob-hazards.js';
import { childKeyPath, isJsonObject, type JsonObject } from './jsonc.js';
import { FLOW_KEYS, GLOBAL_KEYS, unknownKeyMessage } from './keys.js';
import { resolveFilePattern, resolvePath } from './paths.js';
import { validateProcessingOption } from './processing-options.js';
import {
  FIREHOSE_ONLY_FLOW_KEYS,
  firehoseFlowSchema,
  KINESIS_ONLY_FLOW_KEYS,
  kinesisFlowSchema,
  type FirehoseFlowSettings,
  type GlobalSettings,
  type KinesisFlowSettings,
} from './schema.js';
import { describeValue } from './values.js';
import type { DataProcessingOption, FlowConfig, Partitioning } from './types.js';
import { reportUnimplementedKeys } from './unimplemented-keys.js';

export function validateFlow(source: FlowSource, findings: Findings): FlowConfig | undefined {
  const { file, index, raw } = source;
  const flowPath = `flows[${index}]`;
  const keyPath = (key: string) => childKeyPath(flowPath, key);
  if (!isJsonObject(raw)) {
    findings.error(
      file,
      flowPath,
      `${describeValue(raw)} is not a flow (an object with filePattern and kinesisStream or deliveryStream)`,
    );
    return undefined;
  }
  const errorsBefore = findings.errorCount;

  const sendsToKinesis = Object.hasOwn(raw, 'kinesisStream');
  const sendsToFirehose = Object.hasOwn(raw, 'deliveryStream');
  if (!sendsToKinesis && !sendsToFirehose) {
    findings.error(file, keyPath('kinesisStream'), 'a flow needs kinesisStream or deliveryStream; neither is set');
  } else if (sendsToKinesis && sendsToFirehose) {
    findings.error(
      file,
      keyPath('deliveryStream'),
      'a flow sends to one stream, but both kinesisStream and deliveryStream are set (the Java agent silently ' +
        'used deliveryStream)',
    );
  }
  // With neither key, validate the rest as a Kinesis flow anyway so that every problem is reported.
  const kind = sendsToFirehose ? 'deliveryStream' : 'kinesisStream';
  const schema = kind === 'deliveryStream' ? firehoseFlowSchema : kinesisFlowSchema;
  const otherDestinationKeys = kind === 'deliveryStream' ? KINESIS_ONLY_FLOW_KEYS : FIREHOSE_ONLY_FLOW_KEYS;

  for (const key of Object.keys(raw)) {
    if (Object.hasOwn(schema.shape, key) || key === 'kinesisStream') continue;
    if (otherDestinationKeys.includes(key)) {
      const otherKind = kind === 'deliveryStream' ? 'kinesisStream' : 'deliveryStream';
      findings.warning(file, keyPath(key), `is ignored: it only applies to ${otherKind} flows`);
    } else if (GLOBAL_KEYS.has(key)) {
      findings.warning(file, keyPath(key), 'is a global key and is ignored inside a flow; move it to the top level');
    } else {
      findings.warning(file, keyPath(key), unknownKeyMessage(key, FLOW_KEYS));
    }
  }

  const parsed = schema.safeParse(raw);
  if (!parsed.success) findings.zodIssues(file, flowPath, parsed.error.issues);

  if (kind === 'kinesisStream') {
    checkPartitionKeyOptions(raw, file, flowPath, findings);
    if (
      Object.hasOwn(raw, 'aggregatedRecordSizeBytes') &&
      parsed.success &&
      !(parsed.data as KinesisFlowSettings).aggregation
    )
      findings.warning(file, keyPath('aggregatedRecordSizeBytes'), 'is ignored unless aggregation is true');
  }

  const processingOptions = Array.isArray(raw.dataProcessingOptions)
    ? raw.dataProcessingOptions.map((entry, position) =>
        validateProcessingOption(entry, file, childKeyPath(keyPath('dataProcessingOptions'), position), findings),
      )
    : [];

  if (!parsed.success || findings.errorCount > errorsBefore) return undefined;
  reportUnimplementedKeys({ scope: 'flow', raw, settings: parsed.data }, schema.shape, file, flowPath, findings);
  const label = flowLabel(index, raw);
  const options = processingOptions.filter((option): option is DataProcessingOption => option !== undefined);
  if (kind === 'deliveryStream') {
    const settings = parsed.data as FirehoseFlowSettings;
    if (settings.aggregatedRecordSizeBytes > 0 && settings.multiLineStartPattern !== undefined) {
      findings.warning(file, keyPath('aggregatedRecordSizeBytes'), 'is ignored because multiLineStartPattern is set');
    }
    const common = buildFlowSettings(settings, file, label, options);
    return {
      id: `fh:${settings.deliveryStream}:${common.filePattern}`,
      kind,
      streamName: settings.deliveryStream,
      ...common,
      aggregatedRecordSizeBytes: settings.aggregatedRecordSizeBytes,
    };
  }
  const settings = parsed.data as KinesisFlowSettings;
  const common = buildFlowSettings(settings, file, label, options);
  return {
    id: `kinesis:${settings.kinesisStream}:${common.filePattern}`,
    kind,
    streamName: settings.kinesisStream,
    ...common,
    partitioning: partitioning(settings),
    aggregatedRecordSizeBytes: settings.aggregation ? settings.aggregatedRecordSizeBytes : 0,
  };
}

/** FIXED and FIELD need their companion key; a companion key without its option is a likely slip. */
function checkPartitionKeyOptions(raw: JsonObject, file: string, flowPath: string, findings: Findings): void {
  const companions = [
    { option: 'FIXED', key: 'partitionKey' },
    { option: 'FIELD', key: 'partitionKeyField' },
  ];
  for (const { option, key } of companions) {
    const selected = raw.partitionKeyOption === option;
    const present = Object.hasOwn(raw, key);
    if (selected && !present)
      findings.error(file, childKeyPath(flowPath, key), `is required when partitionKeyOption is ${option}`);
    if (!selected && present)
      findings.warning(file, childKeyPath(flowPath, key), `is ignored unless partitionKeyOption is ${option}`);
  }
}

function partitioning(settings: KinesisFlowSettings): Partitioning {
  switch (settings.partitionKeyOption) {
    case 'FIXED':
      return { option: 'FIXED', partitionKey: settings.partitionKey as string };
    case 'FIELD':
      return { option: 'FIELD', partitionKeyField: settings.partitionKeyField as string };
    default:
      return { option: settings.partitionKeyOption };
  }
}

type CommonFlowSettings = Pick<KinesisFlowSettings, keyof KinesisFlowSettings & keyof FirehoseFlowSettings>;

function buildFlowSettings(
  settings: CommonFlowSettings,
  sourceFile: string,
  label: string,
  dataProcessingOptions: DataProcessingOption[],
) {
  return {
    label,
    sourceFile,
    filePattern: resolveFilePattern(settings.filePattern, sourceFile),
    excludePatterns: settings.excludePattern.map((pattern) =>
      pattern.includes('/') ? resolveFilePattern(pattern, sourceFile) : pattern,
    ),
    initialPosition: settings.initialPosition,
    maxBufferAgeMillis: settings.maxBufferAgeMillis,
    maxBufferSizeRecords: settings.maxBufferSizeRecords,
    maxBufferSizeBytes: settings.maxBufferSizeBytes,
    publishQueueCapacity: settings.publishQueueCapacity,
    multiLineStartPattern: settings.multiLineStartPattern,
    skipHeaderLines: settings.skipHeaderLines,
    truncatedRecordTerminator: settings.truncatedRecordTerminator,
    dataProcessingOptions,
    minTimeBetweenFilePollsMillis: settings.minTimeBetweenFilePollsMillis,
    maxTimeBetweenFileTrackerRefreshMillis: settings.maxTimeBetweenFileTrackerRefreshMillis,
    retryInitialBackoffMillis: settings.retryInitialBackoffMillis,
    retryMaxBackoffMillis: settings.retryMaxBackoffMillis,
    waitOnEmptyPublishQueueMillis: settings.waitOnEmptyPublishQueueMillis,
    waitOnFullPublishQueueMillis: settings.waitOnFullPublishQueueMillis,
    fileFooterPattern: settings.fileFooterPattern,
    log: { emitInternalMetrics: settings['log.emitInternalMetrics'] },
  };
}

export interface ValidFlow {
  source: FlowSource;
  flow: FlowConfig;
}

export function reportDuplicateFlows(flows: readonly ValidFlow[], findings: Findings): void {
  const firstById = new Map<string, FlowConfig>();
  for (const { source, flow } of flows) {
    const first = firstById.get(flow.id);
    if (first === undefined) {
      firstById.set(flow.id, flow);
      continue;
    }
    const where = first.sourceFile === flow.sourceFile ? first.label : `${first.label} in ${first.sourceFile}`;
    findings.error(
      source.file,
      `flows[${source.index}].filePattern`,
      `duplicate flow: ${where} already sends ${flow.filePattern} to ${flow.kind} ${flow.streamName}`,
    );
  }
}

export function reportGlobHazards(
  flows: readonly ValidFlow[],
  settings: GlobalSettings,
  configFile: string,
  findings: Findings,
): void {
  const own = {
    engineDataDir: settings.engine.embedded ? resolvePath(settings.engine.dataDir, configFile) : undefined,
    checkpointFile: resolvePath(settings.checkpointFile, configFile),
  };
  for (const { source, flow } of flows) {
    for (const hazard of globHazards(flow.filePattern, own))
      findings.warning(source.file, `flows[${source.index}].filePattern`, `${flow.filePattern} ${hazard}`);
  }
}
