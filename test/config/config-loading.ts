/** Loading agent.json in the config tests: fixtures, scratch directories, and the problems a load reports. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  loadAgentConfig,
  type AgentConfig,
  type ConfigProblem,
  type FirehoseFlowConfig,
  type KinesisFlowConfig,
} from '../../src/config/agent-config.js';

export const fixtures = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
export const fixture = (name: string) => path.join(fixtures, name, 'agent.json');

export async function loadFailure(configPath: string): Promise<ConfigError> {
  try {
    await loadAgentConfig(configPath);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${configPath} loaded although it should not`);
}

export function kinesisFlow(config: AgentConfig, index: number): KinesisFlowConfig {
  const flow = config.flows[index];
  assert.equal(flow.kind, 'kinesisStream');
  return flow;
}

export function firehoseFlow(config: AgentConfig, index: number): FirehoseFlowConfig {
  const flow = config.flows[index];
  assert.equal(flow.kind, 'deliveryStream');
  return flow;
}

/** Problems without the file, for comparing against expected lists. */
export const withoutFile = (problems: ConfigProblem[]) => problems.map(({ file: _file, ...rest }) => rest);

const scratchDirectories: string[] = [];
after(async () => {
  await Promise.all(scratchDirectories.map((directory) => rm(directory, { recursive: true, force: true })));
});

/** A throw-away config directory for cases a checked-in fixture cannot express (permissions, missing files). */
export async function scratchConfig(files: Record<string, string>): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'shardtail-config-'));
  scratchDirectories.push(directory);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(directory, name)), { recursive: true });
    await writeFile(path.join(directory, name), content);
  }
  return path.join(directory, 'agent.json');
}
