import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { makeTempDir } from './tmp.js';

/**
 * s3rver (an S3 we did not write) in this process, on 127.0.0.1 and a free port, storing in a
 * temporary directory. It checks SigV4 signatures against its one account, S3RVER/S3RVER.
 */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  httpServer: Server;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
}) => S3rverInstance;

export interface RunningS3 {
  endpoint: string;
  directory: string;
  /** A client of our own, for making buckets and reading back what landed. */
  client: S3Client;
  /** `<method> <url>` of every request the server received, to tell PutObject from multipart uploads. */
  requests: string[];
  close(): Promise<void>;
}

export async function startS3rver(): Promise<RunningS3> {
  // s3rver is CommonJS without type declarations.
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = makeTempDir('shardtail-s3rver-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await server.run();
  const requests: string[] = [];
  server.httpServer.on('request', (request: { method?: string; url?: string }) =>
    requests.push(`${request.method} ${request.url}`),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    directory,
    client,
    requests,
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}
