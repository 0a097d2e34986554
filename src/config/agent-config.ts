/**
 * Loads agent.json the way the Java Kinesis Agent does — same keys, defaults, string-typed numbers,
 * comments, agent.d/ flows — but reports every problem at once, and warns about the keys the Java
 * agent silently ignores.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { globHazards } from './glob-hazards.js';
import type { z } from 'zod';
import { childKeyPath, isJsonObject, JsoncSyntaxError, parseJsonc, type JsonObject, type JsonValue } from './jsonc.js';
import { ConfigError, type ConfigProblem } from './problems.js';
import {
  DATA_PROCESSING_OPTION_NAMES,
  dataProcessingSchemas,
  describeValue,
  engineSchema,
  AUTO_CREATE_STREAMS_KEYS,
  FIREHOSE_ONLY_FLOW_KEYS,
  firehoseFlowSchema,
  globalSchema,
  IGNORED_GLOBAL_KEYS,
  KINESIS_ONLY_FLOW_KEYS,
  kinesisFlowSchema,
  LOG_FORMAT_FIELD_COUNTS,
  oneOf,
  type FirehoseFlowSettings,
  type GlobalSettings,
  type KinesisFlowSettings,
} from './schema.js';
import { closestMatch } from './suggest.js';
import type { AgentConfig, DataProcessingOption, FlowConfig, LoadedAgentConfig, Partitioning } from './types.js';

export type * from './types.js';
export { ConfigError, formatProblem, type ConfigProblem } from './problems.js';

/**
 * Extra flows come from every regular file in the `agent.d` directory next to agent.json, in name
 * order. Like the Java agent, only their `flows` are used and a file that cannot be read or parsed
 * is skipped with a warning. Unlike it, the directory follows the config file instead of being
 * hard-coded to /etc/aws-kinesis/agent.d/ (the same place for the default /etc/aws-kinesis/agent.json).
 */
export const AGENT_DIRECTORY_NAME = 'agent.d';

