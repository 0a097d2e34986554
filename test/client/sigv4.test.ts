import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { staticCredentialProvider } from '../../src/client/credentials.js';
import { HttpJsonApiClient, NodeSha256 } from '../../src/client/http-client.js';
import { expectedAuthorizationFor, LocalServer, parseAuthorization, referenceSignature } from './http-test-support.js';

// AWS's published SigV4 test suite (aws-sig-v4-test-suite, as vendored e.g. in bazelbuild/bazel
// third_party/aws-sig-v4-test-suite): fixed key pair, date, region and the fake service "service".
const SUITE = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  service: 'service',
  signingDate: new Date('2015-08-30T12:36:00Z'),
  amzDate: '20150830T123600Z',
};
const SUITE_SESSION_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8Y' +
  'UuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8Y' +
  'QcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2IC' +
  'CR/oLxBA==';

interface SuiteVector {
  name: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  sessionToken?: string;
  authorization: string;
  canonicalRequest?: string;
  stringToSign?: string;
}

const VECTORS: SuiteVector[] = [
  {
    name: 'get-vanilla',
    method: 'GET',
    headers: { host: 'example.amazonaws.com' },
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
      'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  },
  {
    name: 'post-vanilla',
    method: 'POST',
    headers: { host: 'example.amazonaws.com' },
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
      'SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'example.amazonaws.com' },
    body: 'Param1=value1',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
      'SignedHeaders=content-type;host;x-amz-date, ' +
      'Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    canonicalRequest:
      'POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n' +
      'x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n' +
      '9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e',
    stringToSign:
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n' +
      '42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281',
  },
  {
    name: 'post-sts-token/post-sts-header-before',
    method: 'POST',
    headers: { host: 'example.amazonaws.com' },
    sessionToken: SUITE_SESSION_TOKEN,
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
      'SignedHeaders=host;x-amz-date;x-amz-security-token, ' +
      'Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
];

describe('SigV4 against the AWS test suite', () => {
  for (const [hashName, sha256] of [
    ['node:crypto NodeSha256', NodeSha256],
    ['@aws-crypto/sha256-js', Sha256],
  ] as const) {
    for (const vector of VECTORS) {
      it(`SignatureV4 with ${hashName} reproduces ${vector.name}`, async () => {
        const signer = new SignatureV4({
          service: SUITE.service,
          region: SUITE.region,
          credentials: {
            accessKeyId: SUITE.accessKeyId,
            secretAccessKey: SUITE.secretAccessKey,
            sessionToken: vector.sessionToken,
          },
          sha256,
          applyChecksum: false,
        });
        const signed = await signer.sign(
          {
            method: vector.method,
            protocol: 'https:',
            hostname: 'example.amazonaws.com',
            path: '/',
            query: {},
            headers: { ...vector.headers },
            body: vector.body,
          },
          { signingDate: SUITE.signingDate },
        );
        assert.equal(signed.headers.authorization, vector.authorization);
        assert.equal(signed.headers['x-amz-date'], SUITE.amzDate);
        assert.equal(
          signed.headers['x-amz-content-sha256'],
          undefined,
          'JSON protocols do not send the payload hash header',
        );
      });
    }
  }

  // The reference signer is what the client tests below trust; prove it on the published vectors first.
  for (const vector of VECTORS) {
    it(`the test's own node:crypto reference signer reproduces ${vector.name}`, () => {
      const headers: Record<string, string> = { ...vector.headers, 'x-amz-date': SUITE.amzDate };
      if (vector.sessionToken !== undefined) headers['x-amz-security-token'] = vector.sessionToken;
      const reference = referenceSignature({
        method: vector.method,
        path: '/',
        headers,
        signedHeaders: Object.keys(headers),
        body: vector.body ?? '',
        accessKeyId: SUITE.accessKeyId,
        secretAccessKey: SUITE.secretAccessKey,
        region: SUITE.region,
        service: SUITE.service,
        amzDate: SUITE.amzDate,
      });
      if (vector.canonicalRequest !== undefined) assert.equal(reference.canonicalRequest, vector.canonicalRequest);
      if (vector.stringToSign !== undefined) assert.equal(reference.stringToSign, vector.stringToSign);
      assert.equal(reference.authorization, vector.authorization);
    });
  }
});

describe('HttpJsonApiClient signs what it sends', () => {
  let server: LocalServer;
  before(async () => {
    server = await LocalServer.start();
  });
  after(async () => {
    await server.stop();
  });

  it('sends an Authorization header equal to an independent recomputation from the received bytes', async () => {
    const client = new HttpJsonApiClient({
      service: 'kinesis',
      endpoint: server.origin,
      region: 'eu-west-1',
      credentials: staticCredentialProvider({ accessKeyId: SUITE.accessKeyId, secretAccessKey: SUITE.secretAccessKey }),
      clock: () => SUITE.signingDate,
    });
    try {
      // Non-ASCII data: the payload hash must cover the UTF-8 bytes on the wire, not UTF-16 code units.
      await client.call('PutRecords', {
        StreamName: 'logs',
        Records: [{ Data: Buffer.from('héllo ✓').toString('base64'), PartitionKey: 'é' }],
      });
    } finally {
      await client.close();
    }

    const received = server.requests.at(-1)!;
    assert.equal(received.method, 'POST');
    assert.equal(received.url, '/');
    assert.equal(received.headers['content-type'], 'application/x-amz-json-1.1');
    assert.equal(received.headers['x-amz-target'], 'Kinesis_20131202.PutRecords');
    assert.equal(received.headers['x-amz-date'], SUITE.amzDate);
    assert.equal(received.headers['x-amz-content-sha256'], undefined);
    assert.deepEqual(JSON.parse(received.body.toString('utf8')).Records[0].PartitionKey, 'é');

    const authorization = parseAuthorization(received.headers.authorization);
    assert.equal(authorization.accessKeyId, SUITE.accessKeyId);
    assert.deepEqual(authorization.scope, { date: '20150830', region: 'eu-west-1', service: 'kinesis' });
    assert.deepEqual(authorization.signedHeaders, ['content-type', 'host', 'x-amz-date', 'x-amz-target']);
    assert.equal(received.headers.host, new URL(server.origin).host);
    assert.equal(received.headers.authorization, expectedAuthorizationFor(received, SUITE.secretAccessKey));
  });

  it('signs Firehose calls with the firehose signing name and target prefix', async () => {
    const client = new HttpJsonApiClient({
      service: 'firehose',
      endpoint: server.origin,
      region: 'us-west-2',
      credentials: staticCredentialProvider({ accessKeyId: 'AKIDFIREHOSE', secretAccessKey: 'firehose-secret' }),
      clock: () => new Date('2024-02-29T23:59:59Z'),
    });
    try {
      await client.call('PutRecordBatch', { DeliveryStreamName: 'd', Records: [{ Data: 'aGk=' }] });
    } finally {
      await client.close();
    }
    const received = server.requests.at(-1)!;
    assert.equal(received.headers['x-amz-target'], 'Firehose_20150804.PutRecordBatch');
    assert.deepEqual(parseAuthorization(received.headers.authorization).scope, {
      date: '20240229',
      region: 'us-west-2',
      service: 'firehose',
    });
    assert.equal(received.headers.authorization, expectedAuthorizationFor(received, 'firehose-secret'));
  });

  it('a request signed with the wrong secret does not match the recomputation (the check can fail)', async () => {
    const client = new HttpJsonApiClient({
      service: 'kinesis',
      endpoint: server.origin,
      region: 'us-east-1',
      credentials: staticCredentialProvider({ accessKeyId: SUITE.accessKeyId, secretAccessKey: 'not-the-secret' }),
      clock: () => SUITE.signingDate,
    });
    try {
      await client.call('ListStreams', {});
    } finally {
      await client.close();
    }
    const received = server.requests.at(-1)!;
    assert.notEqual(received.headers.authorization, expectedAuthorizationFor(received, SUITE.secretAccessKey));
  });
});
