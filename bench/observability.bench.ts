/**
 * The cost of observability: generator → file through the built CLI (`conduit run` with its HTTP
 * API), counted in the output file (ground truth: lines on disk).
 *
 *   plain:    nobody watches (the API is served, nothing connects to it).
 *   observed: one stream inspector session on the source (a WebSocket reader that keeps up) and a
 *             scrape of /metrics every second, for the whole run.
 *
 * The pipeline file has `status: stopped`; the bench connects (observed arm) and then starts the
 * pipeline through the API, so the session watches from the first record. Each arm is timed from
 * the first byte in the output file until it holds N lines (start-up excluded). Runs alternate
 * plain, observed …; the summary is the median of each arm, with peak RSS (VmHWM) and CPU-seconds
 * per million records. The goal: observed costs less than 5% of the plain throughput.
 *
 * Each arm first waits (up to --quiet-wait seconds) for an idle machine, and is flagged when other
 * processes used the CPU meanwhile.
 *
 * Usage: node --import tsx bench/observability.bench.ts [--runs 3] [--records 1000000]
 *          [--cli bin/conduit.js] [--quiet-wait 120] [--cpu-prof-dir DIR] [--no-save]
 * (Build first: node scripts/build.mjs.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WebSocket } from 'ws';
import {
  checkCli,
  cliFlags,
  countLines,
  cpuOf,
  machine,
  machineCpu,
  median,
  noisy,
  quietMachine,
  root,
  saveResults,
  start,
  stop,
  tail,
  tick,
  V8_FLAGS,
  vmHwmMb,
} from './lib/harness.js';

const { flag, num, has } = cliFlags(process.argv.slice(2));
const PROF_DIR = flag('cpu-prof-dir') === undefined ? undefined : resolve(flag('cpu-prof-dir') as string);
const TOKEN = 'bench-observability-token-0123456789';

/** ~100-byte structured payloads, as bench/engine.bench.ts's small records. */
const GENERATOR: Record<string, string> = {
  'format.type': 'structured',
  'format.options.id': 'int',
  'format.options.name': 'string',
  'format.options.email': 'string',
  'format.options.active': 'bool',
  'format.options.joined': 'time',
};

type Arm = 'plain' | 'observed';
const ARMS: readonly Arm[] = ['plain', 'observed'];

interface Result {
  arm: Arm;
  run: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  peakRssMb: number;
  cpuSecondsPerMillion: number;
  /** Records the inspector session received, and /metrics scrapes answered (observed arm). */
  inspected: number;
  scrapes: number;
  /** conduit_inspector_dropped_records_total of the source at the last scrape. */
  dropped: number;
  loadBefore: number;
  /** Cores other processes kept busy in the second before the arm (it waits for an idle machine first). */
  busyBefore: number;
  /** Other processes used a tenth of a core or more during the arm: not a clean measurement. */
  notClean: boolean;
}

function pipelineYaml(out: string, count: number): string {
  return [
    'version: "2.2"',
    'pipelines:',
    '  - id: bench',
    '    status: stopped',
    '    connectors:',
    '      - id: src',
    '        type: source',
    '        plugin: generator',
    '        settings:',
    ...Object.entries({ ...GENERATOR, recordCount: String(count) }).map(([k, v]) => `          ${k}: "${v}"`),
    '      - id: dst',
    '        type: destination',
    '        plugin: file',
    '        settings:',
    `          path: ${out}`,
    '',
  ].join('\n');
}

/** The address the engine's API listens on, from its JSON log. */
async function apiAddress(logFile: string, alive: () => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const line of tail(logFile, 200).split('\n')) {
      if (!line.includes('HTTP API listening')) continue;
      return (JSON.parse(line) as { address: string }).address;
    }
    if (!alive()) throw new Error(`the engine exited:\n${tail(logFile)}`);
    await tick(20);
  }
  throw new Error(`the API did not listen within 30 s:\n${tail(logFile)}`);
}

async function api(base: string, method: string, path: string): Promise<string> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text;
}

