/**
 * The postgres source, counted at the destination (lines in the output file),
 * each phase against a raw baseline run in the same invocation:
 *
 *   snapshot  a table of N rows (~200 B each) read by `conduit run` with a
 *             postgres (snapshotMode initial, a fresh slot) → file pipeline,
 *             against `psql -c "COPY (SELECT * FROM t ORDER BY id) TO STDOUT"`
 *             into a file. Both timed from the first byte in the output file
 *             to its N-th line.
 *   cdc       N rows written as transactions of --tx-rows rows, *before* any
 *             consumer runs, into a table captured by slots created before the
 *             writes (one per consumer and run, so each reads the same WAL
 *             alone). Then, one after the other: `pg_recvlogical` (pgoutput,
 *             proto 1, until the WAL position after the last commit; timed
 *             from its first byte to its exit; its inserts counted by parsing
 *             the pgoutput framing) and the engine (a pipeline already started
 *             once with snapshotMode never, so its slot and position exist;
 *             timed from the first byte to the N-th line).
 *   latency   pgbench offers a steady --latency-rate single-row inserts per
 *             second for --latency-seconds (after --latency-warmup seconds)
 *             into a captured table while the engine streams to a file; the
 *             file is tailed (fs.watch) and each line stamped when seen.
 *             Latency = seen − the record's `opencdc.createdAt` (the commit
 *             time; same host, same clock). p50, p90, p99, max. Baseline: the
 *             same load and the same tailing of pg_recvlogical's output file
 *             (commit time from each transaction's Begin message), run first.
 *
 * Every engine arm reports its peak RSS (VmHWM) and CPU-seconds per million
 * records. Every arm reports the CPU-seconds (from /proc) of its consumer, of
 * the server backends serving it, of kernel threads, and of everything else on
 * the machine ("other": on a shared 2-core machine a test suite run meanwhile
 * shows up there, and the arm is flagged as not clean). Each arm starts when
 * the machine has been idle for a second (or after 2 minutes of waiting).
 *
 * The PostgreSQL server is CONDUIT_TEST_PG_URL when set, else a cluster of the
 * bench's own started with scripts/test-servers.sh (and stopped at the end). The
 * bench works in its own database, conduit_bench, and drops it with every slot
 * named conduit_bench_* when it ends (also on Ctrl-C, and at the start, in case
 * an earlier run was killed).
 *
 * Usage: node --import tsx bench/postgres.bench.ts [--rows 2000000] [--tx-rows 1000] [--runs 1]
 *          [--latency-seconds 30] [--latency-rate 5000] [--latency-warmup 5] [--latency-clients 32]
 *          [--phases snapshot,cdc,latency] [--cpu-prof-dir DIR] [--cli bin/conduit.js] [--no-save]
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  watch,
  type FSWatcher,
} from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import {
  checkCli,
  children,
  cliFlags,
  countLines,
  cpuOf,
  fileSize,
  kernelThreadsCpu,
  linesIn,
  machine,
  machineCpu,
  median,
  noisy,
  percentiles,
  pipelineFile as pipelineFileOf,
  profileOf as profileIn,
  quietMachine,
  root,
  round,
  saveResults,
  start,
  startEngine as startEngineOf,
  stop,
  tail,
  tick,
  V8_FLAGS,
  vmHwmMb,
  type Percentiles,
  type Proc,
  type Timing,
} from './lib/harness.js';
import type { ProfileSummary } from './postgres/cpuprofile-top.js';
import { countPgOutput, messageLength } from './postgres/pgoutput-count.js';

const { flag, num, has } = cliFlags(process.argv.slice(2));
const ROWS = num('rows', 2_000_000);
const TX_ROWS = num('tx-rows', 1000);
const RUNS = num('runs', 1);
const LAT_SECONDS = num('latency-seconds', 30);
const LAT_RATE = num('latency-rate', 5000);
const LAT_WARMUP = num('latency-warmup', 5);
const LAT_CLIENTS = num('latency-clients', 32);
const PHASES = (flag('phases') ?? 'snapshot,cdc,latency').split(',');
const PROF_DIR = flag('cpu-prof-dir') === undefined ? undefined : resolve(flag('cpu-prof-dir') as string);
const CLI = resolve(flag('cli') ?? join(root, 'bin/conduit.js'));
const SAVE = !has('no-save');

const PG_BIN = ['/usr/lib/postgresql/15/bin', ...pgBinDirs()].find((d) => existsSync(join(d, 'pg_recvlogical')));
const bin = (name: string): string => (PG_BIN === undefined ? name : join(PG_BIN, name));

const DB = 'conduit_bench';
const PREFIX = 'conduit_bench_';
const CONTROL_APP = 'conduit-bench-control';
const COLUMNS =
  'id bigint NOT NULL, account int NOT NULL, qty int NOT NULL, amount bigint NOT NULL, ' +
  'created timestamptz NOT NULL, note text NOT NULL';
/** The values of a row of id g: 4 numbers, a timestamp and 120 characters of text (~200 B in the heap). */
const ROW_SQL =
  `g, (g % 100000)::int, (g % 97)::int, g * 7919, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', ` +
  `left(repeat(md5(g::text), 4), 120)`;

// ── processes ─────────────────────────────────────────────────────────────────

/** Starts `conduit run` on one pipeline file (with --cpu-prof into --cpu-prof-dir when asked). */
function startEngine(dir: string, pipeline: string, state: string, profName?: string): Proc {
  return startEngineOf({ cli: CLI, dir, pipeline, state, profDir: PROF_DIR, profName });
}

