/**
 * Connection-level abuse of the engine over real sockets on 127.0.0.1: connections that are silent,
 * half-sent or dripping are closed within their timeouts while well-behaved keep-alive clients are
 * not; 10,000 held sockets do not lock anyone out; and clients that hang up mid-request do not drive
 * the log. (Hostile request bodies: hardening.test.ts.)
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startEngine, type RunningEngine } from '../../src/engine/server.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { JSON_CONTENT_TYPE, TARGET, kinesis } from '../support/kinesis-http.js';
import { openFdCount } from '../support/reliability-proc.js';
import { makeTempDir, removeTempDirs } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

after(removeTempDirs);

const HTTP2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const postHead = (extra = '') =>
  `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\nX-Amz-Target: ` +
  `${TARGET}.ListStreams\r\n${extra}`;

/** A raw TCP connection and when the server closed it (ms after `since`), for tests that watch one connection. */
function rawConnection(port: number): {
  socket: net.Socket;
  connected: Promise<void>;
  closedAt: Promise<number>;
  drip(text: string, everyMs: number): void;
} {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  // Read everything, or a server's FIN is never seen as 'close'.
  socket.resume();
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closedAt = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  const drip = (text: string, everyMs: number) => {
    let i = 0;
    const timer = setInterval(
      () => (socket.writable ? socket.write(text[i++ % text.length]) : clearInterval(timer)),
      everyMs,
    );
  };
  return { socket, connected, closedAt, drip };
}

/** What `promise` resolves to, or undefined if it takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * One request on a connection of its own, and the answer as text once the server has sent it all
 * (it is small). Not fetch: its pool may hand out a kept-alive connection the cap has just closed.
 */
async function onNewConnection(port: number, request: string): Promise<string> {
  const connection = rawConnection(port);
  await connection.connected;
  let answer = '';
  connection.socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  connection.socket.write(request);
  try {
    await waitFor(
      () => {
        const head = answer.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(answer)?.[1] ?? NaN);
        return head >= 0 && Buffer.byteLength(answer) >= head + 4 + length;
      },
      { message: () => `an answer to ${request.split('\r\n')[0]}, got ${JSON.stringify(answer)}` },
    );
    return answer;
  } finally {
    connection.socket.destroy();
  }
}

