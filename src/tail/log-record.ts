import type { Span } from '../acknowledge/file-progress.js';

/** One record cut from a file: its bytes (a view of the read buffer) and where it stands in its span. */
export interface LogRecord {
  data: Buffer;
  span: Span;
  /** Position within the span, for acknowledging it. */
  index: number;
}
