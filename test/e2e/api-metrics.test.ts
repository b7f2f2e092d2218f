/**
 * /healthz, /readyz and /metrics through real HTTP against a running engine
 * (booted as `conduit run` boots it): a healthy pipeline (generator → file)
 * and one that degrades (its file destination is a directory; recovery off).
 * /metrics is read with a strict Prometheus text-format parser.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  healthRoutes,
  metricsRoute,
  Readiness,
  startApi,
  startApiServer,
  type ApiServer,
} from '../../src/api/index.js';
import { bootEngine, type RunHandle } from '../../src/cli/commands/run.js';
import { resolveEngineConfig } from '../../src/config/engine-config.js';
import { generatorPlugin } from '../../src/connectors/generator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { Registry } from '../../src/metrics/registry.js';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import type { ConnectorPlugin, Source, SourceProgress } from '../../src/sdk/connector.js';
import { waitFor } from '../../src/sdk/testing.js';
import type { Store } from '../../src/store/store.js';

const TOKEN = 'test-token-0123456789abcdef';
const RECORDS = 300;
const PROGRESS: SourceProgress = {
  lagBytes: 4096,
  lagRecords: 7,
  snapshot: [{ collection: 'users', rows: 42, estimatedRows: 100, done: false }],
};

// ---- a strict parser of the Prometheus text format (0.0.4) -----------------------------------

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses the text format, failing on anything malformed, undeclared, duplicated or inconsistent. */
function parseExposition(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  for (const [n, line] of lines.entries()) {
    const where = `line ${n + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      const name = line.slice(7).split(' ')[0] ?? '';
      assert.match(name, METRIC_NAME, where);
      assert.ok(!helps.has(name), `HELP twice: ${where}`);
      helps.add(name);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name = '', type = '', ...rest] = line.slice(7).split(' ');
      assert.equal(rest.length, 0, where);
      assert.match(name, METRIC_NAME, where);
      assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type), where);
      assert.ok(!types.has(name), `TYPE twice: ${where}`);
      assert.ok(!samples.some((s) => familyOf(s.name, types) === name), `TYPE after samples: ${where}`);
      types.set(name, type);
      continue;
    }
    assert.ok(!line.startsWith('#') && line.trim() !== '', `unexpected line: ${where}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `malformed sample: ${where}`);
    const labels = parseLabels(m[3] ?? '', where);
    const value = parseValue(m[4] ?? '', where);
    const name = m[1] ?? '';
    const family = familyOf(name, types);
    assert.ok(family !== undefined, `sample without a TYPE: ${where}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seen.has(key), `duplicate series: ${where}`);
    seen.add(key);
    samples.push({ name, labels, value });
  }
  checkHistograms(types, samples);
  return { types, samples };
}

function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && types.get(base) === 'histogram') return base;
  }
  return undefined;
}

function parseLabels(body: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    assert.ok(eq > i, `label without a name: ${where}`);
    const name = body.slice(i, eq);
    assert.match(name, LABEL_NAME, where);
    assert.equal(body[eq + 1], '"', `label value not quoted: ${where}`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const c = body[j];
      assert.ok(c !== undefined, `unterminated label value: ${where}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = body[j + 1];
        assert.ok(e === '\\' || e === '"' || e === 'n', `bad escape: ${where}`);
        value += e === 'n' ? '\n' : e;
        j += 2;
      } else {
        assert.ok(c !== '\n', where);
        value += c;
        j++;
      }
    }
    assert.ok(!(name in labels), `label twice: ${where}`);
    labels[name] = value;
    i = j + 1;
    if (i < body.length) {
      assert.equal(body[i], ',', `labels not separated by commas: ${where}`);
      i++;
    }
  }
  return labels;
}

function parseValue(v: string, where: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  assert.match(v, /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, `bad value: ${where}`);
  return Number(v);
}

