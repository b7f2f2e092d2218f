/**
 * The kafka connector, counted at the destination, each phase against Kafka's
 * own performance tool run in the same invocation:
 *
 *   produce  `conduit run` with a generator → kafka pipeline (recordCount N,
 *            the destination's defaults but the compression) against
 *            ProducerPerformance sending N values of the same bytes (a payload
 *            file of records formatted as the destination formats them),
 *            acks=all, idempotent, the same compression. Counted at the
 *            broker: the topic's end offsets, polled every 20 ms; timed from
 *            the first message to the N-th.
 *   consume  `conduit run` with a kafka (no group, from the beginning) → file
 *            pipeline, counted in the file (lines) and timed from its first
 *            byte to the N-th line, against ConsumerPerformance reading the
 *            same topic (a fresh group; its own count and fetch time, which
 *            leaves out its start-up and group join). The topic is the one the
 *            last engine arm of `produce` wrote (or one ProducerPerformance
 *            fills when that phase is not run).
 *
 * Every topic is fresh, with --partitions partitions. Every arm reports the
 * CPU-seconds (from /proc) of its client (the engine or the JVM tool), of the
 * broker, of kernel threads, and of everything else on the machine ("other":
 * on a shared 2-core machine a test suite run meanwhile shows up there, and
 * the arm is flagged as not clean), and its client's peak RSS (VmHWM). Each arm
 * starts when the machine has been idle for a second (or after --quiet-wait s).
 *
 * The broker is the bench's own (scripts/servers/kafka.sh with a private state
 * folder, .cache/bench-kafka), started at the beginning and removed at the end
 * (also on Ctrl-C).
 *
 * Usage: node --import tsx bench/kafka.bench.ts [--records 1000000] [--runs 1] [--partitions 3]
 *          [--payload large|small] [--compression none] [--phases produce,consume]
 *          [--cpu-prof-dir DIR] [--cli bin/conduit.js] [--compare-cli DIR/bin/conduit.js] [--quiet-wait 120]
 *          [--no-save]
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { OffsetProbe, startBroker, topicBytes, type Broker } from './kafka/broker.js';
import { writePayloadFile, type PayloadSample } from './kafka/payloads.js';
import {
  checkCli,
  children,
  cliFlags,
  countLines,
  CpuMeter,
  cpuOf,
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
  vmHwmMb,
  type GroupCpuReport,
  type Proc,
} from './lib/harness.js';
import type { ProfileSummary } from './postgres/cpuprofile-top.js';

const { flag, num, has } = cliFlags(process.argv.slice(2));
const RECORDS = num('records', 1_000_000);
const RUNS = num('runs', 1);
const PARTITIONS = num('partitions', 3);
const PAYLOAD = flag('payload') ?? 'large'; // the 1 KB records
const COMPRESSION = flag('compression') ?? 'none';
const PHASES = (flag('phases') ?? 'produce,consume').split(',');
const PROF_DIR = flag('cpu-prof-dir') === undefined ? undefined : resolve(flag('cpu-prof-dir') as string);
const CLI = resolve(flag('cli') ?? join(root, 'bin/conduit.js'));
/** Another build of the CLI, measured as a further arm of every run (before/after a change). */
const COMPARE = flag('compare-cli') === undefined ? undefined : resolve(flag('compare-cli') as string);
const ENGINES: ReadonlyArray<readonly [string, string]> = [
  ['engine', CLI],
  ...(COMPARE === undefined ? [] : [['engine (compare)', COMPARE] as const]),
];
const QUIET_WAIT_MS = num('quiet-wait', 120) * 1000;
const SAVE = !has('no-save');

/** ~100-byte and ~1-KB structured payloads, as bench/engine.bench.ts generates them. */
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
const GENERATOR = PAYLOAD === 'large' ? LARGE : SMALL;

