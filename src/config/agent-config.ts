/**
 * Loads agent.json the way the Java Kinesis Agent does — same keys, defaults, string-typed numbers,
 * comments, agent.d/ flows — but reports every problem at once, and warns about the keys the Java
 * agent silently ignores.
 */
import path from 'node:path';
import { applyEnvironmentOverrides, isEnvironmentSource } from './env-config.js';
import { Findings, flowLabels, type FlowSource } from './findings.js';
import { reportDuplicateFlows, reportGlobHazards, validateFlow, type ValidFlow } from './flows.js';
import { buildAgentConfig, validateGlobals } from './global-settings.js';
import { AGENT_DIRECTORY_NAME, readAgentDirectoryFlows, readConfigDocument } from './load-files.js';
import { ConfigError } from './problems.js';
import { describeValue } from './values.js';
import type { LoadedAgentConfig } from './types.js';

export type * from './types.js';
export { ConfigError, type ConfigProblem } from './problems.js';

export async function loadAgentConfig(configPath: string): Promise<LoadedAgentConfig> {
  const fromEnvironment = isEnvironmentSource(configPath);
  const configFile = fromEnvironment ? configPath : path.resolve(configPath);
  const findings = new Findings();
  const document = await readConfigDocument(configFile, findings);
  applyEnvironmentOverrides(document, configFile, findings);

  const globals = validateGlobals(document, configFile, findings);

  const flowSources: FlowSource[] = [];
  const validFlows: ValidFlow[] = [];
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
  // A config from the environment has no directory, hence no agent.d/ beside it.
  if (!fromEnvironment) addFlows(await readAgentDirectoryFlows(configFile, findings));

  if (flowSources.length === 0) {
    findings.error(
      configFile,
      'flows',
      `no flows are configured; add one to "flows" here or in a file in ${AGENT_DIRECTORY_NAME}/`,
    );
  }
  reportDuplicateFlows(validFlows, findings);
  if (globals !== undefined) reportGlobHazards(validFlows, globals, configFile, findings);

  const labels = flowLabels(flowSources);
  const errors = findings.problems('error', labels);
  const warnings = findings.problems('warning', labels);
  if (errors.length > 0 || globals === undefined) throw new ConfigError(errors, warnings);
  return {
    config: buildAgentConfig(
      configFile,
      globals,
      validFlows.map(({ flow }) => flow),
    ),
    warnings,
  };
}
