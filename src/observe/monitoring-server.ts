import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenUrl, type ListenAddress } from '../config/listen-address.js';
import type { AgentMetrics, FlowSample } from './agent-metrics.js';

/** A flow as `/status` and `/readyz` describe it. */
export interface FlowStatus {
  flow: string;
  files: number;
  filesOpen: number;
  bytesBehind: number;
  recordsSent: number;
  lastError: { code: string; message: string; at: string } | null;
  stalled: boolean;
  ready: boolean;
  /** Why the flow is not ready; empty when it is. */
  reasons: string[];
}

/** The body of `GET /status`, and of `/readyz` (what `shardtail status` prints). */
export interface AgentStatus {
  ready: boolean;
  /** Set while no agent runs (starting, or between the stop and start of a reload). */
  reason?: string;
  flows: FlowStatus[];
}

/**
 * The monitoring listener: `/metrics` (Prometheus text), `/healthz` (the process answers),
 * `/readyz` (every flow's destination answered its last call and no reading is stalled) and
 * `/status` (per flow counts and last error, for `shardtail status`). It runs whether or not an
 * engine is embedded, and across reloads, which replace the agent it reads from.
 */
export class MonitoringServer {
  private running = false;

  private constructor(
    private readonly server: Server,
    private readonly metrics: AgentMetrics,
    readonly url: string,
  ) {}

  static async start(listen: ListenAddress, metrics: AgentMetrics): Promise<MonitoringServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const monitoring = new MonitoringServer(server, metrics, listenUrl({ host: listen.host, port }));
    server.on('request', (request, response) => void monitoring.handle(request, response));
    return monitoring;
  }

  /** Whether an agent runs (started, not stopping): readiness needs one. */
  set agentRunning(running: boolean) {
    this.running = running;
  }

  status(): AgentStatus {
    const reason = 'the agent is not running (starting, reloading or stopping)';
    if (!this.running) return { ready: false, reason, flows: [] };
    const flows = this.metrics.sample().map((sample) => this.flowStatus(sample));
    return { ready: flows.every((flow) => flow.ready), flows };
  }

  private flowStatus(sample: FlowSample): FlowStatus {
    const health = this.metrics.flowHealth(sample.flow);
    const reasons: string[] = [];
    if (health.lastCallAnswered === false && health.lastError !== undefined)
      reasons.push(
        `the destination did not answer the last call: ${health.lastError.code}: ${health.lastError.message}`,
      );
    if (health.stalledSinceMs !== undefined)
      reasons.push(
        `reading stalled since ${new Date(health.stalledSinceMs).toISOString()} ` +
          `with ${sample.bytesBehind} bytes unread`,
      );
    const lastError = health.lastError;
    return {
      flow: sample.flow,
      files: sample.files,
      filesOpen: sample.filesOpen,
      bytesBehind: sample.bytesBehind,
      recordsSent: sample.recordsSent,
      lastError:
        lastError === undefined
          ? null
          : {
              code: lastError.code,
              message: lastError.message,
              at: new Date(lastError.atMs).toISOString(),
            },
      stalled: health.stalledSinceMs !== undefined,
      ready: reasons.length === 0,
      reasons,
    };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain', 'GET only\n');
    try {
      switch (path) {
        case '/metrics':
          return send(response, 200, this.metrics.registry.contentType, await this.metrics.registry.metrics());
        case '/healthz':
          return send(response, 200, 'text/plain', 'ok\n');
        case '/readyz':
        case '/status': {
          const status = this.status();
          const code = path === '/readyz' && !status.ready ? 503 : 200;
          return send(response, code, 'application/json', JSON.stringify(status) + '\n');
        }
        default:
          return send(response, 404, 'text/plain', 'not found: try /metrics, /healthz, /readyz or /status\n');
      }
    } catch (error) {
      send(response, 500, 'text/plain', `${(error as Error).message}\n`);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