/** A postgres → file pipeline. */
function pipelineFile(dir: string, name: string, settings: Record<string, string>, out: string): Promise<string> {
  return pipelineFileOf(dir, name, { plugin: 'postgres', settings }, { plugin: 'file', settings: { path: out } });
}

function profileOf(name: string): ProfileSummary | undefined {
  return profileIn(PROF_DIR, name);
}

// ── measuring ─────────────────────────────────────────────────────────────────

/**
 * CPU-seconds of the server backends (client backends and walsenders) of the
 * bench database other than the control connection and pgbench's: what serves
 * one arm (the consumer's query or walsender).
 * Every arm opens its own connections, so each backend's total CPU counts.
 */
class ArmCpu {
  /** Backend pid → [CPU when first seen (0 when it started during the arm), latest CPU, pgbench's?]. */
  private readonly backends = new Map<number, { from: number; now: number; load: boolean }>();
  /** The cluster's other processes (walwriter, checkpointer, the control connection …): pid → CPU. */
  private readonly aux = new Map<number, { from: number; now: number }>();
  /** Client process pid → [CPU when tracked, latest CPU]. */
  private readonly clients = new Map<number, { from: number; now: number }>();
  private timer: NodeJS.Timeout | undefined;
  private pids: Array<{ pid: number; load: boolean }> = [];
  private lastLookup = 0;
  private first = true;
  private busy = false;
  private machine0 = machineCpu();
  private self0 = process.cpuUsage();
  private kernel0 = kernelThreadsCpu();

  constructor(private readonly db: pg.Client) {}

  async start(): Promise<this> {
    this.kernel0 = kernelThreadsCpu();
    this.machine0 = machineCpu();
    this.self0 = process.cpuUsage();
    await this.sample();
    this.first = false;
    this.timer = setInterval(() => void this.sample(), 100);
    return this;
  }

  /** Counts a client process (engine, psql, pg_recvlogical, pgbench) from now on. */
  track(pid: number): void {
    const c = cpuOf(pid);
    this.clients.set(pid, { from: Number.isFinite(c) ? c : 0, now: Number.isFinite(c) ? c : 0 });
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const [pid, c] of this.clients) {
        const v = cpuOf(pid);
        if (Number.isFinite(v)) c.now = v;
      }
      if (performance.now() - this.lastLookup > 500) {
        this.lastLookup = performance.now();
        const r = await this.db.query<{ pid: number; app: string }>(
          `SELECT pid, application_name AS app FROM pg_stat_activity
            WHERE datname = $1 AND backend_type IN ('client backend', 'walsender') AND application_name <> $2`,
          [DB, CONTROL_APP],
        );
        this.pids = r.rows.map((x) => ({ pid: x.pid, load: x.app === 'bench_pgbench' }));
        const counted = new Set(this.pids.map((x) => x.pid));
        for (const pid of postmasterChildren()) {
          if (counted.has(pid)) continue;
          const v = cpuOf(pid);
          if (!Number.isFinite(v)) continue;
          const a = this.aux.get(pid);
          if (a === undefined) this.aux.set(pid, { from: this.first ? v : 0, now: v });
          else a.now = v;
        }
      }
      for (const { pid, load } of this.pids) {
        const v = cpuOf(pid);
        if (!Number.isFinite(v)) continue;
        const b = this.backends.get(pid);
        if (b === undefined) this.backends.set(pid, { from: this.first ? v : 0, now: v, load });
        else b.now = v;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Takes a last sample and stops. */
  async stop(): Promise<CpuReport> {
    const m = machineCpu();
    const kernel = kernelThreadsCpu() - this.kernel0;
    const self = process.cpuUsage(this.self0);
    clearInterval(this.timer);
    while (this.busy) await tick(5);
    this.lastLookup = 0;
    await this.sample();
    let server = 0;
    let load = 0;
    let aux = 0;
    for (const a of this.aux.values()) aux += a.now - a.from;
    let clients = 0;
    for (const b of this.backends.values()) {
      if (b.load) load += b.now - b.from;
      else server += b.now - b.from;
    }
    for (const c of this.clients.values()) clients += c.now - c.from;
    const machine = m.busy - this.machine0.busy;
    const bench = (self.user + self.system) / 1e6;
    return {
      server: round(server, 2),
      load: round(load, 2),
      clients: round(clients, 2),
      machine: round(machine, 2),
      steal: round(m.steal - this.machine0.steal, 2),
      bench: round(bench, 2),
      aux: round(aux, 2),
      kernel: round(kernel, 2),
      other: round(Math.max(0, machine - server - load - aux - clients - bench - kernel), 2),
    };
  }
}

/** CPU-seconds over an arm. */
interface CpuReport {
  /** The server backends serving the consumer (its queries or walsender). */
  server: number;
  /** pgbench's backends (latency phase). */
  load: number;
  /** The cluster's other processes: walwriter, checkpointer, autovacuum, the bench's control connection. */
  aux: number;
  /** The client processes tracked: the consumer, and pgbench. */
  clients: number;
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

/** The postmaster of the cluster measured (from its postmaster.pid), when this user may read it. */
let postmasterPid: number | undefined;

/** The server processes of the cluster: the postmaster's children. */
function postmasterChildren(): number[] {
  if (postmasterPid === undefined) return [];
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid === postmasterPid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

// ── database ──────────────────────────────────────────────────────────────────

function dbUrl(base: string, db: string, app?: string): string {
  const u = new URL(base);
  u.pathname = `/${db}`;
  if (app !== undefined) u.searchParams.set('application_name', app);
  return u.toString();
}

async function connectTo(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: CONTROL_APP });
  // A connection the server ends (a restart, pg_terminate_backend) fails the next query instead of the process.
  c.on('error', (err: Error) => console.error(`bench: control connection: ${err.message}`));
  await c.connect();
  return c;
}

async function waitSlotActive(db: pg.Client, slot: string, engine: Proc): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const r = await db.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
      slot,
    ]);
    if (r.rows[0]?.active === true) return;
    if (engine.child.exitCode !== null) throw new Error(`the engine exited before streaming:\n${tail(engine.logFile)}`);
    if (performance.now() > deadline) throw new Error(`slot ${slot} not active after 60 s:\n${tail(engine.logFile)}`);
    await tick(50);
  }
}

