/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): top functions by self time and by total time, with
 * each location mapped back to the TypeScript source through dist/*.js.map, plus the hottest lines
 * inside each function (from positionTicks).
 *
 * Standalone: node --import tsx bench/support/cpuprofile.ts <file.cpuprofile> [top=25]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number; // 0-based
  columnNumber: number; // 0-based
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  positionTicks?: Array<{ line: number; ticks: number }>; // 1-based lines
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

// ---- source maps (only what tsc emits: one source per file, standard VLQ mappings) ----------------

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_INDEX = new Map([...BASE64].map((c, i) => [c, i]));

interface Segment {
  genColumn: number;
  source: number;
  line: number;
  column: number;
}

interface SourceMap {
  sources: string[];
  lines: Segment[][];
}

function decodeVlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64_INDEX.get(char)!;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

function parseSourceMap(file: string): SourceMap | undefined {
  if (!existsSync(file)) return undefined;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourceRoot?: string; mappings: string };
  const base = dirname(file);
  const sources = raw.sources.map((s) => resolve(base, raw.sourceRoot ?? '', s));
  const lines: Segment[][] = [];
  let source = 0;
  let line = 0;
  let column = 0;
  for (const lineText of raw.mappings.split(';')) {
    const segments: Segment[] = [];
    let genColumn = 0;
    for (const segmentText of lineText.split(',')) {
      if (!segmentText) continue;
      const v = decodeVlq(segmentText);
      genColumn += v[0];
      if (v.length >= 4) {
        source += v[1];
        line += v[2];
        column += v[3];
        segments.push({ genColumn, source, line, column });
      }
    }
    lines.push(segments);
  }
  return { sources, lines };
}

const mapCache = new Map<string, SourceMap | undefined>();

/** file:line (1-based) of the TypeScript source for a 0-based generated position, or undefined. */
function originalPosition(
  jsPath: string,
  line0: number,
  column0: number | undefined,
): { file: string; line: number } | undefined {
  if (!mapCache.has(jsPath)) mapCache.set(jsPath, parseSourceMap(jsPath + '.map'));
  const map = mapCache.get(jsPath);
  const segments = map?.lines[line0];
  if (!map || !segments || segments.length === 0) return undefined;
  let best = segments[0];
  if (column0 !== undefined) for (const s of segments) if (s.genColumn <= column0) best = s;
  return { file: map.sources[best.source], line: best.line + 1 };
}

// ---- summary ------------------------------------------------------------------------------------

export interface HotFunction {
  name: string;
  location: string;
  selfMs: number;
  selfPercent: number;
  totalMs: number;
  totalPercent: number;
  hotLines: string;
}

export interface ProfileSummary {
  durationMs: number;
  sampledMs: number;
  idleMs: number;
  bySelf: HotFunction[];
  byTotal: HotFunction[];
  byFile: Array<{ file: string; selfMs: number; percent: number }>;
}

function displayPath(path: string, root: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel;
}

