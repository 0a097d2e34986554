import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy on 127.0.0.1 in front of a local server (s3rver) that can hold PUT requests: a held
 * request is read in full, and sent on only when released, whether or not its client is still there
 * (a crashed engine's upload that still lands). Headers go on as they came, so SigV4 still checks.
 */
export interface HoldingProxy {
  endpoint: string;
  /** PUTs read and waiting for release(). */
  held: number;
  /** PUTs the target answered. */
  putsAnswered: number;
  holdPuts(hold: boolean): void;
  /** Sends the held requests on; resolves when the target has answered them all. */
  release(): Promise<void>;
  close(): Promise<void>;
}

export async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const { hostname, port } = new URL(target);
  let holding = false;
  const waiting: Array<() => Promise<void>> = [];
  const state = { held: 0, putsAnswered: 0 };

  const forward = (request: http.IncomingMessage, body: Buffer, response: http.ServerResponse) =>
    new Promise<void>((resolve) => {
      const headers = { ...request.headers };
      delete headers.expect;
      const upstream = http.request(
        { host: hostname, port, method: request.method, path: request.url, headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            if (request.method === 'PUT') state.putsAnswered += 1;
            if (!response.destroyed) {
              response.writeHead(answer.statusCode ?? 502, answer.headers);
              response.end(Buffer.concat(chunks));
            }
            resolve();
          });
        },
      );
      upstream.on('error', (error) => {
        if (!response.destroyed) response.destroy(error);
        resolve();
      });
      upstream.end(body);
    });

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      if (holding && request.method === 'PUT') {
        state.held += 1;
        waiting.push(() => forward(request, body, response));
      } else void forward(request, body, response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: proxyPort } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${proxyPort}`,
    get held() {
      return state.held;
    },
    get putsAnswered() {
      return state.putsAnswered;
    },
    holdPuts: (hold) => (holding = hold),
    release: async () => {
      holding = false;
      const sends = waiting.splice(0).map((send) => send());
      state.held = 0;
      await Promise.all(sends);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
