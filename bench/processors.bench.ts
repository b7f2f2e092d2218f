/**
 * The cost of processors: generator → file, counted in the output file (ground truth: lines on disk).
 *
 *   none:       `conduit run` (the built CLI), generator → file, no processors.
 *   processors: the same pipeline with three processors: field.set (.Payload.After.stage = "bench"),
 *               json.encode (.Payload.After becomes its JSON text) and custom.javascript (a metadata
 *               key with the length of that text).
 *   function:   no engine: the same records and metadata, the same transformation as a plain function
 *               in a loop (the same JSON encoder as json.encode: straight to bytes), and the same byte
 *               writer and write + fdatasync as bench/raw-generator-to-file.ts (the same bytes per line
 *               as the processors arm).
 *
 * Every arm runs as a child process, timed from the first byte in the output file until it holds N
 * lines (start-up excluded). Runs alternate none, processors, function … Prints records/s, the
 * processors/none ratio (the goal: at least 50%), peak RSS (VmHWM) and CPU-seconds per million
 * records, and writes the raw results to bench/results/.
 *
 * Usage: node --import tsx bench/processors.bench.ts [--runs 3] [--records 1000000] [--workers 1]
 *          [--cli bin/conduit.js] [--cpu-prof-dir DIR] [--no-save]
 */
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countLines, cpuOf, machine, median, vmHwmMb } from './lib/harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, def: number): number => Number(flag(name) ?? def);

/** ~100-byte structured payloads, as bench/engine.bench.ts's small records. */
const GENERATOR: Record<string, string> = {
  'format.type': 'structured',
  'format.options.id': 'int',
  'format.options.name': 'string',
  'format.options.email': 'string',
  'format.options.active': 'bool',
  'format.options.joined': 'time',
};

const SCRIPT =
  'function process(record) {\n  record.Metadata["bench.bytes"] = String(record.Payload.After.length);\n  return record;\n}';

type Arm = 'none' | 'processors' | 'function';

interface Result {
  arm: Arm;
  run: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  bytesPerRecord: number;
  peakRssMb: number;
  cpuSecondsPerMillion: number;
  /** 1-minute load average when the arm started (2 cores: above ~1.5 someone else was busy). */
  loadBefore: number;
}

// ---- the raw arm (a child process of this same file) ------------------------------------------------

async function rawChild(out: string, count: number): Promise<void> {
  const { generatorPlugin } = await import('../src/connectors/generator/index.js');
  const { silentLogger } = await import('../src/log/logger.js');
  const { MetadataKey, OPENCDC_VERSION, nowNanos } = await import('../src/opencdc/metadata.js');
  const { encodeValueBytes } = await import('../src/opencdc/json.js');
  const { byteWriterOf, createFormatter } = await import('../src/sdk/formats.js');
  const { Config, validateSettings } = await import('../src/sdk/params.js');
  const { sourceSpecs } = await import('../src/sdk/sdk-params.js');
  type Rec = import('../src/opencdc/record.js').OpenCDCRecord;
  type Structured = import('../src/opencdc/record.js').StructuredData;

  /** field.set, json.encode and the script, as one plain function. */
  const transform = (r: Rec): void => {
    const after = r.payload.after as Structured;
    after['stage'] = 'bench';
    const bytes = encodeValueBytes(after);
    r.payload.after = bytes;
    r.metadata['bench.bytes'] = String(bytes.length);
  };

  const plugin = generatorPlugin.source;
  if (plugin === undefined) throw new Error('no generator source');
  const specs = sourceSpecs(plugin.params);
  const { settings } = validateSettings(specs, GENERATOR);
  const source = plugin.create();
  await source.configure(new Config(specs, settings), {
    connectorId: 'bench:src',
    pipelineId: 'bench',
    logger: silentLogger,
  });
  await source.open(null);
  const writeInto = byteWriterOf(createFormatter('opencdc/json', ''));
  if (writeInto === undefined) throw new Error('opencdc/json has no byte writer');
  const fd = openSync(out, 'a');
  const signal = new AbortController().signal;
  const sink = { buf: Buffer.allocUnsafe(1 << 20), off: 0 };
  let written = 0;
  let pending = 0;
  while (written < count) {
    const records = await source.read(Math.min(2048, count - written), signal);
    const readAt = nowNanos();
    for (const r of records) {
      const md = r.metadata;
      md[MetadataKey.ReadAt] = readAt;
      md[MetadataKey.SourceConnectorId] = 'bench:src';
      md[MetadataKey.Version] = OPENCDC_VERSION;
      md[MetadataKey.SourcePluginName] = generatorPlugin.name;
      md[MetadataKey.SourcePluginVersion] = generatorPlugin.version;
      transform(r);
      writeInto(r, sink);
      if (sink.off >= sink.buf.length) {
        const bigger = Buffer.allocUnsafe(sink.buf.length * 2);
        sink.buf.copy(bigger, 0, 0, sink.off);
        sink.buf = bigger;
      }
      sink.buf[sink.off++] = 0x0a;
    }
    written += records.length;
    pending += records.length;
    if (pending >= 8192 || written >= count) {
      let done = 0;
      while (done < sink.off) done += writeSync(fd, sink.buf, done, sink.off - done);
      fdatasyncSync(fd);
      sink.off = 0;
      pending = 0;
    }
  }
  closeSync(fd);
  await source.teardown();
  const usage = process.resourceUsage();
  process.stdout.write(
    `${JSON.stringify({ maxRssKb: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime })}\n`,
  );
}