async function dropSlot(db: pg.Client, slot: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await db.query<{ active_pid: number | null }>(
      'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    const row = r.rows[0];
    if (row === undefined) return;
    if (row.active_pid === null) {
      await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return;
    }
    await db.query('SELECT pg_terminate_backend($1)', [row.active_pid]);
    await tick(50);
  }
  throw new Error(`could not drop slot ${slot}`);
}

/** Drops every slot named conduit_bench_* and the bench database. */
async function cleanupServer(url: string): Promise<void> {
  const admin = await connectTo(dbUrl(url, 'postgres'));
  try {
    const r = await admin.query<{ slot_name: string }>(
      'SELECT slot_name FROM pg_replication_slots WHERE starts_with(slot_name, $1)',
      [PREFIX],
    );
    for (const { slot_name } of r.rows) await dropSlot(admin, slot_name);
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => {});
  }
}

interface Server {
  url: string;
  /** Stops the cluster when the bench started it. */
  stopAtEnd: (() => void) | undefined;
}

/**
 * CONDUIT_TEST_PG_URL, or a cluster of the bench's own, started (and stopped
 * at the end) by scripts/test-servers.sh with a private state file, so that
 * tests which stop or restart the shared test cluster cannot end a run.
 */
function server(): Server {
  const env = process.env.CONDUIT_TEST_PG_URL;
  if (env !== undefined && env !== '') return { url: env, stopAtEnd: undefined };
  const stateEnv = { ...process.env, CONDUIT_TEST_SERVERS_STATE: join(root, '.cache/bench-postgres/postgres.env') };
  const out = execFileSync('bash', [join(root, 'scripts/test-servers.sh'), 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: stateEnv,
  });
  const url = /export CONDUIT_TEST_PG_URL=(\S+)/.exec(out)?.[1];
  if (url === undefined) throw new Error(`scripts/test-servers.sh start printed no CONDUIT_TEST_PG_URL:\n${out}`);
  return {
    url,
    stopAtEnd: () =>
      execFileSync('bash', [join(root, 'scripts/test-servers.sh'), 'stop'], { stdio: 'inherit', env: stateEnv }),
  };
}

function pgBinDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

// ── phases ────────────────────────────────────────────────────────────────────

interface ArmResult {
  arm: string;
  run: number;
  records: number;
  /** From the first byte in the output to the N-th record. */
  seconds: number;
  recordsPerSecond: number;
  /** From starting the process to the N-th record (start-up, slot creation and first query included). */
  secondsFromSpawn: number;
  bytesPerRecord: number;
  peakRssMb?: number;
  cpuSeconds?: number;
  cpuSecondsPerMillion?: number;
  serverCpuSeconds: number;
  /** The consumer process (engine, psql or pg_recvlogical) during the arm. */
  consumerCpuSeconds: number;
  /** Busy CPU-seconds of the whole machine during the arm, and stolen by the host. */
  machineCpuSeconds: number;
  stealSeconds: number;
  /** Kernel threads during the arm (writeback and fsync of the output file, mostly). */
  kernelCpuSeconds: number;
  /**
   * Machine CPU-seconds used by none of the consumer, the server, kernel threads and this bench: other
   * processes (a test suite run meanwhile on this 2-core machine). Large means a noisy measurement.
   */
  otherCpuSeconds: number;
  /** Cores busy in the second before the arm started. */
  busyBeforeCores: number;
  /** Lines in the file after the engine stopped (must equal records). */
  finalLines?: number;
  profile?: ProfileSummary;
}

function arm(
  name: string,
  run: number,
  records: number,
  spawnedAt: number,
  t: Timing,
  cpu: CpuReport,
  busyBeforeCores: number,
  engine?: { pid: number },
): ArmResult {
  const seconds = (t.last - t.first) / 1000;
  const r: ArmResult = {
    arm: name,
    run,
    records,
    seconds: round(seconds, 3),
    recordsPerSecond: Math.round(records / seconds),
    secondsFromSpawn: round((t.last - spawnedAt) / 1000, 3),
    bytesPerRecord: Math.round(t.bytes / records),
    serverCpuSeconds: cpu.server,
    consumerCpuSeconds: cpu.clients,
    machineCpuSeconds: cpu.machine,
    stealSeconds: cpu.steal,
    kernelCpuSeconds: cpu.kernel,
    otherCpuSeconds: cpu.other,
    busyBeforeCores,
  };
  if (engine !== undefined) {
    r.peakRssMb = vmHwmMb(engine.pid);
    r.cpuSeconds = cpuOf(engine.pid);
    r.cpuSecondsPerMillion = round((r.cpuSeconds / records) * 1e6, 2);
  }
  return r;
}

function show(r: ArmResult): void {
  const extra =
    r.peakRssMb === undefined
      ? ''
      : `, peak RSS ${r.peakRssMb} MB, ${r.cpuSecondsPerMillion} CPU-s per million (engine)`;
  console.log(
    `  ${r.arm.padEnd(15)} run ${r.run + 1}: ${r.recordsPerSecond.toLocaleString('en')} rec/s ` +
      `(${r.records.toLocaleString('en')} in ${r.seconds} s; ${r.secondsFromSpawn} s from spawn), ` +
      `${r.bytesPerRecord} B/record${extra}; CPU-s: consumer ${r.consumerCpuSeconds}, server ${r.serverCpuSeconds}, ` +
      `kernel ${r.kernelCpuSeconds}, other ${r.otherCpuSeconds}`,
  );
  noisy(r.otherCpuSeconds, r.secondsFromSpawn);
}