/** Buckets grow with `le`, end with +Inf, and +Inf equals _count, for every histogram series. */
function checkHistograms(types: ReadonlyMap<string, string>, samples: readonly Sample[]): void {
  for (const [name, type] of types) {
    if (type !== 'histogram') continue;
    const bySeries = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      assert.ok(le !== undefined, `${name}_bucket without le`);
      const key = JSON.stringify(Object.entries(rest).sort());
      bySeries.set(key, [...(bySeries.get(key) ?? []), s]);
    }
    for (const [key, buckets] of bySeries) {
      let prevLe = -Infinity;
      let prev = 0;
      for (const b of buckets) {
        const le = parseValue(b.labels['le'] ?? '', name);
        assert.ok(le > prevLe, `${name}: le values grow`);
        assert.ok(b.value >= prev, `${name}: buckets are cumulative`);
        prevLe = le;
        prev = b.value;
      }
      assert.equal(prevLe, Infinity, `${name}: the last bucket is +Inf`);
      const labels = Object.fromEntries(JSON.parse(key) as [string, string][]);
      const count = samples.find((s) => s.name === `${name}_count` && sameLabels(s.labels, labels));
      assert.ok(
        samples.some((s) => s.name === `${name}_sum` && sameLabels(s.labels, labels)),
        `${name}_sum`,
      );
      assert.equal(count?.value, prev, `${name}: +Inf bucket equals _count`);
    }
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The value of the one sample with that name and (exactly) those labels, or undefined. */
function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
  assert.ok(found.length <= 1);
  return found[0]?.value;
}

// ---- the engine ------------------------------------------------------------------------------

let dir = '';
let outFile = '';
let handle: RunHandle;
let api: ApiServer;
let base = '';

