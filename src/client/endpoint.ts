import type { AwsService } from './json-api-client.js';

export interface EndpointOptions {
  /** `kinesis.endpoint` / `firehose.endpoint`: a URL or a bare host (`host[:port]`); `""` means unset. */
  endpoint?: string;
  /** `kinesis.region` (or the region the caller settled on for Firehose); `""` means unset. */
  region?: string;
  service: AwsService;
}

/**
 * Where the region came from, so the caller can say so at startup: a region guessed from a host
 * name (or silently defaulted) is the classic source of "signature does not match" confusion.
 */
export type RegionSource = 'config' | 'endpoint-host' | 'environment' | 'default';

export interface ResolvedEndpoint {
  /** Origin only (`https://kinesis.eu-west-1.amazonaws.com`, `http://127.0.0.1:4567`), no trailing slash. */
  endpoint: string;
  /** The SigV4 signing region. */
  region: string;
  regionSource: RegionSource;
}

export const DEFAULT_REGION = 'us-east-1';

/**
 * Resolves endpoint and signing region the way the Java Kinesis Agent (AWS SDK v1) reads
 * `kinesis.endpoint` / `kinesis.region`:
 * - endpoint and region: the endpoint as given, signed for the configured region;
 * - endpoint only: the region is read from the host name (`kinesis.eu-west-1.amazonaws.com`,
 *   `kinesis-fips.us-gov-west-1…`, VPC endpoint names, `.amazonaws.com.cn`); hosts that carry no
 *   region (`127.0.0.1:4567`, a proxy) are signed for us-east-1, as SDK v1 did;
 * - region only: the public regional endpoint of that region's partition;
 * - neither: region from AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.
 */
export function resolveEndpoint(options: EndpointOptions, env: NodeJS.ProcessEnv = process.env): ResolvedEndpoint {
  const endpointKey = `${options.service}.endpoint`;
  const regionKey = `${options.service}.region`;
  const configuredEndpoint = blankToUndefined(options.endpoint);
  const configuredRegion = blankToUndefined(options.region);

  if (configuredRegion !== undefined) {
    const region = validateRegion(configuredRegion, regionKey);
    const endpoint =
      configuredEndpoint === undefined
        ? regionalEndpoint(options.service, region)
        : normalizeEndpointUrl(configuredEndpoint, endpointKey).origin;
    return { endpoint, region, regionSource: 'config' };
  }

  if (configuredEndpoint !== undefined) {
    const url = normalizeEndpointUrl(configuredEndpoint, endpointKey);
    const fromHost = regionFromHostname(url.hostname, options.service);
    return fromHost === undefined
      ? { endpoint: url.origin, region: DEFAULT_REGION, regionSource: 'default' }
      : { endpoint: url.origin, region: fromHost, regionSource: 'endpoint-host' };
  }

  for (const variable of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const fromEnv = blankToUndefined(env[variable]);
    if (fromEnv !== undefined) {
      const region = validateRegion(fromEnv, `environment variable ${variable}`);
      return { endpoint: regionalEndpoint(options.service, region), region, regionSource: 'environment' };
    }
  }
  return {
    endpoint: regionalEndpoint(options.service, DEFAULT_REGION),
    region: DEFAULT_REGION,
    regionSource: 'default',
  };
}

/**
 * Where CloudWatch metrics go, and the region they are signed for: `cloudwatch.endpoint` as given,
 * signed for the region its host names; else the public endpoint of the region the Kinesis client
 * signs for (the Java agent has no cloudwatch.region, and its SDK used the client's region).
 */
export function resolveCloudWatchEndpoint(
  config: { cloudwatch: { endpoint?: string }; kinesis: { endpoint?: string; region?: string } },
  env: NodeJS.ProcessEnv = process.env,
): { endpoint: string; region: string } {
  const kinesis = resolveEndpoint({ service: 'kinesis', ...config.kinesis }, env);
  const configured = blankToUndefined(config.cloudwatch.endpoint);
  if (configured === undefined)
    return { endpoint: regionalEndpoint(CLOUDWATCH_SERVICE, kinesis.region), region: kinesis.region };
  const url = normalizeEndpointUrl(configured, 'cloudwatch.endpoint');
  return { endpoint: url.origin, region: regionFromHostname(url.hostname, CLOUDWATCH_SERVICE) ?? kinesis.region };
}

/** CloudWatch's SigV4 service name and host label. */
export const CLOUDWATCH_SERVICE = 'monitoring';

/** `https://<service>.<region>.<partition DNS suffix>`. */
export function regionalEndpoint(service: string, region: string): string {
  return `https://${service}.${region}.${dnsSuffixForRegion(region)}`;
}

