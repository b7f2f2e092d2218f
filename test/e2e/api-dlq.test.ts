/**
 * The last failed records of a pipeline, through real HTTP and the CLI, against
 * a running engine with a failing `error` processor: records the DLQ took
 * (window-size 0) and the record that stopped a pipeline (the default DLQ
 * settings), kept across a restart of the run, with secrets redacted from the
 * error messages.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DEFINITIONS } from '../../src/api/definitions.js';
import { startApi, ROUTES, type ApiServer } from '../../src/api/index.js';
import { conform } from '../../src/api/schema.js';
import { bootEngine, type RunHandle } from '../../src/cli/commands/run.js';
import { resolveEngineConfig } from '../../src/config/engine-config.js';
import { createLogger } from '../../src/log/logger.js';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import { waitFor } from '../../src/sdk/testing.js';

const TOKEN = 'dlq-test-token-0123456789abcdef';
/**
 * A processor's secret (a webhook header, "Bearer <SECRET>" as a whole): registered when the pipeline is
 * built, it must never be shown.
 */
const SECRET = 'dlq-secret-header-value-8f3a9c';
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of any shape
type Json = any;

let dir = '';
let handle: RunHandle;
let api: ApiServer;
let base = '';
const logLines: string[] = [];

const ROUTE = ROUTES.find((r) => r.operationId === 'PipelineService_ListDeadLetterRecords');

async function get(path: string, token: string | null = TOKEN): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as Json;
  return { status: res.status, body };
}

/** The records answer, checked against its declared schema. */
async function failed(id: string, query = ''): Promise<Json> {
  const a = await get(`/v1/pipelines/${id}/dead-letter-queue/records${query}`);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.ok(ROUTE);
  assert.doesNotThrow(() => conform(a.body, ROUTE.response, DEFINITIONS), 'the answer has its declared shape');
  return a.body;
}

async function status(id: string): Promise<string> {
  return (await get(`/v1/pipelines/${id}`)).body.state.status as string;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args, '--api.http.address', api.address], {
    cwd: dir,
    env: { ...process.env, CONDUIT_API_HTTP_AUTH_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (c) => resolve({ code: c ?? 128, stdout, stderr })));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-api-dlq-'));
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: to-dlq
    status: running
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings: { format.type: structured, format.options.id: int, rate: "200" }
      - id: out
        type: destination
        plugin: file
        settings: { path: ${join(dir, 'out.jsonl')} }
    processors:
      - id: hook # never runs; its secret header is registered when the pipeline is built
        plugin: webhook.http
        condition: '{{ eq 1 2 }}'
        settings:
          request.url: http://127.0.0.1:9/
          headers.Authorization: "Bearer ${SECRET}"
      - id: reject
        plugin: error
        condition: '{{ eq (mod .Payload.After.id 4) 0 }}'
        settings:
          message: 'rejected {{ .Payload.After.id }} (key Bearer ${SECRET})'
    dead-letter-queue:
      plugin: file
      settings: { path: ${join(dir, 'dlq.jsonl')} }
      window-size: 0
  - id: stops
    status: running
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings: { format.type: structured, format.options.id: int, rate: "20", recordCount: "3" }
      - id: out
        type: destination
        plugin: file
        settings: { path: ${join(dir, 'stops.jsonl')} }
    processors:
      - id: fail
        plugin: error
        settings: { message: 'no records wanted' }