async function snapshotPhase(db: pg.Client, url: string, dir: string): Promise<Record<string, unknown>> {
  console.log(`\nsnapshot: loading ${ROWS.toLocaleString('en')} rows …`);
  const t0 = performance.now();
  await db.query(`CREATE TABLE bench_snapshot (${COLUMNS})`);
  await db.query(`INSERT INTO bench_snapshot SELECT ${ROW_SQL} FROM generate_series(1, $1::bigint) g`, [ROWS]);
  await db.query('ALTER TABLE bench_snapshot ADD PRIMARY KEY (id)');
  await db.query('VACUUM (FREEZE, ANALYZE) bench_snapshot');
  await db.query('CHECKPOINT');
  const size = await db.query<{ heap: string }>(`SELECT pg_table_size('bench_snapshot')::text AS heap`);
  const heapBytesPerRow = Math.round(Number(size.rows[0]?.heap) / ROWS);
  // Read it once so that both arms find it in the page cache.
  await db.query('SELECT count(*), sum(length(note)) FROM bench_snapshot');
  console.log(`  loaded in ${round((performance.now() - t0) / 1000, 1)} s; ${heapBytesPerRow} B per row in the heap`);

  const results: ArmResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Baseline: psql's COPY to a file.
    {
      const out = join(dir, `copy-${run}.txt`);
      const fd = openSync(out, 'w');
      const busyBefore = await quietMachine();
      const cpu = await new ArmCpu(db).start();
      const t = performance.now();
      const p = start(
        bin('psql'),
        [
          '-X',
          '-q',
          '-d',
          dbUrl(url, DB, 'bench_copy'),
          '-c',
          'COPY (SELECT * FROM bench_snapshot ORDER BY id) TO STDOUT',
        ],
        join(dir, 'psql.log'),
        fd,
      );
      cpu.track(p.pid);
      closeSync(fd);
      const timing = await countLines(out, ROWS, () => p.child.exitCode === null);
      const code = await p.exited;
      if (code !== 0) throw new Error(`psql exited with ${code}:\n${tail(p.logFile)}`);
      const r = arm('psql COPY', run, ROWS, t, timing, await cpu.stop(), busyBefore);
      show(r);
      results.push(r);
      await rm(out, { force: true });
    }
    // Engine: a fresh slot and publication, snapshotMode initial.
    {
      const slot = `${PREFIX}snap_${run}`;
      const out = join(dir, `snap-${run}.jsonl`);
      const pipeline = await pipelineFile(
        dir,
        `snap-${run}`,
        {
          url: dbUrl(url, DB),
          tables: 'bench_snapshot',
          snapshotMode: 'initial',
          'logrepl.slotName': slot,
          'logrepl.publicationName': slot,
        },
        out,
      );
      const busyBefore = await quietMachine();
      const cpu = await new ArmCpu(db).start();
      const t = performance.now();
      const e = startEngine(dir, pipeline, join(dir, `snap-${run}.db`), `snapshot-${run}`);
      cpu.track(e.pid);
      const timing = await countLines(out, ROWS, () => e.child.exitCode === null);
      const r = arm('engine', run, ROWS, t, timing, await cpu.stop(), busyBefore, e);
      const code = await stop(e);
      if (code !== 0) console.log(`  engine exited with ${code}:\n${tail(e.logFile)}`);
      r.finalLines = linesIn(out);
      show(r);
      if (r.finalLines !== ROWS) console.log(`  !! the file holds ${r.finalLines} lines, not ${ROWS}`);
      const prof = profileOf(`snapshot-${run}`);
      if (prof !== undefined) r.profile = prof;
      results.push(r);
      await dropSlot(db, slot);
      await db.query(`DROP PUBLICATION IF EXISTS ${slot}`);
      await rm(out, { force: true });
    }
  }
  await db.query('DROP TABLE bench_snapshot');
  return { rows: ROWS, heapBytesPerRow, results, summary: summary(results, 'engine', 'psql COPY') };
}