/** The JVM options Kafka's perf-test scripts run the tools with (kafka-run-class.sh, -Xmx512M). */
const TOOL_JVM = [
  '-Xmx512M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];

interface ArmResult {
  arm: string;
  run: number;
  records: number;
  /** From the first record at the destination to the N-th (ConsumerPerformance: its fetch time). */
  seconds: number;
  recordsPerSecond: number;
  /** From starting the process to the N-th record (JVM or engine start-up included). */
  secondsFromSpawn: number;
  /** Produce: bytes of the topic's log segments per message; consume: bytes per line of the file. */
  bytesPerRecord: number;
  peakRssMb: number;
  /** The client (engine or tool): CPU-seconds from its start to the N-th record, and per million records. */
  clientCpuSeconds: number;
  cpuSecondsPerMillion: number;
  brokerCpuSeconds: number;
  machineCpuSeconds: number;
  stealSeconds: number;
  kernelCpuSeconds: number;
  /** Machine CPU-seconds used by none of the client, the broker, kernel threads and this bench. */
  otherCpuSeconds: number;
  /** Cores busy in the second before the arm started. */
  busyBeforeCores: number;
  /** Other processes used more than a tenth of a core during the arm. */
  notClean: boolean;
  /** Messages in the topic (produce) or lines in the file (consume) once the client stopped: must equal records. */
  finalCount?: number;
  /** What the tool says of itself. */
  tool?: Record<string, number>;
  profile?: ProfileSummary;
}

function arm(
  name: string,
  run: number,
  t: { first: number; last: number },
  spawnedAt: number,
  bytesPerRecord: number,
  peakRssMb: number,
  clientCpu: number,
  cpu: GroupCpuReport,
  busyBeforeCores: number,
): ArmResult {
  const seconds = (t.last - t.first) / 1000;
  const secondsFromSpawn = (t.last - spawnedAt) / 1000;
  return {
    arm: name,
    run,
    records: RECORDS,
    seconds: round(seconds, 3),
    recordsPerSecond: Math.round(RECORDS / seconds),
    secondsFromSpawn: round(secondsFromSpawn, 3),
    bytesPerRecord: Math.round(bytesPerRecord),
    peakRssMb,
    clientCpuSeconds: round(clientCpu, 2),
    cpuSecondsPerMillion: round((clientCpu / RECORDS) * 1e6, 2),
    brokerCpuSeconds: cpu.groups.broker ?? 0,
    machineCpuSeconds: cpu.machine,
    stealSeconds: cpu.steal,
    kernelCpuSeconds: cpu.kernel,
    otherCpuSeconds: cpu.other,
    busyBeforeCores,
    notClean: noisy(cpu.other, secondsFromSpawn),
  };
}

function show(r: ArmResult): void {
  console.log(
    `  ${r.arm.padEnd(22)} run ${r.run + 1}: ${r.recordsPerSecond.toLocaleString('en')} rec/s ` +
      `(${r.records.toLocaleString('en')} in ${r.seconds} s; ${r.secondsFromSpawn} s from spawn), ` +
      `${r.bytesPerRecord} B/record, peak RSS ${r.peakRssMb} MB, ${r.cpuSecondsPerMillion} CPU-s per million; ` +
      `CPU-s: client ${r.clientCpuSeconds}, broker ${r.brokerCpuSeconds}, kernel ${r.kernelCpuSeconds}, ` +
      `other ${r.otherCpuSeconds}`,
  );
}

/** Samples a process's VmHWM until it exits; `peak()` is the last value read. */
function watchHwm(pid: number): { peak: () => number; stop: () => void } {
  let peak = 0;
  const read = () => {
    try {
      peak = Math.max(peak, vmHwmMb(pid));
    } catch {
      // exited
    }
  };
  read();
  const timer = setInterval(read, 50);
  return {
    peak: () => (read(), peak),
    stop: () => clearInterval(timer),
  };
}

function tool(broker: Broker, main: string, argv: string[], logFile: string, stdout?: number): Proc {
  return start(
    'java',
    [...TOOL_JVM, '-cp', `${broker.libs}/*`, `org.apache.kafka.tools.${main}`, ...argv],
    logFile,
    stdout,
  );
}

/** Runs `fn` once the machine is quiet, with a CPU meter that counts the broker. */
async function measured<T>(broker: Broker, fn: (cpu: CpuMeter, busyBefore: number) => Promise<T>): Promise<T> {
  const busyBefore = await quietMachine(QUIET_WAIT_MS);
  const cpu = new CpuMeter().start();
  cpu.track('broker', broker.pid);
  return fn(cpu, busyBefore);
}

// ── produce ───────────────────────────────────────────────────────────────────

interface Ctx {
  broker: Broker;
  admin: Admin;
  probe: OffsetProbe;
  dir: string;
  payloadFile: string;
  sample: PayloadSample;
}

async function freshTopic(c: Ctx, name: string): Promise<string> {
  const topic = `${name}-${Date.now().toString(36)}`;
  await c.admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  return topic;
}

/** ProducerPerformance's last line: "N records sent, X records/sec (Y MB/sec), Z ms avg latency, …". */
function parseProducerPerformance(out: string): Record<string, number> {
  const m =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?/.exec(
      out
        .split('\n')
        .filter((l) => l.includes('records sent'))
        .pop() ?? '',
    );
  if (m === null) return {};
  const n = (i: number) => Number(m[i] ?? Number.NaN);
  return {
    records: n(1),
    recordsPerSecond: n(2),
    mbPerSecond: n(3),
    avgLatencyMs: n(4),
    maxLatencyMs: n(5),
    p50LatencyMs: n(6),
    p99LatencyMs: n(8),
  };
}

function producerPerformance(c: Ctx, topic: string, logName: string): Proc & { out: string } {
  const out = join(c.dir, `${logName}.out`);
  const fd = openSync(out, 'w');
  const p = tool(
    c.broker,
    'ProducerPerformance',
    [
      '--bootstrap-server',
      c.broker.servers,
      '--topic',
      topic,
      '--num-records',
      String(RECORDS),
      '--throughput',
      '-1',
      '--payload-file',
      c.payloadFile,
      '--producer-props',
      'acks=all',
      'enable.idempotence=true',
      `compression.type=${COMPRESSION}`,
    ],
    join(c.dir, 'tools.log'),
    fd,
  );
  closeSync(fd);
  return { ...p, out };
}

async function producePhase(c: Ctx): Promise<{ result: Record<string, unknown>; keep: string | undefined }> {
  console.log(
    `\nproduce: ${RECORDS.toLocaleString('en')} records of ${c.sample.valueBytes} B (key ${c.sample.keyBytes} B), ` +
      `${PARTITIONS} partitions, acks=all, compression ${COMPRESSION}`,
  );
  const results: ArmResult[] = [];
  let keep: string | undefined;
  for (let run = 0; run < RUNS; run++) {
    // Baseline: ProducerPerformance with the same values.
    {
      const topic = await freshTopic(c, `bench-pp-${run}`);
      const r = await measured(c.broker, async (cpu, busyBefore) => {
        const t0 = performance.now();
        const p = producerPerformance(c, topic, `pp-${run}`);
        cpu.track('client', p.pid, true);
        const hwm = watchHwm(p.pid);
        const timing = await c.probe.count(topic, RECORDS, () => p.child.exitCode === null);
        const report = cpu.stop();
        const peak = hwm.peak();
        hwm.stop();
        const code = await p.exited;
        if (code !== 0) throw new Error(`ProducerPerformance exited with ${code}:\n${tail(p.logFile)}`);
        const bytes = topicBytes(c.broker.dataDir, topic) / RECORDS;
        const a = arm(
          'ProducerPerformance',
          run,
          timing,
          t0,
          bytes,
          peak,
          report.groups.client ?? 0,
          report,
          busyBefore,
        );
        a.tool = parseProducerPerformance(readFileSync(p.out, 'utf8'));
        a.finalCount = await c.probe.messages(topic);
        return a;
      });
      show(r);
      results.push(r);
      await c.admin.deleteTopics({ topics: [topic] });
    }
    for (const [name, cli] of ENGINES) {
      const r = await produceEngine(c, run, name, cli);
      results.push(r);
      if (keep !== undefined) await c.admin.deleteTopics({ topics: [keep] });
      keep = r.topic;
    }
  }
  return {
    result: { records: RECORDS, sample: c.sample, results, summary: summary(results, 'engine', 'ProducerPerformance') },
    keep,
  };
}

/** Engine: generator → kafka, counted at the broker. */
async function produceEngine(c: Ctx, run: number, name: string, cli: string): Promise<ArmResult & { topic: string }> {
  const topic = await freshTopic(c, `bench-engine-${run}`);
  const id = `produce-${run}${name === 'engine' ? '' : '-compare'}`;
  const pipeline = await pipelineFile(
    c.dir,
    id,
    { plugin: 'generator', settings: { ...GENERATOR, recordCount: String(RECORDS) } },
    { plugin: 'kafka', settings: { servers: c.broker.servers, topic, compression: COMPRESSION } },
  );
  const r = await measured(c.broker, async (cpu, busyBefore) => {
    const t0 = performance.now();
    const e = startEngine({
      cli,
      dir: c.dir,
      pipeline,
      state: join(c.dir, `${id}.db`),
      profDir: PROF_DIR,
      profName: id,
    });
    cpu.track('client', e.pid, true);
    const timing = await c.probe.count(topic, RECORDS, () => e.child.exitCode === null);
    const report = cpu.stop();
    const peak = vmHwmMb(e.pid);
    const engineCpu = cpuOf(e.pid);
    const code = await stop(e);
    if (code !== 0) console.log(`  engine exited with ${code}:\n${tail(e.logFile)}`);
    const bytes = topicBytes(c.broker.dataDir, topic) / RECORDS;
    const a = arm(name, run, timing, t0, bytes, peak, engineCpu, report, busyBefore);
    a.finalCount = await c.probe.messages(topic);
    return a;
  });
  show(r);
  if (r.finalCount !== RECORDS) console.log(`  !! the topic holds ${r.finalCount} messages, not ${RECORDS}`);
  const prof = profileOf(PROF_DIR, id);
  if (prof !== undefined) r.profile = prof;
  return { ...r, topic };
}

// ── consume ───────────────────────────────────────────────────────────────────

/** ConsumerPerformance's CSV line under its header. */
function parseConsumerPerformance(out: string): Record<string, number> {
  const lines = out.split('\n').map((l) => l.trim());
  const h = lines.findIndex((l) => l.startsWith('start.time'));
  const header = (lines[h] ?? '').split(',').map((s) => s.trim());
  const values = (lines[h + 1] ?? '').split(',').map((s) => s.trim());
  const get = (name: string) => Number(values[header.indexOf(name)] ?? Number.NaN);
  return {
    records: get('data.consumed.in.nMsg'),
    mb: get('data.consumed.in.MB'),
    rebalanceMs: get('rebalance.time.ms'),
    fetchMs: get('fetch.time.ms'),
    fetchRecordsPerSecond: get('fetch.nMsg.sec'),
  };
}

async function consumePhase(c: Ctx, given: string | undefined): Promise<Record<string, unknown>> {
  let topic = given;
  if (topic === undefined) {
    topic = await freshTopic(c, 'bench-consume');
    console.log(`\nconsume: filling ${topic} with ProducerPerformance …`);
    const p = producerPerformance(c, topic, 'fill');
    if ((await p.exited) !== 0) throw new Error(`ProducerPerformance exited:\n${tail(p.logFile)}`);
  }
  const held = await c.probe.messages(topic);
  if (held !== RECORDS) throw new Error(`${topic} holds ${held} messages, not ${RECORDS}`);
  const brokerBytes = Math.round(topicBytes(c.broker.dataDir, topic) / RECORDS);
  console.log(
    `\nconsume: ${RECORDS.toLocaleString('en')} messages (${brokerBytes} B each on the broker), ${PARTITIONS} partitions`,
  );
  const results: ArmResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Baseline: ConsumerPerformance, a fresh group from the earliest offsets.
    {
      const r = await measured(c.broker, async (cpu, busyBefore) => {
        const out = join(c.dir, `cp-${run}.out`);
        const fd = openSync(out, 'w');
        const t0 = performance.now();
        const p = tool(
          c.broker,
          'ConsumerPerformance',
          [
            '--bootstrap-server',
            c.broker.servers,
            '--topic',
            topic,
            '--num-records',
            String(RECORDS),
            '--group',
            `bench-cp-${run}-${Date.now().toString(36)}`,
            '--timeout',
            '60000',
          ],
          join(c.dir, 'tools.log'),
          fd,
        );
        closeSync(fd);
        cpu.track('client', p.pid, true);
        const hwm = watchHwm(p.pid);
        const code = await p.exited;
        const exitedAt = performance.now();
        const report = cpu.stop();
        hwm.stop();
        if (code !== 0) throw new Error(`ConsumerPerformance exited with ${code}:\n${tail(p.logFile)}`);
        const t = parseConsumerPerformance(readFileSync(out, 'utf8'));
        if (t.records !== RECORDS)
          throw new Error(`ConsumerPerformance read ${t.records} of ${RECORDS}:\n${tail(out)}`);
        const timing = { first: exitedAt - (t.fetchMs ?? Number.NaN), last: exitedAt };
        const a = arm(
          'ConsumerPerformance',
          run,
          timing,
          t0,
          brokerBytes,
          hwm.peak(),
          report.groups.client ?? 0,
          report,
          busyBefore,
        );
        a.tool = t;
        a.finalCount = t.records ?? 0;
        return a;
      });
      show(r);
      results.push(r);
    }
    for (const [name, cli] of ENGINES) results.push(await consumeEngine(c, run, topic, name, cli));
  }
  await c.admin.deleteTopics({ topics: [topic] });
  return {
    records: RECORDS,
    brokerBytesPerMessage: brokerBytes,
    results,
    summary: summary(results, 'engine', 'ConsumerPerformance'),
  };
}

