/**
 * One agent scenario on the embedded engine: a temp dir with logs/ and agent.json, the agents
 * started in it (killed when the test ends), a ledger of the lines written, and a stream reader
 * that follows each restarted agent's new engine.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import {
  describeReport,
  embeddedConfig,
  Ledger,
  logsUnder,
  startAgent,
  stopCleanly,
  StreamCollector,
  type AgentProcess,
  type DeliveryReport,
} from './agent-process.js';
import { makeTempDir } from './tmp.js';

export interface EmbeddedScenario {
  dir: string;
  logDir: string;
  configFile: string;
  stream: string;
  ledger: Ledger;
  collector: StreamCollector | undefined;
  agents: AgentProcess[];
}

/** A scenario under a new temp dir named `tmpPrefix…`, one flow to `stream` with `flow`'s keys. */
export function embeddedScenario(
  t: TestContext,
  tmpPrefix: string,
  stream: string,
  flow: Record<string, unknown> = {},
): EmbeddedScenario {
  const { dir, logDir } = logsUnder(makeTempDir(tmpPrefix));
  const configFile = embeddedConfig(dir, stream, flow);
  const s: EmbeddedScenario = {
    dir,
    logDir,
    configFile,
    stream,
    ledger: new Ledger(),
    collector: undefined,
    agents: [],
  };
  t.after(async () => {
    for (const agent of s.agents) await agent.kill();
  });
  return s;
}

/** Starts the agent and points the stream reader at its (new) embedded engine. */
export async function launch(s: EmbeddedScenario): Promise<AgentProcess> {
  const agent = await startAgent({ configFile: s.configFile });
  s.agents.push(agent);
  assert.ok(agent.engineUrl, `no "embedded engine listening" line:\n${agent.tail()}`);
  if (s.collector === undefined) s.collector = new StreamCollector(agent.engineUrl, s.stream);
  else s.collector.setEndpoint(agent.engineUrl);
  return agent;
}

/** Until every line of the ledger arrived at least once. */
export async function untilAllArrived(s: EmbeddedScenario, agent: AgentProcess, timeoutMs = 15_000): Promise<void> {
  await s.collector!.until((records) => s.ledger.allArrived(records), {
    timeoutMs,
    agent,
    message: () =>
      `all ${s.ledger.size} lines to arrive ` +
      `(${describeReport(s.ledger.report(s.collector!.records), s.ledger.size)}); agent ${agent.state()}, ` +
      `output:\n${agent.tail()}`,
  });
}

/**
 * After a crash: starts the agent again, waits for every line, stops it cleanly, and asserts that
 * nothing was lost or altered (`what` says what must hold); returns the report, duplicates and all.
 */
export async function restartUntilAllArrived(s: EmbeddedScenario, what: string): Promise<DeliveryReport> {
  const agent = await launch(s);
  await untilAllArrived(s, agent, 20_000);
  await stopCleanly(agent);
  const report = s.ledger.report(s.collector!.records);
  assert.equal(describeReport(report, s.ledger.size, { allowDuplicates: true }), '', what);
  return report;
}
