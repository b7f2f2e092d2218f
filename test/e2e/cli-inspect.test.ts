/**
 * `conduit pipelines inspect` against a real `conduit run` with its HTTP API on
 * a free port: the status and stage summary, live records over the stream
 * inspector's WebSocket (human lines, and one JSON per line with --json), a
 * processor's output, the timeout (inspector.timeout, exit 3) and an unknown
 * component (exit 2). Runs the CLI from source (tsx) so it needs no build.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/sdk/testing.js';
import { CliServer, type Run } from '../support/cli-server.js';

const server = new CliServer('inspect-cli-token-0123456789abcdef');
const conduit = (args: string[]): Promise<Run> => server.run(args);

function jsonLines(r: Run): Array<Record<string, unknown>> {
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(async () => {
  await server.start(
    'conduit-cli-inspect-',
    (d) => `version: "2.2"
pipelines:
  - id: live
    status: running
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings: { format.type: structured, format.options.id: int, rate: "100" }
      - id: out
        type: destination
        plugin: file
        settings: { path: ${join(d, 'out.jsonl')} }
    processors:
      - id: tag
        plugin: field.set
        settings: { field: .Metadata.tagged, value: "yes" }
  - id: idle
    status: stopped
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
});

after(() => server.stop());

describe('conduit pipelines inspect', () => {
  it('prints the status and the stages with their record counts', { timeout: 30_000 }, async () => {
    // Some records first, so that the counts show.
    await waitFor(async () => /records read/.test((await conduit(['pipelines', 'inspect', 'live'])).stdout), {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: 'a record count',
    });
    const r = await conduit(['pipelines', 'inspect', 'live']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'pipeline live is running');
    assert.match(lines[1] ?? '', /^ {2}source {6}live:gen\s+(builtin:)?generator\s+\d+ records read$/);
    assert.match(lines[2] ?? '', /^ {2}processor {3}live:tag\s+(builtin:)?field\.set$/);
    assert.match(lines[3] ?? '', /^ {2}destination live:out\s+(builtin:)?file\s+\d+ records written$/);
    assert.match(lines[4] ?? '', /^ {2}dlq\s+(builtin:)?log\s+window 1, nack threshold 0$/);

    const j = await conduit(['pipelines', 'inspect', 'live', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const env = jsonLines(j)[0] as { ok: boolean; result: { stages: Array<{ kind: string; id: string }> } };
    assert.equal(env.ok, true);
    assert.deepEqual(
      env.result.stages.map((s) => `${s.kind} ${s.id}`),
      ['source live:gen', 'processor live:tag', 'destination live:out'],
    );
  });

  it("prints N live records of the pipeline's source, then exits 0", { timeout: 30_000 }, async () => {
    const human = await conduit(['pipelines', 'inspect', 'live', '--records', '3']);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trim().split('\n');
    assert.equal(lines.length, 3, human.stdout);
    for (const l of lines) assert.match(l, /^create {3}pos=\S+ key=\S+ after=\{"id":\d+\}$/);

    const json = await conduit(['pipelines', 'inspect', 'live', '--records', '2', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const records = jsonLines(json);
    assert.equal(records.length, 2);
    for (const rec of records) {
      assert.equal(rec['operation'], 'OPERATION_CREATE');
      assert.ok('structuredData' in (rec['payload'] as { after: object }).after);
    }
  });

  it("prints a processor's output with --processor ID --out", { timeout: 30_000 }, async () => {
    const r = await conduit([
      'pipelines',
      'inspect',
      'live',
      '--records',
      '1',
      '--processor',
      'live:tag',
      '--out',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [rec] = jsonLines(r);
    assert.equal((rec?.['metadata'] as Record<string, string>)['tagged'], 'yes');
  });

  it('gives up after --timeout with inspector.timeout (exit 3)', { timeout: 30_000 }, async () => {
    const r = await conduit(['pipelines', 'inspect', 'idle', '--records', '1', '--timeout', '1s', '--json']);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const env = jsonLines(r)[0] as { ok: boolean; error: { code: string } };
    assert.equal(env.ok, false);
    assert.equal(env.error.code, 'inspector.timeout');
  });

  it('refuses an unknown component (exit 2)', { timeout: 30_000 }, async () => {
    const r = await conduit(['pipelines', 'inspect', 'live', '--records', '1', '--connector', 'nope']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /connector\.not_found/);
  });
});
