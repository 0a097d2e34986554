/** Where a listener binds: `HOST:PORT`, `[IPv6]:PORT`, or a bare port (which means 127.0.0.1). */
export interface ListenAddress {
  host: string;
  /** 0 lets the OS pick a free port (tests run agents side by side). */
  port: number;
}

const BARE_PORT = /^\d+$/;
const HOST_AND_PORT = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/;

/** The address `text` names, or why it names none (a message that reads after the value). */
export function parseListenAddress(text: string): ListenAddress | string {
  const trimmed = text.trim();
  let host = '127.0.0.1';
  let portText: string;
  if (BARE_PORT.test(trimmed)) portText = trimmed;
  else {
    const match = HOST_AND_PORT.exec(trimmed);
    if (match === null) return 'is not an address such as 127.0.0.1:9464, [::1]:9464 or a bare port';
    host = match[1] ?? match[2];
    portText = match[3];
  }
  const port = Number(portText);
  if (port > 65_535) return `has port ${port}, outside the valid range 0–65535`;
  return { host, port };
}

/** How the address is written in a URL (IPv6 hosts in brackets). */
export function listenUrl({ host, port }: ListenAddress): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
