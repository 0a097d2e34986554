import type { Span } from '../acknowledge/file-progress.js';

/** One record cut from a file: its bytes (a view of the read buffer) and the span that acknowledges it. */
export interface LogRecord {
  data: Buffer;
  span: Span;
}
