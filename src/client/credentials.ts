import { inspect } from 'node:util';
import type * as SdkProviders from '@aws-sdk/credential-providers';
import type { AgentConfig } from '../config/types.js';
import { blankToUndefined, normalizeEndpointUrl } from './endpoint.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Called once per request: implementations must answer from a cache, not fetch every time. */
export type CredentialProvider = () => Promise<AwsCredentials>;

export interface CredentialOptions {
  /** `awsAccessKeyId`; `""` means unset. */
  accessKeyId?: string;
  /** `awsSecretAccessKey`; `""` means unset. */
  secretAccessKey?: string;
  /** Only meaningful with explicit keys (the agent config has no such key; env/profile tokens come from the chain). */
  sessionToken?: string;
  /** `assumeRoleARN`: wraps the base credentials (explicit keys or the default chain) in STS AssumeRole. */
  assumeRoleArn?: string;
  /** `assumeRoleExternalId`. */
  assumeRoleExternalId?: string;
  /** `sts.endpoint`: URL or bare host; only used with `assumeRoleArn`. */
  stsEndpoint?: string;
  /** Region of the STS client used for AssumeRole (the region the flows sign for). */
  region: string;
  /**
   * Defaults to the Java agent's session name so trust policies and CloudTrail filters written for
   * the agent (`sts:RoleSessionName`) keep matching after the switch.
   */
  roleSessionName?: string;
  /**
   * Per-attempt deadline for AssumeRole. The SDK's default is none, and a hung STS call would stall
   * every request that needs fresh credentials.
   */
  stsRequestTimeoutMs?: number;
}

export const DEFAULT_ROLE_SESSION_NAME = 'AWSKinesisAgent';
/** The Java agent's AssumeRole duration. */
export const ASSUME_ROLE_DURATION_SECONDS = 3600;
/** Same margin as the SDK's credential chain: start fetching new credentials 5 minutes before expiry. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
export const DEFAULT_STS_REQUEST_TIMEOUT_MS = 15_000;

/**
 * Chain order matches the Java agent: explicit keys, else the SDK default chain (environment,
 * shared config/credentials files, web identity, ECS/container, EC2 IMDS), optionally wrapped in
 * AssumeRole. There is deliberately no anonymous mode: every request is signed, and the embedded
 * engine simply ignores signatures.
 */
export function createCredentialProvider(options: CredentialOptions): CredentialProvider {
  const accessKeyId = blankToUndefined(options.accessKeyId);
  const secretAccessKey = blankToUndefined(options.secretAccessKey);
  const sessionToken = blankToUndefined(options.sessionToken);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'awsAccessKeyId' : 'awsSecretAccessKey';
    throw new Error(`credentials: awsAccessKeyId and awsSecretAccessKey must be given together; ${missing} is missing`);
  }
  if (sessionToken !== undefined && accessKeyId === undefined) {
    throw new Error('credentials: a session token needs awsAccessKeyId and awsSecretAccessKey');
  }

  const base: CredentialProvider =
    accessKeyId !== undefined && secretAccessKey !== undefined
      ? staticCredentialProvider({ accessKeyId, secretAccessKey, sessionToken })
      : redactingProvider(fromSdk((sdk) => sdk.fromNodeProviderChain()));

  const roleArn = blankToUndefined(options.assumeRoleArn);
  if (roleArn === undefined) return base;
  if (!ROLE_ARN.test(roleArn)) {
    throw new Error(
      `assumeRoleARN: ${JSON.stringify(roleArn)} is not an IAM role ARN (expected e.g. ` +
        `"arn:aws:iam::123456789012:role/kinesis-writer")`,
    );
  }
  const stsEndpoint = blankToUndefined(options.stsEndpoint);
  const externalId = blankToUndefined(options.assumeRoleExternalId);
  // Checked now, not when credentials are first needed, so a bad value stops startup with its key.
  const stsOrigin = stsEndpoint === undefined ? undefined : normalizeEndpointUrl(stsEndpoint, 'sts.endpoint').origin;
  const assumeRole = fromSdk((sdk) =>
    sdk.fromTemporaryCredentials({
      params: {
        RoleArn: roleArn,
        RoleSessionName: options.roleSessionName ?? DEFAULT_ROLE_SESSION_NAME,
        DurationSeconds: ASSUME_ROLE_DURATION_SECONDS,
        ...(externalId === undefined ? {} : { ExternalId: externalId }),
      },
      masterCredentials: base,
      clientConfig: {
        region: options.region,
        requestHandler: {
          connectionTimeout: Math.min(options.stsRequestTimeoutMs ?? DEFAULT_STS_REQUEST_TIMEOUT_MS, 5_000),
          requestTimeout: options.stsRequestTimeoutMs ?? DEFAULT_STS_REQUEST_TIMEOUT_MS,
          // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
          throwOnRequestTimeout: true,
        },
        ...(stsOrigin === undefined ? {} : { endpoint: stsOrigin }),
      },
    }),
  );
  // fromTemporaryCredentials calls STS on every invocation; the cache is what makes it per-hour.
  return cachingCredentialProvider(() => assumeRole());
}

