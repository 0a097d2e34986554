import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A local HTTP endpoint standing in for a Firehose HTTP destination, on 127.0.0.1 and a free port:
 * it records every request and answers the n-th one (from 1) as the test says.
 */
export interface ReceivedRequest {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RunningEndpoint {
  base: string;
  received: ReceivedRequest[];
  server: http.Server;
  close(): Promise<void>;
}

export async function startEndpoint(
  answer: (request: ReceivedRequest, n: number, response: http.ServerResponse) => void,
): Promise<RunningEndpoint> {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const got = { url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) };
      received.push(got);
      answer(got, received.length, response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    received,
    server,
    close: async () => {
      // Also the connections of requests it never answered.
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function answerJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** The request as the endpoint decodes it: the JSON body, gunzipped when the request says so. */
export function firehoseRequest(request: ReceivedRequest): {
  requestId: string;
  timestamp: number;
  records: { data: string }[];
} {
  const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(request.body) : request.body;
  return JSON.parse(body.toString('utf8')) as { requestId: string; timestamp: number; records: { data: string }[] };
}
