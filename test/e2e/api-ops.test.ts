/**
 * Operations over real HTTP against an engine booted as `conduit run` boots it:
 * - without a token the API still serves /healthz and /readyz (and /metrics
 *   when api.http.auth.metrics-public is set); every other route answers 401
 *   saying how to configure a token;
 * - the request log: one line per request with method, path (no query string),
 *   status, duration and bytes, never a token;
 * - conduit_pipeline_oldest_unacked_seconds grows while a destination holds its
 *   write, and falls to 0 once the write returns and the records are acked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { healthRoutes, metricsRoute, Readiness, startApi, type ApiServer } from '../../src/api/index.js';
import { bootEngine, type RunHandle } from '../../src/cli/commands/run.js';
import { resolveEngineConfig } from '../../src/config/engine-config.js';
import { createLogger } from '../../src/log/logger.js';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import type { ConnectorPlugin, Destination } from '../../src/sdk/connector.js';
import { waitFor } from '../../src/sdk/testing.js';

/** A destination whose writes wait until the test opens the gate. */
class Gate {
  private open: (() => void) | undefined;
  private opened = false;
  writesStarted = 0;
  written = 0;
  readonly wait = (): Promise<void> =>
    this.opened ? Promise.resolve() : new Promise<void>((resolve) => (this.open = resolve));
  release(): void {
    this.opened = true;
    this.open?.();
  }
}
const gate = new Gate();

const holdPlugin: ConnectorPlugin = {
  name: 'hold',
  summary: 'A destination that holds its writes until released (tests).',
  description: 'Tests only.',
  version: 'v0.0.1',
  author: 'tests',
  destination: {
    params: {},
    create: (): Destination => ({
      configure: () => undefined,
      open: () => Promise.resolve(),
      write: async (records) => {
        gate.writesStarted++;
        await gate.wait();
        gate.written += records.length;
        return undefined;
      },
      teardown: () => Promise.resolve(),
    }),
  },
};

const RECORDS = 20;
let dir = '';
let handle: RunHandle;
let api: ApiServer;
let base = '';
const logLines: string[] = [];

interface LogLine {
  level: string;
  message: string;
  [k: string]: unknown;
}
const requestLines = (): LogLine[] =>
  logLines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.message === 'API request');

async function gauge(name: string, pipeline: string): Promise<number | undefined> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{pipeline_name="${pipeline}"} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-api-ops-'));
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: held
    status: running
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings: { format.type: raw, format.options.id: int, recordCount: "${RECORDS}" }
      - id: out
        type: destination
        plugin: hold
`,
  );
  const cfg = resolveEngineConfig({ 'pipelines.path': join(dir, 'p.yaml'), 'db.type': 'inmemory' }, {});
  const logger = createLogger({ level: 'debug', format: 'json', write: (l) => logLines.push(l) });
  const registry = builtinRegistry().addConnector(holdPlugin);
  handle = await bootEngine(cfg, registry, logger);
  const readiness = new Readiness();
  readiness.markReady();
  const started = await startApi(
    handle.engine,
    registry,
    logger,
    // No token: only the public routes answer; /metrics is made public.
    { ...cfg.settings, 'api.http.address': '127.0.0.1:0', 'api.http.auth.metrics-public': 'true' },
    [...healthRoutes({ engine: handle.engine, store: handle.store, readiness }), metricsRoute(handle.engine)],
  );
  assert.ok(started, 'served without a token');
  api = started;
  base = `http://${api.address}`;
});

after(async () => {
  gate.release();
  await api?.close();
  await handle?.engine.shutdown(5_000);
  await handle?.store.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('the API without a token', () => {
  it('says at start what it serves', () => {
    const start = logLines.map((l) => JSON.parse(l) as LogLine).find((l) => l.message === 'HTTP API listening');
    assert.ok(start);
    assert.match(String(start['serving']), /^\/healthz, \/readyz, \/metrics only: no token is configured/);
  });

  it('serves /healthz, /readyz and the public /metrics', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
  });

  it('refuses every other route with 401, saying how to set a token, even with some token sent', async () => {
    for (const path of ['/v1/pipelines', '/info', '/openapi/', '/no/such/route']) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer guessed-token-0123456789' } });
      assert.equal(res.status, 401, path);
      const body = (await res.json()) as { message: string; details: unknown[] };
      assert.match(body.message, /served without a token/);
      assert.match(JSON.stringify(body), /CONDUIT_API_HTTP_AUTH_TOKEN/);
      assert.match(JSON.stringify(body), /--api\.http\.auth\.token-file/);
    }
  });
});

describe('the request log', () => {
  it('logs one line per request: method, path without the query, status, ms, bytes; never a token', async () => {
    const before = requestLines().length;
    const res = await fetch(`${base}/v1/pipelines?name=x&password=hunter2-secret`, {
      headers: { authorization: 'Bearer leaked-token-abcdef0123456789' },
    });
    const body = await res.text();
    await fetch(`${base}/readyz?probe=1`);
    const lines = await waitFor(
      () => (requestLines().length >= before + 2 ? requestLines().slice(before) : undefined),
      {
        timeoutMs: 5_000,
        message: 'two request lines',
      },
    );
    const refused = lines.find((l) => l['path'] === '/v1/pipelines');
    assert.ok(refused, JSON.stringify(lines));
    assert.equal(refused.level, 'info');
    assert.equal(refused['method'], 'GET');
    assert.equal(refused['status'], 401);
    assert.equal(refused['bytes'], Buffer.byteLength(body));
    assert.equal(typeof refused['ms'], 'number');
    assert.equal(refused['component'], 'api');
    const probe = lines.find((l) => l['path'] === '/readyz');
    assert.equal(probe?.level, 'debug', 'probes are logged at debug');
    assert.equal(probe?.['status'], 200);
    const all = logLines.join('');
    assert.ok(!all.includes('hunter2-secret') && !all.includes('password='), 'no query string in the log');
    assert.ok(!all.includes('leaked-token'), 'no Authorization header in the log');
  });
});

describe('conduit_pipeline_oldest_unacked_seconds', () => {
  it('grows while the destination holds its write, and is 0 once it is acked', async () => {
    await waitFor(() => gate.writesStarted > 0, { timeoutMs: 10_000, message: 'a write held' });
    const first = await waitFor(
      async () => {
        const v = await gauge('conduit_pipeline_oldest_unacked_seconds', 'held');
        return v !== undefined && v > 0 ? v : undefined;
      },
      { timeoutMs: 5_000, message: 'an age above 0' },
    );
    // The same batch is still held: its age only grows between scrapes.
    await waitFor(async () => ((await gauge('conduit_pipeline_oldest_unacked_seconds', 'held')) ?? 0) >= first + 0.05, {
      timeoutMs: 5_000,
      message: 'the age grows',
    });
    assert.ok(((await gauge('conduit_pipeline_inflight_records', 'held')) ?? 0) > 0);
    gate.release();
    await waitFor(() => gate.written === RECORDS, { timeoutMs: 10_000, message: 'every record written' });
    await waitFor(
      async () =>
        (await gauge('conduit_pipeline_oldest_unacked_seconds', 'held')) === 0 &&
        (await gauge('conduit_pipeline_inflight_records', 'held')) === 0,
      { timeoutMs: 10_000, message: 'nothing unacked' },
    );
  });
});
