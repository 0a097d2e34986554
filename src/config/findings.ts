/**
 * Problems are collected as they are found, with their full key path inside their file, and become
 * ConfigProblems at the end, when every flow's label is known.
 */
import type { z } from 'zod';
import { childKeyPath, isJsonObject, type JsonValue } from './jsonc.js';
import type { ConfigProblem } from './problems.js';

/** A flow as found in a file, before validation. */
export interface FlowSource {
  /** The file declaring the flow. */
  file: string;
  /** Position in that file's `flows`. */
  index: number;
  raw: JsonValue;
}

interface Finding {
  severity: 'error' | 'warning';
  file: string;
  /** Full path inside the file, e.g. `flows[0].initialPosition`. */
  keyPath: string;
  message: string;
}

export class Findings {
  private readonly list: Finding[] = [];
  /** Key paths set by a SHARDTAIL_SET_* variable, per file: a problem there names the variable. */
  private readonly overrides: Array<{ file: string; keyPath: string; variable: string }> = [];

  overridden(file: string, keyPath: string, variable: string): void {
    this.overrides.push({ file, keyPath, variable });
  }

  /** Records an error unless the same key already has one: the first reason is the one to fix. */
  error(file: string, keyPath: string, message: string): void {
    const known = this.list.some(
      (finding) => finding.severity === 'error' && finding.file === file && finding.keyPath === keyPath,
    );
    if (!known) this.list.push({ severity: 'error', file, keyPath, message });
  }

  warning(file: string, keyPath: string, message: string): void {
    this.list.push({ severity: 'warning', file, keyPath, message });
  }

  get errorCount(): number {
    return this.list.filter((finding) => finding.severity === 'error').length;
  }

  zodIssues(file: string, keyPath: string, issues: readonly z.core.$ZodIssue[]): void {
    for (const issue of issues) {
      const issuePath = issue.path.reduce<string>(
        (parent, key) => childKeyPath(parent, typeof key === 'symbol' ? String(key) : key),
        keyPath,
      );
      this.error(file, issuePath, issue.message);
    }
  }

  /** Findings as ConfigProblems; keys inside a flow become relative to it, and the flow is named by its label. */
  problems(severity: Finding['severity'], labels: FlowLabels): ConfigProblem[] {
    return this.list
      .filter((finding) => finding.severity === severity)
      .map(({ file, keyPath, message: found }) => {
        const message = this.withOverride(file, keyPath, found);
        const inFlow = /^flows\[(\d+)\]\.(.+)$/.exec(keyPath);
        const flow = inFlow === null ? undefined : labels.get(flowLabelKey(file, Number(inFlow[1])));
        if (inFlow === null || flow === undefined) return { file, key: keyPath, message };
        return { file, key: inFlow[2], flow, message };
      });
  }

  private withOverride(file: string, keyPath: string, message: string): string {
    const override = this.overrides.find(
      (candidate) =>
        candidate.file === file &&
        (keyPath === candidate.keyPath ||
          keyPath.startsWith(`${candidate.keyPath}.`) ||
          keyPath.startsWith(`${candidate.keyPath}[`)),
    );
    return override === undefined ? message : `${message} (set by ${override.variable})`;
  }
}

export type FlowLabels = ReadonlyMap<string, string>;

function flowLabelKey(file: string, index: number): string {
  return `${file}\0${index}`;
}

export function flowLabels(sources: readonly FlowSource[]): FlowLabels {
  return new Map(sources.map(({ file, index, raw }) => [flowLabelKey(file, index), flowLabel(index, raw)]));
}

/** `flows[1] (kinesisStream demo-stream)`: the index within its file, plus where it sends. */
export function flowLabel(index: number, raw: JsonValue): string {
  const name = `flows[${index}]`;
  if (!isJsonObject(raw)) return name;
  const destinations = (['kinesisStream', 'deliveryStream'] as const).flatMap((key) => {
    const value = raw[key];
    return typeof value === 'string' || typeof value === 'number' ? [`${key} ${value}`] : [];
  });
  return destinations.length === 0 ? name : `${name} (${destinations.join(', ')})`;
}
