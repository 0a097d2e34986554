/**
 * Which flows the embedded engine serves: decided here alone, for the agent (which client a flow
 * gets, whether its stream may be created) and for anything that reports on it. The engine serves
 * Kinesis and Firehose alike, in process.
 */
import { resolveCloudWatchEndpoint } from '../client/endpoint.js';
import type { AgentConfig, FlowConfig } from './types.js';

/** A flow goes to the embedded engine when it runs and the flow's service has no endpoint of its own. */
export function usesEmbeddedEngine(config: AgentConfig, flow: FlowConfig): boolean {
  if (!config.engine.embedded) return false;
  return (flow.kind === 'kinesisStream' ? config.kinesis.endpoint : config.firehose.endpoint) === undefined;
}

/**
 * What cloudwatch.emitMetrics means when agent.json leaves it out. The Java agent's default, true,
 * sends metrics to AWS, which a config whose every flow goes to the embedded engine does not use:
 * there it would sign requests with credentials that may not exist and report on local streams.
 */
export function metricsByDefault(config: AgentConfig): boolean {
  return !config.flows.every((flow) => usesEmbeddedEngine(config, flow));
}

/** The one line `check` (and `start`) give when metrics are off only because of the embedded engine. */
export function metricsOffNote(config: AgentConfig): string | undefined {
  if (!config.cloudwatch.offForEmbeddedEngine) return undefined;
  let endpoint: string;
  try {
    endpoint = resolveCloudWatchEndpoint(config).endpoint;
  } catch (error) {
    // A bad AWS_REGION matters to none of these flows: it is no reason for `check` to fail.
    endpoint = `CloudWatch (${(error as Error).message})`;
  }
  return (
    'cloudwatch.emitMetrics: off — every flow goes to the embedded engine; set it to true to send metrics to ' +
    endpoint
  );
}