`,
  );
  const cfg = resolveEngineConfig({ 'pipelines.path': join(dir, 'p.yaml'), 'db.type': 'inmemory' }, {});
  const logger = createLogger({ level: 'info', format: 'json', write: (l) => logLines.push(l) });
  const registry = builtinRegistry();
  handle = await bootEngine(cfg, registry, logger);
  const started = await startApi(handle.engine, registry, logger, {
    ...cfg.settings,
    'api.http.address': '127.0.0.1:0',
    'api.http.auth.token': TOKEN,
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

describe('the last failed records', () => {
  it('shows the records the DLQ took, newest first, with the error and the node, secrets redacted', async () => {
    const answer = await waitFor(
      async () => {
        const a = await failed('to-dlq');
        return a.records.length >= 5 ? a : undefined;
      },
      { timeoutMs: 20_000, message: 'five failed records' },
    );
    assert.equal(await status('to-dlq'), 'STATUS_RUNNING', 'the DLQ took them: the pipeline goes on');
    const seqs = answer.records.map((r: Json) => Number(r.sequence));
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
      'newest first',
    );
    assert.ok(Number(answer.total) >= answer.records.length);
    for (const f of answer.records) {
      assert.equal(f.outcome, 'OUTCOME_DLQ');
      assert.equal(f.nodeId, 'to-dlq:reject');
      assert.equal(f.error.code, 'processor.failed');
      const id = f.record.payload.after.id as number;
      assert.equal(id % 4, 0, 'only the records the condition selected failed');
      assert.match(f.error.message, /rejected \S+ \(key \*\*\*\)$/);
      assert.equal(f.record.operation, 'create');
      assert.equal(f.record.metadata['conduit.source.connector.id'], 'to-dlq:gen');
      assert.equal(typeof f.record.position, 'string');
      assert.equal(f.recordTruncated, false);
      assert.ok(!Number.isNaN(Date.parse(f.failedAt)));
    }
    assert.ok(!JSON.stringify(answer).includes(SECRET), 'the secret is not in the answer');
    // Each of them is in the DLQ's own destination too.
    const dlq = await waitFor(
      async () => {
        const text = await readFile(join(dir, 'dlq.jsonl'), 'utf8').catch(() => '');
        const positions = text
          .trim()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l).payload.after.position as string);
        return answer.records.every((f: Json) => positions.includes(f.record.position)) ? positions : undefined;
      },
      { timeoutMs: 10_000, message: 'the failed records in the DLQ file' },
    );
    assert.ok(dlq.length >= answer.records.length);

    const two = await failed('to-dlq', '?limit=2');
    assert.equal(two.records.length, 2);
    assert.ok(Number(two.records[0].sequence) >= Number(answer.records[0].sequence));
  });

  it('shows the record that stopped a pipeline, and keeps it across a restart of the run', async () => {
    await waitFor(async () => (await status('stops')) === 'STATUS_DEGRADED', {
      timeoutMs: 20_000,
      message: 'the pipeline stopped by its failed record',
    });
    const first = await failed('stops');
    assert.ok(first.records.length >= 1);
    for (const f of first.records) {
      assert.equal(f.outcome, 'OUTCOME_STOPPED');
      assert.equal(f.nodeId, 'stops:fail');
      assert.equal(f.error.code, 'processor.failed');
      assert.match(f.error.message, /no records wanted/);
    }
    assert.equal(first.records.at(-1).sequence, '1');
    const p = (await get('/v1/pipelines/stops')).body;
    assert.match(p.state.error, /failed in stops:fail/);

    // Start it again: it fails on the same record (nothing was acked), and the first failure is still there.
    const start = await fetch(`${base}/v1/pipelines/stops/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(start.status, 200);
    const again = await waitFor(
      async () => {
        const a = await failed('stops');
        return Number(a.total) > Number(first.total) && (await status('stops')) === 'STATUS_DEGRADED' ? a : undefined;
      },
      { timeoutMs: 20_000, message: 'a second failure after the restart' },
    );
    assert.equal(again.records.at(-1).sequence, '1', 'the failure of the first run is kept');
    assert.equal(again.records[0].record.position, first.records.at(-1).record.position, 'the same record failed');
  });

  it('refuses a bad limit, an unknown pipeline and a missing token', async () => {
    for (const q of ['?limit=0', '?limit=abc', '?limit=1001', '?limit=-1', '?limit=1e2']) {
      const a = await get(`/v1/pipelines/to-dlq/dead-letter-queue/records${q}`);
      assert.equal(a.status, 400, q);
      assert.equal(a.body.details[0].reason, 'config.field_invalid');
      assert.equal(a.body.details[0].metadata.configPath, '/limit');
    }
    const missing = await get('/v1/pipelines/nope/dead-letter-queue/records');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.details[0].reason, 'pipeline.not_found');
    const none = await get('/v1/pipelines/to-dlq/dead-letter-queue/records', null);
    assert.equal(none.status, 401);
    const doc = (await get('/openapi/api/v1/api.swagger.json')).body;
    assert.equal(doc.paths['/v1/pipelines/{id}/dead-letter-queue/records'].get['x-extension'], true);
  });

  it('reads them with "conduit pipelines dlq"', { timeout: 30_000 }, async () => {
    const human = await cli(['pipelines', 'dlq', 'stops']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /^\d+ failed records? of pipeline stops \(\d+ since the engine started, the last \d+ kept\)$/m,
    );
    assert.match(human.stdout, /^#1 {2}\d{4}-\d\d-\d\dT\S+Z {2}stopped the pipeline {2}in stops:fail$/m);
    assert.match(human.stdout, /^ {2}error: {2}processor\.failed: .*no records wanted$/m);
    assert.match(human.stdout, /^ {2}record: \{"position":"/m);

    const json = await cli(['pipelines', 'dlq', 'to-dlq', '--limit', '1', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const env = JSON.parse(json.stdout);
    assert.equal(env.ok, true);
    assert.equal(env.command, 'pipelines dlq');
    assert.equal(env.result.records.length, 1);
    assert.equal(env.result.records[0].outcome, 'OUTCOME_DLQ');
    assert.ok(!json.stdout.includes(SECRET));

    const missing = await cli(['pipelines', 'dlq', 'nope', '--json']);
    assert.equal(missing.code, 2);
    assert.equal(JSON.parse(missing.stdout).error.code, 'pipeline.not_found');
    const bad = await cli(['pipelines', 'dlq', 'stops', '--limit', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^config\.field_invalid: the limit must be/m);
  });

  it('never logs the secret', () => {
    assert.ok(!logLines.join('\n').includes(SECRET));
  });
});
