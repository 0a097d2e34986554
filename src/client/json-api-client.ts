/**
 * What the agent and the CLI need from Kinesis or Firehose: one AWS JSON 1.1 call at a time.
 * Implemented over HTTP (undici, SigV4) for AWS and for any remote endpoint, and in-process for the
 * embedded engine; both must answer with the same results and throw the same AwsApiError codes.
 */
export interface JsonApiClient {
  /** `action` is the bare operation name, e.g. `PutRecords`; resolves to the parsed response body. */
  call<T = unknown>(action: string, input: object): Promise<T>;
  close(): Promise<void>;
}

export type AwsService = 'kinesis' | 'firehose';

export const TARGET_PREFIX: Record<AwsService, string> = {
  kinesis: 'Kinesis_20131202',
  firehose: 'Firehose_20150804',
};
