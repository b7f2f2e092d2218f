/**
 * The stream inspector over real WebSockets against a running engine with its
 * HTTP API: records arrive in Conduit's protojson shape from a connector and
 * from a processor's input and output; sessions survive a pipeline restart; a
 * reader that never reads does not slow a pipeline (it finishes by a deadline,
 * the dropped counter grows); the session gauge goes up and back down; the
 * token and the component are checked before the upgrade.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { metricsRoute, startApiServer, type ApiServer } from '../../src/api/index.js';
import { Engine } from '../../src/engine/engine.js';
import { createLogger } from '../../src/log/logger.js';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import { loadPipelines } from '../../src/provisioning/load.js';
import { waitFor } from '../../src/sdk/testing.js';
import { MemoryStore } from '../../src/store/memory.js';

const TOKEN = 'inspector-token-0123456789abcdef';
const BULK = 200_000;

let dir = '';
let engine: Engine;
let api: ApiServer;
let base = '';
let wsBase = '';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape, read field by field
type Json = any;

/** A WebSocket client that collects every message (parsed). */
interface Reader {
  readonly ws: WebSocket;
  readonly messages: Json[];
  readonly pings: number[];
}

function open(path: string, opts: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}${path}`, opts.protocols ?? [], {
      headers: opts.headers ?? { authorization: `Bearer ${TOKEN}` },
    });
    const r: Reader = { ws, messages: [], pings: [] };
    ws.on('message', (data) => r.messages.push(JSON.parse((data as Buffer).toString('utf8'))));
    ws.on('ping', () => r.pings.push(Date.now()));
    ws.once('open', () => resolve(r));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
}

async function refused(path: string, opts: Parameters<typeof open>[1] = {}): Promise<{ status: number; body: Json }> {
  try {
    const r = await open(path, opts);
    r.ws.close();
  } catch (e) {
    const err = e as { status?: number; body?: string };
    assert.ok(err.status !== undefined, String(e));
    return { status: err.status, body: JSON.parse(err.body ?? '{}') };
  }
  assert.fail(`${path} was accepted`);
}

function close(r: Reader): Promise<void> {
  return new Promise((resolve) => {
    if (r.ws.readyState === WebSocket.CLOSED) return resolve();
    r.ws.once('close', () => resolve());
    r.ws.close();
  });
}

/** A reader that never reads: a raw socket that does the handshake, then is paused for good. */
function stalledReader(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const [host, port] = api.address.split(':');
    const s = connect(Number(port), host, () => {
      s.write(
        `GET ${path} HTTP/1.1\r\nHost: ${api.address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
          `Authorization: Bearer ${TOKEN}\r\n\r\n`,
      );
      s.once('data', (chunk: Buffer) => {
        s.pause(); // never read again: the kernel buffers fill, then the server's
        if (!String(chunk).startsWith('HTTP/1.1 101')) reject(new Error(String(chunk)));
        else resolve(s);
      });
    });
    s.on('error', reject);
  });
}

async function metric(name: string, component: string): Promise<number> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{component_id="${component}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function lines(file: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch(() => '');
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-inspector-'));
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: live
    status: running
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings:
          format.type: structured
          format.options.id: int
          format.options.name: string
          rate: "200"
      - id: out
        type: destination
        plugin: file
        settings:
          path: ${join(dir, 'live.jsonl')}
    processors:
      - id: tag
        plugin: field.set
        settings:
          field: .Metadata.tagged
          value: "yes"
  - id: bulk
    status: stopped
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings:
          format.type: raw
          format.options.id: int
          format.options.name: string
          recordCount: "${BULK}"
      - id: out
        type: destination
        plugin: file
        settings:
          path: ${join(dir, 'bulk.jsonl')}
`,
  );
  const registry = builtinRegistry();
  const logger = createLogger({ level: 'error', format: 'json', write: () => undefined });
  const loaded = await loadPipelines(join(dir, 'p.yaml'), { registry, env: {} });
  assert.deepEqual(loaded.errors, []);
  // No sampling rate and a buffer larger than a batch: the stalled reader below must meet the socket's
  // backpressure, not the rate limit or the buffer bound alone.
  engine = new Engine({
    store: new MemoryStore(),
    registry,
    logger,
    inspector: { recordsPerSecond: 0, bufferRecords: 10_000 },
  });
  await engine.init();
  await engine.provision(loaded.pipelines);
  await engine.startDesired();
  api = await startApiServer({
    engine,
    registry,
    logger,
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    rawRoutes: [metricsRoute(engine)],
    inspector: { pingIntervalMs: 200, pongWaitMs: 5_000 },
  });
  base = `http://${api.address}`;
  wsBase = `ws://${api.address}`;
});