// ---- the bench --------------------------------------------------------------------------------------

function pipelineYaml(arm: Arm, out: string, count: number, workers: number): string {
  const lines = [
    'version: "2.2"',
    'pipelines:',
    '  - id: bench',
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
  ];
  if (arm === 'processors') {
    lines.push(
      '    processors:',
      '      - id: stage',
      '        plugin: field.set',
      '        settings:',
      '          field: .Payload.After.stage',
      '          value: bench',
      '      - id: encode',
      '        plugin: json.encode',
      '        settings:',
      '          field: .Payload.After',
      '      - id: size',
      '        plugin: custom.javascript',
      `        workers: ${workers}`,
      '        settings:',
      '          script: |',
      ...SCRIPT.split('\n').map((l) => `            ${l}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function runArm(arm: Arm, run: number, count: number, opts: BenchOptions): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), `bench-proc-${arm}-`));
  const out = join(dir, 'out.jsonl');
  const loadBefore = loadavg()[0] ?? 0;
  try {
    let child;
    if (arm === 'function') {
      child = spawn(
        process.execPath,
        [...opts.v8Flags, '--import', 'tsx', fileURLToPath(import.meta.url), '--raw-child', out, String(count)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
    } else {
      await writeFile(join(dir, 'p.yaml'), pipelineYaml(arm, out, count, opts.workers));
      const cliArgs = [
        'run',
        '--pipelines.path',
        join(dir, 'p.yaml'),
        '--db.sqlite.path',
        join(dir, 'c.db'),
        '--log.level',
        'warn',
      ];
      if (opts.cpuProfDir !== undefined) {
        // Profiled: node with the bin's V8 flags on the bundle, so the profile maps through dist/conduit.mjs.map.
        const profDir = join(opts.cpuProfDir, `${arm}-${run}`);
        mkdirSync(profDir, { recursive: true });
        const bundle = join(dirname(opts.cli), '..', 'dist', 'conduit.mjs');
        child = spawn(
          process.execPath,
          [...opts.v8Flags, '--cpu-prof', '--cpu-prof-dir', profDir, bundle, ...cliArgs],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
      } else {
        // Executed as a user runs it: through the bin's shebang (which sets the V8 flags).
        child = spawn(opts.cli, cliArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
      }
    }
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let running = true;
    const exited = new Promise<void>((res) =>
      child.on('exit', () => {
        running = false;
        res();
      }),
    );
    const timing = await countLines(out, count, () => running);
    const seconds = (timing.last - timing.first) / 1000;
    const bytes = timing.bytes;
    let peakRssMb: number;
    let cpuSeconds: number;
    if (arm === 'function') {
      await exited;
      const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { maxRssKb: number; cpuUs: number };
      peakRssMb = Math.round(report.maxRssKb / 1024);
      cpuSeconds = report.cpuUs / 1e6;
    } else {
      const pid = child.pid ?? 0;
      peakRssMb = vmHwmMb(pid);
      cpuSeconds = cpuOf(pid);
      child.kill('SIGTERM');
      await exited;
    }
    return {
      arm,
      run,
      records: count,
      seconds,
      recordsPerSecond: count / seconds,
      bytesPerRecord: Math.round(bytes / count),
      peakRssMb,
      cpuSecondsPerMillion: (cpuSeconds / count) * 1e6,
      loadBefore: Math.round(loadBefore * 100) / 100,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface BenchOptions {
  readonly cli: string;
  readonly v8Flags: string[];
  readonly workers: number;
  readonly cpuProfDir: string | undefined;
}

async function main(): Promise<void> {
  const runs = num('runs', 3);
  const count = num('records', 1_000_000);
  const cli = resolve(flag('cli') ?? join(root, 'bin/conduit.js'));
  const cpuProfDir = flag('cpu-prof-dir');
  const opts: BenchOptions = {
    cli,
    // The V8 flags the bin runs with, so every arm gets the same heap.
    v8Flags: (readFileSync(cli, 'utf8').split('\n')[0] ?? '').split(' ').filter((a) => a.startsWith('--')),
    workers: num('workers', 1),
    cpuProfDir: cpuProfDir === undefined ? undefined : resolve(cpuProfDir),
  };
  const results: Result[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const arm of ['none', 'processors', 'function'] as const) {
      const r = await runArm(arm, run, count, opts);
      results.push(r);
      console.log(
        `${arm.padEnd(10)} run ${run}: ${Math.round(r.recordsPerSecond).toLocaleString('en')} rec/s, ${r.bytesPerRecord} B/line, ` +
          `peak RSS ${r.peakRssMb} MB, ${r.cpuSecondsPerMillion.toFixed(2)} CPU-s per million (load before ${r.loadBefore})`,
      );
    }
  }
  const med = (arm: Arm, f: (r: Result) => number): number => median(results.filter((r) => r.arm === arm).map(f));
  const rate = (arm: Arm): number => med(arm, (r) => r.recordsPerSecond);
  console.log('\nsummary (median of runs):');
  for (const arm of ['none', 'processors', 'function'] as const) {
    const rs = results.filter((r) => r.arm === arm).map((r) => r.recordsPerSecond);
    console.log(
      `${arm.padEnd(10)} ${Math.round(rate(arm)).toLocaleString('en')} rec/s (${k(Math.min(...rs))}–${k(Math.max(...rs))}), ` +
        `peak RSS ${med(arm, (r) => r.peakRssMb)} MB, ${med(arm, (r) => r.cpuSecondsPerMillion).toFixed(2)} CPU-s per million`,
    );
  }
  const ratio = rate('processors') / rate('none');
  console.log(
    `processors / none: ${(ratio * 100).toFixed(0)}% (goal ≥ 50%: ${ratio >= 0.5 ? 'met' : 'not met'}); ` +
      `processors / function: ${((rate('processors') / rate('function')) * 100).toFixed(0)}%; ` +
      `CPU-µs per record spent in processors: ${(med('processors', (r) => r.cpuSecondsPerMillion) - med('none', (r) => r.cpuSecondsPerMillion)).toFixed(2)}`,
  );
  if (args.includes('--no-save')) return;
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `processors-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ machine: machine(), runs, records: count, workers: opts.workers, results }, null, 2)}\n`,
  );
  console.log(`raw results: ${file}`);
}

function k(n: number): string {
  return `${Math.round(n / 1000)}k`;
}

const child = args.indexOf('--raw-child');
if (child >= 0) await rawChild(args[child + 1] ?? '', Number(args[child + 2]));
else await main();
