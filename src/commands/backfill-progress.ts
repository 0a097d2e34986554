import { Presets, SingleBar } from 'cli-progress';

/** How often the bar is redrawn, and how often a log line is written where there is no terminal (by default). */
const BAR_REDRAW_MS = 200;
export const LOG_LINE_SECONDS = 5;

export interface BytesProgress {
  done: number;
  total: number;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/**
 * A backfill's progress on stderr (stdout is for the summary): a bar with bytes done of bytes
 * total, rate and time left on a terminal; elsewhere (a pipe, a journal) a line every few seconds.
 * Returns the function that ends it.
 */
export function showProgress(
  read: () => BytesProgress,
  {
    stream = process.stderr,
    lineEveryMs = LOG_LINE_SECONDS * 1000,
  }: { stream?: NodeJS.WriteStream; lineEveryMs?: number } = {},
): () => void {
  const startedMs = Date.now();
  const rate = (done: number) => done / Math.max(0.001, (Date.now() - startedMs) / 1000);
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        stream,
        format: 'backfill |{bar}| {percentage}% {value}/{total} bytes | {rate} MiB/s | ETA {eta_formatted}',
        etaBuffer: 50,
        hideCursor: false,
      },
      Presets.shades_classic,
    );
    const first = read();
    bar.start(first.total, first.done, { rate: '0.0' });
    const timer = setInterval(() => {
      const { done, total } = read();
      if (total !== bar.getTotal()) bar.setTotal(total);
      bar.update(done, { rate: mib(rate(done)) });
    }, BAR_REDRAW_MS);
    return () => {
      clearInterval(timer);
      const { done } = read();
      bar.update(done, { rate: mib(rate(done)) });
      bar.stop();
    };
  }
  const timer = setInterval(() => {
    const { done, total } = read();
    const perSecond = rate(done);
    const left = perSecond > 0 ? Math.max(0, (total - done) / perSecond) : Infinity;
    stream.write(
      `backfill: ${done} of ${total} bytes (${total > 0 ? ((100 * done) / total).toFixed(1) : '100.0'} %), ` +
        `${mib(perSecond)} MiB/s, about ${Number.isFinite(left) ? Math.round(left) : '?'} s left\n`,
    );
  }, lineEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
