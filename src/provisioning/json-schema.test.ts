import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { pipelineFileJsonSchema } from './index.js';
import { testRegistry } from './testdata/registry.js';
import { testdata } from './testdata/helpers.js';
import { check } from './testdata/mini-schema.js';

const schema = pipelineFileJsonSchema(testRegistry());

function validate(text: string): string[] {
  return check(schema, schema, parse(text));
}

test('the schema accepts the valid 2.x files', () => {
  for (const name of ['v2.0.yaml', 'v2.1.yaml', 'v2.2.yaml']) {
    assert.deepEqual(validate(readFileSync(testdata('valid', name), 'utf8')), [], name);
  }
});

const base = (settings: string, plugin = 'builtin:file@v0.10.8'): string => `version: 2.2
pipelines:
  - id: p
    connectors:
      - id: src
        type: source
        plugin: ${plugin}
        settings:
${settings}
      - id: dst
        type: destination
        plugin: log
`;

test('the schema checks connector settings against the named plugin', () => {
  assert.deepEqual(validate(base('          path: /x\n          sdk.batch.size: 10')), []);
  assert.deepEqual(validate(base('          path: /x\n          pathh: /y')), [
    '/pipelines/0/connectors/0/settings/pathh: not allowed',
  ]);
  assert.deepEqual(validate(base('          path: /x\n          mode: sideways')), [
    '/pipelines/0/connectors/0/settings/mode: not in enum',
  ]);
  assert.deepEqual(validate(base('          mode: full')), ['/pipelines/0/connectors/0/settings/path: required']);
  // the generator's settings do not allow "path"
  assert.deepEqual(validate(base('          path: /x', 'generator')), [
    '/pipelines/0/connectors/0/settings/path: not allowed',
  ]);
});

test('the schema rejects an unknown plugin, a bad ID and a bad processor setting', () => {
  assert.deepEqual(validate(base('          path: /x', 'fiel')), ['/pipelines/0/connectors/0/plugin: pattern']);
  const text = `version: 2.2
pipelines:
  - id: bad id
    processors:
      - id: a
        plugin: field.set
        settings: {field: .Key, valu: x}
`;
  assert.deepEqual(validate(text).sort(), [
    '/pipelines/0/id: pattern',
    '/pipelines/0/processors/0/settings/valu: not allowed',
    '/pipelines/0/processors/0/settings/value: required',
  ]);
});

test('schema structure: per-plugin if/then on plugin and type, secrets write-only', () => {
  const defs = schema['$defs'] as Record<string, Record<string, unknown>>;
  const rules = defs['connector']?.['allOf'] as { if: { properties: Record<string, unknown> } }[];
  // file (source + destination), generator (source), log (destination)
  assert.equal(rules.length, 4);
  const fileSource = rules[0] as unknown as {
    if: { properties: { type: { const: string } } };
    then: { properties: { settings: { properties: Record<string, Record<string, unknown>>; required: string[] } } };
  };
  assert.equal(fileSource.if.properties.type.const, 'source');
  const settings = fileSource.then.properties.settings;
  assert.deepEqual(settings.required, ['path']);
  assert.equal(settings.properties['token']?.['writeOnly'], true);
  assert.ok('sdk.batch.size' in settings.properties);
});
