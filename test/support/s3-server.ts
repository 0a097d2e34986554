import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { makeTempDir } from './tmp.js';

/**
 * s3rver (an S3 we did not write) in this process, on 127.0.0.1 and a free port, storing in a
 * temporary directory. It checks SigV4 signatures against its one account, S3RVER/S3RVER.
 */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

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
