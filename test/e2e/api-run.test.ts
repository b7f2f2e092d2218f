/**
 * `conduit run` serves the HTTP API: with a token (from a file or the
 * environment) on the configured address, only the health routes without one, exit 3 when
 * the address is taken, and it closes the API when it stops on SIGTERM.
 * Runs the CLI from source (tsx) so it needs no build.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/sdk/testing.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const TOKEN = 'file-token-abcdef0123456789';
/** Every child started, so a failed test leaves none running. */
const children: ChildProcess[] = [];

function conduit(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 128)));
  return { child, output: () => out, exited };
}

/** The address from the "HTTP API listening" log line. */
function listening(out: string): string | undefined {
  for (const line of out.split('\n')) {
    if (!line.includes('HTTP API listening')) continue;
    return (JSON.parse(line) as { address: string }).address;
  }
  return undefined;
}

let dir = '';
const args = () => [
  'run',
  '--pipelines.path',
  join(dir, 'p.yaml'),
  '--db.type',
  'inmemory',
  '--log.format',
  'json',
  '--api.http.address',
  '127.0.0.1:0',
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-api-run-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: demo
    status: stopped
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings: { format.type: raw, format.options.id: int, rate: "20" }
      - id: out
        type: destination
        plugin: log
`,
  );
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('conduit run and the HTTP API', () => {
  it('serves the API with a token file, and closes it on SIGTERM', { timeout: 30_000 }, async () => {
    const p = conduit([...args(), '--api.http.auth.token-file', join(dir, 'token')]);
    const address = await waitFor(() => listening(p.output()), { timeoutMs: 20_000, message: 'the API listening' });
    const base = `http://${address}`;
    const ok = await fetch(`${base}/v1/pipelines`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    const pipelines = (await ok.json()) as Array<{ id: string }>;
    assert.deepEqual(
      pipelines.map((x) => x.id),
      ['demo'],
    );
    const refused = await fetch(`${base}/v1/pipelines`);
    assert.equal(refused.status, 401);
    const start = await fetch(`${base}/v1/pipelines/demo/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(start.status, 200);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
    await assert.rejects(fetch(`${base}/info`), 'the API is closed');
    assert.ok(!p.output().includes(TOKEN), 'the token is never printed');
  });

  it('takes the token from CONDUIT_API_HTTP_AUTH_TOKEN', { timeout: 30_000 }, async () => {
    const token = 'env-token-0123456789abcdef';
    const p = conduit(args(), { CONDUIT_API_HTTP_AUTH_TOKEN: token });
    const address = await waitFor(() => listening(p.output()), { timeoutMs: 20_000, message: 'the API listening' });
    const res = await fetch(`http://${address}/info`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.ok(!p.output().includes(token));
  });

  it('serves only the health routes without a token, and says so', { timeout: 30_000 }, async () => {
    const p = conduit(args(), { CONDUIT_API_HTTP_AUTH_TOKEN: '' });
    const address = await waitFor(() => listening(p.output()), { timeoutMs: 20_000, message: 'the API listening' });
    assert.match(p.output(), /"serving":"\/healthz, \/readyz only: no token is configured/);
    assert.equal((await fetch(`http://${address}/healthz`)).status, 200);
    assert.equal((await fetch(`http://${address}/readyz`)).status, 200);
    assert.equal((await fetch(`http://${address}/metrics`)).status, 401, 'metrics need api.http.auth.metrics-public');
    const refused = await fetch(`http://${address}/v1/pipelines`);
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /CONDUIT_API_HTTP_AUTH_TOKEN/);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0, p.output());
  });

  it('exits 3 when the address is taken, and 2 for a short token', { timeout: 30_000 }, async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const p = conduit([...args(), '--api.http.address', `127.0.0.1:${port}`, '--json'], {
        CONDUIT_API_HTTP_AUTH_TOKEN: TOKEN,
      });
      assert.equal(await p.exited, 3, p.output());
      assert.match(p.output(), /environment\.port_in_use/);
    } finally {
      taken.close();
    }
    // A secret is redacted wherever it appears, so the short token is one that the message cannot contain.
    const short = conduit(args(), { CONDUIT_API_HTTP_AUTH_TOKEN: 'q7z9x' });
    assert.equal(await short.exited, 2, short.output());
    assert.match(short.output(), /shorter than 16 characters/);
    assert.ok(!short.output().includes('q7z9x'));
  });
});
