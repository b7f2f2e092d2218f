/**
 * `conduit pipelines validate` in-process: besides parameters, every processor
 * is configured (not opened) and its condition compiled, and what cannot work
 * is reported at the processor's setting with file:line:col, code and suggestion.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ErrorJSON } from '../../errors/conduit-error.js';
import { Output } from '../output.js';
import { validateCommand } from './validate.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'validate-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  errors: ErrorJSON[];
}

async function validate(name: string, yaml: string): Promise<Run> {
  const file = join(dir, name);
  await writeFile(file, yaml);
  let stdout = '';
  let stderr = '';
  const human = new Output({ json: false, quiet: false, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  const code = await validateCommand(file, human);
  let json = '';
  const out = new Output({ json: true, quiet: false, stdout: (s) => (json += s), stderr: () => undefined });
  assert.equal(await validateCommand(file, out), code, 'the same exit code with --json');
  const env = JSON.parse(json) as { error?: ErrorJSON & { errors?: ErrorJSON[] } };
  const errors = env.error === undefined ? [] : (env.error.errors ?? [env.error]);
  return { code, stdout, stderr, errors };
}

/** A pipeline generator → log with the given processor lines (already indented for `processors:`). */
function pipeline(processors: string[], connectorProcessors: string[] = []): string {
  return [
    'version: "2.2"',
    'pipelines:',
    '  - id: p',
    '    connectors:',
    '      - id: src',
    '        type: source',
    '        plugin: generator',
    '        settings:',
    '          format.type: raw',
    '          format.options.id: int',
    ...(connectorProcessors.length > 0 ? ['        processors:', ...connectorProcessors] : []),
    '      - id: dst',
    '        type: destination',
    '        plugin: log',
    ...(processors.length > 0 ? ['    processors:', ...processors] : []),
    '',
  ].join('\n');
}

describe('pipelines validate configures processors', () => {
  it('valid processors pass: exit 0', async () => {
    const r = await validate(
      'ok.yaml',
      pipeline([
        '      - id: set',
        '        plugin: field.set',
        '        settings:',
        '          field: .Metadata.kind',
        '          value: "a"',
        '      - id: js',
        '        plugin: custom.javascript',
        '        condition: \'{{ eq .Metadata.kind "a" }}\'',
        '        settings:',
        '          script: |',
        '            function process(r) { return r; }',
        // Configured, never opened: nothing listens on port 9, and nothing is sent.
        '      - id: hook',
        '        plugin: webhook.http',
        '        settings:',
        '          request.url: http://127.0.0.1:9/never',
      ]),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 pipeline valid: p/);
  });

  it('a script that does not compile: file:line:col of the setting, the place in the script, code, suggestion', async () => {
    const r = await validate(
      'bad-script.yaml',
      pipeline([
        '      - id: js',
        '        plugin: custom.javascript',
        '        settings:',
        '          script: |',
        '            function process(r) {',
        '              return r +;',
        '            }',
      ]),
    );
    assert.equal(r.code, 2);
    assert.equal(r.errors.length, 1);
    const e = r.errors[0];
    assert.equal(e?.code, 'param.validation_failed');
    assert.equal(e?.file, join(dir, 'bad-script.yaml'));
    assert.equal(e?.line, 18, 'the line of the script key');
    assert.equal(e?.column, 11);
    assert.equal(e?.configPath, '/pipelines/0/processors/0/settings/script');
    assert.match(e?.message ?? '', /processor p:js: script: SyntaxError/);
    assert.match(e?.message ?? '', /\(at the script setting:2:\d+\)/);
    assert.match(e?.suggestion ?? '', /fix the script/);
    assert.match(r.stderr, new RegExp(`${join(dir, 'bad-script.yaml')}:18:11: param.validation_failed: `));
  });

  it('a script without an entry point, and one in a script.path file: the file and line inside it', async () => {
    const script = join(dir, 'broken.js');
    await writeFile(script, 'const x = 1;\nfunction process(r) {\n  return r.;\n}\n');
    const r = await validate(
      'entry.yaml',
      pipeline(
        [
          '      - id: noentry',
          '        plugin: custom.javascript',
          '        settings:',
          '          script: "const x = 1;"',
        ],
        [
          '          - id: fromfile',
          '            plugin: custom.javascript',
          '            settings:',
          `              script.path: ${script}`,
        ],
      ),
    );
    assert.equal(r.code, 2);
    assert.deepEqual(
      r.errors.map((e) => [e.line, e.configPath]),
      [
        [15, '/pipelines/0/connectors/0/processors/0/settings/script.path'],
        [23, '/pipelines/0/processors/0/settings/script'],
      ],
    );
    assert.match(r.errors[0]?.message ?? '', new RegExp(`\\(at ${script}:3:\\d+\\)`));
    assert.match(r.errors[1]?.message ?? '', /no entry point/);
    assert.match(r.errors[1]?.suggestion ?? '', /function process\(record\)/);
  });

  it('a field reference that does not parse, a condition that is not a template, and a bad header', async () => {
    const r = await validate(
      'refs.yaml',
      pipeline([
        '      - id: set',
        '        plugin: field.set',
        '        condition: "{{ eq .Metadata.kind "',
        '        settings:',
        '          field: .Payload.After[',
        '          value: x',
        '      - id: hook',
        '        plugin: webhook.http',
        '        settings:',
        '          request.url: http://127.0.0.1:9/x',
        '          headers.bad header: v',
      ]),
    );
    assert.equal(r.code, 2);
    assert.deepEqual(
      r.errors.map((e) => [e.code, e.line, e.configPath]),
      [
        ['config.field_invalid', 17, '/pipelines/0/processors/0/condition'],
        ['param.validation_failed', 19, '/pipelines/0/processors/0/settings/field'],
        ['param.validation_failed', 25, '/pipelines/0/processors/1/settings/headers.bad header'],
      ],
    );
    assert.match(r.errors[0]?.message ?? '', /condition of processor p:set is not a valid template/);
    assert.match(r.errors[1]?.message ?? '', /processor p:set: field: /);
    for (const e of r.errors)
      assert.ok(e.suggestion !== undefined && e.suggestion !== '', `${e.message} has a suggestion`);
  });

  it('parameter problems are still reported once, by the parameter check', async () => {
    const r = await validate(
      'params.yaml',
      pipeline([
        '      - id: js',
        '        plugin: custom.javascript',
        '        settings:',
        '          script.timeout: soon',
      ]),
    );
    assert.equal(r.code, 2);
    assert.deepEqual(
      r.errors.map((e) => e.configPath),
      ['/pipelines/0/processors/0/settings/script.timeout'],
    );
  });
});