/**
 * Parses an endpoint given as a URL or as a bare `host[:port]` (the agent accepts both; a bare host
 * means HTTPS). Rejects anything our client could not honour or that would leak into logs: other
 * schemes, user-info (credentials in a URL), and paths/queries (every Kinesis and Firehose call is
 * `POST /`, so a path would be silently dropped).
 */
export function normalizeEndpointUrl(value: string, key: string): URL {
  const trimmed = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new EndpointError(
      key,
      `${JSON.stringify(value)} is not a valid URL or host name (expected e.g. "https://kinesis.us-east-1.amazonaws.com" or "localhost:4567")`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new EndpointError(key, `scheme "${url.protocol.slice(0, -1)}" is not supported; use http:// or https://`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new EndpointError(
      key,
      'user name or password in the endpoint URL is not supported; configure credentials with ' +
        'awsAccessKeyId/awsSecretAccessKey or the default credential chain',
    );
  }
  if (url.hostname === '') {
    throw new EndpointError(key, `${JSON.stringify(value)} has no host name`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new EndpointError(
      key,
      `${JSON.stringify(url.origin + url.pathname + url.search)} has a path or query; give only scheme, host and port`,
    );
  }
  return url;
}

/** A bad endpoint value: `reason` says what is wrong without the key, for messages that name it already. */
export class EndpointError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${key}: ${reason}`);
  }
}

/**
 * The region named in an AWS-style host name, or undefined when the host does not name one.
 * A region label right after the service label (`kinesis.`, `kinesis-fips.`, also inside VPC
 * endpoint names like `vpce-…kinesis.us-east-1.vpce.amazonaws.com`) wins; on AWS domains any
 * region-shaped label counts. SDK v1 took the last label before `.amazonaws.com`, which guessed
 * `vpce` for VPC endpoints; this is the same idea without that trap.
 */
export function regionFromHostname(hostname: string, service: string): string | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const labels = host.split('.');
  for (let i = 0; i + 1 < labels.length; i++) {
    const label = labels[i];
    const isServiceLabel = label === service || label === `${service}-fips`;
    if (isServiceLabel && REGION_SHAPE.test(labels[i + 1])) return labels[i + 1];
  }
  const onAwsDomain = AWS_DNS_SUFFIXES.some((suffix) => host.endsWith(`.${suffix}`));
  if (onAwsDomain) return labels.find((label) => REGION_SHAPE.test(label));
  return undefined;
}

function dnsSuffixForRegion(region: string): string {
  for (const partition of PARTITIONS) {
    if (partition.regionPrefix.test(region)) return partition.dnsSuffix;
  }
  return 'amazonaws.com';
}

// From the SDK's partitions table; the more specific prefixes (eu-isoe before a plain eu-) come first.
const PARTITIONS: ReadonlyArray<{ regionPrefix: RegExp; dnsSuffix: string }> = [
  { regionPrefix: /^cn-/, dnsSuffix: 'amazonaws.com.cn' },
  { regionPrefix: /^eusc-/, dnsSuffix: 'amazonaws.eu' },
  { regionPrefix: /^us-iso-/, dnsSuffix: 'c2s.ic.gov' },
  { regionPrefix: /^us-isob-/, dnsSuffix: 'sc2s.sgov.gov' },
  { regionPrefix: /^us-isof-/, dnsSuffix: 'csp.hci.ic.gov' },
  { regionPrefix: /^eu-isoe-/, dnsSuffix: 'cloud.adc-e.uk' },
];

const AWS_DNS_SUFFIXES = [
  'amazonaws.com',
  'amazonaws.com.cn',
  'api.aws',
  'amazonwebservices.com.cn',
  ...PARTITIONS.map((p) => p.dnsSuffix),
];

/** `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`, `us-isob-east-1`. */
const REGION_SHAPE = /^[a-z]{2,4}(?:-[a-z]+)+-\d+$/;

/**
 * Any DNS label is accepted, not just known regions: engines and proxies are often configured with
 * made-up regions such as `local`, and the region only ends up in the signature scope and host name.
 */
const REGION_SYNTAX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function validateRegion(region: string, key: string): string {
  if (!REGION_SYNTAX.test(region)) {
    const hint = REGION_SYNTAX.test(region.toLowerCase())
      ? ` (regions are lower case: "${region.toLowerCase()}")`
      : ' (expected e.g. "us-east-1")';
    throw new Error(`${key}: ${JSON.stringify(region)} is not a valid region name${hint}`);
  }
  return region;
}

/** Config files use `""` (and stray whitespace) to mean "not set". */
export function blankToUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}