async function cdcPhase(db: pg.Client, url: string, dir: string): Promise<Record<string, unknown>> {
  console.log(`\ncdc: ${ROWS.toLocaleString('en')} rows in transactions of ${TX_ROWS.toLocaleString('en')}`);
  const pub = `${PREFIX}cdc`;
  await db.query(`CREATE TABLE bench_cdc (${COLUMNS}, PRIMARY KEY (id))`);
  await db.query(`CREATE PUBLICATION ${pub} FOR TABLE bench_cdc`);
  const dbu = dbUrl(url, DB);
  const settings = (run: number): Record<string, string> => ({
    url: dbu,
    tables: 'bench_cdc',
    snapshotMode: 'never',
    'logrepl.slotName': `${PREFIX}cdc_e${run}`,
    'logrepl.publicationName': pub,
  });
  // Every consumer's slot exists before the first write, so each reads the same WAL, alone, later.
  for (let run = 0; run < RUNS; run++) {
    const out = join(dir, `cdc-${run}.jsonl`);
    const pipeline = await pipelineFile(dir, `cdc-${run}`, settings(run), out);
    const e = startEngine(dir, pipeline, join(dir, `cdc-${run}.db`));
    await waitSlotActive(db, `${PREFIX}cdc_e${run}`, e);
    const code = await stop(e);
    if (code !== 0) throw new Error(`the engine exited with ${code}:\n${tail(e.logFile)}`);
    execFileSync(bin('pg_recvlogical'), ['--create-slot', '-S', `${PREFIX}cdc_r${run}`, '-P', 'pgoutput', '-d', dbu], {
      stdio: 'inherit',
    });
  }

  const startLsn = (await db.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]?.l as string;
  const tw = performance.now();
  await db.query(
    `DO $$
     DECLARE n bigint := ${ROWS}; k bigint := ${TX_ROWS}; lo bigint := 1;
     BEGIN
       WHILE lo <= n LOOP
         INSERT INTO bench_cdc SELECT ${ROW_SQL} FROM generate_series(lo, least(lo + k - 1, n)) g;
         COMMIT;
         lo := lo + k;
       END LOOP;
     END $$`,
  );
  const writeSeconds = (performance.now() - tw) / 1000;
  const w = await db.query<{ l: string; bytes: string }>(
    'SELECT pg_current_wal_lsn()::text AS l, pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint::text AS bytes',
    [startLsn],
  );
  const endLsn = w.rows[0]?.l as string;
  const walBytes = Number(w.rows[0]?.bytes);
  console.log(
    `  written in ${round(writeSeconds, 1)} s (${Math.round(ROWS / writeSeconds).toLocaleString('en')} rows/s), ` +
      `${Math.round(walBytes / 1e6)} MB of WAL (${Math.round(walBytes / ROWS)} B per row), up to ${endLsn}`,
  );
  // Flush what the writes dirtied now, not while a consumer is timed.
  await db.query('CHECKPOINT');
  const lost = await db.query<{ slot_name: string; wal_status: string }>(
    `SELECT slot_name, wal_status FROM pg_replication_slots WHERE starts_with(slot_name, $1) AND wal_status NOT IN ('reserved', 'extended')`,
    [PREFIX],
  );
  if (lost.rows.length > 0) {
    throw new Error(`slots lost WAL (raise max_slot_wal_keep_size or lower --rows): ${JSON.stringify(lost.rows)}`);
  }

  const results: ArmResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Baseline: pg_recvlogical over the same WAL, until the position after the last commit.
    {
      const slot = `${PREFIX}cdc_r${run}`;
      const out = join(dir, `recv-${run}.bin`);
      const busyBefore = await quietMachine();
      const cpu = await new ArmCpu(db).start();
      const t = performance.now();
      const p = start(
        bin('pg_recvlogical'),
        [
          '--start',
          '-S',
          slot,
          '-d',
          dbu,
          '-o',
          'proto_version=1',
          '-o',
          `publication_names=${pub}`,
          '-f',
          out,
          '--no-loop',
          '-E',
          endLsn,
        ],
        join(dir, 'recvlogical.log'),
      );
      cpu.track(p.pid);
      while (fileSize(out) === 0 && p.child.exitCode === null) await tick(1);
      const first = performance.now();
      const code = await p.exited;
      const last = performance.now();
      if (code !== 0) throw new Error(`pg_recvlogical exited with ${code}:\n${tail(p.logFile)}`);
      const counts = countPgOutput(out);
      const r = arm('pg_recvlogical', run, ROWS, t, { first, last, bytes: counts.bytes }, await cpu.stop(), busyBefore);
      show(r);
      if (counts.inserts !== ROWS) console.log(`  !! pg_recvlogical received ${counts.inserts} inserts, not ${ROWS}`);
      results.push(r);
      await dropSlot(db, slot);
      await rm(out, { force: true });
    }
    // Engine: the pipeline started before the writes; it resumes from its slot.
    {
      const out = join(dir, `cdc-${run}.jsonl`);
      const busyBefore = await quietMachine();
      const cpu = await new ArmCpu(db).start();
      const t = performance.now();
      const e = startEngine(dir, join(dir, `cdc-${run}.yaml`), join(dir, `cdc-${run}.db`), `cdc-${run}`);
      cpu.track(e.pid);
      const timing = await countLines(out, ROWS, () => e.child.exitCode === null);
      const r = arm('engine', run, ROWS, t, timing, await cpu.stop(), busyBefore, e);
      const code = await stop(e);
      if (code !== 0) console.log(`  engine exited with ${code}:\n${tail(e.logFile)}`);
      r.finalLines = linesIn(out);
      show(r);
      if (r.finalLines !== ROWS) console.log(`  !! the file holds ${r.finalLines} lines, not ${ROWS}`);
      const prof = profileOf(`cdc-${run}`);
      if (prof !== undefined) r.profile = prof;
      results.push(r);
      await dropSlot(db, `${PREFIX}cdc_e${run}`);
      await rm(out, { force: true });
    }
  }
  await db.query(`DROP PUBLICATION ${pub}`);
  await db.query('DROP TABLE bench_cdc');
  return {
    rows: ROWS,
    txRows: TX_ROWS,
    writeSeconds: round(writeSeconds, 2),
    walBytes,
    results,
    summary: summary(results, 'engine', 'pg_recvlogical'),
  };
}

/** Follows a growing file and hands over what is appended, with the time it was seen. */
class Tailer {
  private fd: number | undefined;
  private offset = 0;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  constructor(
    private readonly path: string,
    private readonly onData: (chunk: Buffer, seenMs: number) => void,
  ) {}

  start(): void {
    // fs.watch (inotify) for promptness, a 10 ms poll as a safety net (and until the file exists).
    this.timer = setInterval(() => this.drain(), 10);
  }

  private open(): boolean {
    if (this.fd !== undefined) return true;
    if (!existsSync(this.path)) return false;
    this.fd = openSync(this.path, 'r');
    this.watcher = watch(this.path, () => this.drain());
    return true;
  }