function droppedOf(metrics: string): number {
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith('conduit_inspector_dropped_records_total{component_id="bench:src"}'));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function runArm(arm: Arm, run: number, count: number, cli: string): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), `bench-obs-${arm}-`));
  const out = join(dir, 'out.jsonl');
  const busyBefore = await quietMachine(num('quiet-wait', 120) * 1000);
  const loadBefore = loadavg()[0] ?? 0;
  const machineBefore = machineCpu().busy;
  const selfBefore = process.cpuUsage();
  await writeFile(join(dir, 'p.yaml'), pipelineYaml(out, count));
  process.env['CONDUIT_API_HTTP_AUTH_TOKEN'] = TOKEN;
  const engine = start(
    process.execPath,
    [
      ...V8_FLAGS,
      ...(PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(PROF_DIR, `${arm}-${run}`)}`]),
      cli,
      'run',
      '--pipelines.path',
      join(dir, 'p.yaml'),
      '--db.sqlite.path',
      join(dir, 'c.db'),
      '--api.http.address',
      '127.0.0.1:0',
      '--log.format',
      'json',
      '--log.level',
      'info',
    ],
    join(dir, 'engine.log'),
  );
  let running = true;
  void engine.exited.then(() => (running = false));
  let ws: WebSocket | undefined;
  let scraper: NodeJS.Timeout | undefined;
  let inspected = 0;
  let scrapes = 0;
  let lastMetrics = '';
  try {
    const base = `http://${await apiAddress(engine.logFile, () => running)}`;
    if (arm === 'observed') {
      const socket = new WebSocket(`${base.replace('http:', 'ws:')}/v1/connectors/bench:src/inspect`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      socket.on('message', () => inspected++);
      await new Promise<void>((res, rej) => {
        socket.once('open', () => res());
        socket.once('error', rej);
      });
      ws = socket;
      scraper = setInterval(() => {
        api(base, 'GET', '/metrics').then(
          (text) => {
            scrapes++;
            lastMetrics = text;
          },
          () => undefined,
        );
      }, 1000);
    }
    await api(base, 'POST', '/v1/pipelines/bench/start');
    const timing = await countLines(out, count, () => running);
    if (arm === 'observed') lastMetrics = await api(base, 'GET', '/metrics');
    const seconds = (timing.last - timing.first) / 1000;
    const peakRssMb = vmHwmMb(engine.pid);
    const cpuSeconds = cpuOf(engine.pid);
    const self = process.cpuUsage(selfBefore);
    const other = machineCpu().busy - machineBefore - cpuSeconds - (self.user + self.system) / 1e6;
    return {
      arm,
      run,
      records: count,
      seconds,
      recordsPerSecond: count / seconds,
      peakRssMb,
      cpuSecondsPerMillion: (cpuSeconds / count) * 1e6,
      inspected,
      scrapes,
      dropped: droppedOf(lastMetrics),
      loadBefore: Math.round(loadBefore * 100) / 100,
      busyBefore,
      notClean: noisy(other, seconds),
    };
  } finally {
    clearInterval(scraper);
    ws?.terminate();
    await stop(engine);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs = num('runs', 3);
  const count = num('records', 1_000_000);
  const cli = resolve(flag('cli') ?? join(root, 'bin/conduit.js'));
  checkCli(cli);
  const results: Result[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const arm of run % 2 === 1 ? ARMS : [...ARMS].reverse()) {
      const r = await runArm(arm, run, count, cli);
      results.push(r);
      console.log(
        `${arm.padEnd(8)} run ${run}: ${Math.round(r.recordsPerSecond).toLocaleString('en')} rec/s, ` +
          `peak RSS ${r.peakRssMb} MB, ${r.cpuSecondsPerMillion.toFixed(2)} CPU-s per million` +
          (arm === 'observed' ? `, ${r.inspected} inspected, ${r.dropped} dropped, ${r.scrapes} scrapes` : '') +
          ` (load before ${r.loadBefore})`,
      );
    }
  }
  const med = (arm: Arm, f: (r: Result) => number): number => median(results.filter((r) => r.arm === arm).map(f));
  const rate = (arm: Arm): number => med(arm, (r) => r.recordsPerSecond);
  console.log('\nsummary (median of runs):');
  for (const arm of ARMS) {
    console.log(
      `${arm.padEnd(8)} ${Math.round(rate(arm)).toLocaleString('en')} rec/s, peak RSS ${med(arm, (r) => r.peakRssMb)} MB, ` +
        `${med(arm, (r) => r.cpuSecondsPerMillion).toFixed(2)} CPU-s per million`,
    );
  }
  const cost = 1 - rate('observed') / rate('plain');
  console.log(
    `observability costs ${(cost * 100).toFixed(1)}% of throughput (goal < 5%: ${cost < 0.05 ? 'met' : 'not met'})`,
  );
  if (has('no-save')) return;
  const file = saveResults('observability', { machine: machine(cli), runs, records: count, results });
  console.log(`raw results: ${file}`);
}

await main();
