/**
 * Generator → file, counted in the output file (ground truth: lines on disk).
 *
 *   engine: `conduit run` (the built CLI) with a generator → file pipeline, default settings.
 *   raw:    bench/raw-generator-to-file.ts — the same records, metadata and formatter,
 *           appended by a plain loop with write + fdatasync, no engine.
 *
 * Both arms run as child processes and are timed the same way: from the first
 * byte in the output file until it holds N lines (engine start-up is excluded).
 * Runs alternate engine, raw, engine, raw … Prints records/s, the engine/raw
 * ratio, peak RSS (VmHWM) and CPU-seconds per million records, and writes the
 * raw results to bench/results/.
 *
 * Usage: node --import tsx bench/engine.bench.ts [--runs 3] [--small 2000000] [--large 500000]
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = arg('runs', 3);
/** The V8 flags bin/conduit.js runs with, so the raw loop gets the same heap. */
const V8_FLAGS = (readFileSync(join(root, 'bin/conduit.js'), 'utf8').split('\n')[0] ?? '')
  .split(' ')
  .filter((a) => a.startsWith('--'));

/** ~100-byte and ~1-KB structured payloads (JSON of payload.after). */
const SMALL: Record<string, string> = {
  'format.type': 'structured',
  'format.options.id': 'int',
  'format.options.name': 'string',
  'format.options.email': 'string',
  'format.options.active': 'bool',
  'format.options.joined': 'time',
};
const LARGE: Record<string, string> = { ...SMALL };
for (let i = 0; i < 52; i++) LARGE[`format.options.field_${String(i).padStart(2, '0')}`] = 'string';

interface Result {
  arm: 'engine' | 'raw';
  size: string;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  bytesPerRecord: number;
  payloadBytes: number;
  peakRssMb: number;
  cpuSecondsPerMillion: number;
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const [size, settings, count] of [
    ['100B', SMALL, arg('small', 2_000_000)],
    ['1KB', LARGE, arg('large', 500_000)],
  ] as const) {
    for (let run = 0; run < RUNS; run++) {
      for (const arm of ['engine', 'raw'] as const) {
        const r = await runArm(arm, size, settings, count);
        results.push(r);
        console.log(
          `${size.padEnd(4)} ${arm.padEnd(6)} run ${run + 1}: ${Math.round(r.recordsPerSecond).toLocaleString('en')} rec/s, ` +
            `${r.bytesPerRecord} B/line (payload ${r.payloadBytes} B), peak RSS ${r.peakRssMb} MB, ` +
            `${r.cpuSecondsPerMillion.toFixed(2)} CPU-s per million`,
        );
      }
    }
  }
  console.log('\nsummary (median of runs):');
  for (const size of ['100B', '1KB']) {
    const med = (arm: string, f: (r: Result) => number) =>
      median(results.filter((r) => r.size === size && r.arm === arm).map(f));
    const e = med('engine', (r) => r.recordsPerSecond);
    const w = med('raw', (r) => r.recordsPerSecond);
    console.log(
      `${size}: engine ${Math.round(e).toLocaleString('en')} rec/s, raw ${Math.round(w).toLocaleString('en')} rec/s, ` +
        `ratio ${((e / w) * 100).toFixed(0)}%, engine peak RSS ${med('engine', (r) => r.peakRssMb)} MB ` +
        `(max ${Math.max(...results.filter((r) => r.size === size && r.arm === 'engine').map((r) => r.peakRssMb))} MB), ` +
        `raw peak RSS ${med('raw', (r) => r.peakRssMb)} MB`,
    );
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), runs: RUNS, results }, null, 2)}\n`);
  console.log(`raw results: ${file}`);
}

async function runArm(
  arm: 'engine' | 'raw',
  size: string,
  settings: Record<string, string>,
  count: number,
): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), `bench-${arm}-`));
  const out = join(dir, 'out.jsonl');
  try {
    let child;
    if (arm === 'engine') {
      const lines = [
        'version: "2.2"',
        'pipelines:',
        '  - id: bench',
        '    connectors:',
        '      - id: src',
        '        type: source',
        '        plugin: generator',
        '        settings:',
        ...Object.entries({ ...settings, recordCount: String(count) }).map(([k, v]) => `          ${k}: "${v}"`),
        '      - id: dst',
        '        type: destination',
        '        plugin: file',
        '        settings:',
        `          path: ${out}`,
      ];
      await writeFile(join(dir, 'p.yaml'), `${lines.join('\n')}\n`);
      // Executed as a user runs it: through the bin's shebang (which sets the V8 flags).
      child = spawn(
        join(root, 'bin/conduit.js'),
        ['run', '--pipelines.path', join(dir, 'p.yaml'), '--db.sqlite.path', join(dir, 'c.db'), '--log.level', 'warn'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
    } else {
      await writeFile(join(dir, 'settings.json'), JSON.stringify(settings));
      child = spawn(
        process.execPath,
        [
          ...V8_FLAGS,
          '--import',
          'tsx',
          join(root, 'bench/raw-generator-to-file.ts'),
          join(dir, 'settings.json'),
          out,
          String(count),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
    }
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const { seconds, bytes } = await countLines(out, count);
    const pid = child.pid ?? 0;
    let peakRssMb: number;
    let cpuSeconds: number;
    if (arm === 'engine') {
      peakRssMb = vmHwmMb(pid);
      cpuSeconds = cpuOf(pid);
      child.kill('SIGTERM');
      await exited;
    } else {
      await exited;
      const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { maxRssKb: number; cpuUs: number };
      peakRssMb = Math.round(report.maxRssKb / 1024);
      cpuSeconds = report.cpuUs / 1e6;
    }
    const head = Buffer.alloc(65536);
    const fd = openSync(out, 'r');
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const first = head.toString('utf8').split('\n')[0] ?? '{}';
    const payloadBytes = JSON.stringify((JSON.parse(first) as { payload: { after: unknown } }).payload.after).length;
    return {
      arm,
      size,
      records: count,
      seconds,
      recordsPerSecond: count / seconds,
      bytesPerRecord: Math.round(bytes / count),
      payloadBytes,
      peakRssMb,
      cpuSecondsPerMillion: (cpuSeconds / count) * 1e6,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Counts newlines as the file grows; timed from the first byte to the N-th line. */
async function countLines(path: string, want: number): Promise<{ seconds: number; bytes: number }> {
  while ((await stat(path).catch(() => ({ size: 0 }))).size === 0) await tick(2);
  const t0 = performance.now();
  const fh = await open(path, 'r');
  const buf = Buffer.alloc(8 << 20);
  let offset = 0;
  let lines = 0;
  try {
    while (lines < want) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) {
        await tick(5);
        continue;
      }
      offset += bytesRead;
      let i = -1;
      while ((i = buf.indexOf(10, i + 1)) !== -1 && i < bytesRead) lines++;
    }
  } finally {
    await fh.close();
  }
  return { seconds: (performance.now() - t0) / 1000, bytes: offset };
}

function tick(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function machine(): Record<string, unknown> {
  return { node: process.version, cpus: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length };
}

await main();
