/** One thing wrong (or suspicious) in a configuration file. */
export interface ConfigProblem {
  /** Absolute path of the file the problem is in (agent.json or a file in agent.d/). */
  file: string;
  /**
   * Key path inside that file, e.g. `kinesis.endpoint` or `dataProcessingOptions[1].delimiter`.
   * Relative to the flow when `flow` is set; empty when the problem is the whole file.
   */
  key: string;
  /** The flow the key belongs to, e.g. `flows[1] (kinesisStream demo-stream)`. */
  flow?: string;
  message: string;
}

/** Thrown when a configuration cannot be used; lists every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    /** Warnings found before giving up, so a report can show them alongside the errors. */
    readonly warnings: ConfigProblem[] = [],
  ) {
    super(
      problems.length === 1
        ? `invalid configuration: ${formatProblem(problems[0])}`
        : `invalid configuration (${problems.length} problems):\n${problems.map(formatProblem).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** `FILE: key (flow): message`, the one-line form used by `shardtail check` and in logs. */
export function formatProblem(problem: ConfigProblem): string {
  const location =
    problem.key === '' ? '' : ` ${problem.key}${problem.flow === undefined ? '' : ` (${problem.flow})`}:`;
  return `${problem.file}:${location} ${problem.message}`;
}
