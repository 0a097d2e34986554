/**
 * What the embedded engine cannot serve. It speaks the Kinesis API only, so a Firehose flow without
 * its own firehose.endpoint would be sent to it and retried forever; `start` refuses such a flow
 * and `check` reports it, both with this one message.
 */
import type { ConfigProblem } from './problems.js';
import type { AgentConfig } from './types.js';

export function flowsTheEmbeddedEngineCannotServe(config: AgentConfig): ConfigProblem[] {
  if (!config.engine.embedded || config.firehose.endpoint !== undefined) return [];
  return config.flows
    .filter((flow) => flow.kind === 'deliveryStream')
    .map((flow) => ({
      file: flow.sourceFile,
      key: 'deliveryStream',
      flow: flow.label,
      message: 'the embedded engine has no Firehose yet; set firehose.endpoint to ship it to Firehose, or ship the flow to a kinesisStream',
    }));
}
