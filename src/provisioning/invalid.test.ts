import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPipelines } from './index.js';
import { testRegistry } from './testdata/registry.js';
import { place, testdata } from './testdata/helpers.js';

const registry = testRegistry();

interface Expected {
  code: string;
  configPath: string;
  line: number;
  column: number;
  suggestion?: RegExp;
}

/** Each broken file, with every error it must produce, in order. */
const CASES: Record<string, Expected[]> = {
  'malformed.yaml': [
    { code: 'config.parse_error', configPath: '', line: 5, column: 7 },
    { code: 'config.parse_error', configPath: '', line: 6, column: 1 },
  ],
  'unknown-plugin.yaml': [
    {
      code: 'connector.plugin_not_found',
      configPath: '/pipelines/0/connectors/0/plugin',
      line: 7,
      column: 17,
      suggestion: /did you mean "file"\?/,
    },
  ],
  'unknown-param.yaml': [
    {
      code: 'param.unrecognized',
      configPath: '/pipelines/0/connectors/0/settings/pathh',
      line: 10,
      column: 11,
      suggestion: /did you mean "path"\?/,
    },
  ],
  'invalid-param-value.yaml': [
    {
      code: 'param.validation_failed',
      configPath: '/pipelines/0/connectors/0/settings/mode',
      line: 10,
      column: 11,
      suggestion: /tail, full/,
    },
    {
      code: 'param.invalid_type',
      configPath: '/pipelines/0/connectors/0/settings/poll.interval',
      line: 11,
      column: 11,
      suggestion: /duration/,
    },
  ],
  'missing-required.yaml': [
    { code: 'param.required', configPath: '/pipelines/0/connectors/0/settings/path', line: 8, column: 9 },
    { code: 'config.field_required', configPath: '/pipelines/0/connectors/1/plugin', line: 10, column: 9 },
  ],
  'duplicate-connector-id.yaml': [
    { code: 'config.id_duplicate', configPath: '/pipelines/0/connectors/1/id', line: 8, column: 13 },
  ],
  'bad-id-chars.yaml': [
    { code: 'config.field_invalid', configPath: '/pipelines/0/id', line: 3, column: 9 },
    { code: 'config.field_invalid', configPath: '/pipelines/0/connectors/1/id', line: 8, column: 13 },
  ],
  'name-too-long.yaml': [{ code: 'config.field_too_long', configPath: '/pipelines/0/name', line: 4, column: 11 }],
  'wrong-connector-type.yaml': [
    { code: 'connector.type_unsupported', configPath: '/pipelines/0/connectors/1/plugin', line: 10, column: 17 },
    {
      code: 'config.field_invalid',
      configPath: '/pipelines/0/connectors/2/type',
      line: 12,
      column: 15,
      suggestion: /"source" or "destination"/,
    },
  ],
  'no-destination.yaml': [{ code: 'pipeline.invalid', configPath: '/pipelines/0/connectors', line: 4, column: 5 }],
  'unknown-processor.yaml': [
    {
      code: 'processor.plugin_not_found',
      configPath: '/pipelines/0/processors/0/plugin',
      line: 13,
      column: 17,
      suggestion: /did you mean "field.set"\?/,
    },
  ],
  'v1-error.yaml': [
    {
      code: 'connector.plugin_not_found',
      configPath: '/pipelines/p1/connectors/src/plugin',
      line: 7,
      column: 17,
      suggestion: /did you mean "file"\?/,
    },
  ],
};

for (const [name, expected] of Object.entries(CASES)) {
  test(`invalid/${name}: ${expected.map((e) => e.code).join(', ')}`, async () => {
    const file = testdata('invalid', name);
    const r = await loadPipelines(file, { registry, env: {} });
    assert.deepEqual(r.pipelines, []);
    assert.deepEqual(
      r.errors.map(place),
      expected.map((e) => ({ code: e.code, configPath: e.configPath, file, line: e.line, column: e.column })),
    );
    expected.forEach((e, i) => {
      if (e.suggestion !== undefined) assert.match(r.errors[i]?.suggestion ?? '', e.suggestion);
    });
  });
}

test('duplicate pipeline ID across two files: every occurrence is reported and skipped', async () => {
  const dir = testdata('invalid', 'duplicate-id');
  const r = await loadPipelines(dir, { registry, env: {} });
  assert.deepEqual(
    r.pipelines.map((p) => p.id),
    ['unique-a', 'unique-b'],
  );
  assert.deepEqual(r.errors.map(place), [
    { code: 'config.id_duplicate', configPath: '/pipelines/0/id', file: `${dir}/a.yaml`, line: 3, column: 9 },
    { code: 'config.id_duplicate', configPath: '/pipelines/1/id', file: `${dir}/b.yaml`, line: 11, column: 9 },
  ]);
  assert.match(r.errors[0]?.suggestion ?? '', /b\.yaml:11/);
});

test('the whole invalid folder: errors come in file order, then position order', async () => {
  const r = await loadPipelines(testdata('invalid'), { registry, env: {} });
  assert.deepEqual(r.pipelines, []);
  const names = Object.keys(CASES).sort();
  const expected = names.flatMap((n) => CASES[n]?.map((e) => [testdata('invalid', n), e.line, e.column]) ?? []);
  assert.deepEqual(
    r.errors.map((e) => [e.file, e.line, e.column]),
    expected,
  );
});

test('every error is actionable: a message, a suggestion and a place', async () => {
  const r = await loadPipelines(testdata('invalid'), { registry, env: {} });
  for (const e of r.errors) {
    assert.ok(e.message.length > 0);
    assert.ok(e.suggestion !== undefined && e.suggestion.length > 0, e.format());
    assert.ok(e.line !== undefined && e.column !== undefined, e.format());
  }
});