describe('timeouts (in-process engine with short ones)', () => {
  const HEADERS_MS = 1_000;
  const REQUEST_MS = 2_000;
  /** Node's Agent keeps a connection 1 s less than the whole seconds the server advertises: 3 s leaves it 2 s. */
  const IDLE_MS = 3_000;
  /** Node closes a kept-alive HTTP/1.1 connection 1 s after the timeout it advertises, against races. */
  const KEEP_ALIVE_BUFFER_MS = 1_000;
  const SLACK_MS = 1_000;
  let engine: RunningEngine | undefined;

  before(async () => {
    engine = await startEngine({
      dataDir: makeTempDir('shardtail-conn-'),
      port: 0,
      headersTimeoutMs: HEADERS_MS,
      requestTimeoutMs: REQUEST_MS,
      idleTimeoutMs: IDLE_MS,
    });
  });
  after(() => engine?.stop());

  it(
    'silent, half-sent, dripping and partial connections (HTTP/1.1 and HTTP/2) are closed within ' + 'their timeouts',
    async () => {
      const port = engine!.port;
      type Kind = {
        name: string;
        timeoutMs: number;
        start(port: number): Promise<{ startedAt: number; closedAt: Promise<number> }>;
      };
      const raw = (name: string, timeoutMs: number, begin: (c: ReturnType<typeof rawConnection>) => void): Kind => ({
        name,
        timeoutMs,
        async start(port) {
          const connection = rawConnection(port);
          await connection.connected;
          const startedAt = Date.now();
          begin(connection);
          return { startedAt, closedAt: connection.closedAt };
        },
      });
      /** The session's close, or with `stream`, that stream's: a refused stream leaves its session open. */
      const http2Client = (
        name: string,
        timeoutMs: number,
        begin: (session: http2.ClientHttp2Session) => http2.ClientHttp2Stream | void,
      ): Kind => ({
        name,
        timeoutMs,
        async start(port) {
          const session = http2.connect(`http://127.0.0.1:${port}`);
          session.on('error', () => undefined);
          await new Promise((resolve) => session.once('connect', resolve));
          const startedAt = Date.now();
          const watched = begin(session) ?? session;
          return {
            startedAt,
            closedAt: new Promise<number>((resolve) => watched.once('close', () => resolve(Date.now()))),
          };
        },
      });
      const bodyStream = (session: http2.ClientHttp2Session, dripEveryMs?: number) => {
        const stream = session.request(
          {
            ':method': 'POST',
            ':path': '/',
            'content-type': JSON_CONTENT_TYPE,
            'x-amz-target': `${TARGET}.ListStreams`,
          },
          { endStream: false },
        );
        stream.on('error', () => undefined);
        stream.resume();
        if (dripEveryMs !== undefined) {
          const timer = setInterval(() => (stream.writable ? stream.write(' ') : clearInterval(timer)), dripEveryMs);
        }
        return stream;
      };
      const kinds: Kind[] = [
        raw('silent', HEADERS_MS, () => undefined),
        raw('partial HTTP/2 preface', HEADERS_MS, (c) => c.socket.write(HTTP2_PREFACE.slice(0, 16))),
        raw('dripping HTTP/2 preface', HEADERS_MS, (c) => c.drip(HTTP2_PREFACE, 200)),
        raw('half-sent HTTP/1.1 headers', HEADERS_MS, (c) => c.socket.write(postHead())),
        raw('dripping HTTP/1.1 headers', HEADERS_MS, (c) => c.drip(postHead('X-Padding: ' + 'a'.repeat(10_000)), 50)),
        raw('partial body', REQUEST_MS, (c) => c.socket.write(postHead('Content-Length: 100\r\n\r\n{"Lim'))),
        raw(
          'dripping body',
          REQUEST_MS,
          (c) => (c.socket.write(postHead('Content-Length: 100000\r\n\r\n')), c.drip(' ', 50)),
        ),
        raw('kept alive after a request', IDLE_MS + KEEP_ALIVE_BUFFER_MS, (c) =>
          c.socket.write(postHead('Content-Length: 2\r\n\r\n{}')),
        ),
        http2Client('idle HTTP/2 session', IDLE_MS, () => undefined),
        http2Client('HTTP/2 stream without its body', REQUEST_MS, (session) => bodyStream(session)),
        http2Client('HTTP/2 stream dripping its body', REQUEST_MS, (session) => bodyStream(session, 50)),
      ];
      const COPIES = 20;
      const started = await Promise.all(
        kinds.flatMap((kind) =>
          Array.from({ length: COPIES }, () => kind.start(port).then((connection) => ({ kind, ...connection }))),
        ),
      );
      const outcomes = await Promise.all(
        started.map(async ({ kind, startedAt, closedAt }) => {
          const closed = await within(closedAt, kind.timeoutMs + HEADERS_MS + SLACK_MS);
          return { kind, afterMs: closed === undefined ? Infinity : closed - startedAt };
        }),
      );
      for (const kind of kinds) {
        const times = outcomes.filter((outcome) => outcome.kind === kind).map((outcome) => outcome.afterMs);
        assert.ok(
          Math.min(...times) >= kind.timeoutMs * 0.9,
          `${kind.name}: closed after ${Math.min(...times)} ms, before its ${kind.timeoutMs} ms timeout`,
        );
        assert.ok(
          Math.max(...times) <= kind.timeoutMs + HEADERS_MS + SLACK_MS,
          `${kind.name}: closed only after ${Math.max(...times)} ms, or not at all (timeout ${kind.timeoutMs} ms)`,
        );
      }
    },
  );

  it('an HTTP/2 stream dripping its body is answered 408 at the request timeout', async () => {
    const session = http2.connect(engine!.url);
    session.on('error', () => undefined);
    try {
      const stream = session.request(
        { ':method': 'POST', ':path': '/', 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': `${TARGET}.ListStreams` },
        { endStream: false },
      );
      stream.resume();
      const timer = setInterval(() => (stream.writable ? stream.write(' ') : clearInterval(timer)), 50);
      const started = Date.now();
      const headers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
      const closedAt = await within(
        new Promise<number>((resolve) => stream.once('close', () => resolve(Date.now()))),
        REQUEST_MS + SLACK_MS,
      );
      assert.ok(closedAt !== undefined, `the stream is still open after ${Date.now() - started} ms`);
      assert.equal((await headers)[':status'], 408);
      assert.equal((await headers)['x-amzn-errortype'], 'RequestTimeoutException');
    } finally {
      session.destroy();
    }
  });

  it('well-behaved keep-alive clients keep their connection past every timeout (HTTP/1.1 and HTTP/2)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const session = http2.connect(engine!.url);
    const localPorts = new Set<number>();
    let sessionClosed = false;
    session.once('close', () => (sessionClosed = true));
    const http1Call = () =>
      new Promise<void>((resolve, reject) => {
        const request = http.request(
          engine!.url + '/',
          {
            method: 'POST',
            agent,
            headers: { 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': `${TARGET}.ListStreams` },
          },
          (response) => {
            localPorts.add(response.socket.localPort!);
            response.resume();
            response.on('end', () =>
              response.statusCode === 200 ? resolve() : reject(new Error(`HTTP/1.1 answered ${response.statusCode}`)),
            );
          },
        );
        request.on('error', reject);
        request.end('{}');
      });
    const http2Call = () =>
      new Promise<void>((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/',
          'content-type': JSON_CONTENT_TYPE,
          'x-amz-target': `${TARGET}.ListStreams`,
        });
        stream.on('response', (headers) =>
          headers[':status'] === 200
            ? stream.resume().on('end', resolve)
            : reject(new Error(`HTTP/2 answered ${headers[':status']}`)),
        );
        stream.on('error', reject);
        stream.end('{}');
      });
    try {
      const until = Date.now() + REQUEST_MS + IDLE_MS + 500;
      while (Date.now() < until) {
        await Promise.all([http1Call(), http2Call()]);
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 3));
      }
      assert.equal(localPorts.size, 1, `HTTP/1.1 calls went over ${localPorts.size} connections`);
      assert.equal(sessionClosed, false, 'the HTTP/2 session was closed');
    } finally {
      agent.destroy();
      session.destroy();
    }
  });
});

