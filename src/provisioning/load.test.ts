import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipelines, parsePipelineText } from './index.js';
import { testRegistry } from './testdata/registry.js';
import { testdata } from './testdata/helpers.js';

const registry = testRegistry();
const tmp = mkdtempSync(join(tmpdir(), 'conduit-provisioning-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const pipeline = (id: string): string => `version: 2.2
pipelines:
  - id: ${id}
    connectors:
      - id: src
        type: source
        plugin: generator
      - id: dst
        type: destination
        plugin: log
`;

test('a folder: only top-level .yml/.yaml regular files, symlinks followed, sorted by name', async () => {
  const dir = join(tmp, 'folder');
  mkdirSync(join(dir, 'nested'), { recursive: true });
  writeFileSync(join(dir, 'b.yml'), pipeline('b'));
  writeFileSync(join(dir, 'a.yaml'), pipeline('a'));
  writeFileSync(join(dir, 'notes.txt'), pipeline('txt'));
  writeFileSync(join(dir, 'nested', 'c.yaml'), pipeline('nested'));
  mkdirSync(join(dir, 'dir.yaml'));
  writeFileSync(join(tmp, 'outside.yaml'), pipeline('linked'));
  symlinkSync(join(tmp, 'outside.yaml'), join(dir, 'c-link.yaml'));
  symlinkSync(join(tmp, 'missing.yaml'), join(dir, 'dangling.yaml'));
  const r = await loadPipelines(dir, { registry, env: {} });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.pipelines.map((p) => [p.id, p.origin?.file]),
    [
      ['a', join(dir, 'a.yaml')],
      ['b', join(dir, 'b.yml')],
      ['linked', join(dir, 'c-link.yaml')],
    ],
  );
});

test('a single file path is read whatever its extension', async () => {
  const file = join(tmp, 'single.conf');
  writeFileSync(file, pipeline('single'));
  const r = await loadPipelines(file, { registry, env: {} });
  assert.deepEqual(
    r.pipelines.map((p) => p.id),
    ['single'],
  );
});

test('a missing path is config.path_not_found, unless it is the default path', async () => {
  const missing = join(tmp, 'nope');
  const r = await loadPipelines(missing, { registry });
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]?.code, 'config.path_not_found');
  assert.equal(r.errors[0]?.file, missing);
  assert.deepEqual(await loadPipelines(missing, { registry, defaultPath: missing }), {
    pipelines: [],
    errors: [],
    warnings: [],
  });
});

test('a secret value never appears in any error or warning', () => {
  const secret = 'hunter2';
  const text = `version: 2.2
pipelines:
  - id: leaky
    connectors:
      - id: src
        type: source
        plugin: file
        settings:
          path: /tmp/x
          token: "${secret}!$SECRETPART"
          pasword: ${secret}
      - id: dst
        type: destination
        plugin: nope
        settings:
          password: ${secret}
---
version: 2.2
pipelines:
  - id: broken
    connectors:
      - id: src
        settings:
          token: [${secret}
`;
  const r = parsePipelineText(text, 'secret.yaml', { registry, env: {} });
  const codes = [...r.errors, ...r.warnings].map((e) => e.code);
  for (const code of ['param.validation_failed', 'param.unrecognized', 'connector.plugin_not_found']) {
    assert.ok(codes.includes(code), `expected ${code} in ${codes.join(', ')}`);
  }
  assert.ok(codes.includes('config.parse_error'));
  assert.ok(codes.includes('config.env_unset'));
  for (const e of [...r.errors, ...r.warnings]) {
    const shown = `${e.format()} ${JSON.stringify(e.toJSON())}`;
    assert.ok(!shown.includes(secret), shown);
    assert.ok(!shown.includes('SECRETPART'), shown);
  }
});

test('the valid testdata folder loads every version without problems', async () => {
  const r = await loadPipelines(testdata('valid'), { registry, env: {} });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(
    r.pipelines.map((p) => p.id),
    ['orders', 'p1', 'p20', 'p21', 'file-to-log'],
  );
});
