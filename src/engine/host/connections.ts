import { readFileSync } from 'node:fs';
import type net from 'node:net';

const MAX_DEFAULT_CONNECTIONS = 10_000;
/** Where the descriptor limit cannot be read: the usual soft limit, so the cap is safe anywhere. */
const FALLBACK_FD_LIMIT = 1024;

/**
 * Half the process's open-file limit (at most 10,000): connections can then never starve the
 * rest of the process (SQLite, and in the agent the tailed files) of descriptors, however many
 * clients connect. Node raises the soft limit to the hard one at start, so that is what is read.
 */
export function defaultMaxConnections(): number {
  let limit = FALLBACK_FD_LIMIT;
  try {
    const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
      readFileSync('/proc/self/limits', 'utf8'),
    );
    if (match) limit = match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
  } catch {
    // not Linux
  }
  return Math.max(1, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor(limit / 2)));
}

export type CapEvent = 'closedIdle' | 'refused';

/**
 * Every open client connection, oldest first, and how many of its requests are being answered.
 * At the cap a new connection is made room for by closing the oldest connections that have no
 * request in progress (idle keep-alive connections, and ones that never finished sending one), so
 * that a client holding thousands of silent sockets cannot lock everyone else out.
 */
export class ConnectionTable {
  private readonly open = new Map<net.Socket, { active: number }>();

  constructor(
    readonly maxConnections: number,
    private readonly onCap: (event: CapEvent) => void,
  ) {}

  /** Registers a new connection; false when every open one is busy and it has to be refused. */
  admit(socket: net.Socket): boolean {
    if (this.open.size >= this.maxConnections) {
      for (const [candidate, state] of this.open) {
        if (state.active > 0) continue;
        this.open.delete(candidate);
        candidate.destroy();
        this.onCap('closedIdle');
        break;
      }
    }
    if (this.open.size >= this.maxConnections) {
      this.onCap('refused');
      return false;
    }
    this.open.set(socket, { active: 0 });
    socket.once('close', () => this.open.delete(socket));
    return true;
  }

  requestStarted(socket: net.Socket | undefined): void {
    const state = socket && this.open.get(socket);
    if (state) state.active++;
  }

  requestEnded(socket: net.Socket | undefined): void {
    const state = socket && this.open.get(socket);
    if (state) state.active--;
  }

  get size(): number {
    return this.open.size;
  }

  destroyAll(): void {
    for (const socket of this.open.keys()) socket.destroy();
  }
}

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Reads a new connection's first bytes until they are HTTP/2's preface or cannot become it, then
 * puts them back and calls `route` so the chosen server parses them too. A client that has not told
 * within `timeoutMs` of connecting (silent, or dripping a preface) is disconnected.
 */
export function sniffProtocol(socket: net.Socket, timeoutMs: number, route: (isHttp2: boolean) => void): void {
  let head: Buffer = Buffer.alloc(0);
  // A deadline rather than socket.setTimeout: that one is reset by every byte, so dripping beats it.
  const deadline = setTimeout(() => socket.destroy(), timeoutMs);
  deadline.unref();
  socket.once('close', () => clearTimeout(deadline));
  const onReadable = () => {
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;)
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const compared = Math.min(head.length, HTTP2_PREFACE.length);
    const isHttp2 = head.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (head.length === 0 || (isHttp2 && head.length < HTTP2_PREFACE.length)) return;
    socket.off('readable', onReadable);
    clearTimeout(deadline);
    socket.unshift(head);
    route(isHttp2);
  };
  socket.on('readable', onReadable);
}
