/**
 * Whole pipelines through real HTTP against a running engine: export and import
 * (round trip, secrets redacted and kept), plan (no change, a processor change,
 * a connector settings change; a deterministic hash), apply (the right hash, a
 * stale one refused with nothing applied), and a restart-class apply on a
 * running generator → file pipeline: refused without api.allow-live-restart-apply,
 * done with it, the pipeline running again and no record missing from its output.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parsePipelineText } from '../../src/provisioning/load.js';
import { DEFINITIONS } from '../../src/api/definitions.js';
import { startApi, ROUTES, type ApiServer } from '../../src/api/index.js';
import { conform } from '../../src/api/schema.js';
import { bootEngine, type RunHandle } from '../../src/cli/commands/run.js';
import { resolveEngineConfig } from '../../src/config/engine-config.js';
import { createLogger } from '../../src/log/logger.js';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import { waitFor } from '../../src/sdk/testing.js';

const TOKEN = 'plan-test-token-0123456789abcdef';
const SECRET = 'pw-9d2e7f3a1c';
const PG_URL = `postgres://app:${SECRET}@127.0.0.1:1/db`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape
type Json = any;

let dir = '';
let handle: RunHandle;
let api: ApiServer;
let live: ApiServer;
const logLines: string[] = [];
const bodies: string[] = [];

/** Calls a route on `server` (default: the one without the live-restart flag); 200 answers are checked against their schema. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  server = api,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`http://${server.address}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  bodies.push(text);
  const parsed = JSON.parse(text);
  if (res.status === 200) {
    const route = ROUTES.find(
      (r) => r.method === method && new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
    );
    assert.ok(route, path);
    assert.doesNotThrow(() => conform(parsed, route.response, DEFINITIONS), `answer of ${route.operationId}`);
  }
  return { status: res.status, body: parsed };
}

function assertError(
  a: { status: number; body: Json },
  http: number,
  grpc: number,
  reason: string,
  path?: string,
): void {
  assert.equal(a.status, http, JSON.stringify(a.body));
  assert.equal(a.body.code, grpc);
  const info = a.body.details?.[0];
  assert.equal(info?.reason, reason, a.body.message);
  assert.equal(typeof info.metadata.suggestion, 'string');
  if (path !== undefined) assert.equal(info.metadata.configPath, path);
}

async function exported(id: string): Promise<Json> {
  const a = await call('POST', `/v1/pipelines/${id}/export`);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  return a.body;
}

async function plan(config: Json, server = api): Promise<Json> {
  const a = await call('POST', '/v1/pipelines/plan', { config }, server);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  return a.body;
}

/** A generator → file pipeline with a pipeline processor and a postgres destination holding a secret (never opened). */
function document(id: string): Json {
  return {
    id,
    status: 'stopped',
    name: `${id} name`,
    description: 'made by import',
    connectors: [
      {
        id: 'gen',
        type: 'source',
        plugin: 'builtin:generator',
        settings: { 'format.type': 'raw', 'format.options.n': 'int', rate: '200' },
      },
      { id: 'out', type: 'destination', plugin: 'file', settings: { path: join(dir, `${id}.jsonl`) } },
      { id: 'pg', type: 'destination', plugin: 'postgres', settings: { url: PG_URL, table: 't' } },
    ],
    processors: [{ id: 'stamp', plugin: 'field.set', settings: { field: '.Metadata.phase', value: 'one' } }],
    dlq: { plugin: 'builtin:log', settings: { level: 'warn' }, windowSize: '1', windowNackThreshold: '0' },
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-plan-'));
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: from-file
    status: stopped
    connectors:
      - { id: gen, type: source, plugin: generator, settings: { format.type: raw, format.options.n: int } }
      - { id: out, type: destination, plugin: file, settings: { path: ${join(dir, 'file.jsonl')} } }
`,
  );
  const cfg = resolveEngineConfig({ 'pipelines.path': join(dir, 'p.yaml'), 'db.type': 'inmemory' }, {});
  const logger = createLogger({ level: 'debug', format: 'json', write: (l) => logLines.push(l) });
  const registry = builtinRegistry();
  handle = await bootEngine(cfg, registry, logger);
  const settings = { ...cfg.settings, 'api.http.address': '127.0.0.1:0', 'api.http.auth.token': TOKEN };
  const a = await startApi(handle.engine, registry, logger, settings);
  const b = await startApi(handle.engine, registry, logger, { ...settings, 'api.allow-live-restart-apply': 'true' });
  assert.ok(a && b);
  api = a;
  live = b;
});

after(async () => {
  await api?.close();
  await live?.close();
  await handle?.engine.shutdown(5_000);
  await handle?.store.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('export and import', () => {
  it('imports a new pipeline, exports it with secrets redacted, and takes the export back unchanged', async () => {
    const created = await call('POST', '/v1/pipelines/import', { document: document('imp') });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.id, 'imp');
    assert.deepEqual(created.body.connectorIds, ['imp:gen', 'imp:out', 'imp:pg']);
    assert.deepEqual(created.body.processorIds, ['imp:stamp']);
    assert.equal(created.body.state.status, 'STATUS_STOPPED');

    const first = await exported('imp');
    assert.equal(first.id, 'imp');
    assert.equal(first.config.name, 'imp name');
    const want = document('imp');
    want.connectors[2].settings.url = '***';
    want.connectors.forEach((c: Json) => (c.processors = []));
    want.connectors[0].name = 'gen';
    want.connectors[1].name = 'out';
    want.connectors[2].name = 'pg';
    want.processors[0].workers = 1;
    want.processors[0].condition = '';
    assert.deepEqual(first.document, want, 'the config comes back as it went in, the secret as ***');

    // The export, sent back as it is: "***" keeps the stored secret; nothing changes.
    const again = await call('POST', '/v1/pipelines/import', first);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const second = await exported('imp');
    assert.deepEqual(second.document, first.document);
    assert.equal(second.updatedAt, first.updatedAt, 'an import without changes changes nothing');
    assert.equal(handle.engine.connector('imp:pg')?.config.settings['url'], PG_URL, 'the stored secret is kept');

    // Reconciling: the export with one setting changed.
    const changed = structuredClone(first);
    changed.document.description = 'changed';
    changed.document.connectors[0].settings.rate = '100';
    assert.equal((await call('POST', '/v1/pipelines/import', changed)).status, 200);
    const third = await exported('imp');
    assert.equal(third.config.description, 'changed');
    assert.equal(third.document.connectors[0].settings.rate, '100');
    assert.equal(handle.engine.connector('imp:pg')?.config.settings['url'], PG_URL);
    assert.ok(!bodies.some((b) => b.includes(SECRET)), 'no answer shows the secret');
    assert.ok(!logLines.some((l) => l.includes(SECRET)), 'no log line shows the secret');
  });

  it('refuses file pipelines, a "***" with nothing stored, an unknown plugin and a body without a document', async () => {
    const file = await exported('from-file');
    assertError(await call('POST', '/v1/pipelines/import', file), 400, 9, 'pipeline.provisioned_by_config');
    const copy = document('other');
    copy.connectors[2].settings.url = '***';
    assertError(
      await call('POST', '/v1/pipelines/import', { document: copy }),
      400,
      3,
      'api.redacted_setting',
      '/document/connectors/2/settings/url',
    );
    const bad = document('bad');
    bad.connectors[1].plugin = 'nope';
    const refused = await call('POST', '/v1/pipelines/import', { document: bad });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.details[0].metadata.configPath, '/document/connectors/1/plugin');
    assertError(
      await call('POST', '/v1/pipelines/import', { config: { name: 'x' } }),
      400,
      3,
      'config.field_required',
      '/document',
    );
    assert.equal(handle.engine.get('other'), undefined);
    assert.equal(handle.engine.get('bad'), undefined);
  });
});

describe('conduit pipelines export', () => {
  it('prints the pipeline as a pipeline file that reads back as the same pipeline (secrets as ***)', async () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), main, 'pipelines', 'export', 'imp', '--api.http.address', api.address],
      { env: { ...process.env, CONDUIT_API_HTTP_AUTH_TOKEN: TOKEN }, cwd: dir },
    );
    assert.ok(!stdout.includes(SECRET));
    const read = parsePipelineText(stdout, 'export.yaml', { registry: builtinRegistry(), env: {} });
    assert.deepEqual(read.errors, []);
    const stored = handle.engine.get('imp')?.config;
    assert.ok(stored);
    const back = read.pipelines[0];
    assert.ok(back);
    const secretOut = (c: typeof stored): unknown => ({
      ...c,
      origin: undefined,
      connectors: c.connectors.map((x) =>
        x.plugin === 'postgres' ? { ...x, settings: { ...x.settings, url: '***' } } : x,
      ),
    });
    assert.deepEqual(secretOut(back), secretOut({ ...stored, status: 'stopped' }));
  });
});

describe('plan and apply', () => {
  it('plans nothing for the stored config, and each change with its class and config paths', async () => {
    const doc = (await exported('imp')).document;
    const none = await plan(doc);
    assert.deepEqual(none.changes, []);
    assert.equal(none.pipelineId, 'imp');
    assert.match(none.hash, /^[0-9a-f]{64}$/);
    assert.equal((await plan(doc)).hash, none.hash, 'the hash is deterministic');

    const proc = structuredClone(doc);
    proc.processors[0].settings.value = 'two';
    const p = await plan(proc);
    assert.deepEqual(p.changes, [
      {
        resource: 'processor',
        id: 'imp:stamp',
        action: 'update',
        effect: 'restart',
        configPaths: ['/processors/0/settings/value'],
        code: 'provisioning.processor.update',
      },
    ]);
    assert.notEqual(p.hash, none.hash);

    const conn = structuredClone(doc);
    conn.connectors[1].settings.path = join(dir, 'elsewhere.jsonl');
    conn.description = 'again';
    const c = await plan(conn);
    assert.deepEqual(
      c.changes.map((x: Json) => [x.resource, x.id, x.action, x.effect, x.configPaths]),
      [
        ['pipeline', 'imp', 'update', 'in_place', ['/description']],
        ['connector', 'imp:out', 'update', 'restart', ['/connectors/1/settings/path']],
      ],
    );

    const fresh = await plan(document('new-one'));
    assert.deepEqual(
      fresh.changes.map((x: Json) => `${x.action} ${x.resource} ${x.id}`),
      [
        'create pipeline new-one',
        'create processor new-one:stamp',
        'create connector new-one:gen',
        'create connector new-one:out',
        'create connector new-one:pg',
      ],
    );
    assert.equal(handle.engine.get('new-one'), undefined, 'a plan changes nothing');
    assert.ok(!bodies.some((b) => b.includes(SECRET)));
  });

  it('applies with the current hash, and refuses a stale one without applying anything', async () => {
    const doc = (await exported('imp')).document;
    const want = structuredClone(doc);
    want.processors[0].settings.value = 'applied';
    const p = await plan(want);
    const applied = await call('POST', '/v1/pipelines/apply', { config: want, hash: p.hash });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.deepEqual(applied.body, p);
    assert.equal((await exported('imp')).document.processors[0].settings.value, 'applied');
    assert.deepEqual((await plan(want)).changes, []);

    // A plan, then another change, then the plan's apply: stale, and nothing of it applied.
    const mine = structuredClone(want);
    mine.connectors[0].settings.rate = '50';
    const stalePlan = await plan(mine);
    const theirs = structuredClone(want);
    theirs.description = 'someone else';
    const other = await plan(theirs);
    assert.equal((await call('POST', '/v1/pipelines/apply', { config: theirs, hash: other.hash })).status, 200);
    const stale = await call('POST', '/v1/pipelines/apply', { config: mine, hash: stalePlan.hash });
    assertError(stale, 412, 9, 'provisioning.plan_stale', '/hash');
    const now = (await exported('imp')).document;
    assert.equal(
      now.connectors[0].settings.rate,
      want.connectors[0].settings.rate,
      'nothing of the stale plan applied',
    );
    assert.equal(now.description, 'someone else');
    assertError(await call('POST', '/v1/pipelines/apply', { config: mine }), 400, 3, 'config.field_required', '/hash');
  });

  it('creates (and starts) a new pipeline from an applied plan', async () => {
    const doc = document('applied-new');
    doc.connectors.pop(); // no postgres: it runs
    doc.status = 'running';
    const p = await plan(doc);
    assert.equal((await call('POST', '/v1/pipelines/apply', { config: doc, hash: p.hash })).status, 200);
    await waitFor(async () => (await call('GET', '/v1/pipelines/applied-new')).body.state.status === 'STATUS_RUNNING', {
      timeoutMs: 10_000,
      message: 'the new pipeline runs',
    });
    await handle.engine.stop('applied-new');
  });

  it('refuses a restart-class apply on a running pipeline without the flag, and with it drains, applies and restarts with no record lost', async () => {
    const doc = document('live');
    doc.connectors.pop();
    const out = join(dir, 'live.jsonl');
    assert.equal((await call('POST', '/v1/pipelines/import', { document: doc })).status, 200);
    assert.equal((await call('POST', '/v1/pipelines/live/start')).status, 200);
    const lines = async (): Promise<Json[]> =>
      (await readFile(out, 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l.endsWith('}'))
        .map((l) => JSON.parse(l));
    await waitFor(async () => (await lines()).length >= 20, { timeoutMs: 10_000, message: 'records written' });

    const want = structuredClone((await exported('live')).document);
    want.processors[0].settings.value = 'two';
    const p = await plan(want);
    assert.equal(p.changes[0].effect, 'restart');
    const refused = await call('POST', '/v1/pipelines/apply', { config: want, hash: p.hash });
    assertError(refused, 400, 9, 'provisioning.restart_not_allowed', '/processors/0/settings/value');
    assert.equal((await exported('live')).document.processors[0].settings.value, 'one', 'nothing applied');
    assert.equal((await call('GET', '/v1/pipelines/live')).body.state.status, 'STATUS_RUNNING', 'still running');
    // An import refuses it too: it follows the edit rules (stop first).
    assertError(await call('POST', '/v1/pipelines/import', { document: want }), 400, 9, 'pipeline.running');
    // In-place changes apply to the running pipeline without a restart.
    const desc = structuredClone((await exported('live')).document);
    desc.description = 'in place';
    const d = await plan(desc);
    assert.equal((await call('POST', '/v1/pipelines/apply', { config: desc, hash: d.hash })).status, 200);
    want.description = 'in place';
    const p2 = await plan(want);

    const applied = await call('POST', '/v1/pipelines/apply', { config: want, hash: p2.hash }, live);
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    await waitFor(async () => (await call('GET', '/v1/pipelines/live')).body.state.status === 'STATUS_RUNNING', {
      timeoutMs: 10_000,
      message: 'running again',
    });
    await waitFor(async () => (await lines()).some((r) => r.metadata?.phase === 'two'), {
      timeoutMs: 10_000,
      message: 'records of the new config',
    });
    const count = (await lines()).length;
    await waitFor(async () => (await lines()).length > count + 20, { timeoutMs: 10_000, message: 'the output grows' });
    await handle.engine.stop('live');

    const records = await lines();
    const seqs = new Set(records.map((r) => Number(Buffer.from(r.position as string, 'base64').toString())));
    const max = Math.max(...seqs);
    for (let i = 1; i <= max; i++) assert.ok(seqs.has(i), `record ${i} of ${max} is in the output`);
    const phases = records.map((r) => r.metadata?.phase as string);
    assert.equal(phases[0], 'one');
    const firstTwo = phases.indexOf('two');
    assert.ok(
      phases.slice(firstTwo).every((x) => x === 'two'),
      'after the apply every record has the new config',
    );
  });
});