describe('10,000 held sockets against the connection cap (engine child with ulimit -n 4096)', () => {
  let engine: EngineProcess | undefined;

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-conn-'), openFilesLimit: 4096 });
  });
  after(() => engine?.stop(5_000));

  it(
    '/health answers throughout, idle connections make room oldest first, a busy one is kept, and the cap is ' +
      'logged once',
    async () => {
      // The default cap: half the descriptor limit.
      const cap = 4096 / 2;

      // The oldest connection is in the middle of a request: it must survive everything below.
      const busy = rawConnection(engine!.port);
      await busy.connected;
      busy.socket.write(postHead('Content-Length: 2\r\n\r\n{'));
      let busyAnswer = '';
      busy.socket.on('data', (chunk: Buffer) => (busyAnswer += chunk.toString()));

      const HELD = 10_000;
      const held: Array<ReturnType<typeof rawConnection>> = [];
      let closedByServer = 0;
      try {
        for (let batch = 0; batch < HELD / 500; batch++) {
          const connections = Array.from({ length: 500 }, () => rawConnection(engine!.port));
          for (const connection of connections) void connection.closedAt.then(() => closedByServer++);
          await Promise.all(connections.map((connection) => connection.connected));
          held.push(...connections);
          const health = await onNewConnection(engine!.port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
          assert.match(health, /^HTTP\/1\.1 200 /, `/health after ${held.length} sockets`);
        }
        const listed = await onNewConnection(engine!.port, postHead('Content-Length: 2\r\n\r\n{}'));
        assert.match(listed, /^HTTP\/1\.1 200 [^]*"StreamNames"/, 'a Kinesis call after 10,000 sockets');
        await waitFor(() => closedByServer >= HELD - cap, {
          timeoutMs: 10_000,
          message: () => `the engine to close ${HELD - cap} idle sockets (closed ${closedByServer})`,
        });
        const fds = openFdCount(engine!.pid)!;
        assert.ok(fds < cap + 100, `the engine holds ${fds} descriptors`);

        assert.equal(busy.socket.destroyed, false, 'the connection with a request in progress was closed');
        busy.socket.write('}');
        await waitFor(() => busyAnswer.includes('"StreamNames"'), {
          message: () => `an answer on the busy connection, got ${JSON.stringify(busyAnswer)}`,
        });
      } finally {
        for (const connection of held) connection.socket.destroy();
        busy.socket.destroy();
      }
      assert.equal(engine!.logs.find((entry) => entry.msg === 'engine listening')?.maxConnections, cap);

      await engine!.stop(5_000);
      const capLines = engine!.logs.filter((entry) => String(entry.msg).startsWith('connection limit'));
      assert.ok(capLines.length >= 1 && capLines.length <= 2, `cap lines: ${JSON.stringify(capLines)}`);
      const closedIdle = capLines.reduce((sum, entry) => sum + Number(entry.closedIdle), 0);
      assert.ok(closedIdle >= HELD - cap, `the cap lines count ${closedIdle} closed connections`);
    },
  );
});