/** Engine: kafka → file, counted in the file. */
async function consumeEngine(c: Ctx, run: number, topic: string, name: string, cli: string): Promise<ArmResult> {
  const id = `consume-${run}${name === 'engine' ? '' : '-compare'}`;
  const out = join(c.dir, `${id}.jsonl`);
  const pipeline = await pipelineFile(
    c.dir,
    id,
    { plugin: 'kafka', settings: { servers: c.broker.servers, topics: topic, readFromBeginning: 'true' } },
    { plugin: 'file', settings: { path: out } },
  );
  const r = await measured(c.broker, async (cpu, busyBefore) => {
    const t0 = performance.now();
    const e = startEngine({
      cli,
      dir: c.dir,
      pipeline,
      state: join(c.dir, `${id}.db`),
      profDir: PROF_DIR,
      profName: id,
    });
    cpu.track('client', e.pid, true);
    const timing = await countLines(out, RECORDS, () => e.child.exitCode === null);
    const report = cpu.stop();
    const peak = vmHwmMb(e.pid);
    const engineCpu = cpuOf(e.pid);
    const code = await stop(e);
    if (code !== 0) console.log(`  engine exited with ${code}:\n${tail(e.logFile)}`);
    const a = arm(name, run, timing, t0, timing.bytes / RECORDS, peak, engineCpu, report, busyBefore);
    a.finalCount = linesIn(out);
    return a;
  });
  show(r);
  if (r.finalCount !== RECORDS) console.log(`  !! the file holds ${r.finalCount} lines, not ${RECORDS}`);
  const prof = profileOf(PROF_DIR, id);
  if (prof !== undefined) r.profile = prof;
  await rm(out, { force: true });
  return r;
}

