/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most
 * self time, mapped back through the bundle's source map to src/ when there is
 * one next to the bundle (dist/conduit.mjs.map).
 *
 * Usage: node --import tsx bench/postgres/cpuprofile-top.ts <file.cpuprofile> [--top 25]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  function: string;
  location: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time not in JavaScript or GC: waiting for I/O. */
  idlePercent: number;
  gcPercent: number;
  top: HotSpot[];
  /** Self time by source file (node_modules by package), % of busy. */
  byFile: Array<{ file: string; selfPercent: number }>;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  let m = maps.get(url);
  if (m !== undefined) return m;
  m = null;
  // Only our own bundle is mapped back; packages are named by their path under node_modules.
  if (url.startsWith('file://') && !url.includes('/node_modules/')) {
    const file = `${fileURLToPath(url)}.map`;
    if (existsSync(file)) m = new SourceMap(JSON.parse(readFileSync(file, 'utf8')));
  }
  maps.set(url, m);
  return m;
}

function locate(frame: ProfileNode['callFrame']): string {
  if (frame.url === '') return '';
  const map = sourceMapFor(frame.url);
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry !== undefined && 'originalSource' in entry && entry.originalSource !== undefined) {
    const src = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
    const shown = src.includes('/node_modules/')
      ? src.slice(src.lastIndexOf('/node_modules/') + 14)
      : relative(root, src.replace(/^(\.\.\/)+/, `${root}/`));
    return `${shown}:${entry.originalLine + 1}`;
  }
  const path = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  const shown = path.includes('/node_modules/') ? path.slice(path.lastIndexOf('/node_modules/') + 14) : path;
  return `${shown}:${frame.lineNumber + 1}`;
}

export function summarise(file: string, topN = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; charge it to the sample that follows it.
    const id = p.samples[i] as number;
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const agg = new Map<string, HotSpot>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    total += us;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idle += us;
    if (name === '(garbage collector)') gc += us;
    const location = locate(n.callFrame);
    const k = `${name} ${location}`;
    const h = agg.get(k) ?? { function: name, location, selfMs: 0, selfPercent: 0 };
    h.selfMs += us / 1000;
    agg.set(k, h);
  }
  const busy = total - idle;
  const files = new Map<string, number>();
  for (const h of agg.values()) {
    if (h.function === '(idle)') continue;
    let file = h.location === '' ? h.function : h.location.replace(/:\d+$/, '');
    if (!h.location.startsWith('src/') && h.location.includes('/')) file = file.split('/')[0] as string;
    files.set(file, (files.get(file) ?? 0) + h.selfMs);
  }
  const byFile = [...files]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([file, ms]) => ({ file, selfPercent: Math.round((ms / (busy / 1000)) * 1000) / 10 }));
  const top = [...agg.values()]
    .filter((h) => h.function !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, topN)
    .map((h) => ({
      ...h,
      selfMs: Math.round(h.selfMs),
      selfPercent: Math.round((h.selfMs / (busy / 1000)) * 1000) / 10,
    }));
  return {
    totalMs: Math.round(total / 1000),
    idlePercent: Math.round((idle / total) * 1000) / 10,
    gcPercent: Math.round((gc / busy) * 1000) / 10,
    top,
    byFile,
  };
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [
    `profile: ${s.totalMs} ms sampled, ${s.idlePercent}% idle; of the busy time ${s.gcPercent}% GC. Top self time (% of busy):`,
  ];
  for (const h of s.top) {
    lines.push(
      `  ${h.selfPercent.toFixed(1).padStart(5)}%  ${String(h.selfMs).padStart(6)} ms  ${h.function}  ${h.location}`,
    );
  }
  lines.push(`by file: ${s.byFile.map((f) => `${f.file} ${f.selfPercent}%`).join(', ')}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node --import tsx bench/postgres/cpuprofile-top.ts <file.cpuprofile> [--top 25]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  console.log(formatSummary(summarise(file, i > 0 ? Number(process.argv[i + 1]) : 25)));
}
