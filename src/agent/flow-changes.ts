import { isDeepStrictEqual } from 'node:util';
import type { AgentConfig, FlowConfig } from '../config/agent-config.js';

/** What a reload does to the running flows, by flow id. */
export interface FlowChanges {
  unchanged: string[];
  removed: string[];
  changed: string[];
  added: string[];
}

/**
 * How a reloaded agent.json differs from the running one, flow by flow; undefined when a global
 * setting changed, which no flow can take on alone. Flows are matched by id (destination and
 * filePattern), the key their checkpoints are saved under.
 */
export function flowChanges(running: AgentConfig, next: AgentConfig): FlowChanges | undefined {
  if (!isDeepStrictEqual({ ...running, flows: [] }, { ...next, flows: [] })) return undefined;
  const wanted = new Map(next.flows.map((flow) => [flow.id, flow]));
  const changes: FlowChanges = { unchanged: [], removed: [], changed: [], added: [] };
  for (const flow of running.flows) {
    const nextFlow = wanted.get(flow.id);
    if (nextFlow === undefined) changes.removed.push(flow.id);
    else if (sameFlowSettings(flow, nextFlow)) changes.unchanged.push(flow.id);
    else changes.changed.push(flow.id);
  }
  const runningIds = new Set(running.flows.map((flow) => flow.id));
  for (const id of wanted.keys()) if (!runningIds.has(id)) changes.added.push(id);
  return changes;
}

/** Where a flow is declared, and what messages call it, do not change what it does. */
function sameFlowSettings(running: FlowConfig, next: FlowConfig): boolean {
  return isDeepStrictEqual({ ...running, label: '', sourceFile: '' }, { ...next, label: '', sourceFile: '' });
}