function summary(results: ArmResult[], engine: string, baseline: string): Record<string, number> {
  const med = (name: string, f: (r: ArmResult) => number | undefined) =>
    median(results.filter((r) => r.arm === name).map((r) => f(r) ?? Number.NaN));
  const e = med(engine, (r) => r.recordsPerSecond);
  const b = med(baseline, (r) => r.recordsPerSecond);
  const clean = (name: string) => results.filter((r) => r.arm === name && !r.notClean);
  return {
    engineRecordsPerSecond: e,
    baselineRecordsPerSecond: b,
    ratio: round(e / b, 3),
    enginePeakRssMb: med(engine, (r) => r.peakRssMb),
    baselinePeakRssMb: med(baseline, (r) => r.peakRssMb),
    engineCpuSecondsPerMillion: med(engine, (r) => r.cpuSecondsPerMillion),
    baselineCpuSecondsPerMillion: med(baseline, (r) => r.cpuSecondsPerMillion),
    engineBrokerCpuSeconds: med(engine, (r) => r.brokerCpuSeconds),
    baselineBrokerCpuSeconds: med(baseline, (r) => r.brokerCpuSeconds),
    notCleanArms: results.filter((r) => r.notClean).length,
    // The same medians over the arms no other process disturbed (NaN when none was clean).
    cleanEngineRecordsPerSecond: median(clean(engine).map((r) => r.recordsPerSecond)),
    cleanBaselineRecordsPerSecond: median(clean(baseline).map((r) => r.recordsPerSecond)),
    cleanEngineCpuSecondsPerMillion: median(clean(engine).map((r) => r.cpuSecondsPerMillion)),
    ...(COMPARE === undefined
      ? {}
      : {
          compareRecordsPerSecond: med('engine (compare)', (r) => r.recordsPerSecond),
          comparePeakRssMb: med('engine (compare)', (r) => r.peakRssMb),
          compareCpuSecondsPerMillion: med('engine (compare)', (r) => r.cpuSecondsPerMillion),
          cleanCompareRecordsPerSecond: median(clean('engine (compare)').map((r) => r.recordsPerSecond)),
        }),
  };
}

