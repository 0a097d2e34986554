import { readFile } from 'node:fs/promises';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

export type Handler = (
  event: unknown,
  context: unknown,
  callback: (error?: unknown, result?: unknown) => void,
) => unknown;

/** Why a function could not start, with the errorType Lambda reports for it. */
export class HandlerLoadError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const COMMONJS_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];

/**
 * Loads a transform function's module and finds its handler, the way Lambda's Node.js runtime would
 * have it: `.cjs` is CommonJS and `.mjs` an ES module whatever the package says, and a `.js` file is
 * whichever its code is. That last part matters because functions are written for Lambda, where a
 * lone `index.js` is CommonJS, and then dropped into folders whose package.json says
 * `"type": "module"` (this repository's does): Node would refuse `exports.handler = …` there.
 *
 * The choice is made before anything runs: code that compiles as a CommonJS function body has no
 * `import`/`export`/top-level `await`, so as an ES module it could export nothing, and it runs as
 * CommonJS; anything else is imported as an ES module. (Importing first and falling back on
 * "exports is not defined" would run the module's top level twice: "Loading function" would print
 * twice, and any other side effect would happen twice.)
 */
export async function loadHandler(modulePath: string): Promise<Handler> {
  const exported = await loadModule(path.resolve(modulePath)).catch((error: unknown) => {
    throw asLoadError(error);
  });
  const handler = handlerOf(exported);
  if (!handler) {
    const name = path.basename(modulePath, path.extname(modulePath));
    throw new HandlerLoadError('Runtime.HandlerNotFound', `${name}.handler is undefined or not exported`);
  }
  return handler;
}

async function loadModule(filename: string): Promise<unknown> {
  const extension = path.extname(filename);
  if (extension === '.cjs') return createRequire(filename)(filename);
  if (extension === '.mjs') return import(pathToFileURL(filename).href);
  const source = await readFile(filename, 'utf8');
  const commonJs = compileAsCommonJs(source, filename);
  if (commonJs) return runCommonJs(commonJs, filename);
  return import(pathToFileURL(filename).href);
}

type CommonJsBody = (...args: unknown[]) => void;

function compileAsCommonJs(source: string, filename: string): CommonJsBody | undefined {
  // A hashbang is allowed at the start of a script or module, never inside a function body.
  const body = source.startsWith('#!') ? `//${source}` : source;
  try {
    return vm.compileFunction(body, COMMONJS_PARAMETERS, {
      filename,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as CommonJsBody;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function runCommonJs(body: CommonJsBody, filename: string): unknown {
  const module = new Module(filename);
  module.filename = filename;
  const require = createRequire(filename);
  body.call(module.exports, module.exports, require, module, filename, path.dirname(filename));
  module.loaded = true;
  return module.exports;
}

function handlerOf(exported: unknown): Handler | undefined {
  if (typeof exported === 'function') return exported as Handler;
  if (typeof exported !== 'object' || exported === null) return undefined;
  const { handler, default: fallback } = exported as { handler?: unknown; default?: unknown };
  if (typeof handler === 'function') return handler as Handler;
  if (fallback !== undefined && fallback !== exported) return handlerOf(fallback);
  return undefined;
}

function asLoadError(error: unknown): HandlerLoadError {
  if (error instanceof HandlerLoadError) return error;
  if (error instanceof SyntaxError) return new HandlerLoadError('Runtime.UserCodeSyntaxError', error.message);
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ENOENT' || code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
    return new HandlerLoadError('Runtime.ImportModuleError', message);
  return new HandlerLoadError(error instanceof Error ? error.name : 'Runtime.ImportModuleError', message);
}
