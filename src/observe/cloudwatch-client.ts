import { SignatureV4 } from '@smithy/signature-v4';
import { Pool } from 'undici';
import type { CredentialProvider } from '../client/credentials.js';
import { CLOUDWATCH_SERVICE } from '../client/endpoint.js';
import { NodeSha256, redactEchoedCredentials, snippet } from '../client/http-client.js';

/** What CloudWatch keeps of many values of a metric: their sum, extremes and count. */
export interface StatisticSet {
  sum: number;
  min: number;
  max: number;
  sampleCount: number;
}

export interface MetricDatum {
  name: string;
  unit: 'Count' | 'Bytes';
  dimensions: ReadonlyArray<{ name: string; value: string }>;
  statistics: StatisticSet;
}

const API_VERSION = '2010-08-01';
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=utf-8';

/**
 * PutMetricData in the Query protocol, as the Java agent's SDK sent it: no timestamp, so that
 * CloudWatch files each datum under its arrival.
 */
export function putMetricDataForm(namespace: string, datums: readonly MetricDatum[]): string {
  const fields: Array<[string, string]> = [
    ['Action', 'PutMetricData'],
    ['Version', API_VERSION],
    ['Namespace', namespace],
  ];
  datums.forEach((datum, index) => {
    const member = `MetricData.member.${index + 1}`;
    fields.push([`${member}.MetricName`, datum.name]);
    datum.dimensions.forEach((dimension, d) => {
      fields.push([`${member}.Dimensions.member.${d + 1}.Name`, dimension.name]);
      fields.push([`${member}.Dimensions.member.${d + 1}.Value`, dimension.value]);
    });
    fields.push([`${member}.Unit`, datum.unit]);
    const { sum, min, max, sampleCount } = datum.statistics;
    fields.push([`${member}.StatisticValues.Sum`, String(sum)]);
    fields.push([`${member}.StatisticValues.Minimum`, String(min)]);
    fields.push([`${member}.StatisticValues.Maximum`, String(max)]);
    fields.push([`${member}.StatisticValues.SampleCount`, String(sampleCount)]);
  });
  return fields.map(([name, value]) => `${formEncode(name)}=${formEncode(value)}`).join('&');
}

/** RFC 3986, as SigV4 and the Query protocol want it: encodeURIComponent leaves !'()* alone. */
function formEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface CloudWatchClientOptions {
  /** Origin URL (resolveCloudWatchEndpoint). */
  endpoint: string;
  region: string;
  credentials: CredentialProvider;
  /** Connect, send and read the answer: metrics are not worth waiting long for. */
  requestTimeoutMs: number;
  clock?: () => Date;
}

/** One keep-alive connection to CloudWatch, for one PutMetricData at a time, SigV4-signed for `monitoring`. */
export class CloudWatchClient {
  private readonly pool: Pool;
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(private readonly options: CloudWatchClientOptions) {
    this.url = new URL(options.endpoint);
    const timeout = options.requestTimeoutMs;
    this.pool = new Pool(this.url.origin, {
      connections: 1,
      pipelining: 1,
      connectTimeout: timeout,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    this.signer = new SignatureV4({
      service: CLOUDWATCH_SERVICE,
      region: options.region,
      credentials: options.credentials,
      sha256: NodeSha256,
      applyChecksum: false,
    });
  }

  async putMetricData(namespace: string, datums: readonly MetricDatum[]): Promise<void> {
    const body = Buffer.from(putMetricDataForm(namespace, datums), 'utf8');
    const { headers } = await this.signer.sign(
      {
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        ...(this.url.port === '' ? {} : { port: Number(this.url.port) }),
        method: 'POST',
        path: '/',
        query: {},
        headers: { host: this.url.host, 'content-type': FORM_CONTENT_TYPE },
        body,
      },
      { signingDate: (this.options.clock ?? (() => new Date()))() },
    );
    // undici's timeouts are per phase; this one bounds the whole call, a slow trickle included.
    const signal = AbortSignal.timeout(this.options.requestTimeoutMs);
    let status: number;
    let text: string;
    try {
      const response = await this.pool.request({ path: '/', method: 'POST', headers, body, signal });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new Error(`no answer within ${this.options.requestTimeoutMs} ms`, { cause: error });
    }
    if (status >= 200 && status < 300) return;
    throw new Error(redactEchoedCredentials(describeQueryError(status, text), headers));
  }

  /** Ends every connection, a call still waiting for its answer included. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

/** The Query protocol answers errors in XML: `<Error><Code>…</Code><Message>…</Message></Error>`. */
function describeQueryError(status: number, text: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  if (code === undefined) return `HTTP ${status}: ${text.length === 0 ? 'empty body' : snippet(text)}`;
  return `${code} (HTTP ${status})${message === undefined ? '' : `: ${message}`}`;
}