// ── main ──────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  checkCli(CLI);
  if (COMPARE !== undefined) checkCli(COMPARE);
  const dir = await mkdtemp(join(tmpdir(), 'bench-kafka-'));
  let broker: Broker | undefined;
  let admin: Admin | undefined;
  let probe: OffsetProbe | undefined;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const ch of children) ch.kill('SIGKILL');
    await probe?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    try {
      broker?.stop();
    } catch (err) {
      console.error('stopping the broker failed:', err);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    console.error('\ninterrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const out: Record<string, unknown> = {};
  try {
    broker = startBroker();
    admin = new Admin({ clientId: 'conduit-bench', bootstrapBrokers: [broker.servers] });
    probe = new OffsetProbe(broker.servers);
    const payloadFile = join(dir, 'payloads.txt');
    const sample = await writePayloadFile(GENERATOR, 'bench:src', 10_000, payloadFile);
    const settings = {
      records: RECORDS,
      runs: RUNS,
      partitions: PARTITIONS,
      payload: PAYLOAD,
      compression: COMPRESSION,
      cli: CLI,
      compareCli: COMPARE,
      profiled: PROF_DIR !== undefined,
    };
    console.log(`kafka 4.2.0 (one KRaft node), ${JSON.stringify(settings)}`);
    Object.assign(out, { machine: machine(CLI), settings });
    const c: Ctx = { broker, admin, probe, dir, payloadFile, sample };
    let topic: string | undefined;
    if (PHASES.includes('produce')) {
      const p = await producePhase(c);
      out.produce = p.result;
      topic = p.keep;
    }
    if (PHASES.includes('consume')) out.consume = await consumePhase(c, topic);
  } finally {
    await cleanup();
  }

  console.log(
    '\n| phase | engine | baseline | ratio | peak RSS engine / baseline | CPU-s per million engine / baseline |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  for (const [phase, base] of [
    ['produce', 'ProducerPerformance'],
    ['consume', 'ConsumerPerformance'],
  ] as const) {
    const s = (out[phase] as { summary: Record<string, number> } | undefined)?.summary;
    if (s === undefined) continue;
    console.log(
      `| ${phase} | ${fmt(s.engineRecordsPerSecond ?? 0)} rec/s | ${fmt(s.baselineRecordsPerSecond ?? 0)} rec/s (${base}) | ` +
        `${Math.round((s.ratio ?? 0) * 100)}% | ${s.enginePeakRssMb} / ${s.baselinePeakRssMb} MB | ` +
        `${s.engineCpuSecondsPerMillion} / ${s.baselineCpuSecondsPerMillion} |` +
        (s.notCleanArms ? ` (${s.notCleanArms} arms not clean)` : ''),
    );
    if (s.notCleanArms) {
      console.log(
        `|   (clean arms only) | ${fmt(s.cleanEngineRecordsPerSecond ?? Number.NaN)} rec/s | ` +
          `${fmt(s.cleanBaselineRecordsPerSecond ?? Number.NaN)} rec/s | | | ${s.cleanEngineCpuSecondsPerMillion} |`,
      );
    }
    if (s.compareRecordsPerSecond !== undefined) {
      console.log(
        `| ${phase}, --compare-cli | ${fmt(s.compareRecordsPerSecond)} rec/s | | ` +
          `${Math.round((s.compareRecordsPerSecond / (s.baselineRecordsPerSecond ?? 1)) * 100)}% | ` +
          `${s.comparePeakRssMb} MB | ${s.compareCpuSecondsPerMillion} |`,
      );
    }
  }
  if (SAVE) console.log(`\nraw results: ${saveResults('kafka', out)}`);
}

await main();
