/**
 * The s3 connector, counted at the destination, each phase against a plain AWS SDK loop run in the
 * same invocation against the same server (a moto of the bench's own, see bench/s3/server.ts):
 *
 *   json, parquet  generator → s3 (N records of ~1 KB, `format: json` or `parquet`) by `conduit run`
 *                  (the built CLI, default settings), against bench/s3/raw-upload.ts: the SDK putting
 *                  objects of the same sizes as the engine's objects of that run, one after the
 *                  other. The bucket is listed every --poll-ms (ListObjectsV2 after the last key seen)
 *                  and each object stamped when first listed; both arms are timed from the first
 *                  object listed to the object that holds the N-th record. The records are then
 *                  counted in the objects themselves (lines, or the Parquet footer's row count): they
 *                  must be exactly N.
 *   download       s3 → file over --objects small objects (--object-bytes each, made once), by
 *                  `conduit run`, against bench/s3/raw-download.ts: the SDK listing them and getting
 *                  them one after the other, each written to a file as one line. Both timed from the
 *                  first byte in the output file to its N-th line.
 *
 * Runs alternate (engine then plain loop for the uploads, since the loop replays the engine's object
 * sizes; plain loop then engine for the download). Every arm starts once the machine has been idle for
 * a second, and reports records/s, the CPU-seconds of its consumer, of the server (moto), of kernel
 * threads and of everything else ("other": a test suite run meanwhile; the arm is flagged), and the
 * peak RSS (VmHWM) of the consumer. Raw results go to bench/results/s3-<time>.json.
 *
 * Usage: node --import tsx bench/s3.bench.ts [--records 200000] [--objects 10000] [--object-bytes 1024]
 *          [--runs 1] [--phases json,parquet,download] [--poll-ms 100] [--dest-settings k=v,k=v]
 *          [--source-settings k=v,k=v]
 *          [--cpu-prof-dir DIR] [--cli bin/conduit.js] [--no-save]
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parquetMetadata } from 'hyparquet';
import type { ProfileSummary } from './postgres/cpuprofile-top.js';
import {
  checkCli,
  children,
  cliFlags,
  countLines,
  cpuOf,
  CpuMeter,
  linesIn,
  machine,
  median,
  noisy,
  pipelineFile,
  profileOf,
  quietMachine,
  root,
  round,
  saveResults,
  start,
  startEngine,
  stop,
  tail,
  tick,
  V8_FLAGS,
  vmHwmMb,
  type GroupCpuReport,
  type Proc,
  type Timing,
} from './lib/harness.js';
import {
  clientFromEnv,
  createBucket,
  dropBucket,
  listAll,
  serverEnv,
  startServer,
  type Listed,
  type S3Server,
} from './s3/server.js';

const { flag, num, has } = cliFlags(process.argv.slice(2));
const RECORDS = num('records', 200_000);
const OBJECTS = num('objects', 10_000);
const OBJECT_BYTES = num('object-bytes', 1024);
const RUNS = num('runs', 1);
const POLL_MS = num('poll-ms', 100);
const PHASES = (flag('phases') ?? 'json,parquet,download').split(',');
const PROF_DIR = flag('cpu-prof-dir') === undefined ? undefined : resolve(flag('cpu-prof-dir') as string);
const CLI = resolve(flag('cli') ?? join(root, 'bin/conduit.js'));
const SAVE = !has('no-save');
const keyValues = (text: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (text ?? '')
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
/** Extra settings of the engine's s3 destination (e.g. sdk.batch.delay=1s,sdk.batch.size=4000). */
const DEST_SETTINGS = keyValues(flag('dest-settings'));
/** Extra settings of the engine's source in the upload phases, the generator (e.g. sdk.batch.size=500). */
const SOURCE_SETTINGS = keyValues(flag('source-settings'));

/** ~1 KB structured payloads (5 fields and 52 strings), as bench/engine.bench.ts's 1 KB records. */
const RECORD_1KB: Record<string, string> = {
  'format.type': 'structured',
  'format.options.id': 'int',
  'format.options.name': 'string',
  'format.options.email': 'string',
  'format.options.active': 'bool',
  'format.options.joined': 'time',
};
for (let i = 0; i < 52; i++) RECORD_1KB[`format.options.field_${String(i).padStart(2, '0')}`] = 'string';