export function summarizeProfile(file: string, options: { root?: string; top?: number } = {}): ProfileSummary {
  const root = options.root ?? process.cwd();
  const top = options.top ?? 25;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }

  const location = (frame: CallFrame, line0 = frame.lineNumber, column0: number | undefined = frame.columnNumber) => {
    if (!frame.url) return '(native)';
    if (frame.url.startsWith('file://')) {
      const path = fileURLToPath(frame.url);
      const original = originalPosition(path, line0, column0);
      if (original) return `${displayPath(original.file, root)}:${original.line}`;
      return `${displayPath(path, root)}:${line0 + 1}`;
    }
    return `${frame.url}:${line0 + 1}`;
  };
  const keyOf = (frame: CallFrame) =>
    `${frame.functionName || '(anonymous)'}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;

  const selfUs = new Map<string, number>();
  const totalUs = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  const lineTicks = new Map<string, Map<number, number>>();
  let idleUs = 0;
  let sampledUs = 0;
  const pathKeys = new Map<number, string[]>();
  const stackOf = (id: number): string[] => {
    let keys = pathKeys.get(id);
    if (keys) return keys;
    const seen = new Set<string>();
    keys = [];
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
      const key = keyOf(byId.get(cursor)!.callFrame);
      if (!seen.has(key)) {
        seen.add(key);
        keys.push(key);
      }
    }
    pathKeys.set(id, keys);
    return keys;
  };

  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i])!;
    sampledUs += delta;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += delta;
      continue;
    }
    const key = keyOf(node.callFrame);
    frames.set(key, node.callFrame);
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
    for (const k of stackOf(node.id)) totalUs.set(k, (totalUs.get(k) ?? 0) + delta);
  }
  for (const node of profile.nodes) {
    const key = keyOf(node.callFrame);
    frames.set(key, node.callFrame);
    if (!node.positionTicks) continue;
    const ticks = lineTicks.get(key) ?? new Map<number, number>();
    for (const { line, ticks: n } of node.positionTicks) ticks.set(line, (ticks.get(line) ?? 0) + n);
    lineTicks.set(key, ticks);
  }

  const busyUs = sampledUs - idleUs;
  const describe = (key: string): HotFunction => {
    const frame = frames.get(key)!;
    const ticks = [...(lineTicks.get(key) ?? new Map<number, number>()).entries()].sort((a, b) => b[1] - a[1]);
    const tickTotal = ticks.reduce((a, [, n]) => a + n, 0);
    const hotLines = ticks
      .slice(0, 3)
      .map(
        ([line, n]) =>
          `${location(frame, line - 1, undefined).replace(/^.*:(\d+)$/, 'L$1')} ${Math.round((100 * n) / tickTotal)}%`,
      )
      .join(', ');
    const self = selfUs.get(key) ?? 0;
    const total = totalUs.get(key) ?? 0;
    return {
      name: frame.functionName || '(anonymous)',
      location: location(frame),
      selfMs: self / 1000,
      selfPercent: (100 * self) / busyUs,
      totalMs: total / 1000,
      totalPercent: (100 * total) / busyUs,
      hotLines,
    };
  };
  const bySelf = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k]) => describe(k));
  const byTotal = [...totalUs.entries()]
    .filter(([k]) => frames.get(k)!.url.startsWith('file://') && !frames.get(k)!.url.includes('/node_modules/'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k]) => describe(k));
  const fileSelf = new Map<string, number>();
  for (const [key, us] of selfUs) {
    const frame = frames.get(key)!;
    const where = location(frame).replace(/:\d+$/, '');
    const group = frame.url.includes('/node_modules/')
      ? `node_modules/${frame.url.split('/node_modules/')[1].split('/')[0]}`
      : where;
    fileSelf.set(group, (fileSelf.get(group) ?? 0) + us);
  }
  const byFile = [...fileSelf.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([f, us]) => ({ file: f, selfMs: us / 1000, percent: (100 * us) / busyUs }));
  return {
    durationMs: (profile.endTime - profile.startTime) / 1000,
    sampledMs: sampledUs / 1000,
    idleMs: idleUs / 1000,
    bySelf,
    byTotal,
    byFile,
  };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const out: string[] = [];
  out.push(
    `profile: ${(summary.durationMs / 1000).toFixed(1)} s recorded, ` +
      `${((summary.sampledMs - summary.idleMs) / 1000).toFixed(2)} s busy (idle excluded from the ` +
      `percentages). Samples are wall-clock: if other processes compete for the CPU, the engine's descheduled ` +
      `time is charged to whatever it was running.`,
  );
  out.push(
    '',
    'Top functions by SELF time:',
    '',
    '| # | self ms | self % | total % | function | where (src via source map) | hottest lines |',
    '|---|---|---|---|---|---|---|',
  );
  summary.bySelf.forEach((f, i) =>
    out.push(
      `| ${i + 1} | ${f.selfMs.toFixed(0)} | ${f.selfPercent.toFixed(1)} | ${f.totalPercent.toFixed(1)} | ` +
        `\`${f.name}\` | ${f.location} | ${f.hotLines} |`,
    ),
  );
  out.push(
    '',
    'Our code by TOTAL (inclusive) time:',
    '',
    '| # | total ms | total % | self % | function | where |',
    '|---|---|---|---|---|---|',
  );
  summary.byTotal.forEach((f, i) =>
    out.push(
      `| ${i + 1} | ${f.totalMs.toFixed(0)} | ${f.totalPercent.toFixed(1)} | ${f.selfPercent.toFixed(1)} | ` +
        `\`${f.name}\` | ${f.location} |`,
    ),
  );
  out.push('', 'Self time by file / package:', '', '| self ms | % | file |', '|---|---|---|');
  for (const f of summary.byFile) out.push(`| ${f.selfMs.toFixed(0)} | ${f.percent.toFixed(1)} | ${f.file} |`);
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node --import tsx bench/support/cpuprofile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatProfileSummary(summarizeProfile(file, { top: top ? Number(top) : 25 })));
}
