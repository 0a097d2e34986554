/**
 * JSON text of an engine output. The two hot outputs are written by hand: their sequence numbers,
 * shard ids, numbers and base64 data never need escaping, and skipping JSON.stringify's scan of
 * every character of every record is most of the cost of a large GetRecords answer. Every other
 * output, and any field that may need escaping, goes through JSON.stringify.
 */
export function serializeOutput(action: string, output: object | undefined): string {
  if (output === undefined) return '';
  if (action === 'PutRecords') return putRecordsJson(output as PutRecordsOutput);
  if (action === 'GetRecords') return getRecordsJson(output as GetRecordsOutput);
  return JSON.stringify(output);
}

interface PutRecordsOutput {
  FailedRecordCount: number;
  Records: Array<{ SequenceNumber?: string; ShardId?: string; ErrorCode?: string; ErrorMessage?: string }>;
  EncryptionType?: string;
}

interface GetRecordsOutput {
  Records: Array<{ SequenceNumber: string; ApproximateArrivalTimestamp: number; Data: string; PartitionKey: string }>;
  NextShardIterator?: string;
  MillisBehindLatest: number;
  ChildShards?: unknown[];
}

function putRecordsJson(output: PutRecordsOutput): string {
  let json = `{"FailedRecordCount":${output.FailedRecordCount},"Records":[`;
  const records = output.Records;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (i > 0) json += ',';
    json +=
      record.SequenceNumber !== undefined
        ? `{"SequenceNumber":"${record.SequenceNumber}","ShardId":"${record.ShardId}"}`
        : JSON.stringify(record);
  }
  json += ']';
  if (output.EncryptionType !== undefined) json += `,"EncryptionType":"${output.EncryptionType}"`;
  return json + '}';
}

function getRecordsJson(output: GetRecordsOutput): string {
  const records = output.Records;
  const parts = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    parts[i] =
      `{"SequenceNumber":"${r.SequenceNumber}","ApproximateArrivalTimestamp":${r.ApproximateArrivalTimestamp},` +
      `"Data":"${r.Data}","PartitionKey":${JSON.stringify(r.PartitionKey)}}`;
  }
  let json = `{"Records":[${parts.join(',')}]`;
  if (output.NextShardIterator !== undefined)
    json += `,"NextShardIterator":${JSON.stringify(output.NextShardIterator)}`;
  json += `,"MillisBehindLatest":${output.MillisBehindLatest}`;
  if (output.ChildShards !== undefined) json += `,"ChildShards":${JSON.stringify(output.ChildShards)}`;
  return json + '}';
}