const CONTENT_TYPES = { json: 'application/x-ndjson', parquet: 'application/vnd.apache.parquet' } as const;

// ── results ───────────────────────────────────────────────────────────────────

interface ArmResult {
  arm: 'engine' | 'sdk loop';
  run: number;
  records: number;
  /** From the first object listed (upload) or first byte in the file (download) to the N-th record. */
  seconds: number;
  recordsPerSecond: number;
  /** Object bytes stored or fetched per second. */
  megabytesPerSecond: number;
  /** From starting the process to the N-th record. */
  secondsFromSpawn: number;
  objects: number;
  meanObjectBytes: number;
  peakRssMb: number;
  /** CPU-seconds of the consumer process (the engine, or the SDK loop), start-up included. */
  cpuSeconds: number;
  cpuSecondsPerMillion: number;
  /** moto during the arm. */
  serverCpuSeconds: number;
  kernelCpuSeconds: number;
  machineCpuSeconds: number;
  benchCpuSeconds: number;
  /** Machine CPU none of the above used: other processes. Large means a noisy measurement. */
  otherCpuSeconds: number;
  busyBeforeCores: number;
  /** The time over which the CPU-seconds above were counted. */
  cpuWindowSeconds: number;
  /** Records counted at the destination when the arm ended (must equal records). */
  counted: number;
  profile?: ProfileSummary;
}

function armResult(
  arm: ArmResult['arm'],
  run: number,
  records: number,
  t: Timing,
  spawnedAt: number,
  objects: number,
  objectBytes: number,
  consumer: { peakRssMb: number; cpuSeconds: number },
  cpu: GroupCpuReport & { window: number },
  busyBeforeCores: number,
  counted: number,
): ArmResult {
  const seconds = (t.last - t.first) / 1000;
  return {
    arm,
    run,
    records,
    seconds: round(seconds, 3),
    recordsPerSecond: Math.round(records / seconds),
    megabytesPerSecond: round(objectBytes / seconds / 1e6, 1),
    secondsFromSpawn: round((t.last - spawnedAt) / 1000, 3),
    objects,
    meanObjectBytes: Math.round(objectBytes / Math.max(1, objects)),
    peakRssMb: consumer.peakRssMb,
    cpuSeconds: round(consumer.cpuSeconds, 2),
    cpuSecondsPerMillion: round((consumer.cpuSeconds / records) * 1e6, 2),
    serverCpuSeconds: cpu.groups['server'] ?? 0,
    kernelCpuSeconds: cpu.kernel,
    machineCpuSeconds: cpu.machine,
    benchCpuSeconds: cpu.bench,
    otherCpuSeconds: cpu.other,
    busyBeforeCores,
    cpuWindowSeconds: round(cpu.window, 2),
    counted,
  };
}

function show(phase: string, r: ArmResult): void {
  console.log(
    `  ${phase} ${r.arm.padEnd(8)} run ${r.run + 1}: ${r.recordsPerSecond.toLocaleString('en')} rec/s, ` +
      `${r.megabytesPerSecond} MB/s (${r.records.toLocaleString('en')} in ${r.seconds} s; ${r.secondsFromSpawn} s from spawn; ` +
      `${r.objects.toLocaleString('en')} objects of ${r.meanObjectBytes.toLocaleString('en')} B), peak RSS ${r.peakRssMb} MB, ` +
      `${r.cpuSecondsPerMillion} CPU-s per million; CPU-s: consumer ${r.cpuSeconds}, server ${r.serverCpuSeconds}, ` +
      `kernel ${r.kernelCpuSeconds}, bench ${r.benchCpuSeconds}, other ${r.otherCpuSeconds}`,
  );
  if (r.counted !== r.records) console.log(`  !! ${r.counted} records at the destination, not ${r.records}`);
  noisy(r.otherCpuSeconds, r.cpuWindowSeconds);
}

