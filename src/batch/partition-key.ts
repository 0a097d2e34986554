import { hash, randomBytes } from 'node:crypto';
import type { Partitioning } from '../config/agent-config.js';

/** Longest partition key each option can produce, in UTF-8 bytes; records are cut to leave room for it. */
export function maxPartitionKeyBytes(partitioning: Partitioning): number {
  switch (partitioning.option) {
    case 'RANDOM':
      return 24;
    case 'DETERMINISTIC':
      return 32;
    case 'FIXED':
      return Buffer.byteLength(partitioning.partitionKey, 'utf8');
    case 'FIELD':
      // A key is at most 256 characters, each at most 4 bytes in UTF-8.
      return 1024;
  }
}

export type PartitionKeyFor = (data: Buffer) => string;

/**
 * RANDOM keys only have to spread records over the hash-key space, and MD5 spreads any distinct
 * strings evenly, so a per-process random prefix plus a counter does it without a random draw per
 * record.
 */
function randomKeys(): PartitionKeyFor {
  const prefix = randomBytes(6).toString('base64url');
  let counter = 0;
  return () => prefix + (counter++).toString(36);
}

export function partitionKeyFunction(partitioning: Partitioning): PartitionKeyFor {
  switch (partitioning.option) {
    case 'RANDOM':
      return randomKeys();
    case 'DETERMINISTIC':
      return (data) => hash('md5', data, 'hex');
    case 'FIXED': {
      const key = partitioning.partitionKey;
      return () => key;
    }
    case 'FIELD': {
      const field = partitioning.partitionKeyField;
      const fallback = randomKeys();
      return (data) => {
        const value = fieldOf(data, field);
        return value === undefined ? fallback(data) : value;
      };
    }
  }
}

/**
 * For aggregation: the key a record must keep (FIXED; FIELD when the record has the field), or
 * undefined when any key will do (the one its aggregate draws). Undefined for the options that
 * never require one, so that the record's bytes are not even looked at.
 */
export function requiredPartitionKeyFunction(
  partitioning: Partitioning,
): ((data: Buffer) => string | undefined) | undefined {
  switch (partitioning.option) {
    case 'FIXED': {
      const key = partitioning.partitionKey;
      return () => key;
    }
    case 'FIELD': {
      const field = partitioning.partitionKeyField;
      return (data) => fieldOf(data, field);
    }
    default:
      return undefined;
  }
}

/** Longest key partitionKeyFunction draws for a record that requires none (RANDOM's, DETERMINISTIC's MD5 hex). */
export function drawnPartitionKeyBytes(partitioning: Partitioning): number {
  return maxPartitionKeyBytes(partitioning.option === 'DETERMINISTIC' ? partitioning : { option: 'RANDOM' });
}

/** The top-level field of a JSON object record as a usable key (1–256 characters), else undefined. */
function fieldOf(data: Buffer, field: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const value = (parsed as Record<string, unknown>)[field];
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
  const key = String(value);
  if (key.length === 0) return undefined;
  return key.length > 256 ? key.slice(0, 256) : key;
}
