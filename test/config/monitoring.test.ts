import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadAgentConfig } from '../../src/config/agent-config.js';
import { parseListenAddress } from '../../src/config/listen-address.js';

const directories: string[] = [];
after(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function configWith(globals: string): Promise<string> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'shardtail-monitoring-'));
  directories.push(directory);
  const file = path.join(directory, 'agent.json');
  await writeFile(file, `{ ${globals} "flows": [ { "filePattern": "/l/*.log", "kinesisStream": "s" } ] }`);
  return file;
}

async function problemsOf(globals: string): Promise<Array<{ key: string; message: string }>> {
  try {
    await loadAgentConfig(await configWith(globals));
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map(({ key, message }) => ({ key, message }));
  }
  assert.fail('the config loaded although it should not');
}

describe('monitoring.listen', () => {
  test('off when absent; HOST:PORT, [IPv6]:PORT and a bare port (string or number) are read', async () => {
    assert.equal((await loadAgentConfig(await configWith(''))).config.monitoring, undefined);
    const cases: Array<[string, { host: string; port: number }]> = [
      ['"0.0.0.0:9464"', { host: '0.0.0.0', port: 9464 }],
      ['"[::1]:9100"', { host: '::1', port: 9100 }],
      ['"9464"', { host: '127.0.0.1', port: 9464 }],
      ['0', { host: '127.0.0.1', port: 0 }],
    ];
    for (const [value, listen] of cases) {
      const { config } = await loadAgentConfig(await configWith(`"monitoring": { "listen": ${value} },`));
      assert.deepEqual(config.monitoring, { listen, stallAfterSeconds: 60 }, value);
    }
  });

  test('bad values stop loading with an error naming the key', async () => {
    assert.deepEqual(await problemsOf('"monitoring": { "listen": "localhost" },'), [
      {
        key: 'monitoring.listen',
        message: "'localhost' is not an address such as 127.0.0.1:9464, [::1]:9464 or a bare port",
      },
    ]);
    assert.deepEqual(await problemsOf('"monitoring": { "listen": "127.0.0.1:70000" },'), [
      { key: 'monitoring.listen', message: "'127.0.0.1:70000' has port 70000, outside the valid range 0–65535" },
    ]);
    assert.deepEqual(await problemsOf('"monitoring": {},'), [{ key: 'monitoring.listen', message: 'is required' }]);
    assert.deepEqual(await problemsOf('"monitoring": { "listen": 1, "stallAfterSeconds": 0 },'), [
      { key: 'monitoring.stallAfterSeconds', message: '0 is below the minimum of 1' },
    ]);
    assert.deepEqual(await problemsOf('"monitoring": "9464",'), [
      { key: 'monitoring', message: `'9464' must be an object such as { "listen": "127.0.0.1:9464" }` },
    ]);
  });

  test('unknown keys inside it and the flat dotted spelling are warned about', async () => {
    const { warnings } = await loadAgentConfig(
      await configWith('"monitoring": { "listen": 9464, "lisen": 1 }, "monitoring.listen": "9464",'),
    );
    assert.deepEqual(
      warnings.map(({ key, message }) => ({ key, message })),
      [
        {
          key: 'monitoring.listen',
          message: 'is ignored: monitoring settings are a nested object, e.g. "monitoring": { "listen": … }',
        },
        { key: 'monitoring.lisen', message: "unknown key 'lisen' is ignored; did you mean listen?" },
      ],
    );
  });

  test('the --monitoring-listen and --listen flags read addresses the same way', () => {
    assert.deepEqual(parseListenAddress(' 9464 '), { host: '127.0.0.1', port: 9464 });
    assert.equal(typeof parseListenAddress('9464:'), 'string');
    assert.equal(typeof parseListenAddress('[::1]'), 'string');
  });
});
