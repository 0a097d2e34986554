import type { TestContext } from 'node:test';

/**
 * Runs the steps of one scenario as ordered subtests; once a step fails the later ones are
 * reported as skipped instead of failing for a reason that is not theirs.
 */
export function stepper(t: TestContext): (name: string, fn: () => Promise<void>) => Promise<void> {
  let failedStep: string | undefined;
  return async (name, fn) => {
    if (failedStep !== undefined) {
      await t.test(name, { skip: `step "${failedStep}" failed` }, () => undefined);
      return;
    }
    await t.test(name, async () => {
      try {
        await fn();
      } catch (error) {
        failedStep = name;
        throw error;
      }
    });
  };
}
