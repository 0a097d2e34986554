/**
 * The messages between the engine (function-runner.ts) and the process that hosts one transform
 * function (function-host.ts), over the fork's IPC channel. The function's own console output goes
 * through the child's stdout and stderr instead, so nothing it prints can be taken for a message.
 */

/** Engine → host: run the handler once. */
export interface InvokeMessage {
  kind: 'invoke';
  requestId: string;
  event: unknown;
  /** Epoch ms by which the invocation must answer: what context.getRemainingTimeInMillis() counts down to. */
  deadlineMs: number;
}

/** Host → engine. */
export type HostMessage =
  /** The module loaded and exports a handler: the host takes invocations from now on. */
  | { kind: 'ready' }
  /** The module could not be loaded or has no handler; the host exits after sending this. */
  | { kind: 'init-failed'; errorType: string; errorMessage: string }
  /** The handler's answer, already serialized as Lambda serializes it (JSON.stringify). */
  | { kind: 'response'; requestId: string; json: string }
  /** The handler answered, but with more than Lambda lets a response carry; the answer was not sent. */
  | { kind: 'response-too-large'; requestId: string; bytes: number }
  /** The handler failed (threw, rejected, callback(err), context.fail) or its answer could not be sent. */
  | { kind: 'error'; requestId: string; errorType: string; errorMessage: string }
  /** An error nothing caught (e.g. thrown in a timer); the host exits after sending this. */
  | { kind: 'fatal'; errorType: string; errorMessage: string };

/**
 * Lambda's limit for a synchronous invocation's response (and request): "6 MB", which Lambda counts as
 * 6,291,556 bytes.
 */
export const LAMBDA_PAYLOAD_LIMIT_BYTES = 6_291_556;

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` → `<name>`; anything else as given. */
export function functionNameOf(lambdaArn: string): string {
  const parts = lambdaArn.split(':');
  if (parts.length >= 7 && parts[0] === 'arn' && parts[5] === 'function') return parts[6];
  return lambdaArn;
}
