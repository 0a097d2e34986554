import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  cachingCredentialProvider,
  createCredentialProvider,
  staticCredentialProvider,
  type AwsCredentials,
} from '../../src/client/credentials.js';
import { HttpJsonApiClient } from '../../src/client/http-client.js';
import {
  expectedAuthorizationFor,
  LocalServer,
  parseAuthorization,
  sendJson,
  withEnv,
  rejection,
} from './http-test-support.js';

/** Everything the SDK chain could pick up besides what a test sets explicitly, switched off. */
const ISOLATED_CHAIN: Record<string, string | undefined> = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_CREDENTIAL_EXPIRATION: undefined,
  AWS_PROFILE: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_CONFIG_FILE: '/nonexistent/shardtail-test/config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/shardtail-test/credentials',
  AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
  AWS_ROLE_ARN: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_EC2_METADATA_DISABLED: 'true',
};

const ENV_KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIDFROMENVIRONMENT',
  AWS_SECRET_ACCESS_KEY: 'env/Secret+Key0123456789abcdefEXAMPLE',
  AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEEnvSessionTokenEXAMPLE//0123456789',
};

function assertNoSecrets(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${JSON.stringify(secret)} leaked into: ${text}`);
}

describe('default credential chain', () => {
  let server: LocalServer;
  before(async () => {
    server = await LocalServer.start();
  });
  after(async () => {
    await server.stop();
  });

  it('signs with environment credentials and sends and signs X-Amz-Security-Token', async () => {
    await withEnv({ ...ISOLATED_CHAIN, ...ENV_KEYS }, async () => {
      const client = new HttpJsonApiClient({
        service: 'kinesis',
        endpoint: server.origin,
        region: 'us-east-1',
        credentials: createCredentialProvider({ region: 'us-east-1' }),
      });
      try {
        await client.call('ListStreams', {});
      } finally {
        await client.close();
      }
    });
    const received = server.requests.at(-1)!;
    assert.equal(received.headers['x-amz-security-token'], ENV_KEYS.AWS_SESSION_TOKEN);
    const authorization = parseAuthorization(received.headers.authorization);
    assert.equal(authorization.accessKeyId, ENV_KEYS.AWS_ACCESS_KEY_ID);
    assert.ok(authorization.signedHeaders.includes('x-amz-security-token'), authorization.signedHeaders.join(';'));
    assert.equal(received.headers.authorization, expectedAuthorizationFor(received, ENV_KEYS.AWS_SECRET_ACCESS_KEY));
  });

  it('keeps credentials out of error messages, even when the server quotes the request back', async () => {
    const secrets = Object.values(ENV_KEYS);
    await withEnv({ ...ISOLATED_CHAIN, ...ENV_KEYS }, async () => {
      const client = new HttpJsonApiClient({
        service: 'kinesis',
        endpoint: server.origin,
        region: 'us-east-1',
        credentials: createCredentialProvider({ region: 'us-east-1' }),
      });
      try {
        // kinesalite's IncompleteSignatureException ends with "Authorization=<the header>".
        server.handler = (request, response) =>
          sendJson(response, 400, {
            __type: 'IncompleteSignatureException',
            message:
              `Signature invalid. Authorization=${request.headers.authorization} ` +
              `Token=${request.headers['x-amz-security-token']}`,
          });
        const apiError = await rejection(client.call('ListStreams', {}));
        assert.equal(apiError.code, 'IncompleteSignatureException');
        assert.match(apiError.message, /\[redacted\]/);
        assertNoSecrets(apiError.message, secrets);
        assertNoSecrets(inspect(apiError), secrets);

        server.handler = (request, response) => {
          response.writeHead(502, { 'content-type': 'text/plain' });
          response.end(`bad gateway for ${request.headers.authorization}`);
        };
        const httpError = await rejection(client.call('ListStreams', {}));
        assert.equal(httpError.code, 'HttpError');
        assertNoSecrets(httpError.message, secrets);

        server.handler = (_request, _response, raw) => raw.socket.destroy();
        const networkError = await rejection(client.call('ListStreams', {}));
        assert.equal(networkError.code, 'NetworkError');
        assertNoSecrets(networkError.message, secrets);
        assertNoSecrets(inspect(networkError), secrets);
      } finally {
        server.handler = (_request, response) => sendJson(response, 200, {});
        await client.close();
      }
    });
  });

  it('hands out credentials that print without their keys (JSON for pino, util.inspect for console)', async () => {
    const credentials = await withEnv({ ...ISOLATED_CHAIN, ...ENV_KEYS }, () =>
      createCredentialProvider({ region: 'us-east-1' })(),
    );
    assert.equal(credentials.secretAccessKey, ENV_KEYS.AWS_SECRET_ACCESS_KEY, 'the real values stay usable');
    assertNoSecrets(JSON.stringify(credentials), Object.values(ENV_KEYS));
    assertNoSecrets(JSON.stringify({ nested: { credentials } }), Object.values(ENV_KEYS));
    assertNoSecrets(inspect(credentials), Object.values(ENV_KEYS));
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- what a careless log line would print
    assertNoSecrets(`${String(credentials)}`, Object.values(ENV_KEYS));
  });

  it('explicit keys win over the environment', async () => {
    await withEnv({ ...ISOLATED_CHAIN, ...ENV_KEYS }, async () => {
      const credentials = await createCredentialProvider({
        region: 'us-east-1',
        accessKeyId: 'AKIDEXPLICIT',
        secretAccessKey: 'explicit-secret',
      })();
      assert.equal(credentials.accessKeyId, 'AKIDEXPLICIT');
      assert.equal(credentials.sessionToken, undefined);
    });
  });

  it('blank explicit keys mean "not set" and fall through to the chain', async () => {
    await withEnv({ ...ISOLATED_CHAIN, ...ENV_KEYS }, async () => {
      const credentials = await createCredentialProvider({
        region: 'us-east-1',
        accessKeyId: '',
        secretAccessKey: '  ',
      })();
      assert.equal(credentials.accessKeyId, ENV_KEYS.AWS_ACCESS_KEY_ID);
    });
  });

  it('reports a chain with nothing to offer as a retryable CredentialsError before sending', async () => {
    const sent = server.requests.length;
    await withEnv(ISOLATED_CHAIN, async () => {
      const client = new HttpJsonApiClient({
        service: 'kinesis',
        endpoint: server.origin,
        region: 'us-east-1',
        credentials: createCredentialProvider({ region: 'us-east-1' }),
      });
      try {
        const error = await rejection(client.call('ListStreams', {}));
        assert.equal(error.code, 'CredentialsError');
        assert.equal(error.retryable, true);
        assert.match(error.message, /credentials/i);
      } finally {
        await client.close();
      }
    });
    assert.equal(server.requests.length, sent);
  });
});

describe('credential options', () => {
  it('names the missing half of an explicit key pair without printing the other half', () => {
    assert.throws(
      () => createCredentialProvider({ region: 'us-east-1', accessKeyId: 'AKIDLONELY' }),
      (error: Error) => {
        assert.match(error.message, /awsSecretAccessKey is missing/);
        assertNoSecrets(error.message, ['AKIDLONELY']);
        return true;
      },
    );
    assert.throws(
      () => createCredentialProvider({ region: 'us-east-1', secretAccessKey: 'lonely-secret' }),
      (error: Error) => {
        assert.match(error.message, /awsAccessKeyId is missing/);
        assertNoSecrets(error.message, ['lonely-secret']);
        return true;
      },
    );
    assert.throws(
      () => createCredentialProvider({ region: 'us-east-1', sessionToken: 'token' }),
      /session token needs/,
    );
  });

  it('rejects an assumeRoleARN that is not a role ARN, naming the key', () => {
    assert.throws(
      () => createCredentialProvider({ region: 'us-east-1', assumeRoleArn: 'my-role' }),
      /assumeRoleARN: "my-role" is not an IAM role ARN/,
    );
    assert.throws(
      () => createCredentialProvider({ region: 'us-east-1', assumeRoleArn: 'arn:aws:iam::123456789012:user/bob' }),
      /assumeRoleARN/,
    );
  });

  it('rejects a garbage sts.endpoint, naming the key', () => {
    assert.throws(
      () =>
        createCredentialProvider({
          region: 'us-east-1',
          assumeRoleArn: 'arn:aws:iam::123456789012:role/w',
          stsEndpoint: 'ftp://sts.example.com',
        }),
      /sts\.endpoint: scheme "ftp" is not supported/,
    );
  });
});

describe('AssumeRole (assumeRoleARN)', () => {
  let sts: LocalServer;
  let kinesis: LocalServer;
  before(async () => {
    sts = await LocalServer.start();
    kinesis = await LocalServer.start();
  });
  after(async () => {
    await sts.stop();
    await kinesis.stop();
  });

  it('calls STS at sts.endpoint, signed with the base keys, and signs requests with the role session', async () => {
    const expiration = new Date(Date.now() + 3600_000);
    sts.handler = (_request, response) => {
      const xml = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:AWSKinesisAgent</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/writer/AWSKinesisAgent</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAASSUMEDEXAMPLE</AccessKeyId>
      <SecretAccessKey>assumed/secret+EXAMPLE</SecretAccessKey>
      <SessionToken>assumed-session-token-EXAMPLE</SessionToken>
      <Expiration>${expiration.toISOString()}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`;
      response.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
      response.end(xml);
    };

    await withEnv(ISOLATED_CHAIN, async () => {
      const provider = createCredentialProvider({
        region: 'eu-central-1',
        accessKeyId: 'AKIDBASEKEYS',
        secretAccessKey: 'base-secret',
        assumeRoleArn: 'arn:aws:iam::123456789012:role/writer',
        assumeRoleExternalId: 'external-42',
        stsEndpoint: sts.origin,
      });
      const client = new HttpJsonApiClient({
        service: 'kinesis',
        endpoint: kinesis.origin,
        region: 'eu-central-1',
        credentials: provider,
      });
      try {
        await client.call('ListStreams', {});
        await client.call('ListStreams', {});
        await client.call('ListStreams', {});
      } finally {
        await client.close();
      }
    });

    assert.equal(sts.requests.length, 1, 'the role session is cached, not fetched per request');
    const assumeRole = sts.requests[0];
    const form = new URLSearchParams(assumeRole.body.toString('utf8'));
    assert.equal(form.get('Action'), 'AssumeRole');
    assert.equal(form.get('RoleArn'), 'arn:aws:iam::123456789012:role/writer');
    assert.equal(form.get('ExternalId'), 'external-42');
    assert.equal(form.get('RoleSessionName'), 'AWSKinesisAgent');
    assert.equal(form.get('DurationSeconds'), '3600');
    const stsAuthorization = parseAuthorization(assumeRole.headers.authorization);
    assert.equal(stsAuthorization.accessKeyId, 'AKIDBASEKEYS');
    assert.equal(stsAuthorization.scope.service, 'sts');
    assert.equal(stsAuthorization.scope.region, 'eu-central-1');

    assert.equal(kinesis.requests.length, 3);
    for (const request of kinesis.requests) {
      assert.equal(parseAuthorization(request.headers.authorization).accessKeyId, 'ASIAASSUMEDEXAMPLE');
      assert.equal(request.headers['x-amz-security-token'], 'assumed-session-token-EXAMPLE');
      assert.equal(request.headers.authorization, expectedAuthorizationFor(request, 'assumed/secret+EXAMPLE'));
    }
  });
});

