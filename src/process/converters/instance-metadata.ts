/**
 * What ADDEC2METADATA adds, read from the EC2 instance metadata service with the IMDSv2 token
 * flow (a PUT for a session token, then GETs carrying it), which the Java agent's SDK v1 lacks
 * on instances that require IMDSv2 (its #246, #264). The service is at 169.254.169.254 unless
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (the AWS SDKs' variable) says otherwise, and is not asked
 * at all with AWS_EC2_METADATA_DISABLED=true.
 */

/** The fields the Java agent adds, in its order (metadataTimestamp is added by the converter). */
export interface InstanceMetadata {
  privateIp: string | null;
  availabilityZone: string | null;
  instanceId: string | null;
  instanceType: string | null;
  accountId: string | null;
  amiId: string | null;
  region: string | null;
  /** Tag keys lower-cased, as the Java agent writes them; undefined when the instance does not expose its tags. */
  tags: Array<[string, string]> | undefined;
}

export type InstanceMetadataSource = () => Promise<InstanceMetadata>;

const DEFAULT_ENDPOINT = 'http://169.254.169.254';
const TOKEN_TTL_SECONDS = 21_600;
/** The service answers in milliseconds on an instance; off EC2 nothing answers, and records should not wait long. */
const CALL_TIMEOUT_MS = 1_000;

export function instanceMetadataFromEnv(env: NodeJS.ProcessEnv = process.env): InstanceMetadataSource {
  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true')
    return () => Promise.reject(new Error('AWS_EC2_METADATA_DISABLED is set'));
  return instanceMetadataFrom(env.AWS_EC2_METADATA_SERVICE_ENDPOINT || DEFAULT_ENDPOINT);
}

export function instanceMetadataFrom(endpoint: string): InstanceMetadataSource {
  const base = endpoint.replace(/\/+$/, '');
  return async () => {
    const headers = await sessionHeaders(base);
    const get = async (path: string): Promise<string | undefined> => {
      const response = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
      return response.text();
    };
    const document = await get('/latest/dynamic/instance-identity/document');
    if (document === undefined) throw new Error('no instance identity document');
    const identity = JSON.parse(document) as Record<string, unknown>;
    const field = (name: string) => (typeof identity[name] === 'string' ? identity[name] : null);
    return {
      privateIp: field('privateIp'),
      availabilityZone: field('availabilityZone'),
      instanceId: field('instanceId'),
      instanceType: field('instanceType'),
      accountId: field('accountId'),
      amiId: field('imageId'),
      region: field('region'),
      tags: await instanceTags(get),
    };
  };
}

/** IMDSv2's token header; none where the service only speaks IMDSv1 (it refuses the PUT with 403/404/405). */
async function sessionHeaders(base: string): Promise<Record<string, string>> {
  const response = await fetch(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) },
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  if (response.ok) return { 'X-aws-ec2-metadata-token': await response.text() };
  await response.body?.cancel();
  if ([403, 404, 405].includes(response.status)) return {};
  throw new Error(`PUT /latest/api/token: HTTP ${response.status}`);
}

/**
 * The instance's tags where it allows them in the metadata (the Java agent calls DescribeTags
 * instead, which needs ec2:DescribeTags and an EC2 client shardtail does not have).
 */
async function instanceTags(
  get: (path: string) => Promise<string | undefined>,
): Promise<Array<[string, string]> | undefined> {
  const keys = await get('/latest/meta-data/tags/instance');
  if (keys === undefined) return undefined;
  const tags: Array<[string, string]> = [];
  for (const key of keys.split('\n').filter((line) => line !== '')) {
    const value = await get(`/latest/meta-data/tags/instance/${encodeURIComponent(key)}`);
    if (value !== undefined) tags.push([key.toLowerCase(), value]);
  }
  return tags;
}
