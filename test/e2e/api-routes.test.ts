/**
 * The HTTP API through real HTTP against a running engine (booted as
 * `conduit run` boots it, with the built-in plugins and a pipeline file):
 * every route, its errors, the token on every protected route, CORS, body
 * limits, secret redaction, and file pipelines being read-only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFINITIONS } from '../../src/api/definitions.js';
import { startApi, ROUTES, type ApiServer } from '../../src/api/index.js';
import { conform } from '../../src/api/schema.js';
import { bootEngine, type RunHandle } from '../../src/cli/commands/run.js';
import { resolveEngineConfig } from '../../src/config/engine-config.js';
import { createLogger } from '../../src/log/logger.js';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import { waitFor } from '../../src/sdk/testing.js';

const TOKEN = 'test-token-0123456789abcdef';
const ORIGIN = 'https://ui.example.com';

/** An answer's JSON, read field by field in the assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape
type Json = any;

interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

let dir = '';
let handle: RunHandle;
let api: ApiServer;
let base = '';
const logLines: string[] = [];

async function call(
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string | null; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let payload: string | undefined = opts.raw;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${base}${path}`, { method, headers, body: payload, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // HTML or empty
  }
  if (res.status === 200) checkShape(method, path, parsed);
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Every successful answer has exactly the shape its route declares (and so Conduit's, see openapi.test.ts). */
function checkShape(method: string, path: string, body: unknown): void {
  const pathname = new URL(path, 'http://x').pathname;
  const route = ROUTES.filter((r) => r.method === method)
    .map((r) => ({ r, re: new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`) }))
    .sort((a, b) => a.r.path.split('{').length - b.r.path.split('{').length)
    .find((x) => x.re.test(pathname))?.r;
  if (route === undefined) return; // /openapi and friends
  assert.doesNotThrow(() => conform(body, route.response, DEFINITIONS), `answer of ${route.operationId}`);
}

/** Asserts a google.rpc.Status answer with the stable code as the ErrorInfo reason. */
function assertError(a: Answer, http: number, grpc: number, reason: string, configPath?: string): void {
  assert.equal(a.status, http, `HTTP status of ${JSON.stringify(a.body)}`);
  assert.equal(a.body.code, grpc);
  assert.equal(typeof a.body.message, 'string');
  const info = a.body.details?.[0];
  assert.equal(info?.['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
  assert.equal(info.domain, 'conduit');
  assert.equal(info.reason, reason, a.body.message);
  if (configPath !== undefined) assert.equal(info.metadata.configPath, configPath);
  if (http !== 501) assert.equal(typeof info.metadata.suggestion, 'string', 'every error has a suggestion');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-api-'));
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: from-file
    status: stopped
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings:
          format.type: raw
          format.options.id: int
          rate: "100"
      - id: out
        type: destination
        plugin: file
        settings:
          path: ${join(dir, 'file-out.jsonl')}
`,
  );
  const cfg = resolveEngineConfig({ 'pipelines.path': join(dir, 'p.yaml'), 'db.type': 'inmemory' }, {});
  const logger = createLogger({ level: 'debug', format: 'json', write: (l) => logLines.push(l) });
  const registry = builtinRegistry();
  handle = await bootEngine(cfg, registry, logger);
  const started = await startApi(handle.engine, registry, logger, {
    ...cfg.settings,
    'api.http.address': '127.0.0.1:0',
    'api.http.auth.token': TOKEN,
    'api.http.cors.allowed-origins': ORIGIN,
    'api.http.max-body-bytes': '4096',
  });
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

describe('access', () => {
  it('refuses every protected route without the right token, and logs no token', async () => {
    const wrong = 'wrong-token-value-never-logged';
    for (const r of [
      ...ROUTES.map((x) => ({ method: x.method, path: x.path.replace(/\{[^}]+\}/g, 'x') })),
      { method: 'GET', path: '/openapi/' },
      { method: 'GET', path: '/openapi/api/v1/api.swagger.json' },
      { method: 'GET', path: '/no/such/route' },
    ]) {
      const none = await call(r.method, r.path, undefined, { token: null });
      assertError(none, 401, 16, 'api.unauthenticated');
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="conduit"');
      assertError(await call(r.method, r.path, undefined, { token: wrong }), 401, 16, 'api.unauthenticated');
      const basic = await call(r.method, r.path, undefined, {
        token: null,
        headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      });
      assertError(basic, 401, 16, 'api.unauthenticated');
    }
    const refusals = logLines.filter((l) => l.includes('unauthenticated'));
    assert.ok(refusals.length >= ROUTES.length * 3, 'each refusal is logged');
    assert.ok(refusals.some((l) => l.includes('"path":"/v1/pipelines"')));
    const all = logLines.join('\n');
    assert.ok(!all.includes(wrong), 'a wrong token is not logged');
    assert.ok(!all.includes(TOKEN), 'the token is not logged');
  });

  it('answers CORS only for the configured origins', async () => {
    const pre = await call('OPTIONS', '/v1/pipelines', undefined, {
      token: null,
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    const other = await call('OPTIONS', '/v1/pipelines', undefined, {
      token: null,
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    assertError(other, 403, 3, 'api.origin_not_allowed');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const get = await call('GET', '/info', undefined, { headers: { origin: ORIGIN } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), ORIGIN);
    const evil = await call('GET', '/info', undefined, { headers: { origin: 'https://evil.example.com' } });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });
});

describe('bad requests never hurt the engine', () => {
  it('refuses malformed, oversized and misrouted requests with their codes', async () => {
    assertError(await call('POST', '/v1/pipelines', undefined, { raw: '{"config":' }), 400, 3, 'api.body_malformed');
    const big = { config: { name: 'x', description: 'y'.repeat(5000) } };
    assertError(await call('POST', '/v1/pipelines', big), 413, 8, 'api.body_too_large');
    assertError(await call('GET', '/v1/nothing'), 404, 5, 'api.route_not_found');
    const method = await call('PATCH', '/v1/pipelines');
    assertError(method, 405, 12, 'api.method_not_allowed');
    assert.equal(method.headers.get('allow'), 'GET, POST');
    assertError(await call('GET', '/v1/pipelines/%E0%A4%A'), 404, 5, 'api.route_not_found');
    assertError(await call('POST', '/v1/pipelines', []), 400, 3, 'config.field_invalid', '/');
    assertError(await call('POST', '/v1/pipelines', {}), 400, 3, 'config.field_required', '/config');
    assertError(
      await call('POST', '/v1/pipelines', { config: { name: 7 } }),
      400,
      3,
      'config.field_invalid',
      '/config/name',
    );
    const typo = await call('POST', '/v1/pipelines', { config: { nmae: 'x' } });
    assertError(typo, 400, 3, 'config.field_unknown', '/config/nmae');
    assert.match(typo.body.details[0].metadata.suggestion, /"name"/);
    // a chunked body (no Content-Length) is cut off at the limit too
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/v1/pipelines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"config":{"name":"');
      req.write('x'.repeat(8192));
      req.end('"}}');
    });
    assert.equal(chunked, 413);
    // still serving
    assert.equal((await call('GET', '/info')).status, 200);
  });
});

describe('information, plugins and the OpenAPI document', () => {
  it('GET /info', async () => {
    const a = await call('GET', '/info');
    assert.equal(a.status, 200);
    assert.deepEqual(Object.keys(a.body).sort(), ['arch', 'os', 'version']);
    assert.equal(a.body.os, process.platform);
  });

  it('lists connector plugins with their parameter specs, filtered by name', async () => {
    const all = await call('GET', '/v1/connectors/plugins');
    assert.equal(all.status, 200);
    const file = all.body.find((p: Json) => p.name.startsWith('builtin:file@'));
    assert.ok(file, 'the file plugin is listed');
    assert.deepEqual(file.sourceParams.path, {
      default: '',
      description: file.sourceParams.path.description,
      type: 'TYPE_STRING',
      validations: [{ type: 'TYPE_REQUIRED', value: '' }],
    });
    assert.ok(file.destinationParams['sdk.record.format'], 'sdk.* parameters are included');
    const gen = all.body.find((p: Json) => p.name.startsWith('builtin:generator@'));
    assert.deepEqual(gen.destinationParams, {});
    assert.deepEqual(gen.sourceParams.rate.validations, [{ type: 'TYPE_GREATER_THAN', value: '-1' }]);
    const filtered = await call('GET', '/v1/connectors/plugins?name=fi.*');
    assert.deepEqual(
      filtered.body.map((p: Json) => p.name.split('@')[0]),
      ['builtin:file'],
    );
    assertError(await call('GET', '/v1/connectors/plugins?name=(a'), 400, 3, 'config.field_invalid', '/name');
    assertError(await call('GET', '/v1/pipelines?name=(a%2B)%2B'), 400, 3, 'config.field_invalid', '/name');
    const legacy = await call('GET', '/v1/plugins?name=log');
    assert.equal(legacy.body.length, 1);
  });

  it('lists processor plugins with their parameters', async () => {
    const a = await call('GET', '/v1/processors/plugins?name=field.set');
    assert.equal(a.status, 200);
    assert.equal(a.body.length, 1);
    assert.equal(a.body[0].parameters.field.type, 'TYPE_STRING');
    assert.deepEqual(a.body[0].parameters.field.validations, [
      { type: 'TYPE_REQUIRED', value: '' },
      { type: 'TYPE_EXCLUSION', value: '.Position' },
    ]);
  });

  it('serves the OpenAPI document and a browsable page generated from the routes', async () => {
    const redirect = await call('GET', '/openapi');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/openapi/');
    const page = await call('GET', '/openapi/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const doc = await call('GET', '/openapi/api/v1/api.swagger.json');
    assert.equal(doc.body.swagger, '2.0');
    for (const r of ROUTES) {
      assert.ok(page.body.includes(r.operationId), `${r.operationId} on the page`);
      assert.equal(doc.body.paths[r.path][r.method.toLowerCase()].operationId, r.operationId);
    }
  });
});

describe('pipelines, connectors and processors', () => {
  const out = () => join(dir, 'api-out.jsonl');

  it('creates, edits, runs, stops and deletes a pipeline and its parts', { timeout: 30_000 }, async () => {
    // create
    const created = await call('POST', '/v1/pipelines', { config: { name: 'orders', description: 'd' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const p = created.body;
    assert.deepEqual(Object.keys(p).sort(), [
      'config',
      'connectorIds',
      'createdAt',
      'id',
      'processorIds',
      'sourceProgress',
      'state',
      'updatedAt',
    ]);
    assert.deepEqual(p.sourceProgress, [], 'the extension field: a stopped pipeline has no source progress');
    assert.deepEqual(p.state, { status: 'STATUS_STOPPED', error: '', stoppedReason: 'STOPPED_REASON_USER' });
    assert.deepEqual(p.config, { name: 'orders', description: 'd' });
    assert.deepEqual(p.connectorIds, []);
    assert.ok(!Number.isNaN(Date.parse(p.createdAt)));
    const id: string = p.id;
    assertError(await call('POST', '/v1/pipelines', { config: { name: 'orders' } }), 409, 6, 'pipeline.name_exists');
    assertError(await call('POST', '/v1/pipelines', { config: { name: '' } }), 400, 3, 'config.field_required');

    // list, get, update
    const listed = await call('GET', '/v1/pipelines?name=ord.*');
    assert.deepEqual(
      listed.body.map((x: Json) => x.id),
      [id],
    );
    assert.equal((await call('GET', '/v1/pipelines')).body.length, 2);
    assert.equal((await call('GET', `/v1/pipelines/${id}`)).body.config.name, 'orders');
    assertError(await call('GET', '/v1/pipelines/nope'), 404, 5, 'pipeline.not_found');
    const renamed = await call('PUT', `/v1/pipelines/${id}`, { config: { name: 'orders-2', description: '' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.config.name, 'orders-2');
    assertError(
      await call('PUT', '/v1/pipelines/nope', { config: { name: 'z', description: '' } }),
      404,
      5,
      'pipeline.not_found',
    );
    assertError(await call('POST', `/v1/pipelines/${id}/start`), 400, 9, 'pipeline.invalid');

    // connectors: validate, create with errors, create
    const source = { format: 'raw', 'format.options.id': 'int', rate: '200' };
    assert.equal(
      (
        await call('POST', '/v1/connectors/validate', {
          type: 'TYPE_SOURCE',
          plugin: 'builtin:generator',
          config: { settings: { 'format.type': 'raw', 'format.options.id': 'int' } },
        })
      ).status,
      200,
    );
    assertError(
      await call('POST', '/v1/connectors/validate', {
        type: 'TYPE_SOURCE',
        plugin: 'builtin:generator',
        config: { settings: source },
      }),
      400,
      3,
      'param.unrecognized',
      '/config/settings/format',
    );
    assertError(
      await call('POST', '/v1/connectors', { type: 'TYPE_SOURCE', plugin: 'nope', pipelineId: id }),
      400,
      3,
      'connector.plugin_not_found',
      '/plugin',
    );
    assertError(
      await call('POST', '/v1/connectors', { type: 'TYPE_UNSPECIFIED', plugin: 'generator', pipelineId: id }),
      400,
      3,
      'config.field_invalid',
      '/type',
    );
    assertError(
      await call('POST', '/v1/connectors', { type: 'TYPE_SOURCE', plugin: 'log', pipelineId: id }),
      400,
      3,
      'connector.type_unsupported',
      '/plugin',
    );
    assertError(
      await call('POST', '/v1/connectors', { type: 'TYPE_SOURCE', plugin: 'generator', pipelineId: 'nope' }),
      404,
      5,
      'pipeline.not_found',
    );
    assertError(
      await call('POST', '/v1/connectors', { type: 'TYPE_DESTINATION', plugin: 'file', pipelineId: id }),
      400,
      3,
      'param.required',
      '/config/settings/path',
    );
    const src = await call('POST', '/v1/connectors', {
      type: 'TYPE_SOURCE',
      plugin: 'builtin:generator',
      pipelineId: id,
      config: { name: 'gen', settings: { 'format.type': 'raw', 'format.options.id': 'int', rate: '500' } },
    });
    assert.equal(src.status, 200, JSON.stringify(src.body));
    assert.equal(src.body.type, 'TYPE_SOURCE');
    assert.equal(src.body.plugin, 'builtin:generator');
    assert.equal(src.body.pipelineId, id);
    assert.deepEqual(src.body.sourceState, { position: '' });
    assert.equal(src.body.destinationState, undefined);
    const dst = await call('POST', '/v1/connectors', {
      type: 'TYPE_DESTINATION',
      plugin: 'file',
      pipelineId: id,
      config: { name: 'out', settings: { path: out() } },
    });
    assert.equal(dst.status, 200);
    assert.deepEqual(dst.body.destinationState, { positions: {} });
    assert.deepEqual(
      (await call('GET', `/v1/connectors?pipelineId=${id}`)).body.map((c: Json) => c.id),
      [src.body.id, dst.body.id],
    );
    assert.equal((await call('GET', '/v1/connectors')).body.length, 4);
    assertError(await call('GET', '/v1/connectors/nope'), 404, 5, 'connector.not_found');

    // processors
    const proc = await call('POST', '/v1/processors', {
      plugin: 'field.set',
      parent: { type: 'TYPE_PIPELINE', id },
      config: { settings: { field: '.Metadata.via', value: 'api' }, workers: 1 },
      condition: '{{ true }}',
    });
    assert.equal(proc.status, 200, JSON.stringify(proc.body));
    assert.deepEqual(proc.body.parent, { type: 'TYPE_PIPELINE', id });
    assert.deepEqual(proc.body.config, { settings: { field: '.Metadata.via', value: 'api' }, workers: 1 });
    const onConn = await call('POST', '/v1/processors', {
      plugin: 'builtin:field.set',
      parent: { type: 'TYPE_CONNECTOR', id: dst.body.id },
      config: { settings: { field: '.Metadata.dest', value: 'file' } },
    });
    assert.equal(onConn.status, 200);
    assert.equal(onConn.body.config.workers, 1);
    assertError(
      await call('POST', '/v1/processors', { plugin: 'field.set', parent: { type: 'TYPE_CONNECTOR', id: 'nope' } }),
      404,
      5,
      'connector.not_found',
      '/parent/id',
    );
    assertError(
      await call('POST', '/v1/processors', { plugin: 'nope', parent: { type: 'TYPE_PIPELINE', id } }),
      400,
      3,
      'processor.plugin_not_found',
      '/plugin',
    );
    assertError(
      await call('POST', '/v1/processors', { plugin: 'field.set', parent: { id } }),
      400,
      3,
      'config.field_invalid',
      '/parent/type',
    );
    assertError(
      await call('POST', '/v1/processors', {
        plugin: 'field.set',
        parent: { type: 'TYPE_PIPELINE', id },
        config: { settings: { field: '.Metadata.x', value: 'v' } },
        condition: '{{ if }}',
      }),
      400,
      3,
      'config.field_invalid',
      '/condition',
    );
    assertError(
      await call('POST', '/v1/processors', {
        plugin: 'field.set',
        parent: { type: 'TYPE_PIPELINE', id },
        config: { settings: { field: '.Metadata.x', value: 'v' }, workers: 'many' },
      }),
      400,
      3,
      'config.field_invalid',
      '/config/workers',
    );
    assert.deepEqual(
      (await call('GET', `/v1/processors?parentIds=${encodeURIComponent(dst.body.id)}`)).body.map((x: Json) => x.id),
      [onConn.body.id],
    );
    assert.equal((await call('GET', `/v1/processors?parentIds=${id}&parentIds=${dst.body.id}`)).body.length, 2);
    assert.equal((await call('GET', `/v1/processors/${proc.body.id}`)).body.condition, '{{ true }}');
    assertError(await call('GET', '/v1/processors/nope'), 404, 5, 'processor.not_found');
    const procUpdated = await call('PUT', `/v1/processors/${proc.body.id}`, {
      config: { settings: { field: '.Metadata.via', value: 'http-api' }, workers: 2 },
    });
    assert.equal(procUpdated.status, 200);
    assert.equal(procUpdated.body.config.workers, 2);
    assert.equal(procUpdated.body.condition, '{{ true }}', 'the condition stays');
    assertError(await call('PUT', '/v1/processors/nope', { config: { settings: {} } }), 404, 5, 'processor.not_found');
    const pipeline = (await call('GET', `/v1/pipelines/${id}`)).body;
    assert.deepEqual(pipeline.connectorIds, [src.body.id, dst.body.id]);
    assert.deepEqual(pipeline.processorIds, [proc.body.id]);
    assert.deepEqual((await call('GET', `/v1/connectors/${dst.body.id}`)).body.processorIds, [onConn.body.id]);

    // run
    assert.deepEqual((await call('POST', `/v1/pipelines/${id}/start`)).body, {});
    assert.equal((await call('GET', `/v1/pipelines/${id}`)).body.state.status, 'STATUS_RUNNING');
    assertError(await call('POST', `/v1/pipelines/${id}/start`), 400, 9, 'pipeline.running');
    assertError(
      await call('PUT', `/v1/pipelines/${id}`, { config: { name: 'x', description: '' } }),
      400,
      9,
      'pipeline.running',
    );
    assertError(
      await call('POST', '/v1/connectors', {
        type: 'TYPE_DESTINATION',
        plugin: 'log',
        pipelineId: id,
      }),
      400,
      9,
      'pipeline.running',
    );
    assertError(await call('DELETE', `/v1/processors/${proc.body.id}`), 400, 9, 'pipeline.running');
    assertError(await call('DELETE', `/v1/pipelines/${id}`), 400, 9, 'pipeline.running');
    const lines = async () => (await readFile(out(), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    await waitFor(async () => (await lines()).length >= 20, { timeoutMs: 10_000, message: 'records written' });
    const first = JSON.parse((await lines())[0] ?? '{}');
    assert.equal(first.metadata.via, 'http-api', 'the pipeline processor ran');
    assert.equal(first.metadata.dest, 'file', 'the destination processor ran');
    await waitFor(async () => (await call('GET', `/v1/connectors/${src.body.id}`)).body.sourceState.position !== '', {
      timeoutMs: 5_000,
      message: 'a checkpointed position',
    });

    // stop
    assert.equal((await call('POST', `/v1/pipelines/${id}/stop`, {})).status, 200);
    const stopped = (await call('GET', `/v1/pipelines/${id}`)).body.state;
    assert.deepEqual(stopped, { status: 'STATUS_STOPPED', error: '', stoppedReason: 'STOPPED_REASON_USER' });
    assertError(await call('POST', `/v1/pipelines/${id}/stop`, {}), 400, 9, 'pipeline.not_running');
    assertError(await call('POST', '/v1/pipelines/nope/stop', {}), 404, 5, 'pipeline.not_found');
    assertError(await call('POST', '/v1/pipelines/nope/start'), 404, 5, 'pipeline.not_found');
    assertError(
      await call('POST', `/v1/pipelines/${id}/stop`, { force: 'yes' }),
      400,
      3,
      'config.field_invalid',
      '/force',
    );
    // a forced stop leaves it degraded, as in Conduit; starting repairs it
    assert.equal((await call('POST', `/v1/pipelines/${id}/start`)).status, 200);
    assert.equal((await call('POST', `/v1/pipelines/${id}/stop`, { force: true })).status, 200);
    const forced = (await call('GET', `/v1/pipelines/${id}`)).body.state;
    assert.equal(forced.status, 'STATUS_DEGRADED');
    assert.match(forced.error, /pipeline\.force_stopped/);

    // update a connector of the stopped pipeline
    const connUpdated = await call('PUT', `/v1/connectors/${dst.body.id}`, {
      config: { name: 'out-2', settings: { path: join(dir, 'api-out-2.jsonl') } },
    });
    assert.equal(connUpdated.status, 200, JSON.stringify(connUpdated.body));
    assert.equal(connUpdated.body.config.name, 'out-2');
    assertError(
      await call('PUT', `/v1/connectors/${dst.body.id}`, { config: { settings: { path: '' } } }),
      400,
      3,
      'param.required',
      '/config/settings/path',
    );
    assertError(
      await call('PUT', `/v1/connectors/nope`, { config: { settings: { path: 'x' } } }),
      404,
      5,
      'connector.not_found',
    );

    // delete in Conduit's order: refused while parts are attached
    assertError(await call('DELETE', `/v1/pipelines/${id}`), 400, 9, 'pipeline.has_connectors');
    assertError(await call('DELETE', `/v1/connectors/${dst.body.id}`), 400, 9, 'connector.has_processors');
    assert.equal((await call('DELETE', `/v1/processors/${onConn.body.id}`)).status, 200);
    assertError(await call('DELETE', `/v1/processors/${onConn.body.id}`), 404, 5, 'processor.not_found');
    assert.equal((await call('DELETE', `/v1/connectors/${dst.body.id}`)).status, 200);
    assert.equal((await call('DELETE', `/v1/connectors/${src.body.id}`)).status, 200);
    assertError(await call('DELETE', `/v1/connectors/${src.body.id}`), 404, 5, 'connector.not_found');
    assertError(await call('DELETE', `/v1/pipelines/${id}`), 400, 9, 'pipeline.has_processors');
    assert.equal((await call('DELETE', `/v1/processors/${proc.body.id}`)).status, 200);
    assert.deepEqual((await call('DELETE', `/v1/pipelines/${id}`)).body, {});
    assertError(await call('GET', `/v1/pipelines/${id}`), 404, 5, 'pipeline.not_found');
    assertError(await call('DELETE', `/v1/pipelines/${id}`), 404, 5, 'pipeline.not_found');
  });

  it('never shows secret settings, and "***" sent back keeps the stored secret', async () => {
    const p = (await call('POST', '/v1/pipelines', { config: { name: 'secrets' } })).body;
    const settings = {
      'aws.accessKeyId': 'AKIAEXAMPLE',
      'aws.secretAccessKey': 'very-secret-access-key',
      'aws.region': 'us-east-1',
      'aws.bucket': 'b',
    };
    const c = await call('POST', '/v1/connectors', {
      type: 'TYPE_SOURCE',
      plugin: 's3',
      pipelineId: p.id,
      config: { name: 's3', settings },
    });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.equal(c.body.config.settings['aws.secretAccessKey'], '***');
    assert.equal(c.body.config.settings['aws.accessKeyId'], 'AKIAEXAMPLE');
    for (const path of [`/v1/connectors/${c.body.id}`, '/v1/connectors', `/v1/connectors?pipelineId=${p.id}`]) {
      assert.ok(!JSON.stringify((await call('GET', path)).body).includes('very-secret-access-key'), path);
    }
    // the redacted form sent back keeps the stored value
    const kept = await call('PUT', `/v1/connectors/${c.body.id}`, {
      config: { name: 's3', settings: { ...settings, 'aws.secretAccessKey': '***', 'aws.bucket': 'b2' } },
    });
    assert.equal(kept.status, 200);
    assert.equal(handle.engine.connector(c.body.id)?.config.settings['aws.secretAccessKey'], 'very-secret-access-key');
    assertError(
      await call('POST', '/v1/connectors', {
        type: 'TYPE_SOURCE',
        plugin: 's3',
        pipelineId: p.id,
        config: { settings: { ...settings, 'aws.secretAccessKey': '***' } },
      }),
      400,
      3,
      'api.redacted_setting',
      '/config/settings/aws.secretAccessKey',
    );
    // processor settings too (webhook.http headers.* are secret)
    const w = await call('POST', '/v1/processors', {
      plugin: 'webhook.http',
      parent: { type: 'TYPE_PIPELINE', id: p.id },
      config: { settings: { 'request.url': 'http://127.0.0.1:1/x', 'headers.Authorization': 'Bearer hook-secret' } },
    });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.equal(w.body.config.settings['headers.Authorization'], '***');
    assert.ok(!JSON.stringify((await call('GET', '/v1/processors')).body).includes('hook-secret'));
    // an error about a secret value does not echo it
    const bad = await call('POST', '/v1/connectors/validate', {
      type: 'TYPE_SOURCE',
      plugin: 's3',
      config: { settings: { ...settings, 'aws.secretAccessKey': 'very-secret-access-key', nope: 'x' } },
    });
    assert.equal(bad.status, 400);
    assert.ok(!JSON.stringify(bad.body).includes('very-secret-access-key'));
  });

  it('gets and replaces the dead-letter queue', async () => {
    const p = (await call('POST', '/v1/pipelines', { config: { name: 'dlq' } })).body;
    const got = await call('GET', `/v1/pipelines/${p.id}/dead-letter-queue`);
    assert.deepEqual(got.body, {
      plugin: 'builtin:log',
      settings: { level: 'warn', message: 'record delivery failed' },
      windowSize: '1',
      windowNackThreshold: '0',
    });
    const put = await call('PUT', `/v1/pipelines/${p.id}/dead-letter-queue`, {
      plugin: 'builtin:file',
      settings: { path: join(dir, 'dlq.jsonl') },
      windowSize: '10',
      windowNackThreshold: 3,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.windowSize, '10');
    assert.equal(put.body.windowNackThreshold, '3');
    assert.equal((await call('GET', `/v1/pipelines/${p.id}/dead-letter-queue`)).body.plugin, 'builtin:file');
    assertError(
      await call('PUT', `/v1/pipelines/${p.id}/dead-letter-queue`, { plugin: 'generator', windowSize: '1' }),
      400,
      3,
      'connector.type_unsupported',
      '/plugin',
    );
    assertError(
      await call('PUT', `/v1/pipelines/${p.id}/dead-letter-queue`, { plugin: 'log', windowSize: '-1' }),
      400,
      3,
      'config.field_invalid',
      '/windowSize',
    );
    assertError(await call('GET', '/v1/pipelines/nope/dead-letter-queue'), 404, 5, 'pipeline.not_found');
  });

  it('keeps pipelines from files read-only, but lets them start and stop', async () => {
    const id = 'from-file';
    const p = (await call('GET', `/v1/pipelines/${id}`)).body;
    assert.deepEqual(p.connectorIds, ['from-file:gen', 'from-file:out']);
    const refused = await call('PUT', `/v1/pipelines/${id}`, { config: { name: 'x', description: '' } });
    assertError(refused, 400, 9, 'pipeline.provisioned_by_config');
    assertError(await call('DELETE', `/v1/pipelines/${id}`), 400, 9, 'pipeline.provisioned_by_config');
    assertError(
      await call('PUT', '/v1/connectors/from-file:out', { config: { settings: { path: 'x' } } }),
      400,
      9,
      'pipeline.provisioned_by_config',
    );
    assertError(await call('DELETE', '/v1/connectors/from-file:gen'), 400, 9, 'pipeline.provisioned_by_config');
    assertError(
      await call('POST', '/v1/processors', {
        plugin: 'field.set',
        parent: { type: 'TYPE_CONNECTOR', id: 'from-file:gen' },
        config: { settings: { field: '.Metadata.x', value: 'v' } },
      }),
      400,
      9,
      'pipeline.provisioned_by_config',
    );
    assertError(
      await call('PUT', `/v1/pipelines/${id}/dead-letter-queue`, { plugin: 'log' }),
      400,
      9,
      'pipeline.provisioned_by_config',
    );
    assert.equal((await call('POST', `/v1/pipelines/${id}/start`)).status, 200);
    await waitFor(async () => (await readFile(join(dir, 'file-out.jsonl'), 'utf8').catch(() => '')).length > 0, {
      timeoutMs: 10_000,
      message: 'the file pipeline writes',
    });
    assert.equal((await call('POST', `/v1/pipelines/${id}/stop`)).status, 200);
    assert.equal((await call('GET', `/v1/pipelines/${id}`)).body.state.status, 'STATUS_STOPPED');
  });

  it('serves export, import, plan and apply (no route answers 501 any more)', async () => {
    const exported = await call('POST', '/v1/pipelines/from-file/export');
    assert.equal(exported.status, 200);
    assert.equal(exported.body.document.connectors[1].settings.path, join(dir, 'file-out.jsonl'));
    assertError(await call('POST', '/v1/pipelines/import', exported.body), 400, 9, 'pipeline.provisioned_by_config');
    assertError(await call('POST', '/v1/pipelines/import', {}), 400, 3, 'config.field_required', '/document');
    assertError(await call('POST', '/v1/pipelines/plan', {}), 400, 3, 'config.field_required', '/config/id');
    assertError(await call('POST', '/v1/pipelines/apply', {}), 400, 3, 'config.field_required', '/hash');
    assert.deepEqual((await call('POST', '/v1/pipelines/plan', { config: exported.body.document })).body.changes, []);
  });
});
