import type http from 'node:http';
import type http2 from 'node:http2';
import { randomUUID } from 'node:crypto';
import { AwsApiError } from '../../client/api-error.js';

/**
 * The AWS JSON 1.1 protocol as every hosted API speaks it: the content type, answers with a
 * request id, errors as `{"__type", "message"}` with `x-amzn-ErrorType`, and the errors of the
 * protocol itself (a request that names no operation, or whose body is not a JSON object).
 */
export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

export type Response = http.ServerResponse | http2.Http2ServerResponse;

export function send(res: Response, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': String(payload.length),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(payload);
}

export function sendError(res: Response, error: AwsApiError, headers: Record<string, string> = {}): void {
  send(res, error.status, JSON.stringify({ __type: error.code, message: error.message }), {
    'x-amzn-errortype': error.code,
    ...headers,
  });
}

/** The request's body as the object every action takes; SerializationException for anything else. */
export function parseJsonObject(body: Buffer, contentType: string): Record<string, unknown> {
  if (contentType.includes('cbor')) {
    throw new AwsApiError(
      'SerializationException',
      'CBOR requests are not supported by this engine; send JSON (AWS SDK for Java: set AWS_CBOR_DISABLE=true ' +
        'for v1 or aws.cborEnabled=false for v2).',
      400,
    );
  }
  if (body.length === 0)
    throw new AwsApiError('SerializationException', 'Request body is empty; expected a JSON object.', 400);
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AwsApiError('SerializationException', `Request body is not valid JSON: ${(error as Error).message}`, 400);
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AwsApiError('SerializationException', 'Request body must be a JSON object.', 400);
  }
  return input as Record<string, unknown>;
}

export function notAnApiCall(): AwsApiError {
  return new AwsApiError('AccessDeniedException', 'Unable to determine service/operation name to be authorized', 403);
}

export function unknownOperation(message: string): AwsApiError {
  return new AwsApiError('UnknownOperationException', message, 400);
}

/** What an unexpected failure (a full disk, a closed database) is answered as, over HTTP or in process. */
export function internalFailure(error: unknown): AwsApiError {
  return new AwsApiError('InternalFailure', `Internal error: ${(error as Error).message}`, 500, { cause: error });
}
