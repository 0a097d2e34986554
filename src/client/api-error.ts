/**
 * An error answered by an AWS-style JSON API (Kinesis, Firehose, or our engine), or a transport
 * failure on the way there. `code` is the bare exception name (`__type` without namespace).
 */
export class AwsApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly requestId?: string;

  constructor(
    code: string,
    message: string,
    status: number,
    options: { retryable?: boolean; requestId?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.status = status;
    this.retryable = options.retryable ?? isRetryableCode(code, status);
    this.requestId = options.requestId;
  }
}

const RETRYABLE_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'ServiceUnavailableException',
  'InternalFailureException',
  'InternalFailure',
  'KMSThrottlingException',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkError',
]);

/** Throttling, server faults and transport failures are retried; everything else is the caller's fault. */
export function isRetryableCode(code: string, status: number): boolean {
  return status >= 500 || status === 429 || RETRYABLE_CODES.has(code);
}

/** Strips the namespace AWS sometimes puts in `__type` (`com.amazonaws...#Name`) and any `:suffix`. */
export function bareErrorCode(type: string): string {
  const afterHash = type.includes('#') ? type.slice(type.lastIndexOf('#') + 1) : type;
  const colon = afterHash.indexOf(':');
  return colon >= 0 ? afterHash.slice(0, colon) : afterHash;
}

/** The system error code (ECONNREFUSED, ETIMEDOUT…) of a transport failure, or of its cause. */
export function errorCode(error: unknown): string | undefined {
  const code =
    (error as { code?: unknown } | null)?.code ?? (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

export function describeCause(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === undefined || message.includes(code)) return message || 'unknown error';
  return message ? `${code} ${message}` : code;
}
