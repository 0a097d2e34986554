import * as errors from './errors.js';
import type { ControlPlane, Input } from './control-plane.js';

/** Tags of a delivery stream: at most 50, keys unique (AWS's rules for Firehose tags). */

const MAX_TAGS = 50;

export function tagsOfRequest(tags: Array<{ Key: string; Value?: string }> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const tag of tags ?? []) out.set(tag.Key, tag.Value ?? '');
  return out;
}

export function tagDeliveryStream(plane: ControlPlane, input: Input): object {
  const stream = plane.streams.require(input.DeliveryStreamName as string);
  const tags = tagsOfRequest(input.Tags);
  const after = new Map([...stream.tags, ...tags]);
  if (after.size > MAX_TAGS) throw errors.tooManyTags(stream.name, MAX_TAGS);
  stream.tags = after;
  plane.streams.save(stream);
  return {};
}

export function untagDeliveryStream(plane: ControlPlane, input: Input): object {
  const stream = plane.streams.require(input.DeliveryStreamName as string);
  for (const key of input.TagKeys as string[]) stream.tags.delete(key);
  plane.streams.save(stream);
  return {};
}

export function listTagsForDeliveryStream(plane: ControlPlane, input: Input): object {
  const stream = plane.streams.require(input.DeliveryStreamName as string);
  const limit = (input.Limit as number | undefined) ?? MAX_TAGS;
  const after = input.ExclusiveStartTagKey as string | undefined;
  const keys = [...stream.tags.keys()].sort().filter((key) => after === undefined || key > after);
  return {
    Tags: keys.slice(0, limit).map((key) => ({ Key: key, Value: stream.tags.get(key) })),
    HasMoreTags: keys.length > limit,
  };
}
