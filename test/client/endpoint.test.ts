import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  regionalEndpoint,
  regionFromHostname,
  resolveCloudWatchEndpoint,
  resolveEndpoint,
  type EndpointOptions,
  type ResolvedEndpoint,
} from '../../src/client/endpoint.js';

const NO_ENV = {};

describe('resolveEndpoint', () => {
  const table: Array<[string, EndpointOptions, NodeJS.ProcessEnv, ResolvedEndpoint]> = [
    // endpoint only: the region comes from the host name (Java agent "legacy mode", #207)
    [
      'AWS endpoint only',
      { service: 'kinesis', endpoint: 'https://kinesis.eu-west-1.amazonaws.com' },
      NO_ENV,
      { endpoint: 'https://kinesis.eu-west-1.amazonaws.com', region: 'eu-west-1', regionSource: 'endpoint-host' },
    ],
    [
      'bare host gets https://',
      { service: 'kinesis', endpoint: 'kinesis.ap-southeast-2.amazonaws.com' },
      NO_ENV,
      {
        endpoint: 'https://kinesis.ap-southeast-2.amazonaws.com',
        region: 'ap-southeast-2',
        regionSource: 'endpoint-host',
      },
    ],
    [
      'trailing slash and upper case are normalised',
      { service: 'kinesis', endpoint: 'HTTPS://Kinesis.US-WEST-2.amazonaws.com/' },
      NO_ENV,
      { endpoint: 'https://kinesis.us-west-2.amazonaws.com', region: 'us-west-2', regionSource: 'endpoint-host' },
    ],
    [
      'FIPS endpoint',
      { service: 'kinesis', endpoint: 'https://kinesis-fips.us-gov-west-1.amazonaws.com' },
      NO_ENV,
      {
        endpoint: 'https://kinesis-fips.us-gov-west-1.amazonaws.com',
        region: 'us-gov-west-1',
        regionSource: 'endpoint-host',
      },
    ],
    [
      'China partition',
      { service: 'kinesis', endpoint: 'https://kinesis.cn-north-1.amazonaws.com.cn' },
      NO_ENV,
      { endpoint: 'https://kinesis.cn-north-1.amazonaws.com.cn', region: 'cn-north-1', regionSource: 'endpoint-host' },
    ],
    [
      'Firehose endpoint',
      { service: 'firehose', endpoint: 'https://firehose.eu-central-1.amazonaws.com' },
      NO_ENV,
      {
        endpoint: 'https://firehose.eu-central-1.amazonaws.com',
        region: 'eu-central-1',
        regionSource: 'endpoint-host',
      },
    ],
    [
      'VPC interface endpoint (SDK v1 guessed "vpce")',
      { service: 'kinesis', endpoint: 'https://vpce-0a1b2c3d-4e5f6a7b.kinesis.us-east-2.vpce.amazonaws.com' },
      NO_ENV,
      {
        endpoint: 'https://vpce-0a1b2c3d-4e5f6a7b.kinesis.us-east-2.vpce.amazonaws.com',
        region: 'us-east-2',
        regionSource: 'endpoint-host',
      },
    ],
    [
      'dual-stack endpoint',
      { service: 'kinesis', endpoint: 'https://kinesis.eu-north-1.api.aws' },
      NO_ENV,
      { endpoint: 'https://kinesis.eu-north-1.api.aws', region: 'eu-north-1', regionSource: 'endpoint-host' },
    ],
    [
      'account-specific data endpoint',
      { service: 'kinesis', endpoint: 'https://123456789012.data-kinesis.sa-east-1.amazonaws.com' },
      NO_ENV,
      {
        endpoint: 'https://123456789012.data-kinesis.sa-east-1.amazonaws.com',
        region: 'sa-east-1',
        regionSource: 'endpoint-host',
      },
    ],
    [
      'local engine, no region: us-east-1 like SDK v1',
      { service: 'kinesis', endpoint: 'http://127.0.0.1:4567' },
      NO_ENV,
      { endpoint: 'http://127.0.0.1:4567', region: 'us-east-1', regionSource: 'default' },
    ],
    [
      'bare host:port of a local engine',
      { service: 'kinesis', endpoint: 'localhost:4567' },
      NO_ENV,
      { endpoint: 'https://localhost:4567', region: 'us-east-1', regionSource: 'default' },
    ],
    [
      'endpoint only ignores AWS_REGION (the host decides, as in the Java agent)',
      { service: 'kinesis', endpoint: 'http://127.0.0.1:4567' },
      { AWS_REGION: 'eu-west-3' },
      { endpoint: 'http://127.0.0.1:4567', region: 'us-east-1', regionSource: 'default' },
    ],
    [
      'default https port dropped',
      { service: 'kinesis', endpoint: 'https://kinesis.us-east-1.amazonaws.com:443' },
      NO_ENV,
      { endpoint: 'https://kinesis.us-east-1.amazonaws.com', region: 'us-east-1', regionSource: 'endpoint-host' },
    ],
    [
      'IPv6 literal',
      { service: 'kinesis', endpoint: 'http://[::1]:4567' },
      NO_ENV,
      { endpoint: 'http://[::1]:4567', region: 'us-east-1', regionSource: 'default' },
    ],

    // endpoint and region: the custom endpoint, signed for the configured region
    [
      'endpoint and region',
      { service: 'kinesis', endpoint: 'http://localhost:4567', region: 'eu-west-1' },
      NO_ENV,
      { endpoint: 'http://localhost:4567', region: 'eu-west-1', regionSource: 'config' },
    ],
    [
      'configured region beats the host name',
      { service: 'kinesis', endpoint: 'https://kinesis.us-west-2.amazonaws.com', region: 'us-east-1' },
      NO_ENV,
      { endpoint: 'https://kinesis.us-west-2.amazonaws.com', region: 'us-east-1', regionSource: 'config' },
    ],

    // region only: the partition's regional endpoint
    [
      'region only',
      { service: 'kinesis', region: 'eu-west-1' },
      NO_ENV,
      { endpoint: 'https://kinesis.eu-west-1.amazonaws.com', region: 'eu-west-1', regionSource: 'config' },
    ],
    [
      'region only, Firehose',
      { service: 'firehose', region: 'ap-northeast-1' },
      NO_ENV,
      { endpoint: 'https://firehose.ap-northeast-1.amazonaws.com', region: 'ap-northeast-1', regionSource: 'config' },
    ],
    [
      'region only, China',
      { service: 'kinesis', region: 'cn-northwest-1' },
      NO_ENV,
      { endpoint: 'https://kinesis.cn-northwest-1.amazonaws.com.cn', region: 'cn-northwest-1', regionSource: 'config' },
    ],
    [
      'region only, GovCloud stays on amazonaws.com',
      { service: 'kinesis', region: 'us-gov-east-1' },
      NO_ENV,
      { endpoint: 'https://kinesis.us-gov-east-1.amazonaws.com', region: 'us-gov-east-1', regionSource: 'config' },
    ],
    [
      'region only, ISO-E partition',
      { service: 'kinesis', region: 'eu-isoe-west-1' },
      NO_ENV,
      { endpoint: 'https://kinesis.eu-isoe-west-1.cloud.adc-e.uk', region: 'eu-isoe-west-1', regionSource: 'config' },
    ],
    [
      'region only beats AWS_REGION',
      { service: 'kinesis', region: 'eu-west-1' },
      { AWS_REGION: 'us-west-2' },
      { endpoint: 'https://kinesis.eu-west-1.amazonaws.com', region: 'eu-west-1', regionSource: 'config' },
    ],

    // neither
    [
      'neither: AWS_REGION',
      { service: 'kinesis' },
      { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1' },
      { endpoint: 'https://kinesis.us-west-2.amazonaws.com', region: 'us-west-2', regionSource: 'environment' },
    ],
    [
      'neither: AWS_DEFAULT_REGION',
      { service: 'firehose' },
      { AWS_DEFAULT_REGION: 'eu-west-1' },
      { endpoint: 'https://firehose.eu-west-1.amazonaws.com', region: 'eu-west-1', regionSource: 'environment' },
    ],
    [
      'neither, no environment: us-east-1',
      { service: 'kinesis' },
      NO_ENV,
      { endpoint: 'https://kinesis.us-east-1.amazonaws.com', region: 'us-east-1', regionSource: 'default' },
    ],
    [
      'empty strings mean unset (agent.json "")',
      { service: 'kinesis', endpoint: '', region: ' ' },
      { AWS_REGION: '' },
      { endpoint: 'https://kinesis.us-east-1.amazonaws.com', region: 'us-east-1', regionSource: 'default' },
    ],
  ];

  for (const [name, options, env, expected] of table) {
    it(name, () => {
      assert.deepEqual(resolveEndpoint(options, env), expected);
    });
  }

  const garbage: Array<[string, EndpointOptions, NodeJS.ProcessEnv, RegExp]> = [
    [
      'unparseable endpoint',
      { service: 'kinesis', endpoint: 'http://exa mple.com' },
      NO_ENV,
      /^kinesis\.endpoint: "http:\/\/exa mple\.com" is not a valid URL/,
    ],
    [
      'unsupported scheme',
      { service: 'firehose', endpoint: 'ftp://firehose.us-east-1.amazonaws.com' },
      NO_ENV,
      /^firehose\.endpoint: scheme "ftp" is not supported/,
    ],
    [
      'path in the endpoint',
      { service: 'kinesis', endpoint: 'https://proxy.example.com/kinesis' },
      NO_ENV,
      /^kinesis\.endpoint: .* has a path or query/,
    ],
    [
      'query in the endpoint',
      { service: 'kinesis', endpoint: 'https://proxy.example.com/?a=1' },
      NO_ENV,
      /^kinesis\.endpoint: .* has a path or query/,
    ],
    [
      'credentials in the endpoint',
      { service: 'kinesis', endpoint: 'https://AKID:secret@proxy.example.com' },
      NO_ENV,
      /^kinesis\.endpoint: user name or password/,
    ],
    ['scheme without host', { service: 'kinesis', endpoint: 'https://' }, NO_ENV, /^kinesis\.endpoint: /],
    [
      'region with spaces',
      { service: 'kinesis', region: 'eu west 1' },
      NO_ENV,
      /^kinesis\.region: "eu west 1" is not a valid region name/,
    ],
    [
      'region in upper case',
      { service: 'kinesis', region: 'EU-WEST-1' },
      NO_ENV,
      /^kinesis\.region: .*lower case: "eu-west-1"/,
    ],
    [
      'region that is a URL',
      { service: 'kinesis', region: 'https://kinesis.us-east-1.amazonaws.com' },
      NO_ENV,
      /^kinesis\.region: /,
    ],
    [
      'garbage AWS_REGION',
      { service: 'kinesis' },
      { AWS_REGION: 'us_east_1' },
      /^environment variable AWS_REGION: "us_east_1" is not a valid region name/,
    ],
  ];

  for (const [name, options, env, message] of garbage) {
    it(`rejects ${name} with an error naming the key`, () => {
      assert.throws(() => resolveEndpoint(options, env), { message });
    });
  }

  it('does not leak credentials given in an endpoint URL into the error', () => {
    assert.throws(
      () =>
        resolveEndpoint({ service: 'kinesis', endpoint: 'https://AKIDINURL:very-secret@proxy.example.com' }, NO_ENV),
      (error: Error) => {
        assert.ok(!error.message.includes('very-secret') && !error.message.includes('AKIDINURL'), error.message);
        return true;
      },
    );
  });

  it('reads the real process environment by default', () => {
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'ca-central-1';
    try {
      assert.equal(resolveEndpoint({ service: 'kinesis' }).region, 'ca-central-1');
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });
});

describe('regionFromHostname', () => {
  it('ignores region-shaped labels on hosts that are neither AWS nor named after the service', () => {
    assert.equal(regionFromHostname('proxy.us-east-2.example.com', 'kinesis'), undefined);
    assert.equal(regionFromHostname('kinesis.us-east-2.example.com', 'kinesis'), 'us-east-2');
    assert.equal(regionFromHostname('firehose.us-east-2.amazonaws.com', 'kinesis'), 'us-east-2');
  });
});

describe('regionalEndpoint', () => {
  it('uses the partition DNS suffix', () => {
    assert.equal(regionalEndpoint('kinesis', 'us-isob-east-1'), 'https://kinesis.us-isob-east-1.sc2s.sgov.gov');
    assert.equal(regionalEndpoint('firehose', 'eusc-de-east-1'), 'https://firehose.eusc-de-east-1.amazonaws.eu');
  });
});

describe('resolveCloudWatchEndpoint', () => {
  const none = { endpoint: undefined, region: undefined };
  it("without cloudwatch.endpoint: the public endpoint of the Kinesis client's region", () => {
    assert.deepEqual(
      resolveCloudWatchEndpoint({ cloudwatch: {}, kinesis: { endpoint: 'kinesis.ap-south-1.amazonaws.com' } }, NO_ENV),
      { endpoint: 'https://monitoring.ap-south-1.amazonaws.com', region: 'ap-south-1' },
    );
    assert.deepEqual(resolveCloudWatchEndpoint({ cloudwatch: {}, kinesis: none }, { AWS_REGION: 'cn-north-1' }), {
      endpoint: 'https://monitoring.cn-north-1.amazonaws.com.cn',
      region: 'cn-north-1',
    });
  });

  it("cloudwatch.endpoint: signed for the region its host names, else the Kinesis client's", () => {
    const kinesis = { endpoint: undefined, region: 'eu-west-1' };
    assert.deepEqual(
      resolveCloudWatchEndpoint({ cloudwatch: { endpoint: 'https://monitoring.us-west-2.amazonaws.com' }, kinesis }),
      { endpoint: 'https://monitoring.us-west-2.amazonaws.com', region: 'us-west-2' },
    );
    assert.deepEqual(resolveCloudWatchEndpoint({ cloudwatch: { endpoint: 'http://127.0.0.1:9' }, kinesis }), {
      endpoint: 'http://127.0.0.1:9',
      region: 'eu-west-1',
    });
  });
});
