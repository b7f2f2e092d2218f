/**
 * `conduit doctor`: every check passes on a sound set-up and fails for a real
 * reason — an occupied port, a PostgreSQL port nobody listens on, a wrong
 * password, a broken pipeline file, a bad setting — with its code, the exit
 * code of the first failing check, and never a secret in the output.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PASSWORD_ROLE, postgresUrl, urlAs } from '../../../test/servers/postgres.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { Output, type Envelope } from '../output.js';
import { doctorCommand, runChecks, type CheckResult } from './doctor.js';

let dir = '';
const TOKEN = 'doctor-token-0123456789abcdef';

/** Settings for a sound set-up in the temp dir; the API on a free loopback port. */
function base(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'config.path': join(dir, 'conduit.yaml'),
    'pipelines.path': join(dir, 'good.yaml'),
    'db.sqlite.path': join(dir, 'conduit.db'),
    'connectors.path': join(dir, 'connectors'),
    'processors.path': join(dir, 'processors'),
    'api.http.address': '127.0.0.1:0',
    ...extra,
  };
}

function check(results: readonly CheckResult[], name: string): CheckResult {
  const r = results.find((x) => x.name === name);
  assert.ok(r, `${name} in ${JSON.stringify(results.map((x) => x.name))}`);
  return r;
}

async function doctor(
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; env: Envelope; human: string }> {
  let json = '';
  const jout = new Output({ json: true, quiet: false, stdout: (s) => (json += s), stderr: () => undefined });
  const code = await doctorCommand(flags, jout, env);
  let human = '';
  const hout = new Output({ json: false, quiet: false, stdout: (s) => (human += s), stderr: (s) => (human += s) });
  assert.equal(await doctorCommand(flags, hout, env), code, 'the same exit code with and without --json');
  return { code, env: JSON.parse(json) as Envelope, human };
}

function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })),
  );
}

/** A port nobody listens on: bound, then released. */
async function freePort(): Promise<number> {
  const { server, port } = await listen();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-doctor-'));
  await writeFile(join(dir, 'conduit.yaml'), 'log:\n  level: info\n');
  await writeFile(
    join(dir, 'good.yaml'),
    `version: "2.2"
pipelines:
  - id: demo
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings: { format.type: raw, format.options.id: int }
      - id: out
        type: destination
        plugin: log
`,
  );
  await writeFile(
    join(dir, 'broken.yaml'),
    `version: "2.2"
pipelines:
  - id: demo
    connectors:
      - id: gen
        type: source
        plugin: no-such-plugin
`,
  );
});

