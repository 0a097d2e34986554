import { AwsApiError } from '../client/api-error.js';
import type { JsonApiClient } from '../client/json-api-client.js';
import { internalFailure } from './host/json-protocol.js';
import type { Service } from './host/service.js';

/**
 * The agent's way to the embedded engine: the same JsonApiClient interface as AWS, without HTTP, for
 * either service (Kinesis or Firehose). It runs the very `call` the HTTP host runs (same validation,
 * throttling and AwsApiErrors), on a later tick so that callers see the asynchrony they would over a socket.
 */
export class InProcessClient implements JsonApiClient {
  private closed = false;

  constructor(private readonly service: Pick<Service, 'call'>) {}

  async call<T = unknown>(action: string, input: object): Promise<T> {
    await Promise.resolve();
    if (this.closed) throw new AwsApiError('NetworkError', 'the embedded engine client is closed', 0);
    try {
      return (this.service.call(action, input as Record<string, unknown>) ?? {}) as T;
    } catch (error) {
      if (error instanceof AwsApiError) throw error;
      throw internalFailure(error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
