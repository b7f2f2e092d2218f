/**
 * The engine's log lines: with `log.format: json` (from conduit.yaml) every
 * line is one JSON object, lines about a pipeline carry `pipeline`, lines
 * about a connector or processor carry its id, and error lines carry the
 * stable `code`. `--log.format cli` (a flag over the file) gives human lines.
 * Runs `conduit run` from source on a pipeline whose processor fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
let dir = '';

/** Runs conduit to its end; the degraded pipeline stops it (pipelines.exit-on-degraded). */
function conduit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: dir,
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONDUIT_'))),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr });
    }),
  );
}

const ARGS = ['run', '--api.enabled', 'false', '--db.type', 'inmemory'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-logs-'));
  await writeFile(
    join(dir, 'conduit.yaml'),
    `log:
  format: json
  level: debug
pipelines:
  path: ./p.yaml
  exit-on-degraded: true
  error-recovery:
    max-retries: 0
`,
  );
  await writeFile(
    join(dir, 'p.yaml'),
    `version: "2.2"
pipelines:
  - id: failing
    status: running
    connectors:
      - id: gen
        type: source
        plugin: generator
        settings: { format.type: raw, format.options.id: int, recordCount: "5" }
      - id: out
        type: destination
        plugin: log
    processors:
      - id: boom
        plugin: error
        settings: { message: "boom on purpose" }
`,
  );
});

after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

type Line = Record<string, unknown>;

describe('log lines', () => {
  it(
    'with log.format json: every line is JSON; pipeline, connector/processor and code are on them',
    {
      timeout: 45_000,
    },
    async () => {
      const r = await conduit(ARGS);
      assert.equal(r.code, 1, `exit-on-degraded exits 1\n${r.stdout}\n${r.stderr}`);
      const text = r.stdout + r.stderr;
      const lines: Line[] = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          try {
            return JSON.parse(l) as Line;
          } catch {
            assert.fail(`not a JSON line: ${l}`);
          }
        });
      for (const l of lines) {
        assert.equal(typeof l['level'], 'string');
        assert.equal(typeof l['time'], 'string');
        assert.equal(typeof l['message'], 'string');
        if (l['level'] === 'error' && l['error'] !== undefined)
          assert.equal(typeof l['code'], 'string', JSON.stringify(l));
      }
      const byMessage = (m: string): Line => {
        const found = lines.find((l) => l['message'] === m);
        assert.ok(found, `a "${m}" line in\n${text}`);
        return found;
      };
      const failed = byMessage('pipeline failed');
      assert.equal(failed['pipeline'], 'failing');
      assert.equal(failed['processor'], 'failing:boom');
      assert.equal(failed['code'], 'record.nacked');
      const degraded = byMessage('pipeline degraded');
      assert.equal(degraded['pipeline'], 'failing');
      assert.equal(degraded['code'], 'record.nacked');
      const opened = byMessage('source opened');
      assert.equal(opened['pipeline'], 'failing');
      assert.equal(opened['connector'], 'failing:gen');
      // Every line a pipeline run writes names its pipeline.
      for (const l of lines) {
        if (
          ['pipeline failed', 'source opened', 'pipeline running', 'pipeline degraded'].includes(String(l['message']))
        ) {
          assert.equal(l['pipeline'], 'failing', JSON.stringify(l));
        }
      }
    },
  );

  it(
    '--log.format cli (a flag over conduit.yaml) gives human lines with the same fields',
    {
      timeout: 45_000,
    },
    async () => {
      const r = await conduit([...ARGS, '--log.format', 'cli']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const failed = r.stdout.split('\n').find((l) => l.includes('pipeline failed'));
      assert.ok(failed, r.stdout);
      assert.match(failed, /^\d\d:\d\d:\d\d\.\d{3} ERROR pipeline failed /);
      assert.match(failed, / pipeline=failing /);
      assert.match(failed, / processor=failing:boom /);
      assert.match(failed, / code=record\.nacked/);
    },
  );
});