after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('conduit doctor', () => {
  it('passes every check on a sound set-up, exit 0, and writes no store file', async () => {
    const r = await doctor(base());
    assert.equal(r.code, 0, r.human);
    assert.equal(r.env.ok, true);
    const checks = (r.env.result as { checks: CheckResult[] }).checks;
    assert.deepEqual(
      checks.map((c) => [c.name, c.status]),
      [
        ['config.resolve', 'pass'],
        ['config.validate', 'pass'],
        ['store.reachable', 'pass'],
        ['network.http', 'pass'],
        ['network.grpc', 'skip'],
        ['plugins.connectors_dir', 'pass'],
        ['plugins.processors_dir', 'pass'],
        ['plugins.builtin', 'pass'],
      ],
    );
    assert.match(check(checks, 'config.validate').message, /1 pipeline valid/);
    assert.match(check(checks, 'store.reachable').message, /does not exist yet/);
    assert.match(r.human, /^STATUS\s+CHECK\s+MESSAGE$/m);
    assert.match(r.human, /^PASS\s+network\.http\s+127\.0\.0\.1:0 is free/m);
    await assert.rejects(stat(join(dir, 'conduit.db')), 'doctor creates no store file');
  });

  it('fails network.http on an occupied port, naming the address and the flag (exit 3)', async () => {
    const { server, port } = await listen();
    try {
      const r = await doctor(base({ 'api.http.address': `127.0.0.1:${port}` }), {
        CONDUIT_API_HTTP_AUTH_TOKEN: TOKEN,
      });
      assert.equal(r.code, 3, r.human);
      const c = check((r.env.result as { checks: CheckResult[] }).checks, 'network.http');
      assert.equal(c.status, 'fail');
      assert.equal(c.code, 'environment.port_in_use');
      assert.match(c.message, new RegExp(`127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      assert.match(c.suggestion ?? '', /--api\.http\.address/);
      assert.equal(r.env.error?.code, 'environment.port_in_use');
      assert.ok(!JSON.stringify(r.env).includes(TOKEN) && !r.human.includes(TOKEN), 'the token is never printed');
      // With --require-server the engine is expected to hold the port; engine.reachable asks it.
      const rs = await runChecks(base({ 'api.http.address': `127.0.0.1:${port}` }), {
        env: {},
        requireServer: true,
        only: new Set(['network.http', 'engine.reachable']),
      });
      assert.equal(check(rs, 'network.http').status, 'pass');
      assert.equal(check(rs, 'engine.reachable').status, 'fail', 'a plain TCP listener is not an engine');
    } finally {
      server.close();
    }
  });

  it('fails store.reachable for a PostgreSQL port nobody listens on, within the deadline (exit 3)', async () => {
    const port = await freePort();
    const secret = 'pw-never-shown-4711';
    const started = Date.now();
    const r = await doctor(
      base({ 'db.type': 'postgres', 'db.postgres.connection-string': `postgres://u:${secret}@127.0.0.1:${port}/db` }),
    );
    assert.ok(Date.now() - started < 15_000, 'answers within the deadline');
    assert.equal(r.code, 3, r.human);
    const c = check((r.env.result as { checks: CheckResult[] }).checks, 'store.reachable');
    assert.equal(c.status, 'fail');
    assert.equal(c.code, 'store.unreachable');
    assert.ok(!JSON.stringify(r.env).includes(secret) && !r.human.includes(secret), 'no password in the output');
  });

  it('opens a real PostgreSQL store, and fails on a wrong password without printing it', async () => {
    const url = await postgresUrl();
    const ok = await runChecks(base({ 'db.type': 'postgres', 'db.postgres.connection-string': url }), {
      env: {},
      only: new Set(['store.reachable']),
    });
    assert.equal(check(ok, 'store.reachable').status, 'pass', JSON.stringify(ok));
    const wrong = 'wrong-password-0815';
    const bad = await runChecks(
      base({ 'db.type': 'postgres', 'db.postgres.connection-string': urlAs(url, PASSWORD_ROLE.user, wrong) }),
      { env: {}, only: new Set(['store.reachable']) },
    );
    const c = check(bad, 'store.reachable');
    assert.equal(c.status, 'fail', JSON.stringify(bad));
    assert.ok(!JSON.stringify(bad).includes(wrong), 'no password in the result');
  });

  it('fails config.validate on a broken pipeline file, with the file and the code (exit 2)', async () => {
    const r = await doctor(base({ 'pipelines.path': join(dir, 'broken.yaml') }));
    assert.equal(r.code, 2, r.human);
    const c = check((r.env.result as { checks: CheckResult[] }).checks, 'config.validate');
    assert.equal(c.status, 'fail');
    assert.equal(c.code, 'pipeline.invalid');
    assert.match(c.message, /broken\.yaml:\d+:\d+: .*\(and 1 more problem/);
    assert.deepEqual(
      c.problems?.map((p) => p.code),
      ['pipeline.invalid', 'connector.plugin_not_found'],
    );
    assert.match(r.human, /^FAIL\s+config\.validate/m);
  });

  it('fails config.resolve on a bad setting and skips what needs it (exit 2)', async () => {
    const r = await doctor(base({ 'db.type': 'mongo' }));
    assert.equal(r.code, 2, r.human);
    const checks = (r.env.result as { checks: CheckResult[] }).checks;
    assert.equal(check(checks, 'config.resolve').status, 'fail');
    assert.equal(check(checks, 'config.resolve').code, 'engine.config_invalid');
    assert.equal(check(checks, 'store.reachable').status, 'skip');
    assert.equal(check(checks, 'plugins.builtin').status, 'skip');
  });

  it('reports the first failing check: config (2) before the store (3)', async () => {
    const r = await doctor(
      base({ 'pipelines.path': join(dir, 'broken.yaml'), 'db.sqlite.path': join(dir, 'missing', 'sub', 'c.db') }),
    );
    const checks = (r.env.result as { checks: CheckResult[] }).checks;
    assert.equal(check(checks, 'store.reachable').status, 'fail');
    assert.equal(check(checks, 'store.reachable').code, 'store.unreachable');
    assert.equal(r.code, 2);
  });

  it('checks the plugin folders: a file is a fail, files inside a warning', async () => {
    await writeFile(join(dir, 'not-a-dir'), 'x');
    await mkdir(join(dir, 'procs'), { recursive: true });
    await writeFile(join(dir, 'procs', 'thing.wasm'), 'x');
    const r = await runChecks(
      base({ 'connectors.path': join(dir, 'not-a-dir'), 'processors.path': join(dir, 'procs') }),
      {
        env: {},
        only: new Set(['plugins.connectors_dir', 'plugins.processors_dir']),
      },
    );
    assert.deepEqual(
      r.map((c) => [c.name, c.status]),
      [
        ['plugins.connectors_dir', 'fail'],
        ['plugins.processors_dir', 'warn'],
      ],
    );
  });

  it('runs only the checks --check names, and refuses an unknown one (exit 2)', async () => {
    const r = await doctor({ ...base(), check: 'network.http,plugins.builtin', deep: 'true' });
    assert.equal(r.code, 0);
    assert.deepEqual(
      (r.env.result as { checks: CheckResult[] }).checks.map((c) => c.name),
      ['network.http', 'plugins.builtin'],
    );
    await assert.rejects(
      doctorCommand(
        { ...base(), check: 'network.htp' },
        new Output({ json: true, quiet: true, stdout: () => undefined, stderr: () => undefined }),
        {},
      ),
      (e: unknown) =>
        e instanceof ConduitError && e.code === 'engine.config_invalid' && /network\.http/.test(e.suggestion ?? ''),
    );
  });
});