export async function loadAgentConfig(configPath: string): Promise<LoadedAgentConfig> {
  const configFile = path.resolve(configPath);
  const findings = new Findings();
  const document = await readConfigDocument(configFile, findings);

  const globals = validateGlobals(document, configFile, findings);

  const flowSources: FlowSource[] = [];
  const validFlows: Array<{ source: FlowSource; flow: FlowConfig }> = [];
  const addFlows = (sources: FlowSource[]) => {
    for (const source of sources) {
      flowSources.push(source);
      const flow = validateFlow(source, findings);
      if (flow !== undefined) validFlows.push({ source, flow });
    }
  };
  if (Object.hasOwn(document, 'flows')) {
    if (Array.isArray(document.flows)) {
      addFlows(document.flows.map((raw, index) => ({ file: configFile, index, raw })));
    } else {
      findings.error(configFile, 'flows', `${describeValue(document.flows)} is not a list of flows`);
    }
  }
  addFlows(await readAgentDirectoryFlows(configFile, findings));

  if (flowSources.length === 0) {
    findings.error(configFile, 'flows', `no flows are configured; add one to "flows" here or in a file in ${AGENT_DIRECTORY_NAME}/`);
  }
  reportDuplicateFlows(validFlows, findings);
  if (globals !== undefined) reportGlobHazards(validFlows, globals, configFile, findings);

  const labels = flowLabels(flowSources);
  const errors = findings.problems('error', labels);
  const warnings = findings.problems('warning', labels);
  if (errors.length > 0 || globals === undefined) throw new ConfigError(errors, warnings);
  return {
    config: buildAgentConfig(configFile, globals, validFlows.map(({ flow }) => flow)),
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Collecting problems

interface Finding {
  severity: 'error' | 'warning';
  file: string;
  /** Full path inside the file, e.g. `flows[0].initialPosition`. */
  keyPath: string;
  message: string;
}

class Findings {
  private readonly list: Finding[] = [];

  /** Records an error unless the same key already has one: the first reason is the one to fix. */
  error(file: string, keyPath: string, message: string): void {
    const known = this.list.some((finding) => finding.severity === 'error' && finding.file === file && finding.keyPath === keyPath);
    if (!known) this.list.push({ severity: 'error', file, keyPath, message });
  }

  warning(file: string, keyPath: string, message: string): void {
    this.list.push({ severity: 'warning', file, keyPath, message });
  }

  get errorCount(): number {
    return this.list.filter((finding) => finding.severity === 'error').length;
  }

  zodIssues(file: string, keyPath: string, issues: readonly z.core.$ZodIssue[]): void {
    for (const issue of issues) {
      const issuePath = issue.path.reduce<string>((parent, key) => childKeyPath(parent, typeof key === 'symbol' ? String(key) : key), keyPath);
      this.error(file, issuePath, issue.message);
    }
  }

  /** Findings as ConfigProblems; keys inside a flow become relative to it, and the flow is named by its label. */
  problems(severity: Finding['severity'], labels: FlowLabels): ConfigProblem[] {
    return this.list
      .filter((finding) => finding.severity === severity)
      .map(({ file, keyPath, message }) => {
        const inFlow = /^flows\[(\d+)\]\.(.+)$/.exec(keyPath);
        const flow = inFlow === null ? undefined : labels.get(flowLabelKey(file, Number(inFlow[1])));
        if (inFlow === null || flow === undefined) return { file, key: keyPath, message };
        return { file, key: inFlow[2], flow, message };
      });
  }
}

type FlowLabels = ReadonlyMap<string, string>;

function flowLabelKey(file: string, index: number): string {
  return `${file}\0${index}`;
}

function flowLabels(sources: readonly FlowSource[]): FlowLabels {
  return new Map(sources.map(({ file, index, raw }) => [flowLabelKey(file, index), flowLabel(index, raw)]));
}

/** `flows[1] (kinesisStream demo-stream)`: the index within its file, plus where it sends. */
function flowLabel(index: number, raw: JsonValue): string {
  const name = `flows[${index}]`;
  if (!isJsonObject(raw)) return name;
  const destinations = (['kinesisStream', 'deliveryStream'] as const)
    .filter((key) => typeof raw[key] === 'string' || typeof raw[key] === 'number')
    .map((key) => `${key} ${String(raw[key])}`);
  return destinations.length === 0 ? name : `${name} (${destinations.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Reading files

type ReadResult = { ok: true; document: JsonObject } | { ok: false; reason: string };

async function readJsonObjectFile(file: string, findings: Findings): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, reason: describeReadError(error as NodeJS.ErrnoException) };
  }
  let document: JsonValue;
  try {
    document = parseJsonc(text, {
      onDuplicateKey: (keyPath) => findings.warning(file, keyPath, 'appears twice in the same object; only the last value is used'),
    });
  } catch (error) {
    if (error instanceof JsoncSyntaxError) return { ok: false, reason: `invalid JSON: ${error.message}` };
    throw error;
  }
  if (!isJsonObject(document)) return { ok: false, reason: 'the top level must be a JSON object ({ … })' };
  return { ok: true, document };
}

function describeReadError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    default:
      return `cannot read: ${error.message}`;
  }
}

async function readConfigDocument(configFile: string, findings: Findings): Promise<JsonObject> {
  const result = await readJsonObjectFile(configFile, findings);
  if (!result.ok) throw new ConfigError([{ file: configFile, key: '', message: result.reason }], findings.problems('warning', new Map()));
  return result.document;
}

interface FlowSource {
  /** The file declaring the flow. */
  file: string;
  /** Position in that file's `flows`. */
  index: number;
  raw: JsonValue;
}

async function readAgentDirectoryFlows(configFile: string, findings: Findings): Promise<FlowSource[]> {
  const directory = path.join(path.dirname(configFile), AGENT_DIRECTORY_NAME);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      findings.warning(directory, '', `directory skipped: ${describeReadError(error as NodeJS.ErrnoException)}`);
    }
    return [];
  }
  const sources: FlowSource[] = [];
  for (const name of names.sort()) {
    const file = path.join(directory, name);
    // stat, not lstat: like the Java agent (File.isFile), a symlink to a regular file counts.
    const isRegularFile = await stat(file).then((info) => info.isFile(), () => false);
    if (!isRegularFile) continue;
    const result = await readJsonObjectFile(file, findings);
    if (!result.ok) {
      findings.warning(file, '', `file skipped: ${result.reason}`);
      continue;
    }
    for (const key of Object.keys(result.document)) {
      if (key !== 'flows') findings.warning(file, key, `is ignored: files in ${AGENT_DIRECTORY_NAME}/ only contribute "flows"`);
    }
    const flows = result.document.flows;
    if (flows === undefined) {
      findings.warning(file, '', 'has no "flows"; nothing was loaded from it');
    } else if (!Array.isArray(flows)) {
      findings.warning(file, 'flows', `${describeValue(flows)} is not a list; file skipped`);
    } else {
      flows.forEach((raw, index) => sources.push({ file, index, raw }));
    }
  }
  return sources;
}

// ---------------------------------------------------------------------------------------------
// Keys

const GLOBAL_KEYS: ReadonlySet<string> = new Set([...Object.keys(globalSchema.shape), 'flows', ...IGNORED_GLOBAL_KEYS.keys()]);
const FLOW_KEYS: ReadonlySet<string> = new Set([...Object.keys(kinesisFlowSchema.shape), ...Object.keys(firehoseFlowSchema.shape)]);

function unknownKeyMessage(key: string, knownKeys: Iterable<string>): string {
  const suggestion = closestMatch(key, knownKeys);
  return `unknown key '${key}' is ignored${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`;
}

function warnAboutUnknownKeys(object: JsonObject, knownKeys: readonly string[], file: string, keyPath: string, findings: Findings): void {
  for (const key of Object.keys(object)) {
    if (!knownKeys.includes(key)) findings.warning(file, childKeyPath(keyPath, key), unknownKeyMessage(key, knownKeys));
  }
}

/** Unknown top-level keys, with a hint for the usual mistakes: a flow key at the top, nested instead of dotted keys. */
function describeUnknownGlobalKey(key: string, value: JsonValue): string {
  if (FLOW_KEYS.has(key)) return `is a per-flow key and is ignored here; move it into an entry of "flows"`;
  if (key.startsWith('engine.')) {
    return `is ignored: engine settings are a nested object, e.g. "engine": { "${key.slice('engine.'.length)}": … }`;
  }
  if (isJsonObject(value)) {
    const flatKeys = Object.keys(value)
      .map((subKey) => `${key}.${subKey}`)
      .filter((flatKey) => GLOBAL_KEYS.has(flatKey));
    if (flatKeys.length > 0) {
      return `is ignored: agent.json keys are flat, write ${flatKeys.map((flatKey) => `"${flatKey}"`).join(', ')} at the top level instead`;
    }
  }
  return unknownKeyMessage(key, GLOBAL_KEYS);
}

// ---------------------------------------------------------------------------------------------
// Global settings

function validateGlobals(document: JsonObject, file: string, findings: Findings): GlobalSettings | undefined {
  for (const [key, value] of Object.entries(document)) {
    if (key === 'flows' || Object.hasOwn(globalSchema.shape, key)) continue;
    findings.warning(file, key, IGNORED_GLOBAL_KEYS.get(key) ?? describeUnknownGlobalKey(key, value));
  }
  const engine = document.engine;
  if (isJsonObject(engine)) {
    warnAboutUnknownKeys(engine, Object.keys(engineSchema.shape), file, 'engine', findings);
    if (isJsonObject(engine.autoCreateStreams)) {
      warnAboutUnknownKeys(engine.autoCreateStreams, AUTO_CREATE_STREAMS_KEYS, file, 'engine.autoCreateStreams', findings);
    }
  }

  const parsed = globalSchema.safeParse(document);
  if (!parsed.success) {
    findings.zodIssues(file, '', parsed.error.issues);
    return undefined;
  }
  const settings = parsed.data;
  if ((settings.awsAccessKeyId === undefined) !== (settings.awsSecretAccessKey === undefined)) {
    const [present, missing] = settings.awsAccessKeyId === undefined ? ['awsSecretAccessKey', 'awsAccessKeyId'] : ['awsAccessKeyId', 'awsSecretAccessKey'];
    findings.warning(file, present, `is ignored because ${missing} is not set; credentials come from the default chain`);
  }
  if (settings.assumeRoleExternalId !== undefined && settings.assumeRoleARN === undefined) {
    findings.warning(file, 'assumeRoleExternalId', 'is ignored because assumeRoleARN is not set');
  }
  return settings;
}

// ---------------------------------------------------------------------------------------------
// Flows

function validateFlow(source: FlowSource, findings: Findings): FlowConfig | undefined {
  const { file, index, raw } = source;
  const flowPath = `flows[${index}]`;
  const keyPath = (key: string) => childKeyPath(flowPath, key);
  if (!isJsonObject(raw)) {
    findings.error(file, flowPath, `${describeValue(raw)} is not a flow (an object with filePattern and kinesisStream or deliveryStream)`);
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
      'a flow sends to one stream, but both kinesisStream and deliveryStream are set (the Java agent silently used deliveryStream)',
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

  if (kind === 'kinesisStream') checkPartitionKeyOptions(raw, file, flowPath, findings);

  const processingOptions = Array.isArray(raw.dataProcessingOptions)
    ? raw.dataProcessingOptions.map((entry, position) =>
        validateProcessingOption(entry, file, childKeyPath(keyPath('dataProcessingOptions'), position), findings),
      )
    : [];

  if (!parsed.success || findings.errorCount > errorsBefore) return undefined;
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
    if (selected && !present) findings.error(file, childKeyPath(flowPath, key), `is required when partitionKeyOption is ${option}`);
    if (!selected && present) findings.warning(file, childKeyPath(flowPath, key), `is ignored unless partitionKeyOption is ${option}`);
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

function buildFlowSettings(settings: CommonFlowSettings, sourceFile: string, label: string, dataProcessingOptions: DataProcessingOption[]) {
  return {
    label,
    sourceFile,
    filePattern: resolveFilePattern(settings.filePattern, sourceFile),
    excludePatterns: settings.excludePattern.map((pattern) => (pattern.includes('/') ? resolveFilePattern(pattern, sourceFile) : pattern)),
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

function reportDuplicateFlows(flows: ReadonlyArray<{ source: FlowSource; flow: FlowConfig }>, findings: Findings): void {
  const firstById = new Map<string, FlowConfig>();
  for (const { source, flow } of flows) {
    const first = firstById.get(flow.id);
    if (first === undefined) {
      firstById.set(flow.id, flow);
      continue;
    }
    const where = first.sourceFile === flow.sourceFile ? first.label : `${first.label} in ${first.sourceFile}`;
    findings.error(source.file, `flows[${source.index}].filePattern`, `duplicate flow: ${where} already sends ${flow.filePattern} to ${flow.kind} ${flow.streamName}`);
  }
}

function reportGlobHazards(flows: ReadonlyArray<{ source: FlowSource; flow: FlowConfig }>, settings: GlobalSettings, configFile: string, findings: Findings): void {
  const own = {
    engineDataDir: settings.engine.embedded ? resolvePath(settings.engine.dataDir, configFile) : undefined,
    checkpointFile: resolvePath(settings.checkpointFile, configFile),
  };
  for (const { source, flow } of flows) {
    for (const hazard of globHazards(flow.filePattern, own)) findings.warning(source.file, `flows[${source.index}].filePattern`, `${flow.filePattern} ${hazard}`);
  }
}

// ---------------------------------------------------------------------------------------------
// dataProcessingOptions

function validateProcessingOption(entry: JsonValue, file: string, keyPath: string, findings: Findings): DataProcessingOption | undefined {
  if (!isJsonObject(entry)) {
    findings.error(file, keyPath, `${describeValue(entry)} is not a processing option (an object with optionName)`);
    return undefined;
  }
  const optionNamePath = childKeyPath(keyPath, 'optionName');
  const optionName = oneOf(DATA_PROCESSING_OPTION_NAMES).safeParse(entry.optionName);
  if (!optionName.success) {
    findings.zodIssues(file, optionNamePath, optionName.error.issues);
    return undefined;
  }
  if (optionName.data === 'USINGPLUGGIN') {
    const className = typeof entry.className === 'string' ? ` (${entry.className})` : '';
    findings.error(file, optionNamePath, `USINGPLUGGIN loads a Java class${className}, which shardtail cannot run`);
    return undefined;
  }
  const schema = dataProcessingSchemas[optionName.data];
  const keysOfAnyOption = new Set(Object.values(dataProcessingSchemas).flatMap((option) => Object.keys(option.shape)));
  for (const key of Object.keys(entry)) {
    if (key === 'optionName' || Object.hasOwn(schema.shape, key)) continue;
    findings.warning(
      file,
      childKeyPath(keyPath, key),
      keysOfAnyOption.has(key) ? `is ignored: ${optionName.data} does not use it` : unknownKeyMessage(key, ['optionName', ...Object.keys(schema.shape)]),
    );
  }
  const parsed = schema.safeParse(entry);
  if (!parsed.success) {
    findings.zodIssues(file, keyPath, parsed.error.issues);
    return undefined;
  }
  const option = buildProcessingOption(optionName.data, parsed.data);
  if (option.optionName === 'LOGTOJSON') checkLogToJsonFields(option, file, keyPath, findings);
  return option;
}

type ProcessingOptionSettings = { [Name in keyof typeof dataProcessingSchemas]: z.output<(typeof dataProcessingSchemas)[Name]> };

function buildProcessingOption(
  optionName: keyof ProcessingOptionSettings,
  parsed: ProcessingOptionSettings[keyof ProcessingOptionSettings],
): DataProcessingOption {
  // zod cannot tie the schema picked by name to its output type, hence the one narrowing cast per case.
  switch (optionName) {
    case 'SINGLELINE': {
      const settings = parsed as ProcessingOptionSettings['SINGLELINE'];
      return { optionName, parseOptions: settings.parseOptions };
    }
    case 'CSVTOJSON': {
      const settings = parsed as ProcessingOptionSettings['CSVTOJSON'];
      return { optionName, customFieldNames: settings.customFieldNames, delimiter: settings.delimiter, jsonFormat: settings.jsonFormat };
    }
    case 'LOGTOJSON': {
      const settings = parsed as ProcessingOptionSettings['LOGTOJSON'];
      return {
        optionName,
        logFormat: settings.logFormat,
        matchPattern: settings.matchPattern,
        customFieldNames: settings.customFieldNames,
        jsonFormat: settings.jsonFormat,
      };
    }
    case 'ADDMETADATA': {
      const settings = parsed as ProcessingOptionSettings['ADDMETADATA'];
      return { optionName, metadata: settings.metadata, timestamp: settings.timestamp, jsonFormat: settings.jsonFormat };
    }
    case 'ADDEC2METADATA': {
      const settings = parsed as ProcessingOptionSettings['ADDEC2METADATA'];
      return { optionName, metadataTTL: settings.metadataTTL, jsonFormat: settings.jsonFormat };
    }
    case 'ADDBRACKETS':
      return { optionName };
  }
}

/** The Java agent fails startup on the first two; the third makes it drop every record silently. */
function checkLogToJsonFields(option: Extract<DataProcessingOption, { optionName: 'LOGTOJSON' }>, file: string, keyPath: string, findings: Findings): void {
  const { matchPattern, customFieldNames, logFormat } = option;
  if (matchPattern !== undefined && customFieldNames === undefined) {
    findings.error(file, childKeyPath(keyPath, 'customFieldNames'), 'is required with matchPattern, to name its capture groups');
    return;
  }
  if (customFieldNames === undefined) return;
  if (matchPattern === undefined) {
    const builtInCount = LOG_FORMAT_FIELD_COUNTS[logFormat];
    if (customFieldNames.length !== builtInCount) {
      findings.error(
        file,
        childKeyPath(keyPath, 'customFieldNames'),
        `renames the ${builtInCount} fields of ${logFormat}, so it needs ${builtInCount} names, not ${customFieldNames.length}`,
      );
    }
    return;
  }
  // An empty alternative makes the pattern match '' so that exec reports how many groups it has.
  const groupCount = (new RegExp(`${matchPattern}|`).exec('') as RegExpExecArray).length - 1;
  if (groupCount !== customFieldNames.length) {
    findings.warning(
      file,
      childKeyPath(keyPath, 'matchPattern'),
      `has ${countOf(groupCount, 'capture group')} but customFieldNames has ${countOf(customFieldNames.length, 'name')}; every record would be dropped`,
    );
  }
}

function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// The resolved configuration

/**
 * Relative paths (filePattern, excludePattern, checkpointFile, engine.dataDir) are resolved against
 * the directory of the file that contains them. The Java agent resolves them against its working
 * directory, which for the packaged service is `/`; tying them to the file makes `check` and the
 * service agree wherever they are run from.
 */
function resolvePath(value: string, containingFile: string): string {
  return path.resolve(path.dirname(containingFile), value);
}

/**
 * Absolute patterns keep their `.` and `..` segments, as Java's Path does, so that the flow id —
 * the checkpoint key — is the Java agent's; only repeated slashes collapse, again like Path.
 */
function resolveFilePattern(pattern: string, containingFile: string): string {
  return path.isAbsolute(pattern) ? pattern.replace(/\/{2,}/g, '/') : resolvePath(pattern, containingFile);
}

function buildAgentConfig(configFile: string, settings: GlobalSettings, flows: FlowConfig[]): AgentConfig {
  const maxSendingThreads = settings.maxSendingThreads ?? Math.max(2, settings.maxSendingThreadsPerCore * os.availableParallelism());
  const { awsAccessKeyId, awsSecretAccessKey, assumeRoleARN } = settings;
  return {
    configFile,
    flows,
    checkpointFile: resolvePath(settings.checkpointFile, configFile),
    checkpointTimeToLiveDays: settings.checkpointTimeToLiveDays,
    checkpoints: {
      queryTimeoutSeconds: settings['checkpoints.queryTimeoutSeconds'],
      connectionTimeoutSeconds: settings['checkpoints.connectionTimeoutSeconds'],
    },
    cloudwatch: {
      emitMetrics: settings['cloudwatch.emitMetrics'],
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
    assumeRole: assumeRoleARN === undefined ? undefined : { roleArn: assumeRoleARN, externalId: settings.assumeRoleExternalId },
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
  };
}