describe('clients that hang up mid-request (engine child process)', () => {
  let engine: EngineProcess | undefined;

  before(async () => {
    engine = await startEngineProcess({ dataDir: makeTempDir('shardtail-conn-') });
  });
  after(() => engine?.stop(5_000));

  it('200 of them (HTTP/1.1 and HTTP/2) make at most two log lines, with the count and no stack trace', async () => {
    const baselineFds = openFdCount(engine!.pid)!;
    const http1HangUp = async () => {
      const connection = rawConnection(engine!.port);
      await connection.connected;
      // 100-continue tells when the engine has the headers and is waiting for the body.
      connection.socket.write(postHead('Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n'));
      await new Promise((resolve) => connection.socket.once('data', resolve));
      connection.socket.write('{"Limit":');
      connection.socket.destroy();
    };
    const http2HangUp = async () => {
      const session = http2.connect(engine!.url);
      session.on('error', () => undefined);
      const stream = session.request(
        {
          ':method': 'POST',
          ':path': '/',
          'content-type': JSON_CONTENT_TYPE,
          'x-amz-target': `${TARGET}.ListStreams`,
          expect: '100-continue',
        },
        { endStream: false },
      );
      stream.on('error', () => undefined);
      await new Promise((resolve) => stream.once('continue', resolve));
      stream.write('{"Limit":');
      session.destroy();
    };
    await Promise.all([...Array.from({ length: 150 }, http1HangUp), ...Array.from({ length: 50 }, http2HangUp)]);
    await waitFor(() => openFdCount(engine!.pid)! <= baselineFds, {
      message: () =>
        `the engine to close the 200 connections (${openFdCount(engine!.pid)} descriptors, ${baselineFds} before)`,
    });
    // The engine still serves, and its shutdown writes what it counted since the last line.
    await kinesis(engine!.url, 'ListStreams', {});
    await engine!.stop(5_000);

    const lines = engine!.logs.filter((entry) =>
      /ended before (its|their) request was complete/.test(String(entry.msg)),
    );
    assert.ok(lines.length >= 1 && lines.length <= 2, `lines about it: ${JSON.stringify(lines)}`);
    assert.equal(
      lines.reduce((sum, entry) => sum + Number(entry.count), 0),
      200,
      JSON.stringify(lines),
    );
    const noisy = engine!.logs.filter((entry) => 'err' in entry || Number(entry.level) >= 50);
    assert.deepEqual(noisy, [], 'no errors or stack traces');
  });
});
