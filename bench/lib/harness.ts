/**
 * What the benchmarks that run the built CLI share: flags, child processes
 * (the engine with the bin's V8 flags, baselines), pipeline files, counting
 * lines as a file grows, CPU and memory from /proc, waiting for an idle
 * machine, flagging arms that other processes disturbed, medians, and the
 * machine and commit a result was measured on.
 *
 * Used by bench/postgres.bench.ts and bench/kafka.bench.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSummary, summarise, type ProfileSummary } from '../postgres/cpuprofile-top.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));

// ── flags ─────────────────────────────────────────────────────────────────────

/** `--name value` flags of a bench's command line. */
export function cliFlags(args: readonly string[]): {
  flag: (name: string) => string | undefined;
  num: (name: string, def: number) => number;
  has: (name: string) => boolean;
} {
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const num = (name: string, def: number): number => {
    const v = flag(name);
    const n = v === undefined ? def : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} wants a number, got ${v}`);
    return n;
  };
  return { flag, num, has: (name) => args.includes(`--${name}`) };
}

/** The V8 flags bin/conduit.js runs with (its shebang), so that the engine runs as a user runs it. */
export const V8_FLAGS = (readFileSync(join(root, 'bin/conduit.js'), 'utf8').split('\n')[0] ?? '')
  .split(' ')
  .filter((a) => a.startsWith('--'));

/** Fails when the CLI to measure is missing (or its bundle is not built). */
export function checkCli(cli: string): void {
  if (!existsSync(cli)) throw new Error(`${cli} not found`);
  const bundle = join(dirname(cli), '../dist/conduit.mjs');
  if (cli.endsWith('bin/conduit.js') && !existsSync(bundle)) {
    throw new Error(`${bundle} is missing: run node scripts/build.mjs first`);
  }
}

// ── processes ─────────────────────────────────────────────────────────────────

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Exit code, or 128 + signal. */
  readonly exited: Promise<number>;
  readonly logFile: string;
}

/** Every child still running, so that a bench can kill them all when it ends or is interrupted. */
export const children = new Set<ChildProcess>();

/** Starts a child with its stderr (and stdout, unless given a file descriptor) appended to `logFile`. */
export function start(cmd: string, argv: string[], logFile: string, stdout?: number): Proc {
  const log = openSync(logFile, 'a');
  const child = spawn(cmd, argv, { stdio: ['ignore', stdout ?? log, log] });
  closeSync(log);
  children.add(child);
  const exited = new Promise<number>((res) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      res(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2));
    }),
  );
  return { child, pid: child.pid ?? 0, exited, logFile };
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
export async function stop(p: Proc, timeoutMs = 60_000): Promise<number> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(t);
  return code;
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, n = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

export interface EngineOptions {
  /** The CLI to run (bin/conduit.js, or another build). */
  cli: string;
  /** Where engine.log goes. */
  dir: string;
  pipeline: string;
  /** The SQLite state file. */
  state: string;
  /** With both: run with --cpu-prof, the profile in profDir/profName. */
  profDir?: string | undefined;
  profName?: string | undefined;
}

/** Starts `conduit run` on one pipeline file, with the bin's V8 flags (and --cpu-prof when asked). */
export function startEngine(o: EngineOptions): Proc {
  const prof = o.profDir !== undefined && o.profName !== undefined ? join(o.profDir, o.profName) : undefined;
  if (prof !== undefined) mkdirSync(prof, { recursive: true });
  return start(
    process.execPath,
    [
      ...V8_FLAGS,
      ...(prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]),
      o.cli,
      'run',
      '--pipelines.path',
      o.pipeline,
      '--db.type',
      'sqlite',
      '--db.sqlite.path',
      o.state,
      '--log.level',
      'warn',
    ],
    join(o.dir, 'engine.log'),
  );
}

export interface PluginSettings {
  plugin: string;
  settings: Record<string, string>;
}

/** Writes a pipeline file of one source and one destination; returns its path. */
export async function pipelineFile(
  dir: string,
  name: string,
  source: PluginSettings,
  destination: PluginSettings,
): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  const connector = (id: string, type: string, c: PluginSettings) => [
    `      - id: ${id}`,
    `        type: ${type}`,
    `        plugin: ${c.plugin}`,
    '        settings:',
    ...Object.entries(c.settings).map(([k, v]) => `          ${k}: ${JSON.stringify(v)}`),
  ];
  const lines = [
    'version: "2.2"',
    'pipelines:',
    `  - id: ${name}`,
    '    connectors:',
    ...connector('src', 'source', source),
    ...connector('dst', 'destination', destination),
  ];
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** Prints and returns the summary of the CPU profile the engine wrote into profDir/name, if any. */
export function profileOf(profDir: string | undefined, name: string): ProfileSummary | undefined {
  if (profDir === undefined) return undefined;
  const dir = join(profDir, name);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) {
    console.log(`  (no CPU profile in ${dir}: did the engine exit cleanly?)`);
    return undefined;
  }
  const s = summarise(join(dir, files[0] as string), 20);
  console.log(formatSummary(s).replace(/^/gm, '  '));
  return s;
}

// ── counting at the destination ───────────────────────────────────────────────

export interface Timing {
  /** performance.now() of the first byte (or record) seen at the destination, and of the N-th record. */
  first: number;
  last: number;
  bytes: number;
}

/**
 * Counts newlines as the file grows; the N-th line ends the count. Fails when
 * `alive` says the writer is gone and the file stopped growing short of N.
 */
export async function countLines(path: string, want: number, alive: () => boolean): Promise<Timing> {
  for (;;) {
    if (fileSize(path) > 0) break;
    if (!alive()) throw new Error(`${path}: the writer exited before writing anything`);
    await tick(1);
  }
  const first = performance.now();
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let offset = 0;
  let lines = 0;
  try {
    while (lines < want) {
      const wasAlive = alive();
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n === 0) {
        if (!wasAlive) throw new Error(`${path}: the writer exited after ${lines} of ${want} lines`);
        await tick(2);
        continue;
      }
      offset += n;
      let i = -1;
      while ((i = buf.indexOf(10, i + 1)) !== -1 && i < n) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return { first, last: performance.now(), bytes: offset };
}

/** Lines in a whole file. */
export function linesIn(path: string): number {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let lines = 0;
  let n: number;
  let pos = 0;
  while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) {
    pos += n;
    let i = -1;
    while ((i = buf.indexOf(10, i + 1)) !== -1 && i < n) lines++;
  }
  closeSync(fd);
  return lines;
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function tick(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ── CPU and memory ────────────────────────────────────────────────────────────

/** Peak resident set (VmHWM) of a live process, in MB. */
export function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
}

/** utime + stime of a process, in seconds (clock ticks of 1/100 s); NaN when it is gone. */
export function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU-seconds of the kernel threads (children of kthreadd, pid 2) so far. */
export function kernelThreadsCpu(): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      if (fields[1] === '2') total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Busy and stolen CPU-seconds of the whole machine so far (/proc/stat, in 1/100 s). */
export function machineCpu(): { busy: number; steal: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
}

/**
 * Waits (up to `maxWaitMs`) until the machine is idle: less than a quarter of
 * a core busy over a second. Returns the cores busy in the last second.
 */
export async function quietMachine(maxWaitMs = 120_000): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  let warned = false;
  for (;;) {
    const a = machineCpu();
    await tick(1000);
    const cores = machineCpu().busy - a.busy;
    if (cores < 0.25 || performance.now() > deadline) {
      if (cores >= 0.25) console.log(`  !! the machine is still busy (${round(cores, 2)} cores); measuring anyway`);
      return round(cores, 2);
    }
    if (!warned)
      console.log(`  (waiting for the machine to go idle: ${round(cores, 2)} cores busy by other processes)`);
    warned = true;
  }
}

/** Flags an arm during which other processes used more than a tenth of a core (and half a CPU-second). */
export function noisy(otherCpuSeconds: number, seconds: number): boolean {
  const cores = otherCpuSeconds / seconds;
  if (otherCpuSeconds > 0.5 && cores > 0.1) {
    console.log(`  !! other processes used ${round(cores, 2)} cores meanwhile: this arm is not a clean measurement`);
    return true;
  }
  return false;
}

/** CPU-seconds over an arm, by group of processes. */
export interface GroupCpuReport {
  /** Per group named in the meter: the CPU-seconds its processes used during the arm. */
  groups: Record<string, number>;
  /** The whole machine (/proc/stat), and what the host stole from it. */
  machine: number;
  steal: number;
  /** This bench process. */
  bench: number;
  /** Kernel threads (kworker, jbd2 …): writeback, fsync, network. */
  kernel: number;
  /** The machine's CPU that none of the above used: other processes (a test suite run meanwhile). */
  other: number;
}

/**
 * The CPU of named groups of processes during an arm (a consumer, a server …),
 * sampled from /proc every 100 ms so that a process that exits before the end
 * still counts up to its last sample, and of everything else on the machine.
 */
export class CpuMeter {
  private readonly procs = new Map<number, { group: string; from: number; now: number }>();
  private timer: NodeJS.Timeout | undefined;
  private machine0 = machineCpu();
  private self0 = process.cpuUsage();
  private kernel0 = kernelThreadsCpu();

  start(): this {
    this.kernel0 = kernelThreadsCpu();
    this.machine0 = machineCpu();
    this.self0 = process.cpuUsage();
    this.timer = setInterval(() => this.sample(), 100);
    return this;
  }

  /**
   * Counts a process in `group` from now on (`fromZero`: all its CPU, for a
   * process started for this arm whose start-up belongs to it).
   */
  track(group: string, pid: number, fromZero = false): void {
    const c = cpuOf(pid);
    const v = Number.isFinite(c) ? c : 0;
    this.procs.set(pid, { group, from: fromZero ? 0 : v, now: v });
  }

  private sample(): void {
    for (const [pid, p] of this.procs) {
      const v = cpuOf(pid);
      if (Number.isFinite(v)) p.now = v;
    }
  }

  stop(): GroupCpuReport {
    this.sample();
    const m = machineCpu();
    const kernel = kernelThreadsCpu() - this.kernel0;
    const self = process.cpuUsage(this.self0);
    clearInterval(this.timer);
    const groups: Record<string, number> = {};
    let counted = 0;
    for (const p of this.procs.values()) {
      groups[p.group] = (groups[p.group] ?? 0) + p.now - p.from;
      counted += p.now - p.from;
    }
    for (const k of Object.keys(groups)) groups[k] = round(groups[k] ?? 0, 2);
    const machine = m.busy - this.machine0.busy;
    const bench = (self.user + self.system) / 1e6;
    return {
      groups,
      machine: round(machine, 2),
      steal: round(m.steal - this.machine0.steal, 2),
      bench: round(bench, 2),
      // Kernel threads that exited during the arm take their CPU out of the sum: at least 0.
      kernel: round(Math.max(0, kernel), 2),
      other: round(Math.max(0, machine - counted - bench - Math.max(0, kernel)), 2),
    };
  }
}

// ── statistics ────────────────────────────────────────────────────────────────

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentiles(xs: number[]): Percentiles {
  const s = Float64Array.from(xs).sort();
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN, 1);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: round(s[s.length - 1] ?? Number.NaN, 1) };
}

// ── results ───────────────────────────────────────────────────────────────────

/** The commit, the bundle of the CLI measured, Node and the machine a result was measured with. */
export function machine(cli = join(root, 'bin/conduit.js')): Record<string, unknown> {
  const git = (...a: string[]): string => {
    try {
      return execFileSync('git', a, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const bundle = join(dirname(cli), '../dist/conduit.mjs');
  return {
    commit: git('rev-parse', 'HEAD'),
    /** Uncommitted changes under src/ when measured. */
    dirtySrc: git('status', '--porcelain', '--', 'src')
      .split('\n')
      .filter((l) => l !== '').length,
    bundleSha256: existsSync(bundle)
      ? createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 16)
      : '',
    node: process.version,
    cpus: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length,
    memGb: Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024 / 1024),
  };
}

/** Writes bench/results/<name>-<time>.json and returns its path. */
export function saveResults(name: string, out: unknown): string {
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return file;
}
