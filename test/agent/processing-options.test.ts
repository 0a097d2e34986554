/**
 * `shardtail start` with dataProcessingOptions, shipping to its embedded engine: a LOGTOJSON
 * COMBINEDAPACHELOG flow turns written Apache access lines into the Java agent's JSON records,
 * byte for byte, in order, and drops (and warns about) a line that does not match; LOGTOJSON then
 * ADDEC2METADATA adds what a local instance metadata server (IMDSv2 only) says, from the first
 * record on; USINGJAVASCRIPT runs a module of the user's.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  assertCliBuilt,
  embeddedConfig,
  logsUnder,
  startAgent,
  stopCleanly,
  StreamCollector,
} from '../support/agent-process.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';

const STREAM = 'access-json';

before(assertCliBuilt);
after(removeTempDirs);

describe('dataProcessingOptions in a running agent', { timeout: 40_000 }, () => {
  test('LOGTOJSON COMBINEDAPACHELOG: written Apache lines arrive as the exact JSON records', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-processing-'));
    const configFile = embeddedConfig(dir, STREAM, {
      dataProcessingOptions: [{ optionName: 'LOGTOJSON', logFormat: 'COMBINEDAPACHELOG' }],
    });
    const logFile = path.join(logDir, 'access.log');
    appendFileSync(
      logFile,
      '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200 10450 "-" ' +
        '"Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)"\n' +
        'not an access log line\n',
    );
    const agent = await startAgent({ configFile });
    try {
      assert.ok(agent.engineUrl, agent.tail());
      const collector = new StreamCollector(agent.engineUrl, STREAM);
      appendFileSync(
        logFile,
        'web-1.example.com - alice [01/May/2024:12:00:00 +0000] "POST /api/é HTTP/1.1" 201 - ' +
          '"https://example.com/" "curl/8.5.0"\n',
      );
      const expected = [
        '{"host":"123.45.67.89","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400",' +
          '"request":"GET /java/javaResources.html HTTP/1.0","response":"200","bytes":"10450","referer":null,' +
          '"agent":"Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)"}\n',
        '{"host":"web-1.example.com","ident":null,"authuser":"alice","datetime":"01/May/2024:12:00:00 +0000",' +
          '"request":"POST /api/é HTTP/1.1","response":"201","bytes":null,"referer":"https://example.com/",' +
          '"agent":"curl/8.5.0"}\n',
      ];
      await collector.until((records) => records.length >= expected.length, {
        agent,
        message: () => `${expected.length} records; got ${collector.records.length}\n${agent.tail()}`,
      });
      assert.deepEqual(
        collector.records.map((record) => record.data.toString('utf8')),
        expected,
      );
      const warning = await agent.waitForLog((entry) => entry.outcome === 'skipped', 5_000, 'the skipped warning');
      assert.equal(warning.option, 'dataProcessingOptions[0] LOGTOJSON');
      assert.equal(warning.records, 1);
      assert.equal(warning.flow, `kinesis:${STREAM}:${path.join(dir, 'logs/*.log')}`);
    } finally {
      await stopCleanly(agent);
    }
  });

  test('LOGTOJSON SYSLOG then ADDEC2METADATA: fields from an IMDSv2 server follow the record', async (t) => {
    const token = 'imds-session-token';
    let tagsRead = false;
    const imds = createServer((request, response) => {
      if (request.method === 'PUT' && request.url === '/latest/api/token') return void response.end(token);
      if (request.headers['x-aws-ec2-metadata-token'] !== token) return void response.writeHead(401).end();
      if (request.url === '/latest/dynamic/instance-identity/document') {
        return void response.end(
          JSON.stringify({
            privateIp: '10.0.0.7',
            availabilityZone: 'us-west-2a',
            instanceId: 'i-0123456789abcdef0',
            instanceType: 't3.micro',
            accountId: '111122223333',
            imageId: 'ami-0abcdef',
            region: 'us-west-2',
          }),
        );
      }
      if (request.url === '/latest/meta-data/tags/instance') return void response.end('Name');
      if (request.url === '/latest/meta-data/tags/instance/Name') {
        response.on('finish', () => (tagsRead = true));
        return void response.end('web-7');
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => imds.close(() => resolve())));
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-processing-'));
    const configFile = embeddedConfig(dir, STREAM, {
      dataProcessingOptions: [
        { optionName: 'LOGTOJSON', logFormat: 'SYSLOG' },
        { optionName: 'ADDEC2METADATA', logFormat: 'SYSLOG' },
      ],
    });
    appendFileSync(path.join(logDir, 'syslog.log'), 'Mar  7 10:15:01 ip-10-0-0-7 sshd[1234]: Accepted key\n');
    const startedMs = Date.now();
    const agent = await startAgent({
      configFile,
      env: {
        AWS_EC2_METADATA_DISABLED: 'false',
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${(imds.address() as AddressInfo).port}`,
      },
    });
    try {
      assert.ok(agent.engineUrl, agent.tail());
      // A line there before the start: the flow reads nothing until the metadata is read, so
      // even the first record carries it (the Java agent waits for it too).
      assert.ok(tagsRead, 'the metadata is read before the agent says it started');
      const collector = new StreamCollector(agent.engineUrl, STREAM);
      await collector.until((records) => records.length >= 1, { agent, message: 'the record' });
      const data = collector.records[0].data.toString('utf8');
      const stamp = /"metadataTimestamp":"([^"]+)"/.exec(data)?.[1] ?? '';
      assert.match(stamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$/);
      const stampMs = Date.parse(stamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      assert.ok(stampMs >= Math.floor(startedMs / 1000) * 1000 && stampMs <= Date.now(), stamp);
      assert.equal(
        data,
        '{"timestamp":"Mar  7 10:15:01","hostname":"ip-10-0-0-7","program":"sshd","processid":"1234",' +
          '"message":"Accepted key","privateIp":"10.0.0.7","availabilityZone":"us-west-2a",' +
          '"instanceId":"i-0123456789abcdef0","instanceType":"t3.micro","accountId":"111122223333",' +
          `"amiId":"ami-0abcdef","region":"us-west-2","metadataTimestamp":"${stamp}","tags":{"name":"web-7"}}\n`,
      );
    } finally {
      await stopCleanly(agent);
    }
  });

  test('USINGJAVASCRIPT: a module beside agent.json redacts and drops records', async () => {
    const { dir, logDir } = logsUnder(makeTempDir('shardtail-processing-'));
    writeFileSync(
      path.join(dir, 'redact.mjs'),
      "export default (line) => (line.includes('healthcheck') ? null : line.replace(/token=\\w+/, 'token=***'));\n",
    );
    const configFile = embeddedConfig(dir, STREAM, {
      dataProcessingOptions: [{ optionName: 'USINGJAVASCRIPT', modulePath: 'redact.mjs' }],
    });
    appendFileSync(path.join(logDir, 'app.log'), 'GET /healthcheck\nGET /orders?token=s3cret\n');
    const agent = await startAgent({ configFile });
    try {
      const collector = new StreamCollector(agent.engineUrl!, STREAM);
      appendFileSync(path.join(logDir, 'app.log'), 'GET /end\n');
      await collector.until((records) => records.length >= 2, { agent, message: 'the kept records' });
      assert.deepEqual(
        collector.records.map((record) => record.data.toString('utf8')),
        ['GET /orders?token=***\n', 'GET /end\n'],
      );
    } finally {
      await stopCleanly(agent);
    }
  });
});
