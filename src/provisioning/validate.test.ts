import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePipelineText } from './index.js';
import { testRegistry } from './testdata/registry.js';

const registry = testRegistry();

function errors(text: string): [string, string | undefined, number | undefined][] {
  const r = parsePipelineText(text, 'f.yaml', { registry, env: {} });
  assert.deepEqual(r.pipelines, []);
  return r.errors.map((e) => [e.code, e.configPath, e.line]);
}

test('v1: a connector key given twice is config.id_duplicate at the second key', () => {
  const text = `version: 1.1
pipelines:
  p:
    connectors:
      src: {type: source, plugin: generator}
      src: {type: destination, plugin: log}
`;
  assert.deepEqual(errors(text), [['config.id_duplicate', '/pipelines/p/connectors/src', 6]]);
});

test('wrong node types are reported once, without follow-on errors', () => {
  const text = `version: 2.2
pipelines:
  - 42
  - id: p
    connectors:
      - id: s
        type: source
        plugin: file
        settings:
          path: {nested: 1}
      - just-a-string
`;
  assert.deepEqual(errors(text), [
    ['config.field_invalid', '/pipelines/0', 3],
    ['config.field_invalid', '/pipelines/1/connectors/0/settings/path', 10],
    ['config.field_invalid', '/pipelines/1/connectors/1', 11],
  ]);
});

test('DLQ: plugin must be a destination; window values whole numbers ≥ 0; settings checked', () => {
  const text = `version: 2.2
pipelines:
  - id: p
    connectors:
      - {id: s, type: source, plugin: generator}
      - {id: d, type: destination, plugin: log}
    dead-letter-queue:
      plugin: generator
      window-size: -1
      window-nack-threshold: x
  - id: q
    connectors:
      - {id: s, type: source, plugin: generator}
      - {id: d, type: destination, plugin: log}
    dead-letter-queue:
      settings:
        level: loud
`;
  assert.deepEqual(errors(text), [
    ['connector.type_unsupported', '/pipelines/0/dead-letter-queue/plugin', 8],
    ['config.field_invalid', '/pipelines/0/dead-letter-queue/window-size', 9],
    ['config.field_invalid', '/pipelines/0/dead-letter-queue/window-nack-threshold', 10],
    ['param.validation_failed', '/pipelines/1/dead-letter-queue/settings/level', 17],
  ]);
});

test('required fields, status, workers, duplicate processors and long IDs', () => {
  const long = 'x'.repeat(257);
  const text = `version: 2.2
pipelines:
  - status: paused
    connectors:
      - id: ${long}
        plugin: generator
      - id: d
        type: destination
        plugin: log
    processors:
      - id: a
        plugin: base64.decode
        workers: -2
        settings: {field: .Key}
      - id: a
        settings: {field: .Key}
`;
  assert.deepEqual(errors(text), [
    ['config.field_required', '/pipelines/0/id', 3],
    ['config.field_invalid', '/pipelines/0/status', 3],
    ['config.field_required', '/pipelines/0/connectors/0/type', 5], // column 9: the connector
    ['config.field_too_long', '/pipelines/0/connectors/0/id', 5], // column 13: the value
    ['config.field_invalid', '/pipelines/0/processors/0/workers', 13],
    ['config.field_required', '/pipelines/0/processors/1/plugin', 15],
    ['config.id_duplicate', '/pipelines/0/processors/1/id', 15],
  ]);
});

test("processors accept Conduit's sdk.schema.* settings, and a misspelt one is still named", () => {
  const file = (key: string) => `version: 2.2
pipelines:
  - id: p
    connectors:
      - {id: src, type: source, plugin: generator}
      - {id: dst, type: destination, plugin: log}
    processors:
      - id: set
        plugin: field.set
        settings:
          field: .Metadata.x
          value: "1"
          ${key}: "false"
`;
  const ok = parsePipelineText(file('sdk.schema.decode.payload.enabled'), 'f.yaml', { registry, env: {} });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.pipelines[0]?.processors[0]?.settings['sdk.schema.decode.payload.enabled'], 'false');
  assert.deepEqual(errors(file('sdk.schema.decode.payloads.enabled')), [
    ['param.unrecognized', '/pipelines/0/processors/0/settings/sdk.schema.decode.payloads.enabled', 13],
  ]);
});