/** The chain agent.json describes (keys, assumeRoleARN, sts.endpoint), for clients that sign for `region`. */
export function agentCredentialProvider(config: AgentConfig, region: string): CredentialProvider {
  return createCredentialProvider({
    accessKeyId: config.staticCredentials?.accessKeyId,
    secretAccessKey: config.staticCredentials?.secretAccessKey,
    assumeRoleArn: config.assumeRole?.roleArn,
    assumeRoleExternalId: config.assumeRole?.externalId,
    stsEndpoint: config.sts.endpoint,
    region,
  });
}

/** Explicit keys, wrapped once so that logging them (JSON or util.inspect) shows no secret. */
export function staticCredentialProvider(credentials: AwsCredentials): CredentialProvider {
  const redacted = redactable(credentials);
  return async () => redacted;
}

/**
 * Caches `source` until REFRESH_BEFORE_EXPIRY_MS before expiry. Inside that window the old,
 * still valid credentials keep being served while one background refresh runs, so requests never
 * wait on STS/IMDS unless the credentials actually expired. Concurrent callers share one fetch.
 */
export function cachingCredentialProvider(
  source: CredentialProvider,
  { now = Date.now, refreshBeforeExpiryMs = REFRESH_BEFORE_EXPIRY_MS, retryBackgroundRefreshAfterMs = 10_000 } = {},
): CredentialProvider {
  let current: AwsCredentials | undefined;
  let inFlight: Promise<AwsCredentials> | undefined;
  let lastBackgroundFailureAt = Number.NEGATIVE_INFINITY;

  const fetchFresh = (): Promise<AwsCredentials> => {
    inFlight ??= source()
      .then((fresh) => (current = redactable(fresh)))
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return async () => {
    const expiresAt = current?.expiration?.getTime();
    if (current === undefined || (expiresAt !== undefined && expiresAt <= now())) return fetchFresh();
    const dueForRefresh = expiresAt !== undefined && expiresAt - now() <= refreshBeforeExpiryMs;
    // Without the pause, a failing STS would be hit once per request (~1000/s) until expiry.
    if (dueForRefresh && inFlight === undefined && now() - lastBackgroundFailureAt >= retryBackgroundRefreshAfterMs) {
      fetchFresh().catch(() => {
        lastBackgroundFailureAt = now();
      });
    }
    return current;
  };
}

/**
 * The SDK chain memoizes on its own; this only swaps each distinct credentials object for a
 * redacting copy, once, so the hot path allocates nothing.
 */
let sdkProviders: Promise<typeof SdkProviders> | undefined;

/**
 * The AWS SDK's providers load on first use: they are a large share of start-up time, and the
 * embedded engine and static keys never need them.
 */
function fromSdk(create: (sdk: typeof SdkProviders) => () => Promise<AwsCredentials>): () => Promise<AwsCredentials> {
  let provider: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    provider ??= (sdkProviders ??= import('@aws-sdk/credential-providers')).then(create);
    return (await provider)();
  };
}

function redactingProvider(source: () => Promise<AwsCredentials>): CredentialProvider {
  const copies = new WeakMap<AwsCredentials, AwsCredentials>();
  return async () => {
    const credentials = await source();
    let copy = copies.get(credentials);
    if (copy === undefined) {
      copy = redactable(credentials);
      copies.set(credentials, copy);
    }
    return copy;
  };
}

/** A frozen copy whose JSON and util.inspect forms (what pino and console print) hide the keys. */
export function redactable(credentials: AwsCredentials): AwsCredentials {
  const copy: AwsCredentials = {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
    ...(credentials.expiration === undefined ? {} : { expiration: credentials.expiration }),
  };
  const safeView = () => ({
    accessKeyId: REDACTED,
    secretAccessKey: REDACTED,
    ...(copy.sessionToken === undefined ? {} : { sessionToken: REDACTED }),
    ...(copy.expiration === undefined ? {} : { expiration: copy.expiration }),
  });
  Object.defineProperty(copy, 'toJSON', { value: safeView, enumerable: false });
  Object.defineProperty(copy, inspect.custom, {
    value: () => `AwsCredentials ${inspect(safeView())}`,
    enumerable: false,
  });
  return Object.freeze(copy);
}

export const REDACTED = '[redacted]';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
