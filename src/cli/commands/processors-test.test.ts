/**
 * `conduit processors test` in-process, with a registry that holds
 * custom.javascript next to the built-ins: a chain on sample records, the
 * output as OpenCDC JSON, failed records with line and processor, the --json
 * envelope, and the input problems.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { builtinRegistry } from '../../plugins/builtin.js';
import type { PluginRegistry } from '../../plugins/registry.js';
import { customJavascriptPlugin } from '../../processors/custom-javascript/index.js';
import { Output } from '../output.js';
import { processorsTestCommand } from './processors-test.js';

function registry(): PluginRegistry {
  const r = builtinRegistry();
  if (r.processor('custom.javascript') === undefined) r.addProcessor(customJavascriptPlugin);
  return r;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string | undefined, flags: Record<string, string>, json = false): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = new Output({ json, quiet: false, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  let code: number;
  try {
    code = await processorsTestCommand(file, flags, out, registry());
  } catch (e) {
    code = out.failure('processors test', e); // what main() does with a thrown error
  }
  return { code, stdout, stderr };
}

const PIPELINE = `version: "2.2"
pipelines:
  - id: app
    connectors:
      - id: src
        type: source
        plugin: builtin:generator
        processors:
          - id: tag
            plugin: field.set
            settings:
              field: .Metadata.source
              value: gen
      - id: dst
        type: destination
        plugin: builtin:log
    processors:
      - id: js
        plugin: custom.javascript
        settings:
          script: |
            function process(r) {
              if (r.Payload.After.skip) return null;
              if (r.Payload.After.boom) throw new Error('boom on ' + r.Payload.After.id);
              r.Payload.After.seen = true;
              return r;
            }
      - id: upper
        plugin: field.set
        condition: '{{ eq .Metadata.kind "a" }}'
        settings:
          field: .Metadata.kind
          value: A
`;

const record = (after: Record<string, unknown>, metadata: Record<string, string> = {}) =>
  JSON.stringify({ position: null, operation: 'create', metadata, key: null, payload: { before: null, after } });

describe('conduit processors test', () => {
  let dir = '';
  let file = '';
  let input = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proc-test-'));
    file = join(dir, 'app.yaml');
    input = join(dir, 'records.jsonl');
    await writeFile(file, PIPELINE);
    await writeFile(
      input,
      [
        record({ id: 1 }, { kind: 'a' }),
        record({ id: 2, skip: true }),
        '',
        record({ id: 3, boom: true }),
        record({ id: 4 }, { kind: 'b' }),
      ].join('\n') + '\n',
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the pipeline's processors on the records and prints what comes out", async () => {
    const r = await run(file, { input });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    const [first, second] = lines.map(
      (l) => JSON.parse(l) as { metadata: Record<string, string>; payload: { after: unknown } },
    );
    assert.deepEqual(first?.payload.after, { id: 1, seen: true });
    assert.equal(first?.metadata['kind'], 'A'); // the condition picked it
    assert.deepEqual(second?.payload.after, { id: 4, seen: true });
    assert.equal(second?.metadata['kind'], 'b');
    // The failed record: the input line, the processor, the cause.
    assert.match(
      r.stderr,
      new RegExp(`records\\.jsonl:4: processor app:js \\(custom\\.javascript\\) failed: .*boom on 3`),
    );
    assert.match(r.stderr, /4 records in, 2 out, 1 failed/);
  });

  it('runs the processors named by --processor, in that order, by short or full ID', async () => {
    const r = await run(file, { input, processor: 'src:tag,app:upper' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { metadata: Record<string, string> });
    assert.equal(out.length, 4);
    assert.deepEqual(
      out.map((o) => [o.metadata['source'], o.metadata['kind']]),
      [
        ['gen', 'A'],
        ['gen', undefined],
        ['gen', undefined],
        ['gen', 'b'],
      ],
    );
    assert.match(r.stderr, /4 records in, 4 out, 0 failed/);
  });

  it('--json prints one envelope with the records and the failures', async () => {
    const r = await run(file, { input, processor: 'js' }, true);
    assert.equal(r.code, 1);
    const env = JSON.parse(r.stdout) as {
      ok: boolean;
      command: string;
      result: {
        in: number;
        out: number;
        failed: number;
        records: unknown[];
        processors: string[];
        failures: Array<{ line: number; processor: string; error: { code: string; message: string } }>;
      };
    };
    assert.equal(env.ok, false);
    assert.equal(env.command, 'processors test');
    assert.deepEqual(env.result.processors, ['app:js']);
    assert.equal(env.result.in, 4);
    assert.equal(env.result.out, 2);
    assert.equal(env.result.records.length, 2);
    assert.deepEqual(
      env.result.failures.map((f) => [f.line, f.processor, f.error.code]),
      [[4, 'app:js', 'processor.failed']],
    );
  });

  it('a script that does not compile fails before any record, exit 2', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      PIPELINE.replace('if (r.Payload.After.skip) return null;', 'if (r.Payload.After.skip) return null +;'),
    );
    const r = await run(bad, { input });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /param\.validation_failed: processor app:js: script: SyntaxError/);
  });

  it('input problems: a bad record line, an unknown processor, a missing file', async () => {
    const broken = join(dir, 'broken.jsonl');
    await writeFile(broken, `${record({ id: 1 })}\n{"operation":"upsert"}\n`);
    const bad = await run(file, { input: broken });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /broken\.jsonl:2: .*record on line 2: .*unknown operation "upsert"/);

    const unknown = await run(file, { input, processor: 'nope' });
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /pipeline app has no processor "nope"[\s\S]*use one of: app:src:tag, app:js, app:upper/,
    );

    const missing = await run(file, { input: join(dir, 'nothing.jsonl') });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nothing\.jsonl/);

    assert.equal((await run(undefined, { input })).code, 2);
    assert.equal((await run(file, {})).code, 2);
  });
});