function summary(results: ArmResult[]): Record<string, number> {
  const med = (arm: string, f: (r: ArmResult) => number) =>
    median(results.filter((r) => r.arm === arm).map((r) => f(r)));
  const e = med('engine', (r) => r.recordsPerSecond);
  const b = med('sdk loop', (r) => r.recordsPerSecond);
  return {
    engineRecordsPerSecond: e,
    baselineRecordsPerSecond: b,
    ratio: round(e / b, 3),
    enginePeakRssMb: med('engine', (r) => r.peakRssMb),
    baselinePeakRssMb: med('sdk loop', (r) => r.peakRssMb),
    engineCpuSecondsPerMillion: med('engine', (r) => r.cpuSecondsPerMillion),
    baselineCpuSecondsPerMillion: med('sdk loop', (r) => r.cpuSecondsPerMillion),
    engineServerCpuSeconds: med('engine', (r) => r.serverCpuSeconds),
    baselineServerCpuSeconds: med('sdk loop', (r) => r.serverCpuSeconds),
    engineMeanObjectBytes: med('engine', (r) => r.meanObjectBytes),
  };
}

/** A CpuMeter that also tells the time it measured over. */
function armMeter(): { track: CpuMeter['track']; stop: () => GroupCpuReport & { window: number } } {
  const m = new CpuMeter().start();
  const t0 = performance.now();
  return {
    track: (group, pid, fromZero) => m.track(group, pid, fromZero),
    stop: () => ({ ...m.stop(), window: (performance.now() - t0) / 1000 }),
  };
}

// ── watching a bucket ─────────────────────────────────────────────────────────

interface Seen extends Listed {
  /** performance.now() when a listing first showed it. */
  at: number;
}

/** Lists the bucket every POLL_MS (after the last key seen: names sort in the order written). */
class Watcher {
  readonly seen: Seen[] = [];
  lastChange = performance.now();
  private running = true;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  start(): this {
    this.loop = (async () => {
      while (this.running) {
        await this.poll();
        await tick(POLL_MS);
      }
    })();
    return this;
  }

  /** Stops polling after one last listing. */
  async stop(): Promise<Seen[]> {
    this.running = false;
    await this.loop;
    await this.poll();
    return this.seen;
  }

  private async poll(): Promise<void> {
    const after = this.seen.at(-1)?.key ?? '';
    const found = await listAll(this.s3, this.bucket, this.prefix, after);
    const at = performance.now();
    for (const o of found) this.seen.push({ ...o, at });
    if (found.length > 0) this.lastChange = at;
  }
}

/** Records in one object the engine wrote: lines (json) or the Parquet footer's row count. */
async function recordsIn(s3: S3Client, bucket: string, key: string, format: 'json' | 'parquet'): Promise<number> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
  if (format === 'parquet') {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    return Number(parquetMetadata(ab).num_rows);
  }
  let n = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/** The timing of an upload arm: from the first object listed to the one that holds the N-th record. */
function uploadTiming(seen: Seen[], counts: number[], want: number): Timing & { objects: number } {
  let total = 0;
  let bytes = 0;
  for (let i = 0; i < seen.length; i++) {
    total += counts[i] ?? 0;
    bytes += seen[i]?.size ?? 0;
    if (total >= want) return { first: seen[0]?.at ?? 0, last: seen[i]?.at ?? 0, bytes, objects: i + 1 };
  }
  throw new Error(`the objects hold ${total} records, not ${want}`);
}

// ── phases ────────────────────────────────────────────────────────────────────