  drain(): void {
    if (!this.open()) return;
    const fd = this.fd as number;
    for (;;) {
      if (fstatSync(fd).size <= this.offset) return;
      const seen = performance.timeOrigin + performance.now();
      const n = readSync(fd, this.buf, 0, this.buf.length, this.offset);
      if (n === 0) return;
      this.offset += n;
      this.onData(this.buf.subarray(0, n), seen);
    }
  }

  stop(): void {
    this.drain();
    clearInterval(this.timer);
    this.watcher?.close();
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

/** Latency samples of one consumer: what it received, and when. */
interface Receiver {
  /** Records received so far (all of them, warm-up included). */
  count: number;
  /** Seen − commit time, in ms, of the records committed after the warm-up. */
  readonly commit: number[];
  /** Seen − the row's clock_timestamp() at insert, in ms (the engine's lines only). */
  readonly insert: number[];
  onData(chunk: Buffer, seenMs: number): void;
}

/** The engine's output: OpenCDC JSON lines; the commit time is `opencdc.createdAt` (ns). */
function lineReceiver(measureFrom: () => number): Receiver {
  let rest = '';
  const r: Receiver = {
    count: 0,
    commit: [],
    insert: [],
    onData(chunk, seen) {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        r.count++;
        const created = field(line, 'opencdc.createdAt');
        if (created === undefined) continue;
        const commitMs = Number(created) / 1e6;
        if (commitMs < measureFrom()) continue;
        r.commit.push(seen - commitMs);
        const inserted = field(line, 'created');
        if (inserted !== undefined) r.insert.push(seen - timestampMs(inserted));
      }
    },
  };
  return r;
}

/** pg_recvlogical's output: pgoutput messages; the commit time is in each transaction's Begin (µs since 2000). */
function pgoutputReceiver(measureFrom: () => number): Receiver {
  let rest = Buffer.alloc(0);
  let commitMs = 0;
  const r: Receiver = {
    count: 0,
    commit: [],
    insert: [],
    onData(chunk, seen) {
      const b = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      let off = 0;
      for (;;) {
        const len = messageLength(b, off);
        if (len < 0 || off + len + 1 > b.length) break;
        const type = b[off];
        if (type === 0x42 /* B */) commitMs = Number(b.readBigInt64BE(off + 9)) / 1000 + 946_684_800_000;
        else if (type === 0x49 /* I */) {
          r.count++;
          if (commitMs >= measureFrom()) r.commit.push(seen - commitMs);
        }
        off += len + 1;
      }
      rest = Buffer.from(b.subarray(off));
    },
  };
  return r;
}

/** `"key":"value"` in a JSON line, without parsing it. */
function field(line: string, key: string): string | undefined {
  const tag = `"${key}":"`;
  const i = line.indexOf(tag);
  if (i < 0) return undefined;
  const from = i + tag.length;
  return line.slice(from, line.indexOf('"', from));
}

/** An RFC 3339 timestamp with up to microseconds, in milliseconds since the epoch. */
function timestampMs(s: string): number {
  const ms = Date.parse(s);
  const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
  return frac.length > 3 ? ms + Number(`0.${frac.slice(3)}`) : ms;
}

interface LatencyResult {
  arm: string;
  run: number;
  pgbenchTps: number;
  rowsInserted: number;
  received: number;
  measured: number;
  commitToFileMs: Percentiles;
  insertToFileMs?: Percentiles;
  peakRssMb?: number;
  cpuPercent?: number;
  serverCpuSeconds: number;
  /** pgbench and its backends. */
  pgbenchCpuSeconds: number;
  machineCpuSeconds: number;
  kernelCpuSeconds: number;
  otherCpuSeconds: number;
  busyBeforeCores: number;
  profile?: ProfileSummary;
}

async function latencyPhase(db: pg.Client, url: string, dir: string): Promise<Record<string, unknown>> {
  console.log(
    `\nlatency: ${LAT_RATE.toLocaleString('en')} single-row inserts/s for ${LAT_WARMUP} s (warm-up) + ${LAT_SECONDS} s ` +
      `(pgbench, ${LAT_CLIENTS} clients); pg_recvlogical, then the engine`,
  );
  const pub = `${PREFIX}lat`;
  await db.query(
    `CREATE TABLE bench_latency (id bigserial PRIMARY KEY, created timestamptz NOT NULL DEFAULT clock_timestamp(),
       account int NOT NULL DEFAULT 0, note text NOT NULL)`,
  );
  await db.query(`CREATE PUBLICATION ${pub} FOR TABLE bench_latency`);
  const script = join(dir, 'insert.sql');
  await writeFile(script, "INSERT INTO bench_latency (note) VALUES (repeat('x', 120));\n");
  const dbu = dbUrl(url, DB);
  const results: LatencyResult[] = [];

  for (let run = 0; run < RUNS * 2; run++) {
    const name = run % 2 === 0 ? 'pg_recvlogical' : 'engine';
    const slot = `${PREFIX}lat_${name === 'engine' ? 'e' : 'r'}`;
    let measureFrom = Number.POSITIVE_INFINITY;
    let consumer: Proc;
    let out: string;
    let rx: Receiver;
    if (name === 'engine') {
      out = join(dir, 'latency.jsonl');
      const pipeline = await pipelineFile(
        dir,
        'latency',
        {
          url: dbu,
          tables: 'bench_latency',
          snapshotMode: 'never',
          'logrepl.slotName': slot,
          'logrepl.publicationName': pub,
        },
        out,
      );
      consumer = startEngine(dir, pipeline, join(dir, `latency-${run}.db`), `latency-${run >> 1}`);
      rx = lineReceiver(() => measureFrom);
    } else {
      out = join(dir, 'latency.bin');
      execFileSync(bin('pg_recvlogical'), ['--create-slot', '-S', slot, '-P', 'pgoutput', '-d', dbu], {
        stdio: 'inherit',
      });
      consumer = start(
        bin('pg_recvlogical'),
        [
          '--start',
          '-S',
          slot,
          '-d',
          dbu,
          '-o',
          'proto_version=1',
          '-o',
          `publication_names=${pub}`,
          '-f',
          out,
          '--no-loop',
          // No fsync (its default is one every 10 s, which stalls its receive loop): the lowest-latency consumer.
          '-F',
          '0',
        ],
        join(dir, 'recvlogical.log'),
      );
      rx = pgoutputReceiver(() => measureFrom);
    }
    await waitSlotActive(db, slot, consumer);
    // No checkpoint of earlier phases may write behind this arm's commits.
    await db.query('CHECKPOINT');
    await tick(1000);
    const tailer = new Tailer(out, (chunk, seen) => rx.onData(chunk, seen));
    tailer.start();

    const before = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM bench_latency')).rows[0]?.n);
    const busyBefore = await quietMachine();
    const cpu = await new ArmCpu(db).start();
    cpu.track(consumer.pid);
    const cpu0 = cpuOf(consumer.pid);
    const wall0 = performance.now();
    measureFrom = performance.timeOrigin + performance.now() + LAT_WARMUP * 1000;
    const pgbenchOut = join(dir, `pgbench-${name}.out`);
    const outFd = openSync(pgbenchOut, 'w');
    const pb = start(
      bin('pgbench'),
      [
        '-n',
        '-f',
        script,
        '-c',
        String(LAT_CLIENTS),
        '-j',
        '2',
        '-R',
        String(LAT_RATE),
        '-T',
        String(LAT_WARMUP + LAT_SECONDS),
        dbUrl(url, DB, 'bench_pgbench'),
      ],
      join(dir, 'pgbench.log'),
      outFd,
    );
    cpu.track(pb.pid);
    closeSync(outFd);
    const code = await pb.exited;
    if (code !== 0) throw new Error(`pgbench exited with ${code}:\n${tail(pb.logFile)}`);
    const tps = Number(/tps = ([\d.]+)/.exec(readFileSync(pgbenchOut, 'utf8'))?.[1] ?? Number.NaN);
    const after = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM bench_latency')).rows[0]?.n);
    const rows = after - before;
    const deadline = performance.now() + 60_000;
    while (rx.count < rows && performance.now() < deadline && consumer.child.exitCode === null) await tick(10);
    const wallSeconds = (performance.now() - wall0) / 1000;
    const consumerCpu = cpuOf(consumer.pid) - cpu0;
    const cpuReport = await cpu.stop();
    const serverCpuSeconds = cpuReport.server;
    const peakRssMb = vmHwmMb(consumer.pid);
    tailer.stop();
    const stopCode = await stop(consumer);
    if (name === 'engine' && stopCode !== 0)
      console.log(`  engine exited with ${stopCode}:\n${tail(consumer.logFile)}`);
    const r: LatencyResult = {
      arm: name,
      run: run >> 1,
      pgbenchTps: round(tps, 1),
      rowsInserted: rows,
      received: rx.count,
      measured: rx.commit.length,
      commitToFileMs: percentiles(rx.commit),
      serverCpuSeconds,
      pgbenchCpuSeconds: round(cpuReport.load + cpuReport.clients - consumerCpu, 2),
      machineCpuSeconds: cpuReport.machine,
      kernelCpuSeconds: cpuReport.kernel,
      otherCpuSeconds: cpuReport.other,
      busyBeforeCores: busyBefore,
    };
    if (name === 'engine') {
      r.insertToFileMs = percentiles(rx.insert);
      r.peakRssMb = peakRssMb;
      r.cpuPercent = Math.round((consumerCpu / wallSeconds) * 100);
    }
    const c = r.commitToFileMs;
    console.log(
      `  ${name.padEnd(15)} run ${(run >> 1) + 1}: pgbench ${Math.round(tps).toLocaleString('en')} tps; received ${rx.count.toLocaleString('en')} of ` +
        `${rows.toLocaleString('en')}; commit → file: p50 ${c.p50} ms, p90 ${c.p90} ms, p99 ${c.p99} ms, max ${c.max} ms` +
        (name === 'engine' ? `; peak RSS ${peakRssMb} MB, ${r.cpuPercent}% of a core` : '') +
        `; CPU-s: server ${serverCpuSeconds}, pgbench ${r.pgbenchCpuSeconds}, kernel ${cpuReport.kernel}, other ${cpuReport.other}`,
    );
    noisy(cpuReport.other, wallSeconds);
    if (rx.count !== rows) console.log(`  !! ${name} received ${rx.count} of ${rows} rows`);
    if (name === 'engine') {
      const prof = profileOf(`latency-${run >> 1}`);
      if (prof !== undefined) r.profile = prof;
    }
    results.push(r);
    await dropSlot(db, slot);
    await rm(out, { force: true });
  }
  await db.query(`DROP PUBLICATION ${pub}`);
  await db.query('DROP TABLE bench_latency');
  return {
    offeredRate: LAT_RATE,
    clients: LAT_CLIENTS,
    warmupSeconds: LAT_WARMUP,
    seconds: LAT_SECONDS,
    results,
    summary: latencySummary(results),
  };
}

/** Medians over runs, per arm. */
function latencySummary(results: LatencyResult[]): Record<string, number> {
  const med = (arm: string, f: (r: LatencyResult) => number | undefined) =>
    median(results.filter((r) => r.arm === arm).map((r) => f(r) ?? Number.NaN));
  return {
    engineTps: med('engine', (r) => r.pgbenchTps),
    engineP50: med('engine', (r) => r.commitToFileMs.p50),
    engineP99: med('engine', (r) => r.commitToFileMs.p99),
    engineMax: med('engine', (r) => r.commitToFileMs.max),
    enginePeakRssMb: med('engine', (r) => r.peakRssMb),
    engineCpuPercent: med('engine', (r) => r.cpuPercent),
    baselineTps: med('pg_recvlogical', (r) => r.pgbenchTps),
    baselineP50: med('pg_recvlogical', (r) => r.commitToFileMs.p50),
    baselineP99: med('pg_recvlogical', (r) => r.commitToFileMs.p99),
    baselineMax: med('pg_recvlogical', (r) => r.commitToFileMs.max),
  };
}

function summary(results: ArmResult[], engine: string, baseline: string): Record<string, number> {
  const med = (name: string, f: (r: ArmResult) => number | undefined) =>
    median(results.filter((r) => r.arm === name).map((r) => f(r) ?? Number.NaN));
  const e = med(engine, (r) => r.recordsPerSecond);
  const b = med(baseline, (r) => r.recordsPerSecond);
  return {
    engineRecordsPerSecond: e,
    baselineRecordsPerSecond: b,
    ratio: round(e / b, 3),
    enginePeakRssMb: med(engine, (r) => r.peakRssMb),
    engineCpuSecondsPerMillion: med(engine, (r) => r.cpuSecondsPerMillion),
    engineServerCpuSeconds: med(engine, (r) => r.serverCpuSeconds),
    baselineServerCpuSeconds: med(baseline, (r) => r.serverCpuSeconds),
  };
}

// ── main ──────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  checkCli(CLI);
  const srv = server();
  let db: pg.Client | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'bench-postgres-'));
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) c.kill('SIGKILL');
    await db?.end().catch(() => {});
    await cleanupServer(srv.url).catch((err: unknown) => console.error('cleanup failed:', err));
    await rm(dir, { recursive: true, force: true });
    srv.stopAtEnd?.();
  };
  const onSignal = (): void => {
    console.error('\ninterrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const out: Record<string, unknown> = {};
  try {
    await cleanupServer(srv.url);
    const admin = await connectTo(dbUrl(srv.url, 'postgres'));
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.end();
    db = await connectTo(dbUrl(srv.url, DB));
    const info = await db.query<Record<string, string>>(
      `SELECT current_setting('server_version') AS version, current_setting('shared_buffers') AS shared_buffers,
              current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync,
              current_setting('max_slot_wal_keep_size') AS max_slot_wal_keep_size,
              current_setting('data_directory') AS data_directory`,
    );
    try {
      const pidFile = readFileSync(join(info.rows[0]?.data_directory ?? '', 'postmaster.pid'), 'utf8');
      postmasterPid = Number(pidFile.split('\n')[0]);
    } catch {
      console.log('(cannot read postmaster.pid: the server\'s auxiliary processes count as "other")');
    }
    const settings = {
      rows: ROWS,
      txRows: TX_ROWS,
      runs: RUNS,
      latencySeconds: LAT_SECONDS,
      latencyRate: LAT_RATE,
      latencyWarmup: LAT_WARMUP,
      latencyClients: LAT_CLIENTS,
      cli: CLI,
      v8Flags: V8_FLAGS,
      profiled: PROF_DIR !== undefined,
    };
    console.log(`postgres ${info.rows[0]?.version}, ${JSON.stringify(settings)}`);
    Object.assign(out, { machine: machine(CLI), server: info.rows[0], settings });
    if (PHASES.includes('snapshot')) out.snapshot = await snapshotPhase(db, srv.url, dir);
    if (PHASES.includes('cdc')) out.cdc = await cdcPhase(db, srv.url, dir);
    if (PHASES.includes('latency')) out.latency = await latencyPhase(db, srv.url, dir);
  } finally {
    await cleanup();
  }

  console.log('\n| phase | engine | baseline | ratio | engine peak RSS | engine CPU-s per million | goal |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  for (const [phase, base, goal] of [
    ['snapshot', 'psql COPY', '≥ 300,000 rec/s'],
    ['cdc', 'pg_recvlogical', '≥ 50% of pg_recvlogical'],
  ] as const) {
    const s = (out[phase] as { summary: Record<string, number> } | undefined)?.summary;
    if (s === undefined) continue;
    console.log(
      `| ${phase} | ${fmt(s.engineRecordsPerSecond ?? 0)} rec/s | ${fmt(s.baselineRecordsPerSecond ?? 0)} rec/s (${base}) | ` +
        `${Math.round((s.ratio ?? 0) * 100)}% | ${s.enginePeakRssMb} MB | ${s.engineCpuSecondsPerMillion} | ${goal} |`,
    );
  }
  const ls = (out.latency as { summary: Record<string, number> } | undefined)?.summary;
  if (ls !== undefined) {
    console.log(
      `| latency @ ${fmt(ls.engineTps ?? 0)} rows/s | p50 ${ls.engineP50} ms, p99 ${ls.engineP99} ms, max ${ls.engineMax} ms | ` +
        `p50 ${ls.baselineP50} ms, p99 ${ls.baselineP99} ms, max ${ls.baselineMax} ms (pg_recvlogical) | | ` +
        `${ls.enginePeakRssMb} MB | | p99 < 100 ms |`,
    );
  }
  if (SAVE) console.log(`\nraw results: ${saveResults('postgres', out)}`);
}

await main();
