import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { invalidArgument } from './errors.js';
import type { LambdaProcessor, ProcessingConfig } from './types.js';

/** ProcessingConfiguration (spec firehose.md §3.4) checked and defaulted; throws InvalidArgumentException. */

type Json = Record<string, any>;

const LAMBDA_PARAMETERS = [
  'LambdaArn',
  'NumberOfRetries',
  'BufferSizeInMBs',
  'BufferIntervalInSeconds',
  'RoleArn',
  'ShardtailFunctionFile',
  'ShardtailFunctionTimeoutSeconds',
];
const METADATA_PARAMETERS = ['MetadataExtractionQuery', 'JsonParsingEngine'];
const MIB = 1024 * 1024;

export const NO_PROCESSING: ProcessingConfig = {
  lambda: undefined,
  metadataQueries: undefined,
  appendDelimiter: false,
};

export function processingConfig(processing: Json | undefined, member: string, dataDir: string): ProcessingConfig {
  // AWS runs the processors only when Enabled is true; a disabled configuration is kept but inert.
  if (!processing || processing.Enabled !== true) return NO_PROCESSING;
  const out: ProcessingConfig = { lambda: undefined, metadataQueries: undefined, appendDelimiter: false };
  for (const processor of (processing.Processors ?? []) as Json[]) {
    const type = processor.Type as string;
    const parameters = parametersOf(processor, `${member}.ProcessingConfiguration`, type);
    if (type === 'Lambda') {
      if (out.lambda) throw invalidArgument(`${member}.ProcessingConfiguration has more than one Lambda processor.`);
      out.lambda = lambdaProcessor(parameters, dataDir);
    } else if (type === 'MetadataExtraction') {
      if (out.metadataQueries)
        throw invalidArgument(`${member}.ProcessingConfiguration has more than one MetadataExtraction processor.`);
      out.metadataQueries = metadataQueries(parameters);
    } else if (type === 'AppendDelimiterToRecord') {
      out.appendDelimiter = true;
    } else {
      throw invalidArgument(
        `Processor type ${type} is not supported by this engine: it runs Lambda, MetadataExtraction and ` +
          'AppendDelimiterToRecord processors.',
      );
    }
  }
  return out;
}

function parametersOf(processor: Json, member: string, type: string): Map<string, string> {
  const allowed = type === 'Lambda' ? LAMBDA_PARAMETERS : type === 'MetadataExtraction' ? METADATA_PARAMETERS : [];
  const out = new Map<string, string>();
  for (const { ParameterName: name, ParameterValue: value } of (processor.Parameters ?? []) as Json[]) {
    if (!allowed.includes(name))
      throw invalidArgument(
        `${member}: parameter ${name} is not valid for a ${type} processor` +
          (allowed.length ? ` (expected ${allowed.join(', ')}).` : '.'),
      );
    if (out.has(name)) throw invalidArgument(`${member}: parameter ${name} is given more than once.`);
    out.set(name, value as string);
  }
  return out;
}

function numberParameter(
  parameters: Map<string, string>,
  name: string,
  range: { min: number; max: number; fallback: number; integer: boolean },
): number {
  const text = parameters.get(name);
  if (text === undefined) return range.fallback;
  const value = Number(text);
  if (
    !/^\d+(\.\d+)?$/.test(text.trim()) ||
    (range.integer && !Number.isInteger(value)) ||
    value < range.min ||
    value > range.max
  )
    throw invalidArgument(
      `Lambda processor parameter ${name} must be ${range.integer ? 'an integer' : 'a number'} from ${range.min} ` +
        `to ${range.max}; got '${text}'.`,
    );
  return value;
}

function lambdaProcessor(parameters: Map<string, string>, dataDir: string): LambdaProcessor {
  const lambdaArn = parameters.get('LambdaArn');
  if (lambdaArn === undefined) throw invalidArgument('A Lambda processor needs the parameter LambdaArn.');
  const functionName = /^arn:[^:]+:lambda:[^:]*:\d{12}:function:([a-zA-Z0-9_-]+)(:[^:]+)?$/.exec(lambdaArn)?.[1];
  if (!functionName)
    throw invalidArgument(
      `LambdaArn ${lambdaArn} is not a Lambda function ARN ` +
        '(arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]).',
    );
  const timeoutSeconds = numberParameter(parameters, 'ShardtailFunctionTimeoutSeconds', {
    min: 1,
    max: 300,
    fallback: 60,
    integer: true,
  });
  return {
    lambdaArn,
    modulePath: functionModule(lambdaArn, functionName, parameters.get('ShardtailFunctionFile'), dataDir),
    numberOfRetries: numberParameter(parameters, 'NumberOfRetries', { min: 0, max: 300, fallback: 3, integer: true }),
    timeoutMs: timeoutSeconds * 1000,
    bufferSizeBytes: Math.round(
      numberParameter(parameters, 'BufferSizeInMBs', { min: 0.2, max: 3, fallback: 1, integer: false }) * MIB,
    ),
    bufferIntervalMs:
      numberParameter(parameters, 'BufferIntervalInSeconds', { min: 0, max: 900, fallback: 60, integer: true }) * 1000,
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The engine runs functions from local files: the one named, or the one named after the function. */
function functionModule(lambdaArn: string, functionName: string, file: string | undefined, dataDir: string): string {
  const candidates =
    file === undefined
      ? ['.js', '.mjs', '.cjs'].map((ext) => resolve(join(dataDir, 'functions', functionName + ext)))
      : [resolve(file)];
  const found = candidates.find(isFile);
  if (found) return found;
  throw invalidArgument(
    `No function file for ${lambdaArn}: looked for ${candidates.join(', ')}. Put the function's module there or ` +
      'name it with the processor parameter ShardtailFunctionFile.',
  );
}

/**
 * MetadataExtractionQuery is a JQ object construction; this engine evaluates only its plain paths,
 * e.g. `{customer_id:.customer_id,device:.type.device}`.
 */
function metadataQueries(parameters: Map<string, string>): Record<string, string> {
  const engine = parameters.get('JsonParsingEngine');
  if (engine !== undefined && engine !== 'JQ-1.6')
    throw invalidArgument(`JsonParsingEngine ${engine} is not supported: the only value is JQ-1.6.`);
  const query = parameters.get('MetadataExtractionQuery');
  if (query === undefined)
    throw invalidArgument('A MetadataExtraction processor needs the parameter MetadataExtractionQuery.');
  const refuse = () =>
    invalidArgument(
      `MetadataExtractionQuery ${query} is not supported by this engine: it takes an object of plain paths, ` +
        'e.g. {customer_id:.customer_id,device:.type.device}.',
    );
  const body = /^\s*\{(.*)\}\s*$/s.exec(query)?.[1];
  if (body === undefined || body.trim() === '') throw refuse();
  const out: Record<string, string> = {};
  for (const entry of body.split(',')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*((\.[A-Za-z_][A-Za-z0-9_]*)+)\s*$/.exec(entry);
    if (!match || Object.hasOwn(out, match[1])) throw refuse();
    out[match[1]] = match[2];
  }
  return out;
}
