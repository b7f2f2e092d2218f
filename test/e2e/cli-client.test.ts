/**
 * The client commands against a real `conduit run` with its HTTP API on a free
 * port: pipelines list/describe/start/stop, connectors list/describe, and the
 * plugin commands, in human form and with --json, with the exit codes the
 * same errors have locally (2 for input, 3 when the server cannot be reached).
 * Runs the CLI from source (tsx) so it needs no build.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliServer, type Run } from '../support/cli-server.js';

const TOKEN = 'client-token-0123456789abcdef';
const server = new CliServer(TOKEN);
/** Runs one client command against the server and collects its output. */
const conduit = (args: string[], env?: NodeJS.ProcessEnv): Promise<Run> => server.run(args, env);

interface Envelope {
  command: string;
  ok: boolean;
  summary: string;
  result?: unknown;
  error?: { code: string; message: string; suggestion?: string; errors?: unknown[] };
}

/** The one JSON envelope a --json command prints. */
function envelope(r: Run): Envelope {
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one envelope on stdout, got: ${r.stdout}${r.stderr}`);
  return JSON.parse(lines[0] as string) as Envelope;
}

async function json(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; env: Envelope; run: Run }> {
  const run = await conduit([...args, '--json'], env);
  return { code: run.code, env: envelope(run), run };
}

before(async () => {
  await server.start(
    'conduit-cli-client-',
    () => `version: "2.2"
pipelines:
  - id: demo
    status: stopped
    description: generator to log
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

after(() => server.stop());

describe('conduit client commands against conduit run', () => {
  it('lists and describes pipelines', { timeout: 30_000 }, async () => {
    const human = await conduit(['pipelines', 'list']);
    assert.equal(human.code, 0, human.stderr);
    const [header, row] = human.stdout.trim().split('\n');
    assert.match(header ?? '', /^ID\s+NAME\s+STATE\s+CREATED\s+LAST_UPDATED$/);
    assert.match(row ?? '', /^demo\s+demo\s+stopped \(user\)\s+\d{4}-/);
    // Aligned: every column starts where its header does.
    assert.equal(row?.indexOf('stopped'), header?.indexOf('STATE'));

    const list = await json(['pipelines', 'ls']);
    assert.equal(list.code, 0);
    assert.equal(list.env.command, 'pipelines list');
    assert.equal(list.env.ok, true);
    assert.equal(list.env.summary, '1 pipeline');
    assert.deepEqual(
      (list.env.result as Array<{ id: string }>).map((p) => p.id),
      ['demo'],
    );

    const desc = await conduit(['pipelines', 'describe', 'demo']);
    assert.equal(desc.code, 0, desc.stderr);
    // Values aligned after the longest key ("Last updated:").
    assert.match(desc.stdout, /^ID: {11}demo$/m);
    assert.match(desc.stdout, /^Description: {2}generator to log$/m);
    assert.match(desc.stdout, /^State: {8}stopped \(user\)$/m);
    assert.match(desc.stdout, /^Connectors: {3}demo:gen, demo:out$/m);
    assert.match(desc.stdout, /^ {2}demo:gen\s+generator\s+source\s+\d{4}-/m);
    assert.match(desc.stdout, /^ {2}demo:out\s+log\s+destination\s+\d{4}-/m);

    const missing = await json(['pipelines', 'describe', 'nope']);
    assert.equal(missing.code, 2);
    assert.equal(missing.env.ok, false);
    assert.equal(missing.env.error?.code, 'pipeline.not_found');
  });

  it('starts and stops a pipeline, with the engine error codes', { timeout: 40_000 }, async () => {
    const started = await json(['pipelines', 'start', 'demo']);
    assert.equal(started.code, 0, started.run.stdout);
    assert.equal((started.env.result as { state: { status: string } }).state.status, 'STATUS_RUNNING');

    const again = await json(['pipelines', 'start', 'demo']);
    assert.equal(again.code, 2);
    assert.equal(again.env.error?.code, 'pipeline.running');

    const stopped = await conduit(['pipelines', 'stop', 'demo']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /^pipeline demo stopped$/m);

    const twice = await conduit(['pipelines', 'stop', 'demo']);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /^pipeline\.not_running: /m);

    // A force stop drops what is in flight: Conduit leaves such a pipeline degraded.
    assert.equal((await conduit(['pipelines', 'start', 'demo'])).code, 0);
    const forced = await json(['pipelines', 'stop', 'demo', '--force']);
    assert.equal(forced.code, 0, forced.run.stdout);
    assert.match(forced.env.summary, /^pipeline demo stopped by force/);
    assert.notEqual((forced.env.result as { state: { status: string } }).state.status, 'STATUS_RUNNING');

    const noId = await conduit(['pipelines', 'start']);
    assert.equal(noId.code, 2);
    assert.match(noId.stderr, /needs a pipeline ID/);
  });

  it('lists and describes connectors', { timeout: 30_000 }, async () => {
    const list = await conduit(['connectors', 'list', '--pipeline-id', 'demo']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^ID\s+PLUGIN\s+TYPE\s+PIPELINE_ID\s+CREATED\s+LAST_UPDATED$/);
    assert.equal(lines.length, 3);

    const desc = await json(['connector', 'describe', 'demo:gen']);
    assert.equal(desc.code, 0);
    const c = desc.env.result as { type: string; pipelineId: string; config: { settings: Record<string, string> } };
    assert.equal(c.type, 'TYPE_SOURCE');
    assert.equal(c.pipelineId, 'demo');
    assert.equal(c.config.settings['rate'], '20');

    const human = await conduit(['connectors', 'describe', 'demo:gen']);
    assert.match(human.stdout, /^Position:/m);
    assert.match(human.stdout, /^ {2}rate\s+20$/m);

    const none = await json(['connectors', 'list', '--pipeline-id', 'other']);
    assert.equal(none.env.summary, '0 connectors');

    const missing = await json(['connectors', 'describe', 'demo:nope']);
    assert.equal(missing.code, 2);
    assert.equal(missing.env.error?.code, 'connector.not_found');
  });

  it('lists and describes connector and processor plugins', { timeout: 30_000 }, async () => {
    // The filter is anchored, as in Conduit.
    const list = await conduit(['connector-plugins', 'list', '--name', 'gen.*']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+SUMMARY$/m);
    assert.match(list.stdout, /^builtin:generator@\S+\s+\S/m);
    assert.doesNotMatch(list.stdout, /builtin:log@/);

    const bad = await json(['connector-plugins', 'list', '--name', '(a+)+']);
    assert.equal(bad.code, 2);
    assert.equal(bad.env.error?.code, 'config.field_invalid');

    const gen = await conduit(['connector-plugins', 'describe', 'generator']);
    assert.equal(gen.code, 0, gen.stderr);
    assert.match(gen.stdout, /^Source parameters:$/m);
    assert.match(gen.stdout, /^ {2}rate\s+/m);

    const typo = await json(['connector-plugins', 'describe', 'generatr']);
    assert.equal(typo.code, 2);
    assert.equal(typo.env.error?.code, 'connector.plugin_not_found');
    assert.match(typo.env.error?.suggestion ?? '', /generator/);

    const proc = await json(['processor-plugins', 'describe', 'field.set']);
    assert.equal(proc.code, 0);
    const spec = proc.env.result as { name: string; parameters: Record<string, unknown> };
    assert.match(spec.name, /^builtin:field\.set@/);
    assert.ok('field' in spec.parameters);

    const procs = await json(['processor-plugins', 'list']);
    assert.ok((procs.env.result as unknown[]).length > 5);
  });

  it('says what is wrong with the token, and never prints it', { timeout: 30_000 }, async () => {
    const none = await json(['pipelines', 'list'], { CONDUIT_API_HTTP_AUTH_TOKEN: '' });
    assert.equal(none.code, 2);
    assert.equal(none.env.error?.code, 'api.unauthenticated');
    assert.match(none.env.error?.suggestion ?? '', /CONDUIT_API_HTTP_AUTH_TOKEN/);

    const wrong = await conduit(['pipelines', 'list'], { CONDUIT_API_HTTP_AUTH_TOKEN: 'wrong-token-0123456789' });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^api\.unauthenticated: /m);
    assert.match(wrong.stderr, /refused the token/);

    await writeFile(join(server.dir, 'token'), `${TOKEN}\n`);
    const file = await conduit(['pipelines', 'list', '--api.http.auth.token-file', join(server.dir, 'token')], {
      CONDUIT_API_HTTP_AUTH_TOKEN: '',
    });
    assert.equal(file.code, 0, file.stderr);
    assert.ok(!server.serverOutput.includes(TOKEN), 'the server never prints the token');
  });

  it('exits 3 naming the address when no server answers', { timeout: 30_000 }, async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const child = server.spawn(['pipelines', 'list', '--json', '--api.http.address', `127.0.0.1:${port}`], {
      CONDUIT_API_HTTP_AUTH_TOKEN: TOKEN,
    });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 128)));
    assert.equal(code, 3, stdout);
    const env = JSON.parse(stdout) as Envelope;
    assert.equal(env.error?.code, 'api.unreachable');
    assert.match(env.error?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(env.error?.suggestion ?? '', /conduit run/);
  });

  it('refuses unknown commands and flags with exit 2', { timeout: 30_000 }, async () => {
    const sub = await conduit(['connectors', 'lst']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /did you mean "connectors list"/);
    const flag = await conduit(['pipelines', 'list', '--pipeline-id', 'x']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown flag --pipeline-id/);
  });
});