describe('AssumeRole against an STS that never answers', () => {
  let sts: LocalServer;
  before(async () => {
    sts = await LocalServer.start();
    sts.handler = () => {};
  });
  after(async () => {
    await sts.stop();
  });

  it('gives up instead of stalling every request that needs credentials', async () => {
    await withEnv(ISOLATED_CHAIN, async () => {
      const provider = createCredentialProvider({
        region: 'us-east-1',
        accessKeyId: 'AKIDBASEKEYS',
        secretAccessKey: 'base-secret',
        assumeRoleArn: 'arn:aws:iam::123456789012:role/writer',
        stsEndpoint: sts.origin,
        stsRequestTimeoutMs: 200,
      });
      const started = performance.now();
      await assert.rejects(provider());
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 5_000, `AssumeRole took ${elapsed} ms to fail`);
      assert.ok(sts.requests.length >= 1);
    });
  });
});

describe('cachingCredentialProvider', () => {
  const MINUTE = 60_000;

  function fakeSource(expiresInMs: number | undefined, clock: { now: number }) {
    let fetches = 0;
    let fail = false;
    const pending: Array<() => void> = [];
    let hold = false;
    const source = async (): Promise<AwsCredentials> => {
      fetches++;
      const generation = fetches;
      if (hold) await new Promise<void>((resolve) => pending.push(resolve));
      if (fail) throw new Error('STS is down');
      return {
        accessKeyId: `AKID${generation}`,
        secretAccessKey: `secret${generation}`,
        ...(expiresInMs === undefined ? {} : { expiration: new Date(clock.now + expiresInMs) }),
      };
    };
    return {
      source,
      get fetches() {
        return fetches;
      },
      setFailing(value: boolean) {
        fail = value;
      },
      setHolding(value: boolean) {
        hold = value;
      },
      release() {
        for (const resolve of pending.splice(0)) resolve();
      },
    };
  }

  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('fetches credentials without an expiration once', async () => {
    const clock = { now: 0 };
    const fake = fakeSource(undefined, clock);
    const provider = cachingCredentialProvider(fake.source, { now: () => clock.now });
    for (let i = 0; i < 50; i++) assert.equal((await provider()).accessKeyId, 'AKID1');
    clock.now += 365 * 24 * 60 * MINUTE;
    assert.equal((await provider()).accessKeyId, 'AKID1');
    assert.equal(fake.fetches, 1);
  });

  it('shares one fetch between concurrent first callers', async () => {
    const clock = { now: 0 };
    const fake = fakeSource(60 * MINUTE, clock);
    fake.setHolding(true);
    const provider = cachingCredentialProvider(fake.source, { now: () => clock.now });
    const waiting = Array.from({ length: 20 }, () => provider());
    await settle();
    fake.release();
    const results = await Promise.all(waiting);
    assert.equal(fake.fetches, 1);
    assert.ok(results.every((credentials) => credentials.accessKeyId === 'AKID1'));
  });

  it('refreshes in the background within 5 minutes of expiry while still serving the valid credentials', async () => {
    const clock = { now: 0 };
    const fake = fakeSource(60 * MINUTE, clock);
    const provider = cachingCredentialProvider(fake.source, { now: () => clock.now });
    assert.equal((await provider()).accessKeyId, 'AKID1');

    clock.now = 54 * MINUTE;
    assert.equal((await provider()).accessKeyId, 'AKID1');
    assert.equal(fake.fetches, 1, 'no refresh 6 minutes before expiry');

    clock.now = 56 * MINUTE;
    fake.setHolding(true);
    assert.equal((await provider()).accessKeyId, 'AKID1', 'served from cache while refreshing');
    assert.equal((await provider()).accessKeyId, 'AKID1');
    assert.equal(fake.fetches, 2, 'exactly one background refresh');
    fake.release();
    await settle();
    assert.equal((await provider()).accessKeyId, 'AKID2');
  });

  it('waits for new credentials once the cached ones have expired', async () => {
    const clock = { now: 0 };
    const fake = fakeSource(60 * MINUTE, clock);
    const provider = cachingCredentialProvider(fake.source, { now: () => clock.now });
    await provider();
    clock.now = 61 * MINUTE;
    assert.equal((await provider()).accessKeyId, 'AKID2');
  });

  it('keeps serving valid credentials when a background refresh fails, and does not hammer the source', async () => {
    const clock = { now: 0 };
    const fake = fakeSource(60 * MINUTE, clock);
    const provider = cachingCredentialProvider(fake.source, {
      now: () => clock.now,
      retryBackgroundRefreshAfterMs: 10_000,
    });
    await provider();
    fake.setFailing(true);
    clock.now = 57 * MINUTE;
    assert.equal((await provider()).accessKeyId, 'AKID1');
    await settle();
    for (let i = 0; i < 100; i++) assert.equal((await provider()).accessKeyId, 'AKID1');
    await settle();
    assert.equal(fake.fetches, 2, 'one failed refresh, then a pause');

    clock.now += 10_000;
    fake.setFailing(false);
    await provider();
    await settle();
    assert.equal(fake.fetches, 3);
    assert.equal((await provider()).accessKeyId, 'AKID3');
  });

  it('surfaces a failed fetch to callers that have nothing cached, and retries on the next call', async () => {
    const clock = { now: 0 };
    const fake = fakeSource(60 * MINUTE, clock);
    fake.setFailing(true);
    const provider = cachingCredentialProvider(fake.source, { now: () => clock.now });
    await assert.rejects(provider(), /STS is down/);
    fake.setFailing(false);
    assert.equal((await provider()).accessKeyId, 'AKID2');
  });

  it('static keys print redacted too', async () => {
    const credentials = await staticCredentialProvider({
      accessKeyId: 'AKIDSTATICKEY',
      secretAccessKey: 'static-secret',
      sessionToken: 'static-token',
    })();
    assert.equal(credentials.secretAccessKey, 'static-secret');
    assertNoSecrets(JSON.stringify(credentials) + inspect(credentials), [
      'AKIDSTATICKEY',
      'static-secret',
      'static-token',
    ]);
    assert.ok(Object.isFrozen(credentials));
  });
});
