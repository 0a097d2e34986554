import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendSlots } from '../../../src/send/send-slots.js';

describe('SendSlots', () => {
  it(
    'runs at most `limit` calls at once, the rest in the order they asked, and frees a slot when a ' + 'call fails',
    async () => {
      const slots = new SendSlots(2);
      let running = 0;
      let peak = 0;
      const order: number[] = [];
      const releases: Array<() => void> = [];
      const call = (n: number, fail = false) =>
        slots.run(async () => {
          running++;
          peak = Math.max(peak, running);
          order.push(n);
          await new Promise<void>((resolve) => releases.push(resolve));
          running--;
          if (fail) throw new Error(`call ${n} failed`);
          return n;
        });
      const calls = [call(1, true), call(2), call(3), call(4)];
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(order, [1, 2], 'two slots: two calls run');
      releases.shift()!();
      await assert.rejects(calls[0], /call 1 failed/);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(order, [1, 2, 3], 'the failed call gave its slot to the next in line');
      while (releases.length > 0 || order.length < 4) {
        releases.shift()?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.deepEqual(await Promise.all(calls.slice(1)), [2, 3, 4]);
      assert.equal(peak, 2);
      assert.equal(slots.inUse, 0);
    },
  );

  it('refuses a limit below 1', () => {
    assert.throws(() => new SendSlots(0), RangeError);
  });
});
