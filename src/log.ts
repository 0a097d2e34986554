import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One logger for the whole process: JSON lines on stdout (the journal and container runtimes
 * collect stdout), human-readable only when SHARDTAIL_LOG_PRETTY=1 or --log-pretty asks for it.
 */
export function createLogger(options: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
  const level = options.level ?? process.env.SHARDTAIL_LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? process.env.SHARDTAIL_LOG_PRETTY === '1';
  const base = { name: options.name ?? 'shardtail' };
  if (pretty) {
    return pino({ level, base, transport: { target: 'pino-pretty', options: { destination: 1 } } });
  }
  return pino({ level, base }, pino.destination({ fd: 1, sync: false }));
}

/** A logger that drops everything, for embedding and tests that do not care. */
export const silentLogger: Logger = pino({ level: 'silent' });
