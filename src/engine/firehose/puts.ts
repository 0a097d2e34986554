import type { RecordBuffer } from './record-buffer.js';
import * as errors from './errors.js';
import type { ControlPlane, Input } from './control-plane.js';

/** PutRecord and PutRecordBatch: a put is in the buffer (committed) before it is answered. */

const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export interface Puts extends ControlPlane {
  buffer: RecordBuffer;
}

function directPutStream(plane: Puts, name: string): string {
  const stream = plane.streams.requireActive(name);
  if (stream.type === 'KinesisStreamAsSource') throw errors.putOnStreamSource();
  return stream.name;
}

export function putRecord(plane: Puts, input: Input): object {
  const name = directPutStream(plane, input.DeliveryStreamName as string);
  const [recordId] = plane.buffer.append(name, [{ data: input.Record.Data as Buffer }], plane.streams.now());
  return { RecordId: recordId, Encrypted: false };
}

export function putRecordBatch(plane: Puts, input: Input): object {
  const records = (input.Records as Array<{ Data: Buffer }>).map((record) => ({ data: record.Data }));
  let bytes = 0;
  for (const record of records) bytes += record.data.length;
  if (bytes > MAX_BATCH_BYTES) throw errors.batchTooLarge();
  const name = directPutStream(plane, input.DeliveryStreamName as string);
  const ids = plane.buffer.append(name, records, plane.streams.now());
  return { FailedPutCount: 0, Encrypted: false, RequestResponses: ids.map((id) => ({ RecordId: id })) };
}
