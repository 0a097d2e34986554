/** Delivery streams as the tests look at them: their status, and the objects they delivered to a folder. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { firehose } from './firehose-http.js';

/** The delivery stream's status, as DescribeDeliveryStream tells it. */
export async function deliveryStreamStatus(endpoint: string, name: string): Promise<string> {
  const described = await firehose(endpoint, 'DescribeDeliveryStream', { DeliveryStreamName: name });
  return described.DeliveryStreamDescription.DeliveryStreamStatus as string;
}

export interface DeliveredObject {
  /** The key: the path under the bucket's folder, `/`-separated. */
  key: string;
  data: Buffer;
}

/**
 * The objects a delivery stream named `name` has written under a folder standing in for its bucket,
 * by key: `YYYY/MM/DD/HH/<name>-<version>-YYYY-MM-DD-HH-MM-SS-<random>` (with any prefix before).
 * Files whose name is not an object's (written half, under a temporary name) are left out.
 */
export function deliveredObjects(bucketDir: string, name: string): DeliveredObject[] {
  if (!existsSync(bucketDir)) return [];
  const objectName = new RegExp(`^${name.replace(/[.]/g, '\\.')}-\\d+-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-`);
  return readdirSync(bucketDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && objectName.test(entry.name))
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return { key: path.relative(bucketDir, file).split(path.sep).join('/'), data: readFileSync(file) };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