async function uploadPhase(
  srv: S3Server,
  s3: S3Client,
  dir: string,
  format: 'json' | 'parquet',
): Promise<Record<string, unknown>> {
  console.log(
    `\n${format}: generator → s3, ${RECORDS.toLocaleString('en')} records of ~1 KB` +
      (Object.keys(DEST_SETTINGS).length > 0 ? `; destination ${JSON.stringify(DEST_SETTINGS)}` : '') +
      (Object.keys(SOURCE_SETTINGS).length > 0 ? `; source ${JSON.stringify(SOURCE_SETTINGS)}` : ''),
  );
  const results: ArmResult[] = [];
  const stamp = Date.now().toString(36);
  for (let run = 0; run < RUNS; run++) {
    // Engine.
    let sizes: number[];
    {
      const bucket = `bench-${format}-${stamp}-${run}-e`;
      await createBucket(s3, bucket);
      const pipeline = await pipelineFile(
        dir,
        `${format}-${run}`,
        { plugin: 'generator', settings: { ...RECORD_1KB, ...SOURCE_SETTINGS, recordCount: String(RECORDS) } },
        {
          plugin: 's3',
          settings: {
            'aws.accessKeyId': srv.accessKeyId,
            'aws.secretAccessKey': srv.secretAccessKey,
            'aws.region': srv.region,
            'aws.bucket': bucket,
            'aws.url': srv.endpoint,
            'aws.forcePathStyle': 'true',
            format,
            prefix: 'out/',
            ...DEST_SETTINGS,
          },
        },
      );
      const busyBefore = await quietMachine();
      const meter = armMeter();
      meter.track('server', srv.pid);
      const t = performance.now();
      const e = startEngine({
        cli: CLI,
        dir,
        pipeline,
        state: join(dir, `${format}-${run}.db`),
        profDir: PROF_DIR,
        profName: `${format}-${run}`,
      });
      meter.track('consumer', e.pid, true);
      const watcher = new Watcher(s3, bucket, 'out/').start();
      await untilIdle(e, watcher, Math.max(120_000, RECORDS / 100));
      const consumer = { peakRssMb: vmHwmMb(e.pid), cpuSeconds: cpuOf(e.pid) };
      const cpu = meter.stop();
      const seen = await watcher.stop();
      const code = await stop(e);
      if (code !== 0) console.log(`  engine exited with ${code}:\n${tail(e.logFile)}`);
      const counts: number[] = [];
      for (const o of seen) counts.push(await recordsIn(s3, bucket, o.key, format));
      const counted = counts.reduce((a, b) => a + b, 0);
      const timing = uploadTiming(seen, counts, Math.min(RECORDS, counted));
      const r = armResult(
        'engine',
        run,
        RECORDS,
        timing,
        t,
        timing.objects,
        timing.bytes,
        consumer,
        cpu,
        busyBefore,
        counted,
      );
      show(format, r);
      const prof = profileOf(PROF_DIR, `${format}-${run}`);
      if (prof !== undefined) r.profile = prof;
      results.push(r);
      sizes = seen.map((o) => o.size);
      await dropBucket(s3, bucket);
    }
    // The SDK in a plain loop, the same object sizes.
    {
      const bucket = `bench-${format}-${stamp}-${run}-r`;
      await createBucket(s3, bucket);
      const sizesFile = join(dir, `sizes-${format}-${run}.json`);
      writeFileSync(sizesFile, JSON.stringify(sizes));
      const busyBefore = await quietMachine();
      const meter = armMeter();
      meter.track('server', srv.pid);
      const t = performance.now();
      const p = startChild(
        dir,
        'raw-upload',
        [join(root, 'bench/s3/raw-upload.ts'), bucket, 'out/', sizesFile, CONTENT_TYPES[format]],
        srv,
      );
      meter.track('consumer', p.proc.pid, true);
      const watcher = new Watcher(s3, bucket, 'out/').start();
      const code = await p.proc.exited;
      const cpu = meter.stop();
      const seen = await watcher.stop();
      if (code !== 0) throw new Error(`raw-upload exited with ${code}:\n${tail(p.proc.logFile)}`);
      const report = p.report();
      const timing: Timing = { first: seen[0]?.at ?? 0, last: seen.at(-1)?.at ?? 0, bytes: report.bytes };
      // The same objects as the engine's: they hold the same N records.
      const counted = seen.length === sizes.length ? RECORDS : 0;
      const r = armResult(
        'sdk loop',
        run,
        RECORDS,
        timing,
        t,
        seen.length,
        report.bytes,
        { peakRssMb: Math.round(report.maxRssKb / 1024), cpuSeconds: report.cpuUs / 1e6 },
        cpu,
        busyBefore,
        counted,
      );
      show(format, r);
      results.push(r);
      await dropBucket(s3, bucket);
    }
  }
  return {
    records: RECORDS,
    destinationSettings: DEST_SETTINGS,
    sourceSettings: SOURCE_SETTINGS,
    results,
    summary: summary(results),
  };
}

