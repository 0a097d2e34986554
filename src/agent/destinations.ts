import type { AgentConfig, FlowConfig } from '../config/agent-config.js';
import { usesEmbeddedEngine } from '../config/embedded-engine.js';
import type { CredentialProvider } from '../client/credentials.js';
import { resolveEndpoint } from '../client/endpoint.js';
import type { AwsService, JsonApiClient } from '../client/json-api-client.js';
import { InProcessClient } from '../engine/in-process-client.js';
import type { RunningEngine } from '../engine/server.js';
import type { Logger } from '../log.js';
import type { Destination } from '../send/destination.js';
import { FirehoseDestination } from '../send/firehose-destination.js';
import { KinesisDestination } from '../send/kinesis-destination.js';

/**
 * The agent's clients, one per endpoint and region whichever flows share it (the embedded engine's
 * in process, AWS's over HTTP with one credential chain), and a destination per flow over them.
 */
export class Destinations {
  private readonly clients = new Map<string, JsonApiClient>();
  private credentialProvider: CredentialProvider | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly engine: RunningEngine | undefined,
    private readonly logger: Logger,
  ) {}

  async for(flow: FlowConfig): Promise<Destination> {
    const service: AwsService = flow.kind === 'kinesisStream' ? 'kinesis' : 'firehose';
    let client: JsonApiClient;
    if (usesEmbeddedEngine(this.config, flow)) {
      const engine = this.engine!;
      client = this.clientFor(
        `embedded:${service}`,
        () => new InProcessClient(service === 'kinesis' ? engine.kinesis : engine.firehose),
      );
    } else {
      const endpoint = service === 'kinesis' ? this.config.kinesis.endpoint : this.config.firehose.endpoint;
      // The Java agent has no firehose.region: Firehose signs for the region of its endpoint, else us-east-1.
      const region = service === 'kinesis' ? this.config.kinesis.region : undefined;
      const resolved = resolveEndpoint({ service, endpoint, region });
      // Loaded only when something goes over HTTP: the embedded engine alone starts faster without it.
      const { HttpJsonApiClient } = await import('../client/http-client.js');
      const credentials = await this.credentials(resolved.region);
      client = this.clientFor(`${service}:${resolved.endpoint}:${resolved.region}`, () => {
        this.logger.info(
          { service, endpoint: resolved.endpoint, region: resolved.region, regionSource: resolved.regionSource },
          'destination endpoint',
        );
        return new HttpJsonApiClient({
          service,
          endpoint: resolved.endpoint,
          region: resolved.region,
          credentials,
          connections: Math.max(1, Math.min(this.config.maxConnections, 64)),
          requestTimeoutMs: this.config.socketTimeoutMillis,
          userAgent:
            this.config.userAgentOverride ?? [this.config.userAgent, 'shardtail/0.1'].filter(Boolean).join(' '),
        });
      });
    }
    return flow.kind === 'kinesisStream'
      ? new KinesisDestination(flow.streamName, client, flow.partitioning, flow.aggregatedRecordSizeBytes)
      : // The Java agent aggregates single lines only: with multiLineStartPattern the setting is ignored.
        new FirehoseDestination(
          flow.streamName,
          client,
          flow.multiLineStartPattern === undefined ? flow.aggregatedRecordSizeBytes : 0,
        );
  }

  async credentials(region: string): Promise<CredentialProvider> {
    const { agentCredentialProvider } = await import('../client/credentials.js');
    this.credentialProvider ??= agentCredentialProvider(this.config, region);
    return this.credentialProvider;
  }

  private clientFor(key: string, create: () => JsonApiClient): JsonApiClient {
    let client = this.clients.get(key);
    if (!client) {
      client = create();
      this.clients.set(key, client);
    }
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) await client.close();
  }
}
