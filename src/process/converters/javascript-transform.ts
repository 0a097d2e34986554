import { pathToFileURL } from 'node:url';
import type { Converter } from './converter.js';

type Transform = (record: string) => unknown;

/**
 * USINGJAVASCRIPT, our own option in place of the Java agent's USINGPLUGGIN: the default export of
 * a module (ES or CommonJS) gets each record's text and returns the record's new text, or null to
 * drop it. It runs in the agent's process, synchronously, between the converters around it; what
 * it throws, or returns other than a string or null, makes the chain ship the raw record (counted).
 */
export class JavaScriptTransform implements Converter {
  private transform: Transform | undefined;

  constructor(private readonly modulePath: string) {}

  /** Loads the module: throws, naming it, when it cannot be imported or exports no function. */
  async ready(): Promise<void> {
    let loaded: { default?: unknown };
    try {
      loaded = (await import(pathToFileURL(this.modulePath).href)) as { default?: unknown };
    } catch (error) {
      throw new Error(`USINGJAVASCRIPT: cannot load ${this.modulePath}: ${(error as Error).message}`, { cause: error });
    }
    if (typeof loaded.default !== 'function')
      throw new Error(
        `USINGJAVASCRIPT: ${this.modulePath} must have a default export that is a function ` +
          `(record text in, new text or null out); it is ${typeof loaded.default}`,
      );
    this.transform = loaded.default as Transform;
  }

  convert(text: string): string | null {
    if (this.transform === undefined) throw new Error(`${this.modulePath} is not loaded`);
    const result = this.transform(text);
    if (typeof result === 'string' || result === null) return result;
    if (result instanceof Promise) {
      result.catch(() => undefined);
      throw new Error('returned a Promise: the transform must return the new text (or null) at once');
    }
    throw new Error(`returned ${result === undefined ? 'undefined' : typeof result}, not a string or null`);
  }
}
