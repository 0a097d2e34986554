import type { JsonFormat } from '../../config/types.js';
import type { Converter } from './converter.js';
import type { InstanceMetadata, InstanceMetadataSource } from './instance-metadata.js';
import { LinkedMap, writeJackson } from './jackson-json.js';
import { parseJacksonObject } from './jackson-parse.js';

/**
 * ADDEC2METADATA: the record, a JSON object (LOGTOJSON's output, say), with the instance's
 * privateIp, availabilityZone, instanceId, instanceType, accountId, amiId, region,
 * metadataTimestamp and (where the instance exposes them) tags added after its own fields, as
 * the Java agent adds them; a record that is not a JSON object makes the chain ship it raw.
 *
 * The metadata is read when the flow starts and again once it is metadataTTL old, in the
 * background: records pass unchanged until the first read succeeds (the Java agent passes them
 * unchanged when it has no metadata), and a failed refresh keeps what was read before.
 */
export class AddEc2Metadata implements Converter {
  private metadata: LinkedMap | undefined;
  private readAtMs: number;
  private refreshing = false;
  private lastError = 'EC2 metadata not read yet';
  private readonly firstRead: Promise<void>;

  constructor(
    private readonly source: InstanceMetadataSource,
    private readonly ttlMs: number,
    private readonly format: JsonFormat,
    private readonly now: () => number = Date.now,
  ) {
    this.readAtMs = this.now();
    this.firstRead = this.refresh();
  }

  /**
   * The first read, whatever its outcome, as the Java agent waits for it before the flow reads:
   * records are enriched from the start on EC2, and pass unchanged (counted) elsewhere.
   */
  ready(): Promise<void> {
    return this.firstRead;
  }

  /** Why records pass unchanged, while there is no metadata to add. */
  get unavailable(): string | undefined {
    // A refresh in the background: its outcome is what the next records see.
    if (this.readAtMs + this.ttlMs < this.now()) void this.refresh();
    return this.metadata === undefined ? this.lastError : undefined;
  }

  convert(text: string): string {
    const metadata = this.metadata;
    if (metadata === undefined) return text;
    const record = parseJacksonObject(text);
    for (const [name, value] of metadata.entries()) record.put(name, value);
    return `${writeJackson(record, this.format)}\n`;
  }

  private refresh(): Promise<void> {
    if (this.refreshing) return Promise.resolve();
    this.refreshing = true;
    this.readAtMs = this.now();
    const readAtMs = this.readAtMs;
    return this.source().then(
      (instance) => {
        this.metadata = fieldsOf(instance, readAtMs);
        this.refreshing = false;
      },
      (error: unknown) => {
        this.lastError = `cannot read EC2 metadata: ${error instanceof Error ? error.message : String(error)}`;
        this.refreshing = false;
      },
    );
  }
}

function fieldsOf(instance: InstanceMetadata, readAtMs: number): LinkedMap {
  const fields = new LinkedMap()
    .put('privateIp', instance.privateIp)
    .put('availabilityZone', instance.availabilityZone)
    .put('instanceId', instance.instanceId)
    .put('instanceType', instance.instanceType)
    .put('accountId', instance.accountId)
    .put('amiId', instance.amiId)
    .put('region', instance.region)
    .put('metadataTimestamp', javaTimestamp(new Date(readAtMs)));
  if (instance.tags !== undefined) {
    const tags = new LinkedMap();
    for (const [key, value] of instance.tags) tags.put(key, value);
    fields.put('tags', tags);
  }
  return fields;
}

/** SimpleDateFormat "yyyy-MM-dd'T'HH:mm:ssZ" in the local time zone: `2024-05-01T14:00:00+0200`. */
export function javaTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const zone = `${sign}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  return (
    `${String(date.getFullYear()).padStart(4, '0')}-${two(date.getMonth() + 1)}-${two(date.getDate())}T` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}${zone}`
  );
}