after(async () => {
  await api?.close();
  await engine?.shutdown(5_000);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('the stream inspector', () => {
  it("streams a source's records as {result: v1Record}, and pings", async () => {
    const r = await open('/v1/connectors/live:gen/inspect');
    await waitFor(() => r.messages.length >= 5 && r.pings.length >= 1, { timeoutMs: 10_000, message: 'records' });
    await close(r);
    const rec = r.messages[0].result;
    assert.deepEqual(Object.keys(r.messages[0]), ['result']);
    assert.equal(rec.operation, 'OPERATION_CREATE');
    assert.equal(typeof rec.position, 'string');
    assert.equal(rec.metadata['conduit.source.connector.id'], 'live:gen');
    assert.equal(rec.metadata.tagged, undefined, 'a source is inspected on its output, before processors');
    assert.ok('rawData' in rec.key, JSON.stringify(rec.key));
    assert.equal(typeof rec.payload.after.structuredData.id, 'number');
    assert.deepEqual(rec.payload.before, { rawData: '' });
  });

  it("streams a processor's input and output, and a destination's input", async () => {
    const pin = await open('/v1/processors/live:tag/inspect-in');
    const pout = await open('/v1/processors/live:tag/inspect-out');
    const dest = await open('/v1/connectors/live:out/inspect');
    await waitFor(() => pin.messages.length >= 3 && pout.messages.length >= 3 && dest.messages.length >= 3, {
      timeoutMs: 10_000,
      message: 'records on the three streams',
    });
    await Promise.all([close(pin), close(pout), close(dest)]);
    assert.equal(pin.messages[0].result.metadata.tagged, undefined);
    assert.equal(pout.messages[0].result.metadata.tagged, 'yes');
    assert.equal(dest.messages[0].result.metadata.tagged, 'yes');
  });

  it('keeps a session across a pipeline restart', async () => {
    const r = await open('/v1/connectors/live:gen/inspect');
    await waitFor(() => r.messages.length >= 1, { timeoutMs: 10_000, message: 'a first record' });
    await engine.stop('live');
    const before = r.messages.length;
    await engine.startAndWait('live', 10_000);
    await waitFor(() => r.messages.length > before, { timeoutMs: 10_000, message: 'records after the restart' });
    assert.equal(r.ws.readyState, WebSocket.OPEN);
    await close(r);
  });

  it('a reader that never reads does not slow the pipeline: records are dropped and counted', async () => {
    assert.equal(await metric('conduit_inspector_sessions', 'bulk:gen'), 0);
    const stalled = await stalledReader('/v1/connectors/bulk:gen/inspect');
    await waitFor(async () => (await metric('conduit_inspector_sessions', 'bulk:gen')) === 1, {
      message: 'the session gauge up',
    });
    const started = Date.now();
    await engine.startAndWait('bulk', 10_000);
    await waitFor(async () => (await lines(join(dir, 'bulk.jsonl'))) === BULK, {
      timeoutMs: 30_000,
      intervalMs: 50,
      message: `${BULK} records written while the reader is stalled`,
    });
    const ms = Date.now() - started;
    const dropped = await metric('conduit_inspector_dropped_records_total', 'bulk:gen');
    assert.ok(dropped > BULK / 2, `dropped ${dropped} of ${BULK} (in ${ms} ms)`);
    stalled.destroy();
    await waitFor(async () => (await metric('conduit_inspector_sessions', 'bulk:gen')) === 0, {
      message: 'the session gauge back down',
    });
  });

  it('takes the token from a bearer.<token> sub-protocol, and selects the other protocol', async () => {
    const r = await open('/v1/connectors/live:gen/inspect', {
      headers: {},
      protocols: [`bearer.${TOKEN}`, 'conduit.inspect.v1'],
    });
    assert.equal(r.ws.protocol, 'conduit.inspect.v1');
    await waitFor(() => r.messages.length >= 1, { timeoutMs: 10_000, message: 'a record' });
    await close(r);
  });

  it('refuses a wrong or missing token (401) and an unknown component (404) before the upgrade', async () => {
    const wrong = await refused('/v1/connectors/live:gen/inspect', {
      headers: { authorization: 'Bearer not-the-token-0123456789' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.details[0].reason, 'api.unauthenticated');
    assert.equal((await refused('/v1/connectors/live:gen/inspect', { headers: {} })).status, 401);
    assert.equal(
      (await refused('/v1/connectors/live:gen/inspect', { headers: {}, protocols: ['bearer.wrong'] })).status,
      401,
    );
    const missing = await refused('/v1/connectors/nope/inspect');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.details[0].reason, 'connector.not_found');
    assert.equal((await refused('/v1/processors/nope/inspect-in')).status, 404);
    assert.equal((await refused('/v1/pipelines/live')).status, 404);
  });

  it('answers a plain GET with 400 api.websocket_required (404 for an unknown component)', async () => {
    const get = async (path: string): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: res.status, body: await res.json() };
    };
    for (const path of [
      '/v1/connectors/live:gen/inspect',
      '/v1/processors/live:tag/inspect-in',
      '/v1/processors/live:tag/inspect-out',
    ]) {
      const r = await get(path);
      assert.equal(r.status, 400, path);
      assert.equal(r.body.details[0].reason, 'api.websocket_required');
    }
    assert.equal((await get('/v1/processors/nope/inspect-out')).status, 404);
  });
});
