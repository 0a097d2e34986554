/**
 * What the embedded engine cannot serve. It speaks the Kinesis API only, so a Firehose flow without
 * its own firehose.endpoint would be sent to it and retried forever; `start` refuses such a flow
 * and `check` reports it, both with this one message.
 */
import type { ConfigProblem } from './problems.js';
import type { AgentConfig, FlowConfig } from './types.js';

/** A flow goes to the embedded engine when it runs and the flow's service has no endpoint of its own. */
export function usesEmbeddedEngine(config: AgentConfig, flow: FlowConfig): boolean {
  if (!config.engine.embedded) return false;
  return (flow.kind === 'kinesisStream' ? config.kinesis.endpoint : config.firehose.endpoint) === undefined;
}

export function flowsTheEmbeddedEngineCannotServe(config: AgentConfig): ConfigProblem[] {
  return config.flows
    .filter((flow) => flow.kind === 'deliveryStream' && usesEmbeddedEngine(config, flow))
    .map((flow) => ({
      file: flow.sourceFile,
      key: 'deliveryStream',
      flow: flow.label,
      message:
        'the embedded engine has no Firehose yet; set firehose.endpoint to ship it to Firehose, or ship the ' +
        'flow to a kinesisStream',
    }));
}
