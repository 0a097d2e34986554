/**
 * ADDEC2METADATA against a local server that speaks the instance metadata API and, like an
 * instance set to require IMDSv2, answers GETs only with the session token its PUT handed out.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ConverterChain, processorsFor } from '../../../src/process/converter-chain.js';
import { AddBrackets } from '../../../src/process/converters/add-brackets.js';
import { AddEc2Metadata, javaTimestamp } from '../../../src/process/converters/add-ec2-metadata.js';
import { instanceMetadataFrom, instanceMetadataFromEnv } from '../../../src/process/converters/instance-metadata.js';
import { waitFor } from '../../support/wait.js';
import { chunkOf, recordingEvents, textsOf } from '../support.js';

const TOKEN = 'AQAEAtoken==';

interface Imds {
  identity: Record<string, string>;
  tags: Record<string, string> | undefined;
  /** Requests, as "METHOD path". */
  requests: string[];
  /** GETs refused for a missing or wrong token. */
  refused: number;
}

const imds: Imds = { identity: {}, tags: undefined, requests: [], refused: 0 };
let server: Server;
let endpoint: string;

before(async () => {
  server = createServer((request, response) => {
    const url = request.url ?? '';
    imds.requests.push(`${request.method} ${url}`);
    if (request.method === 'PUT' && url === '/latest/api/token') {
      if (request.headers['x-aws-ec2-metadata-token-ttl-seconds'] === undefined)
        return void response.writeHead(400).end();
      return void response.end(TOKEN);
    }
    if (request.headers['x-aws-ec2-metadata-token'] !== TOKEN) {
      imds.refused++;
      return void response.writeHead(401).end();
    }
    if (url === '/latest/dynamic/instance-identity/document') return void response.end(JSON.stringify(imds.identity));
    const tags = imds.tags;
    if (tags !== undefined && url === '/latest/meta-data/tags/instance')
      return void response.end(Object.keys(tags).join('\n'));
    const tag = /^\/latest\/meta-data\/tags\/instance\/(.+)$/.exec(url);
    if (tags !== undefined && tag !== null && Object.hasOwn(tags, decodeURIComponent(tag[1])))
      return void response.end(tags[decodeURIComponent(tag[1])]);
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  imds.identity = {
    privateIp: '10.0.1.23',
    availabilityZone: 'eu-west-1b',
    instanceId: 'i-0abc123',
    instanceType: 'm5.large',
    accountId: '123456789012',
    imageId: 'ami-0def456',
    region: 'eu-west-1',
    version: '2017-09-30',
  };
  imds.tags = { Name: 'web-1', Env: 'Prod' };
  imds.requests = [];
  imds.refused = 0;
});

const READ_AT = Date.parse('2024-05-01T12:00:00.000Z');

async function readConverter(now: () => number = () => READ_AT, format: 'COMPACT' | 'PRETTYPRINT' = 'COMPACT') {
  const converter = new AddEc2Metadata(instanceMetadataFrom(endpoint), 3_600_000, format, now);
  await waitFor(() => converter.unavailable === undefined, { message: 'the EC2 metadata to be read' });
  return converter;
}

const METADATA =
  '"privateIp":"10.0.1.23","availabilityZone":"eu-west-1b","instanceId":"i-0abc123","instanceType":"m5.large",' +
  '"accountId":"123456789012","amiId":"ami-0def456","region":"eu-west-1"';

describe('ADDEC2METADATA', () => {
  it('adds the Java agent’s fields after the record’s own, tags lower-cased, read with an IMDSv2 token', async () => {
    const converter = await readConverter();
    const stamp = javaTimestamp(new Date(READ_AT));
    assert.equal(
      converter.convert('{"host":"a","n":null}\n'),
      `{"host":"a","n":null,${METADATA},"metadataTimestamp":"${stamp}","tags":{"name":"web-1","env":"Prod"}}\n`,
    );
    assert.equal(imds.refused, 0);
    assert.equal(imds.requests[0], 'PUT /latest/api/token');
  });

  it('keeps the record as Jackson reads it (order, number forms); a field of the same name is replaced', async () => {
    imds.tags = undefined;
    const converter = await readConverter();
    const stamp = javaTimestamp(new Date(READ_AT));
    assert.equal(
      converter.convert(
        '{"2":"x","region":"old","f":1.0,"e":[1e2,-0,12345678901234567890],"o":{"\\u00e9":"\\/"}} tail',
      ),
      `{"2":"x","region":"eu-west-1","f":1.0,"e":[100.0,0,12345678901234567890],"o":{"é":"/"},` +
        `${METADATA.replace(',"region":"eu-west-1"', '')},"metadataTimestamp":"${stamp}"}\n`,
      'without tag access there is no tags field',
    );
    assert.ok(
      textsOf(
        new ConverterChain([{ name: 'ADDEC2METADATA', converter }], recordingEvents().events).process(
          chunkOf(['{"lone":"\\ud800","pair":"\\ud83d\\ude00","c":"\\u001f"}\n']),
        ),
      )[0].startsWith('{"lone":"?","pair":"\u{1F600}","c":"\\u001F",'),
      'a lone surrogate is written as String.getBytes writes it, a pair as the character, a control character in hex',
    );
  });

  it("metadataTimestamp is yyyy-MM-dd'T'HH:mm:ssZ in the local time zone", () => {
    const date = new Date(READ_AT);
    const offset = -date.getTimezoneOffset();
    const two = (n: number) => String(n).padStart(2, '0');
    const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
    assert.match(javaTimestamp(date), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$/);
    assert.ok(javaTimestamp(date).endsWith(zone));
    assert.equal(new Date(javaTimestamp(date).replace(/([+-]\d{2})(\d{2})$/, '$1:$2')).getTime(), READ_AT);
  });

  it('PRETTYPRINT nests the tags', async () => {
    imds.tags = { Team: 'core' };
    const converter = await readConverter(() => READ_AT, 'PRETTYPRINT');
    const out = converter.convert('{"a":"b"}');
    assert.ok(out.startsWith('{\n  "a" : "b",\n  "privateIp" : "10.0.1.23",\n'), out);
    assert.ok(out.endsWith('",\n  "tags" : {\n    "team" : "core"\n  }\n}\n'), out);
  });

  it('a record that is not a JSON object (as Jackson reads one) is shipped raw by the chain, and counted', async () => {
    const converter = await readConverter();
    const { events, named } = recordingEvents();
    const chain = new ConverterChain(
      [
        { name: 'dataProcessingOptions[0] ADDBRACKETS', converter: new AddBrackets() },
        { name: 'dataProcessingOptions[1] ADDEC2METADATA', converter },
      ],
      events,
    );
    assert.deepEqual(textsOf(chain.process(chunkOf(['plain\n']))), ['plain\n'], 'raw, without the brackets');
    const notObjects = ['\n', '[1]\n', 'null\n', '"x"\n', '{"a":"raw\ttab"}\n', '{"a":1,}\n', '{"a":01}\n', '{"a"\n'];
    const alone = new ConverterChain([{ name: 'dataProcessingOptions[0] ADDEC2METADATA', converter }], events);
    assert.deepEqual(textsOf(alone.process(chunkOf(notObjects))), notObjects);
    assert.deepEqual(
      named('recordsNotConverted').map(([option, outcome, records]) => [option, outcome, records]),
      [
        ['dataProcessingOptions[1] ADDEC2METADATA', 'failed', 1],
        ['dataProcessingOptions[0] ADDEC2METADATA', 'failed', notObjects.length],
      ],
    );
  });

  it('without metadata (nothing answers), records pass unchanged to the next option, counted', async () => {
    const { events, named } = recordingEvents();
    const unreachable = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    const converter = new AddEc2Metadata(unreachable, 3_600_000, 'COMPACT');
    await waitFor(() => converter.unavailable?.includes('ECONNREFUSED'), { message: 'the failed read' });
    const chain = new ConverterChain(
      [
        { name: 'dataProcessingOptions[0] ADDEC2METADATA', converter },
        { name: 'dataProcessingOptions[1] ADDBRACKETS', converter: new AddBrackets() },
      ],
      events,
    );
    assert.deepEqual(textsOf(chain.process(chunkOf(['a\n', 'b\n']))), ['{a\n}', '{b\n}']);
    assert.deepEqual(named('recordsNotConverted'), [
      ['dataProcessingOptions[0] ADDEC2METADATA', 'unchanged', 2, 'cannot read EC2 metadata: connect ECONNREFUSED'],
    ]);
  });

  it('is read again once metadataTTL old; until the new read is in, the old metadata is added', async () => {
    let now = READ_AT;
    const converter = await readConverter(() => now);
    const reads = () => imds.requests.filter((r) => r.includes('instance-identity')).length;
    assert.equal(reads(), 1);
    imds.identity.instanceType = 'm5.xlarge';
    now += 3_600_001;
    assert.equal(converter.unavailable, undefined, 'the old metadata still counts');
    assert.match(converter.convert('{}'), /"instanceType":"m5\.large"/);
    await waitFor(() => converter.convert('{}').includes('m5.xlarge'), { message: 'the refreshed metadata' });
    assert.equal(reads(), 2);
    assert.ok(converter.convert('{}').includes(`"metadataTimestamp":"${javaTimestamp(new Date(now))}"`));
  });

  it('the endpoint comes from AWS_EC2_METADATA_SERVICE_ENDPOINT; AWS_EC2_METADATA_DISABLED turns it off', async () => {
    const fromEnv = await instanceMetadataFromEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `${endpoint}/` })();
    assert.equal(fromEnv.instanceId, 'i-0abc123');
    await assert.rejects(instanceMetadataFromEnv({ AWS_EC2_METADATA_DISABLED: 'true' })(), /DISABLED/);
    const processors = processorsFor(
      [{ optionName: 'ADDEC2METADATA', metadataTTL: 60, jsonFormat: 'COMPACT' }],
      recordingEvents().events,
      { instanceMetadata: instanceMetadataFrom(endpoint), now: () => READ_AT },
    );
    await waitFor(
      () => textsOf(processors[0].process(chunkOf(['{"a":1}\n'])))[0].includes('"instanceId":"i-0abc123"'),
      { message: 'the metadata added by the flow processor' },
    );
  });
});
