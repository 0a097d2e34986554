import type { Argv } from 'yargs';
import { AwsApiError } from '../client/api-error.js';
import type { CredentialProvider } from '../client/credentials.js';
import { resolveEndpoint } from '../client/endpoint.js';
import type { HttpJsonApiClient } from '../client/http-client.js';
import type { AwsService } from '../client/json-api-client.js';

/** The endpoint options of the commands that call an API (`stream`, `firehose`). */
export interface EndpointArgs {
  endpoint: string;
  region?: string;
}

const DEFAULT_ENDPOINT = 'http://127.0.0.1:4567';

/** --endpoint (the embedded engine's default address, or SHARDTAIL_ENDPOINT) and --region. */
export function endpointOptions<T>(yargs: Argv<T>, service: string): Argv<T & EndpointArgs> {
  return yargs
    .option('endpoint', {
      type: 'string',
      default: process.env.SHARDTAIL_ENDPOINT ?? DEFAULT_ENDPOINT,
      describe: `${service} endpoint URL`,
    })
    .option('region', {
      type: 'string',
      describe: 'Signing region (default: from the endpoint host, AWS_REGION, or us-east-1)',
    });
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname.startsWith('127.') || hostname === '[::1]' || hostname === '::1';
}

/**
 * A local engine ignores signatures, so a laptop without AWS credentials must still be able to talk
 * to it; and the default chain would otherwise probe the EC2 metadata address from a laptop.
 */
async function credentialsFor(endpointUrl: URL, region: string): Promise<CredentialProvider> {
  const { createCredentialProvider, staticCredentialProvider } = await import('../client/credentials.js');
  if (isLoopback(endpointUrl.hostname)) {
    return staticCredentialProvider({
      accessKeyId: process.env.AWS_ACCESS_KEY_ID || 'shardtail-local',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || 'shardtail-local',
      sessionToken: process.env.AWS_ACCESS_KEY_ID ? process.env.AWS_SESSION_TOKEN || undefined : undefined,
    });
  }
  return createCredentialProvider({ region });
}

export async function apiClientFor(service: AwsService, args: EndpointArgs): Promise<HttpJsonApiClient> {
  const resolved = resolveEndpoint({ service, endpoint: args.endpoint, region: args.region });
  const { HttpJsonApiClient } = await import('../client/http-client.js');
  return new HttpJsonApiClient({
    service,
    endpoint: resolved.endpoint,
    region: resolved.region,
    credentials: await credentialsFor(new URL(resolved.endpoint), resolved.region),
  });
}

/**
 * Runs one subcommand with a client, turning its failures into one line after `prefix`
 * (`Code: message` for an API error) and exit code 1; an endpoint that cannot be used exits 2.
 */
export async function withApiClient(
  service: AwsService,
  prefix: string,
  args: EndpointArgs,
  run: (client: HttpJsonApiClient) => Promise<void>,
): Promise<void> {
  let client: HttpJsonApiClient;
  try {
    client = await apiClientFor(service, args);
  } catch (error) {
    process.stderr.write(`${prefix}: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    await run(client);
  } catch (error) {
    const message = error instanceof AwsApiError ? `${error.code}: ${error.message}` : (error as Error).message;
    process.stderr.write(`${prefix}: ${message}\n`);
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
