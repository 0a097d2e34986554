/**
 * Which flows the embedded engine serves: decided here alone, for the agent (which client a flow
 * gets, whether its stream may be created) and for anything that reports on it. The engine serves
 * Kinesis and Firehose alike, in process.
 */
import type { AgentConfig, FlowConfig } from './types.js';

/** A flow goes to the embedded engine when it runs and the flow's service has no endpoint of its own. */
export function usesEmbeddedEngine(config: AgentConfig, flow: FlowConfig): boolean {
  if (!config.engine.embedded) return false;
  return (flow.kind === 'kinesisStream' ? config.kinesis.endpoint : config.firehose.endpoint) === undefined;
}
