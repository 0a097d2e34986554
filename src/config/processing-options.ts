/**
 * Entries of a flow's dataProcessingOptions (research §1c, §2), each validated against the schema of its optionName.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { z } from 'zod';
import type { Findings } from './findings.js';
import { childKeyPath, isJsonObject, type JsonValue } from './jsonc.js';
import { unknownKeyMessage } from './keys.js';
import { resolvePath } from './paths.js';
import { DATA_PROCESSING_OPTION_NAMES, dataProcessingSchemas, LOG_FORMAT_FIELD_COUNTS } from './schema.js';
import { describeValue, oneOf } from './values.js';
import type { DataProcessingOption } from './types.js';

export function validateProcessingOption(
  entry: JsonValue,
  file: string,
  keyPath: string,
  findings: Findings,
): DataProcessingOption | undefined {
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
    findings.error(
      file,
      optionNamePath,
      `USINGPLUGGIN loads a Java class${className}, which shardtail cannot run; in its place, ` +
        '{"optionName": "USINGJAVASCRIPT", "modulePath": "transform.mjs"} runs a JavaScript module whose default ' +
        'export takes a record (a string) and returns its new text, or null to drop it',
    );
    return undefined;
  }
  const schema = dataProcessingSchemas[optionName.data];
  const keysOfAnyOption = new Set(Object.values(dataProcessingSchemas).flatMap((option) => Object.keys(option.shape)));
  for (const key of Object.keys(entry)) {
    if (key === 'optionName' || Object.hasOwn(schema.shape, key)) continue;
    findings.warning(
      file,
      childKeyPath(keyPath, key),
      keysOfAnyOption.has(key)
        ? `is ignored: ${optionName.data} does not use it`
        : unknownKeyMessage(key, ['optionName', ...Object.keys(schema.shape)]),
    );
  }
  const parsed = schema.safeParse(entry);
  if (!parsed.success) {
    findings.zodIssues(file, keyPath, parsed.error.issues);
    return undefined;
  }
  const option = buildProcessingOption(optionName.data, parsed.data);
  if (option.optionName === 'LOGTOJSON') checkLogToJsonFields(option, file, keyPath, findings);
  if (option.optionName === 'USINGJAVASCRIPT') {
    option.modulePath = resolvePath(option.modulePath, file);
    if (!isReadableFile(option.modulePath)) {
      findings.error(file, childKeyPath(keyPath, 'modulePath'), `${option.modulePath} is not a readable file`);
      return undefined;
    }
  }
  return option;
}

type ProcessingOptionSettings = {
  [Name in keyof typeof dataProcessingSchemas]: z.output<(typeof dataProcessingSchemas)[Name]>;
};

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
      return {
        optionName,
        customFieldNames: settings.customFieldNames,
        delimiter: settings.delimiter,
        jsonFormat: settings.jsonFormat,
      };
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
      return {
        optionName,
        metadata: settings.metadata,
        timestamp: settings.timestamp,
        jsonFormat: settings.jsonFormat,
      };
    }
    case 'ADDEC2METADATA': {
      const settings = parsed as ProcessingOptionSettings['ADDEC2METADATA'];
      return { optionName, metadataTTL: settings.metadataTTL, jsonFormat: settings.jsonFormat };
    }
    case 'ADDBRACKETS':
      return { optionName };
    case 'USINGJAVASCRIPT': {
      const settings = parsed as ProcessingOptionSettings['USINGJAVASCRIPT'];
      return { optionName, modulePath: settings.modulePath };
    }
  }
}

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The Java agent fails startup on the first two; the third makes it drop every record silently. */
function checkLogToJsonFields(
  option: Extract<DataProcessingOption, { optionName: 'LOGTOJSON' }>,
  file: string,
  keyPath: string,
  findings: Findings,
): void {
  const { matchPattern, customFieldNames, logFormat } = option;
  if (matchPattern !== undefined && customFieldNames === undefined) {
    findings.error(
      file,
      childKeyPath(keyPath, 'customFieldNames'),
      'is required with matchPattern, to name its capture groups',
    );
    return;
  }
  if (customFieldNames === undefined) return;
  if (matchPattern === undefined) {
    const builtInCount = LOG_FORMAT_FIELD_COUNTS[logFormat];
    if (customFieldNames.length !== builtInCount) {
      findings.error(
        file,
        childKeyPath(keyPath, 'customFieldNames'),
        `renames the ${builtInCount} fields of ${logFormat}, so it needs ${builtInCount} names, not ` +
          `${customFieldNames.length}`,
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
      `has ${countOf(groupCount, 'capture group')} but customFieldNames has ` +
        `${countOf(customFieldNames.length, 'name')}; every record would be dropped`,
    );
  }
}

function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
