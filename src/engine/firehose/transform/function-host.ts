/**
 * The process a transform function runs in (forked by function-runner.ts): one warm "Lambda"
 * instance. It loads the module once, then runs one invocation at a time as the engine sends them.
 * argv: <module path> <Lambda ARN>. The function's console output is this process's stdout/stderr,
 * which the engine turns into log lines; the answers go over the IPC channel.
 */
import { randomBytes } from 'node:crypto';
import { loadHandler, HandlerLoadError, type Handler } from './load-handler.js';
import { functionNameOf, LAMBDA_PAYLOAD_LIMIT_BYTES, type HostMessage, type InvokeMessage } from './protocol.js';

const [modulePath, lambdaArn] = process.argv.slice(2);
const functionName = functionNameOf(lambdaArn);
const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
const logStreamName = `${today}/[$LATEST]${randomBytes(16).toString('hex')}`;

function send(message: HostMessage, then?: () => void): void {
  if (!process.connected) return then?.();
  process.send?.(message, undefined, undefined, () => then?.());
}

/** Lambda's way of describing what a function failed with: `{errorType, errorMessage}`. */
function describe(error: unknown): { errorType: string; errorMessage: string } {
  if (error instanceof Error) return { errorType: error.name || 'Error', errorMessage: error.message };
  if (typeof error === 'string') return { errorType: 'string', errorMessage: error };
  let text: string;
  try {
    text = JSON.stringify(error) ?? String(error);
  } catch {
    text = String(error);
  }
  return { errorType: typeof error, errorMessage: text };
}

/** Whatever escapes the handler ends this instance, as it ends a Lambda runtime; the engine starts a new one. */
function die(errorType: string, error: unknown): void {
  const described = describe(error);
  process.stderr.write(
    `${errorType}: ${error instanceof Error ? (error.stack ?? error.message) : described.errorMessage}\n`,
  );
  send({ kind: 'fatal', errorType, errorMessage: described.errorMessage }, () => process.exit(1));
}

process.on('uncaughtException', (error) => die(error instanceof Error ? error.name : 'Error', error));
process.on('unhandledRejection', (reason) => die('Runtime.UnhandledPromiseRejection', reason));
// The engine went away (or dropped this instance): nothing will ever ask again.
process.on('disconnect', () => process.exit(0));

function answer(requestId: string, error: unknown, result: unknown): void {
  if (error !== undefined && error !== null) {
    send({ kind: 'error', requestId, ...describe(error) });
    return;
  }
  let json: string;
  try {
    json = JSON.stringify(result === undefined ? null : result);
  } catch (serializationError) {
    send({ kind: 'error', requestId, ...describe(serializationError) });
    return;
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > LAMBDA_PAYLOAD_LIMIT_BYTES) send({ kind: 'response-too-large', requestId, bytes });
  else send({ kind: 'response', requestId, json });
}

function invoke(handler: Handler, message: InvokeMessage): void {
  let settled = false;
  // The first of callback, returned promise and context.succeed/fail/done answers; later ones are ignored.
  const finish = (error?: unknown, result?: unknown): void => {
    if (settled) return;
    settled = true;
    answer(message.requestId, error, result);
  };
  const context = {
    awsRequestId: message.requestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: lambdaArn,
    memoryLimitInMB: '128',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
    succeed: (result?: unknown) => finish(undefined, result),
    fail: (error?: unknown) => finish(error ?? new Error('handled')),
    done: (error?: unknown, result?: unknown) => finish(error, result),
  };
  try {
    const returned = handler(message.event, context, finish);
    if (isThenable(returned))
      returned.then(
        (result) => finish(undefined, result),
        (error: unknown) => finish(error ?? new Error('The handler rejected without a reason')),
      );
  } catch (error) {
    finish(error ?? new Error('The handler threw without a value'));
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

try {
  const handler = await loadHandler(modulePath);
  process.on('message', (message: InvokeMessage) => invoke(handler, message));
  send({ kind: 'ready' });
} catch (error) {
  const errorType = error instanceof HandlerLoadError ? error.errorType : 'Runtime.ImportModuleError';
  send({ kind: 'init-failed', errorType, errorMessage: describe(error).errorMessage }, () => process.exit(1));
}