/**
 * Waits until the engine is done writing: no new object for 2 s and the engine idle (under 3% of a
 * core) over the last second. Fails when the engine exits or `timeoutMs` passes.
 */
async function untilIdle(e: Proc, w: Watcher, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let cpu = cpuOf(e.pid);
  for (;;) {
    await tick(1000);
    if (e.child.exitCode !== null) throw new Error(`the engine exited:\n${tail(e.logFile)}`);
    const now = cpuOf(e.pid);
    const idle = now - cpu < 0.03;
    cpu = now;
    if (idle && w.seen.length > 0 && performance.now() - w.lastChange > 2000) return;
    if (performance.now() > deadline) throw new Error(`the engine did not finish in ${timeoutMs} ms`);
  }
}

async function downloadPhase(srv: S3Server, s3: S3Client, dir: string): Promise<Record<string, unknown>> {
  const bucket = `bench-download-${Date.now().toString(36)}`;
  console.log(
    `\ndownload: s3 → file, ${OBJECTS.toLocaleString('en')} objects of ${OBJECT_BYTES.toLocaleString('en')} B; storing them …`,
  );
  const t0 = performance.now();
  await createBucket(s3, bucket);
  const filler = 'x'.repeat(OBJECT_BYTES);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < OBJECTS; i = next++) {
        const key = `obj/${String(i).padStart(7, '0')}`;
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key} ${filler}`.slice(0, OBJECT_BYTES) }),
        );
      }
    }),
  );
  // The snapshot takes the objects last modified a second before its first listing: let that pass.
  await tick(2500);
  console.log(`  stored in ${round((performance.now() - t0) / 1000, 1)} s`);

  const results: ArmResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    // The SDK in a plain loop.
    {
      const out = join(dir, `download-raw-${run}.txt`);
      closeSync(openSync(out, 'w'));
      const busyBefore = await quietMachine();
      const meter = armMeter();
      meter.track('server', srv.pid);
      const t = performance.now();
      const p = startChild(dir, 'raw-download', [join(root, 'bench/s3/raw-download.ts'), bucket, 'obj/', out], srv);
      meter.track('consumer', p.proc.pid, true);
      const timing = await countLines(out, OBJECTS, () => p.proc.child.exitCode === null);
      const code = await p.proc.exited;
      const cpu = meter.stop();
      if (code !== 0) throw new Error(`raw-download exited with ${code}:\n${tail(p.proc.logFile)}`);
      const report = p.report();
      const r = armResult(
        'sdk loop',
        run,
        OBJECTS,
        timing,
        t,
        report.objects,
        report.bytes,
        { peakRssMb: Math.round(report.maxRssKb / 1024), cpuSeconds: report.cpuUs / 1e6 },
        cpu,
        busyBefore,
        linesIn(out),
      );
      show('download', r);
      results.push(r);
      await rm(out, { force: true });
    }
    // Engine.
    {
      const out = join(dir, `download-${run}.jsonl`);
      const pipeline = await pipelineFile(
        dir,
        `download-${run}`,
        {
          plugin: 's3',
          settings: {
            'aws.accessKeyId': srv.accessKeyId,
            'aws.secretAccessKey': srv.secretAccessKey,
            'aws.region': srv.region,
            'aws.bucket': bucket,
            'aws.url': srv.endpoint,
            'aws.forcePathStyle': 'true',
            prefix: 'obj/',
          },
        },
        { plugin: 'file', settings: { path: out } },
      );
      const busyBefore = await quietMachine();
      const meter = armMeter();
      meter.track('server', srv.pid);
      const t = performance.now();
      const e = startEngine({
        cli: CLI,
        dir,
        pipeline,
        state: join(dir, `download-${run}.db`),
        profDir: PROF_DIR,
        profName: `download-${run}`,
      });
      meter.track('consumer', e.pid, true);
      const timing = await countLines(out, OBJECTS, () => e.child.exitCode === null);
      const consumer = { peakRssMb: vmHwmMb(e.pid), cpuSeconds: cpuOf(e.pid) };
      const cpu = meter.stop();
      const code = await stop(e);
      if (code !== 0) console.log(`  engine exited with ${code}:\n${tail(e.logFile)}`);
      const r = armResult(
        'engine',
        run,
        OBJECTS,
        timing,
        t,
        OBJECTS,
        OBJECTS * OBJECT_BYTES,
        consumer,
        cpu,
        busyBefore,
        linesIn(out),
      );
      show('download', r);
      const prof = profileOf(PROF_DIR, `download-${run}`);
      if (prof !== undefined) r.profile = prof;
      results.push(r);
      await rm(out, { force: true });
    }
  }
  await dropBucket(s3, bucket);
  return { objects: OBJECTS, objectBytes: OBJECT_BYTES, results, summary: summary(results) };
}

interface ChildReport {
  objects: number;
  bytes: number;
  maxRssKb: number;
  cpuUs: number;
}

/** Starts one of the plain SDK loops (bench/s3/raw-*.ts) with the bin's V8 flags; its report is its last stdout line. */
function startChild(
  dir: string,
  name: string,
  argv: string[],
  srv: S3Server,
): { proc: Proc; report: () => ChildReport } {
  const stdout = join(dir, `${name}.out`);
  const fd = openSync(stdout, 'w');
  const saved = process.env;
  process.env = serverEnv(srv);
  let proc: Proc;
  try {
    proc = start(process.execPath, [...V8_FLAGS, '--import', 'tsx', ...argv], join(dir, `${name}.log`), fd);
  } finally {
    process.env = saved;
    closeSync(fd);
  }
  return {
    proc,
    report: () => {
      const text = tail(stdout, 1);
      try {
        return JSON.parse(text) as ChildReport;
      } catch {
        throw new Error(`${name} printed no report: ${text}\n${tail(proc.logFile)}`);
      }
    },
  };
}

// ── main ──────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  checkCli(CLI);
  const srv = startServer();
  const s3 = clientFromEnv(serverEnv(srv));
  const dir = await mkdtemp(join(tmpdir(), 'bench-s3-'));
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) c.kill('SIGKILL');
    s3.destroy();
    await rm(dir, { recursive: true, force: true });
    srv.stop();
  };
  const onSignal = (): void => {
    console.error('\ninterrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const settings = {
    records: RECORDS,
    objects: OBJECTS,
    objectBytes: OBJECT_BYTES,
    runs: RUNS,
    pollMs: POLL_MS,
    destinationSettings: DEST_SETTINGS,
    sourceSettings: SOURCE_SETTINGS,
    cli: CLI,
    v8Flags: V8_FLAGS,
    profiled: PROF_DIR !== undefined,
  };
  console.log(`moto at ${srv.endpoint} (pid ${srv.pid}), ${JSON.stringify(settings)}`);
  const out: Record<string, unknown> = { machine: machine(), server: 'moto 5.2.5', settings };
  try {
    if (PHASES.includes('json')) out.json = await uploadPhase(srv, s3, dir, 'json');
    if (PHASES.includes('parquet')) out.parquet = await uploadPhase(srv, s3, dir, 'parquet');
    if (PHASES.includes('download')) out.download = await downloadPhase(srv, s3, dir);
  } finally {
    await cleanup();
  }

  console.log(
    '\n| phase | engine | plain SDK loop | ratio | engine peak RSS | engine CPU-s per million | engine objects | goal |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const fmt = (n: number | undefined) => Math.round(n ?? 0).toLocaleString('en');
  for (const [phase, label] of [
    ['json', 'generator → s3 (json)'],
    ['parquet', 'generator → s3 (parquet)'],
    ['download', `s3 → file (${OBJECTS.toLocaleString('en')} objects)`],
  ] as const) {
    const s = (out[phase] as { summary: Record<string, number> } | undefined)?.summary;
    if (s === undefined) continue;
    console.log(
      `| ${label} | ${fmt(s.engineRecordsPerSecond)} rec/s | ${fmt(s.baselineRecordsPerSecond)} rec/s | ` +
        `${Math.round((s.ratio ?? 0) * 100)}% | ${s.enginePeakRssMb} MB | ${s.engineCpuSecondsPerMillion} | ` +
        `${fmt(s.engineMeanObjectBytes)} B mean | ≥ 70% |`,
    );
  }
  if (SAVE) console.log(`\nraw results: ${saveResults('s3', out)}`);
}

await main();
