/**
 * What a transform function answered, checked the way Firehose checks it (../../../../../shared/spec/
 * firehose.md §7.3, field names from aws-lambda-go's events/firehose.go): `{"records": [{recordId,
 * result, data, metadata?}]}` with every input recordId exactly once. A wrong answer fails the whole
 * invocation with the code Firehose logs for it.
 */

export const RESPONSE_ERROR = {
  json: 'Lambda.JsonProcessingException',
  duplicated: 'Lambda.DuplicatedRecordId',
  missing: 'Lambda.MissingRecordId',
} as const;

export type RecordResult =
  | { result: 'Ok'; data: Buffer; partitionKeys: Record<string, string> | undefined }
  | { result: 'Dropped' }
  | { result: 'ProcessingFailed' };

export type ResponseCheck =
  { ok: true; results: Map<string, RecordResult> } | { ok: false; errorCode: string; errorMessage: string };

const JSON_PROCESSING_MESSAGE =
  'There was an error parsing returned records from the Lambda function. ' +
  'Ensure that the returned records match the expected status model.';

// Standard base64 as Buffer.toString('base64') writes it; padding may be left off.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

class ShapeError extends Error {}

function malformed(detail: string): never {
  throw new ShapeError(`${JSON_PROCESSING_MESSAGE} ${detail}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function partitionKeysOf(metadata: unknown, index: number): Record<string, string> | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata)) malformed(`records[${index}].metadata is not an object.`);
  const keys = metadata.partitionKeys;
  if (keys === undefined || keys === null) return undefined;
  if (!isObject(keys)) malformed(`records[${index}].metadata.partitionKeys is not an object.`);
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(keys)) {
    if (typeof value !== 'string') malformed(`records[${index}].metadata.partitionKeys.${name} is not a string.`);
    checked[name] = value;
  }
  return checked;
}

function resultOf(entry: unknown, index: number): { recordId: string; result: RecordResult } {
  if (!isObject(entry)) malformed(`records[${index}] is not an object.`);
  const { recordId, result, data } = entry;
  if (typeof recordId !== 'string') malformed(`records[${index}].recordId is not a string.`);
  if (result === 'Dropped' || result === 'ProcessingFailed') return { recordId, result: { result } };
  if (result !== 'Ok')
    malformed(`records[${index}].result is ${JSON.stringify(result)}, not Ok, Dropped or ProcessingFailed.`);
  if (typeof data !== 'string' || !BASE64.test(data)) malformed(`records[${index}].data is not base64.`);
  const partitionKeys = partitionKeysOf(entry.metadata, index);
  return { recordId, result: { result: 'Ok', data: Buffer.from(data, 'base64'), partitionKeys } };
}

/** Checks `payload` (the function's parsed answer) against the recordIds it was sent. */
export function checkResponse(payload: unknown, recordIds: readonly string[]): ResponseCheck {
  const expected = new Set(recordIds);
  const results = new Map<string, RecordResult>();
  try {
    if (!isObject(payload) || !Array.isArray(payload.records))
      malformed('The response is not an object with a records array.');
    const entries: unknown[] = payload.records;
    for (let index = 0; index < entries.length; index++) {
      const { recordId, result } = resultOf(entries[index], index);
      if (results.has(recordId))
        return {
          ok: false,
          errorCode: RESPONSE_ERROR.duplicated,
          errorMessage: `The Lambda function returned recordId ${recordId} more than once.`,
        };
      results.set(recordId, result);
    }
  } catch (error) {
    if (error instanceof ShapeError) return { ok: false, errorCode: RESPONSE_ERROR.json, errorMessage: error.message };
    throw error;
  }
  const missing = recordIds.filter((id) => !results.has(id));
  const unknown = [...results.keys()].filter((id) => !expected.has(id));
  if (missing.length > 0 || unknown.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`did not return ${missing.length} of the ${recordIds.length} recordIds sent`);
    if (unknown.length > 0) parts.push(`returned ${unknown.length} recordIds it was not sent (${unknown[0]}, …)`);
    return {
      ok: false,
      errorCode: RESPONSE_ERROR.missing,
      errorMessage: `The Lambda function ${parts.join(' and ')}.`,
    };
  }
  return { ok: true, results };
}
