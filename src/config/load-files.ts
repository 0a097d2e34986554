/**
 * Reading agent.json and the files of agent.d/: JSON with comments, read errors in words, and the
 * Java agent's rule that an agent.d file that cannot be used is skipped with a warning.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FlowSource, Findings } from './findings.js';
import { isJsonObject, JsoncSyntaxError, parseJsonc, type JsonObject, type JsonValue } from './jsonc.js';
import { CONFIG_VARIABLE, isEnvironmentSource } from './env-config.js';
import { ConfigError } from './problems.js';
import { describeValue } from './values.js';

/**
 * Extra flows come from every regular file in the `agent.d` directory next to agent.json, in name
 * order. Like the Java agent, only their `flows` are used and a file that cannot be read or parsed
 * is skipped with a warning. Unlike it, the directory follows the config file instead of being
 * hard-coded to /etc/aws-kinesis/agent.d/ (the same place for the default /etc/aws-kinesis/agent.json).
 */
export const AGENT_DIRECTORY_NAME = 'agent.d';

type ReadResult = { ok: true; document: JsonObject } | { ok: false; reason: string };

async function readJsonObjectFile(file: string, findings: Findings): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, reason: describeReadError(error as NodeJS.ErrnoException) };
  }
  return parseJsonObject(text, file, findings);
}

function parseJsonObject(text: string, file: string, findings: Findings): ReadResult {
  let document: JsonValue;
  try {
    document = parseJsonc(text, {
      onDuplicateKey: (keyPath) =>
        findings.warning(file, keyPath, 'appears twice in the same object; only the last value is used'),
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

/** agent.json itself: without it there is nothing to check, so any read problem ends the load. */
export async function readConfigDocument(configFile: string, findings: Findings): Promise<JsonObject> {
  const result = isEnvironmentSource(configFile)
    ? parseJsonObject(process.env[CONFIG_VARIABLE] ?? '', configFile, findings)
    : await readJsonObjectFile(configFile, findings);
  if (!result.ok)
    throw new ConfigError(
      [{ file: configFile, key: '', message: result.reason }],
      findings.problems('warning', new Map()),
    );
  return result.document;
}

export async function readAgentDirectoryFlows(configFile: string, findings: Findings): Promise<FlowSource[]> {
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
    const isRegularFile = await stat(file).then(
      (info) => info.isFile(),
      () => false,
    );
    if (!isRegularFile) continue;
    const result = await readJsonObjectFile(file, findings);
    if (!result.ok) {
      findings.warning(file, '', `file skipped: ${result.reason}`);
      continue;
    }
    for (const key of Object.keys(result.document)) {
      if (key !== 'flows')
        findings.warning(file, key, `is ignored: files in ${AGENT_DIRECTORY_NAME}/ only contribute "flows"`);
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