/** The generator, reporting fixed progress: stands in for a source with lag and a snapshot. */
function progressPlugin(): ConnectorPlugin {
  const gen = generatorPlugin.source;
  assert.ok(gen !== undefined);
  return {
    ...generatorPlugin,
    name: 'progressgen',
    source: {
      params: gen.params,
      create: (): Source => {
        const inner = gen.create();
        return new Proxy(inner, {
          get(target, key) {
            if (key === 'progress') return () => PROGRESS;
            const v: unknown = Reflect.get(target, key, target);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
      },
    },
  };
}

async function scrape(token: string | null = TOKEN): Promise<{ status: number; type: string | null; text: string }> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  const res = await fetch(`${base}/metrics`, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function metrics(): Promise<Exposition> {
  const r = await scrape();
  assert.equal(r.status, 200, r.text);
  return parseExposition(r.text);
}

/** An answer's JSON, read field by field in the assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape
type Json = any;

async function getJson(url: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function lines(): Promise<number> {
  try {
    return (await readFile(outFile, 'utf8')).split('\n').filter((l) => l !== '').length;
  } catch {
    return 0;
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-metrics-'));
  outFile = join(dir, 'out.jsonl');
  await mkdir(join(dir, 'a-directory'));
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: good
    name: good-pipeline
    status: running
    connectors:
      - id: gen
        type: source
        plugin: progressgen
        settings:
          format.type: raw
          format.options.id: int
          recordCount: "${RECORDS}"
          sdk.batch.size: "16"
      - id: out
        type: destination
        plugin: file
        settings:
          path: ${outFile}
  - id: bad
    status: running
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings:
          format.type: raw
          format.options.id: int
          rate: "10"
      - id: out
        type: destination
        plugin: file
        settings:
          path: ${join(dir, 'a-directory')}
`,
  );
  const cfg = resolveEngineConfig(
    { 'pipelines.path': join(dir, 'p.yaml'), 'db.type': 'inmemory', 'pipelines.error-recovery.max-retries': '0' },
    {},
  );
  const logger = createLogger({ level: 'error', format: 'json', write: () => undefined });
  const registry = builtinRegistry().addConnector(progressPlugin());
  handle = await bootEngine(cfg, registry, logger);
  const readiness = new Readiness();
  readiness.markReady();
  const started = await startApi(
    handle.engine,
    registry,
    logger,
    { ...cfg.settings, 'api.http.address': '127.0.0.1:0', 'api.http.auth.token': TOKEN },
    [...healthRoutes({ engine: handle.engine, store: handle.store, readiness }), metricsRoute(handle.engine)],
  );
  assert.ok(started);
  api = started;
  base = `http://${api.address}`;
});

after(async () => {
  await api?.close();
  await handle?.engine.shutdown(5_000);
  await handle?.store.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('/metrics', () => {
  it('needs the token unless api.http.auth.metrics-public is set', async () => {
    assert.equal((await scrape(null)).status, 401);
    assert.equal((await scrape('wrong-token-0123456789')).status, 401);
    const ok = await scrape();
    assert.equal(ok.status, 200);
    assert.equal(ok.type, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('counts the records a file destination wrote, end to end', async () => {
    await waitFor(async () => (await lines()) === RECORDS, { timeoutMs: 20_000, message: `${RECORDS} lines` });
    const out = { pipeline_name: 'good-pipeline', plugin: 'file', type: 'destination', component_id: 'good:out' };
    const src = { pipeline_name: 'good-pipeline', plugin: 'progressgen', type: 'source', component_id: 'good:gen' };
    // Acks (and the latency histogram) follow the write; wait for nothing to be in flight.
    const e = await waitFor(
      async () => {
        const m = await metrics();
        return value(m, 'conduit_pipeline_inflight_records', { pipeline_name: 'good-pipeline' }) === 0 &&
          value(m, 'conduit_pipeline_execution_duration_seconds_count', { pipeline_name: 'good-pipeline' }) === RECORDS
          ? m
          : undefined;
      },
      { timeoutMs: 10_000, message: 'every record acked' },
    );
    assert.equal(value(e, 'conduit_connector_records_total', out), await lines(), 'records out = lines in the file');
    assert.equal(value(e, 'conduit_connector_records_total', src), RECORDS);
    assert.equal(e.types.get('conduit_connector_records_total'), 'counter');
    assert.equal(value(e, 'conduit_connector_bytes_count', out), RECORDS);
    assert.equal(value(e, 'conduit_connector_bytes_count', src), RECORDS);
    assert.ok((value(e, 'conduit_connector_bytes_sum', src) ?? 0) > RECORDS * 10, 'bytes are measured');
    assert.equal(value(e, 'conduit_connector_bytes_bucket', { ...src, le: '1024' }), RECORDS, 'small records');
    assert.ok((value(e, 'conduit_connector_execution_duration_seconds_count', out) ?? 0) >= 1);
    // sdk.batch.size 16: one read per batch at most.
    assert.ok((value(e, 'conduit_connector_execution_duration_seconds_count', src) ?? 0) >= RECORDS / 16);
    assert.equal(value(e, 'conduit_pipeline_inflight_bytes', { pipeline_name: 'good-pipeline' }), 0);
    assert.equal(e.types.get('conduit_pipeline_execution_duration_seconds'), 'histogram');
  });

  it('shows pipeline statuses with Conduit names and numbers', async () => {
    const e = await waitFor(
      async () => {
        const m = await metrics();
        return value(m, 'conduit_pipeline_status', { pipeline_name: 'bad' }) === 4 ? m : undefined;
      },
      { timeoutMs: 10_000, message: 'the bad pipeline degraded' },
    );
    assert.equal(value(e, 'conduit_pipeline_status', { pipeline_name: 'good-pipeline' }), 1);
    assert.equal(value(e, 'conduit_pipelines', { status: 'running' }), 1);
    assert.equal(value(e, 'conduit_pipelines', { status: 'degraded' }), 1);
    assert.equal(value(e, 'conduit_connectors', { type: 'source' }), 2);
    assert.equal(value(e, 'conduit_connectors', { type: 'destination' }), 2);
    assert.equal(value(e, 'conduit_info', { version: '0.1.0' }), 1);
    assert.equal(e.types.get('conduit_pipeline_status'), 'gauge');
    // A stopped run has no in-flight series.
    assert.equal(value(e, 'conduit_pipeline_inflight_records', { pipeline_name: 'bad' }), undefined);
  });

  it('exposes the progress a source reports', async () => {
    const e = await metrics();
    const src = { pipeline_name: 'good-pipeline', plugin: 'progressgen', component_id: 'good:gen' };
    assert.equal(value(e, 'conduit_source_lag_bytes', src), 4096);
    assert.equal(value(e, 'conduit_source_lag_records', src), 7);
    assert.equal(value(e, 'conduit_source_snapshot_rows', { ...src, collection: 'users' }), 42);
    assert.equal(value(e, 'conduit_source_snapshot_estimated_rows', { ...src, collection: 'users' }), 100);
    assert.equal(value(e, 'conduit_source_snapshot_done', { ...src, collection: 'users' }), 0);
    // The plain generator reports nothing.
    assert.equal(
      e.samples.filter((s) => s.name === 'conduit_source_lag_bytes' && s.labels['pipeline_name'] === 'bad').length,
      0,
    );
  });
});

describe('/healthz and /readyz', () => {
  it('are public and tell ready with pipeline counts and the degraded pipelines', async () => {
    const h = await getJson(`${base}/healthz`);
    assert.deepEqual(h, { status: 200, body: { status: 'SERVING' } });
    assert.deepEqual(await getJson(`${base}/healthz?service=api.v1.PipelineService`), h);
    assert.equal((await getJson(`${base}/healthz?service=NoSuchService`)).status, 404);
    const r = await waitFor(
      async () => {
        const a = await getJson(`${base}/readyz`);
        return a.body.pipelines?.degraded === 1 ? a : undefined;
      },
      { timeoutMs: 10_000, message: 'the bad pipeline degraded' },
    );
    assert.equal(r.status, 200, 'a degraded pipeline does not make the engine unready');
    assert.equal(r.body.status, 'ready');
    assert.equal(r.body.pipelines.total, 2);
    assert.equal(r.body.pipelines.running, 1);
    assert.equal(r.body.pipelines.degradedPipelines.length, 1);
    const d = r.body.pipelines.degradedPipelines[0];
    assert.equal(d.id, 'bad');
    assert.equal(d.status, 'degraded');
    assert.ok(typeof d.error === 'string' && d.error.length > 0, 'the error is shown');
  });

  it('answer starting, then unavailable when the store does not answer', async () => {
    let down = false;
    const store: Store = Object.create(handle.store) as Store;
    Object.assign(store, {
      get: (k: string) => (down ? Promise.reject(new Error('connection refused')) : handle.store.get(k)),
    });
    const readiness = new Readiness();
    const own = await startApiServer({
      engine: handle.engine,
      registry: builtinRegistry(),
      logger: createLogger({ level: 'error', format: 'json', write: () => undefined }),
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      rawRoutes: healthRoutes({ engine: handle.engine, store, readiness }),
    });
    try {
      const at = `http://${own.address}`;
      assert.deepEqual(await getJson(`${at}/readyz`), { status: 503, body: { status: 'starting' } });
      readiness.markReady();
      assert.equal((await getJson(`${at}/readyz`)).status, 200);
      down = true;
      const r = await getJson(`${at}/readyz`);
      assert.equal(r.status, 503);
      assert.equal(r.body.status, 'unavailable');
      assert.match(r.body.reason, /store is unreachable: connection refused/);
      assert.deepEqual(await getJson(`${at}/healthz`), { status: 503, body: { status: 'NOT_SERVING' } });
    } finally {
      await own.close();
    }
  });
});

describe('registry', () => {
  it('renders what the parser accepts, escaping label values', () => {
    const r = new Registry();
    r.counter('t_total', 'a\\b\nc', ['l']).labels('quote " backslash \\ newline \n').inc(3);
    const h = r.histogram('t_seconds', 'h', [], [0.1, 1]);
    h.labels().observeN(0.5, 4);
    h.labels().observe(2);
    const e = parseExposition(r.render());
    assert.equal(value(e, 't_total', { l: 'quote " backslash \\ newline \n' }), 3);
    assert.equal(value(e, 't_seconds_bucket', { le: '0.1' }), 0);
    assert.equal(value(e, 't_seconds_bucket', { le: '1' }), 4);
    assert.equal(value(e, 't_seconds_bucket', { le: '+Inf' }), 5);
    assert.equal(value(e, 't_seconds_sum'), 4);
    assert.throws(() => r.counter('t_total', 'again'), /twice/);
    assert.throws(() => r.gauge('bad-name', 'x'), /invalid metric name/);
  });
});
