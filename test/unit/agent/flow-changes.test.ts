import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { flowChanges } from '../../../src/agent/flow-changes.js';
import { loadAgentConfig, type AgentConfig } from '../../../src/config/agent-config.js';
import { makeTempDir, removeTempDirs } from '../../support/tmp.js';

after(removeTempDirs);

const dir = makeTempDir('shardtail-unit-reload-');

async function load(config: Record<string, unknown>): Promise<AgentConfig> {
  const file = path.join(dir, 'agent.json');
  writeFileSync(file, JSON.stringify({ checkpointFile: 'state/checkpoints.db', ...config }));
  return (await loadAgentConfig(file)).config;
}

const flow = (name: string, extra: Record<string, unknown> = {}) => ({
  filePattern: `logs/${name}.log`,
  kinesisStream: name,
  ...extra,
});
const id = (name: string) => `kinesis:${name}:${path.join(dir, 'logs', `${name}.log`)}`;

describe('flowChanges', () => {
  it('matches flows by id: unchanged, removed, changed and added', async () => {
    const running = await load({ flows: [flow('a'), flow('b'), flow('c')] });
    const next = await load({ flows: [flow('d'), flow('c', { maxBufferAgeMillis: 250 }), flow('a')] });
    assert.deepEqual(flowChanges(running, next), {
      unchanged: [id('a')],
      removed: [id('b')],
      changed: [id('c')],
      added: [id('d')],
    });
  });

  it('a flow that only moved in the list (and so is called by another label) is unchanged', async () => {
    const running = await load({ flows: [flow('a'), flow('b')] });
    const next = await load({ flows: [flow('b'), flow('a')] });
    assert.notEqual(running.flows[0].label, next.flows[1].label);
    assert.deepEqual(flowChanges(running, next)?.unchanged, [id('a'), id('b')]);
  });

  it('a changed global setting cannot be taken on flow by flow', async () => {
    const running = await load({ flows: [flow('a')] });
    const next = await load({ maxSendingThreads: 3, flows: [flow('a')] });
    assert.equal(flowChanges(running, next), undefined);
    assert.ok(flowChanges(running, await load({ flows: [flow('a')] })), 'the same config again');
  });

  it('a changed processing option changes the flow', async () => {
    const running = await load({ flows: [flow('a', { dataProcessingOptions: [{ optionName: 'ADDBRACKETS' }] })] });
    const next = await load({ flows: [flow('a', { dataProcessingOptions: [{ optionName: 'SINGLELINE' }] })] });
    assert.deepEqual(flowChanges(running, next)?.changed, [id('a')]);
  });
});
