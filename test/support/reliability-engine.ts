/**
 * The standalone engine (`node dist/cli.js engine`) on a port of the test's choosing, so that it
 * can be stopped and started again on the same port and data directory while an agent ships to it.
 */
import { childEnv } from './agent-process.js';
import { startEngineProcess, type EngineProcess } from './engine-process.js';

export interface EngineAtOptions {
  dataDir: string;
  /** 0 for a free port (the first start); the same port again for a restart. */
  port: number;
  enforceLimits?: boolean;
  startTimeoutMs?: number;
}

export function startEngineAt(options: EngineAtOptions): Promise<EngineProcess> {
  return startEngineProcess({ ...options, env: childEnv() });
}
