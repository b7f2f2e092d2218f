import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parsePipelineText, type PipelineConfig } from './index.js';
import { testRegistry } from './testdata/registry.js';
import { testdata } from './testdata/helpers.js';

const registry = testRegistry();
const DEFAULT_DLQ = {
  plugin: 'log',
  pluginRef: 'builtin:log',
  settings: { level: 'warn', message: 'record delivery failed' },
  windowSize: 1,
  windowNackThreshold: 0,
};

function parseValid(name: string): PipelineConfig[] {
  const file = testdata('valid', name);
  const r = parsePipelineText(readFileSync(file, 'utf8'), file, { registry, env: {} });
  assert.deepEqual(
    r.errors.map((e) => e.format()),
    [],
  );
  assert.deepEqual(
    r.warnings.map((e) => e.format()),
    [],
  );
  return r.pipelines;
}

test('v1.0: maps keyed by ID, processor type is the plugin, defaults filled in', () => {
  const expected: PipelineConfig[] = [
    {
      id: 'orders',
      status: 'stopped',
      name: 'orders',
      description: 'Orders to the log',
      connectors: [
        {
          id: 'orders:src',
          type: 'source',
          plugin: 'file',
          pluginRef: 'builtin:file',
          name: 'src',
          settings: { path: '/tmp/orders.in' },
          processors: [],
        },
        {
          id: 'orders:dst',
          type: 'destination',
          plugin: 'log',
          pluginRef: 'log',
          name: 'order-log',
          settings: {},
          processors: [],
        },
      ],
      processors: [
        {
          id: 'orders:set-a',
          plugin: 'field.set',
          pluginRef: 'field.set',
          condition: '',
          settings: { field: '.Payload.After.a', value: '1' },
          workers: 1,
        },
      ],
      dlq: DEFAULT_DLQ,
      origin: { file: testdata('valid', 'v1.0.yaml'), line: 3 },
    },
  ];
  assert.deepEqual(parseValid('v1.0.yaml'), expected);
});

test('v1.1: connector processors, a number setting kept as written, a DLQ with its own settings', () => {
  const expected: PipelineConfig[] = [
    {
      id: 'p1',
      status: 'running',
      name: 'p1',
      description: '',
      connectors: [
        {
          id: 'p1:gen',
          type: 'source',
          plugin: 'generator',
          pluginRef: 'generator',
          name: 'gen',
          settings: { count: '10' },
          processors: [
            {
              id: 'p1:gen:dec',
              plugin: 'base64.decode',
              pluginRef: 'base64.decode',
              condition: '',
              settings: { field: '.Key' },
              workers: 1,
            },
          ],
        },
        {
          id: 'p1:out',
          type: 'destination',
          plugin: 'file',
          pluginRef: 'builtin:file@v0.10.8',
          name: 'out',
          settings: { path: '/tmp/out' },
          processors: [],
        },
      ],
      processors: [],
      dlq: {
        plugin: 'file',
        pluginRef: 'builtin:file',
        settings: { path: '/tmp/dlq' },
        windowSize: 5,
        windowNackThreshold: 2,
      },
      origin: { file: testdata('valid', 'v1.1.yaml'), line: 3 },
    },
  ];
  assert.deepEqual(parseValid('v1.1.yaml'), expected);
});

test('v2.0: lists with IDs, processor type is the plugin, workers 0 becomes 1', () => {
  const expected: PipelineConfig[] = [
    {
      id: 'p20',
      status: 'running',
      name: 'p20',
      description: '',
      connectors: [
        {
          id: 'p20:src',
          type: 'source',
          plugin: 'generator',
          pluginRef: 'generator',
          name: 'src',
          settings: {},
          processors: [],
        },
        {
          id: 'p20:dst',
          type: 'destination',
          plugin: 'log',
          pluginRef: 'log',
          name: 'dst',
          settings: { level: 'debug' },
          processors: [],
        },
      ],
      processors: [
        {
          id: 'p20:set',
          plugin: 'field.set',
          pluginRef: 'field.set',
          condition: '',
          settings: { field: '.Key', value: 'k' },
          workers: 1,
        },
      ],
      dlq: DEFAULT_DLQ,
      origin: { file: testdata('valid', 'v2.0.yaml'), line: 3 },
    },
  ];
  assert.deepEqual(parseValid('v2.0.yaml'), expected);
});

test('v2.1: processor condition and workers', () => {
  const expected: PipelineConfig[] = [
    {
      id: 'p21',
      status: 'running',
      name: 'Pipeline 2.1',
      description: '',
      connectors: [
        {
          id: 'p21:src',
          type: 'source',
          plugin: 'generator',
          pluginRef: 'generator',
          name: 'src',
          settings: {},
          processors: [
            {
              id: 'p21:src:dec',
              plugin: 'base64.decode',
              pluginRef: 'base64.decode',
              condition: '{{ eq .Metadata.k "v" }}',
              settings: { field: '.Payload.After' },
              workers: 3,
            },
          ],
        },
        {
          id: 'p21:dst',
          type: 'destination',
          plugin: 'log',
          pluginRef: 'log',
          name: 'dst',
          settings: {},
          processors: [],
        },
      ],
      processors: [],
      dlq: DEFAULT_DLQ,
      origin: { file: testdata('valid', 'v2.1.yaml'), line: 3 },
    },
  ];
  assert.deepEqual(parseValid('v2.1.yaml'), expected);
});

test('v2.2: processor plugin, DLQ window without plugin keeps the default plugin and settings', () => {
  const expected: PipelineConfig[] = [
    {
      id: 'file-to-log',
      status: 'running',
      name: 'File to log',
      description: 'Reads a file and logs every line.',
      connectors: [
        {
          id: 'file-to-log:in',
          type: 'source',
          plugin: 'file',
          pluginRef: 'builtin:file@v0.10.8',
          name: 'input',
          settings: { path: '/tmp/in.txt', token: 's3cr3t', 'sdk.batch.size': '100' },
          processors: [],
        },
        {
          id: 'file-to-log:out',
          type: 'destination',
          plugin: 'log',
          pluginRef: 'builtin:log',
          name: 'out',
          settings: { level: 'info' },
          processors: [],
        },
      ],
      processors: [
        {
          id: 'file-to-log:set',
          plugin: 'field.set',
          pluginRef: 'builtin:field.set@v0.1.0',
          condition: '{{ true }}',
          settings: { field: '.Metadata.seen', value: 'yes' },
          workers: 2,
        },
      ],
      dlq: { ...DEFAULT_DLQ, windowSize: 3, windowNackThreshold: 1 },
      origin: { file: testdata('valid', 'v2.2.yaml'), line: 3 },
    },
  ];
  assert.deepEqual(parseValid('v2.2.yaml'), expected);
});

const MINIMAL = (id: string): string => `  - id: ${id}
    connectors:
      - id: src
        type: source
        plugin: generator
      - id: dst
        type: destination
        plugin: log
`;

test('multi-document file: a bad document is reported and the next one still parses', () => {
  const text = [
    `version: 2.2\npipelines:\n${MINIMAL('first')}`,
    `version: 2.2\npipelines:\n  - id: [oops\n`,
    `version: 9.0\npipelines:\n${MINIMAL('future')}`,
    `version: 2.2\npipelines:\n${MINIMAL('third')}`,
  ].join('---\n');
  const r = parsePipelineText(text, 'multi.yaml', { registry, env: {} });
  assert.deepEqual(
    r.pipelines.map((p) => p.id),
    ['first', 'third'],
  );
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.file, e.line]),
    [
      ['config.parse_error', 'multi.yaml', 15], // where the unclosed "[" of document 2 should have ended
      ['config.version_unsupported', 'multi.yaml', 16],
    ],
  );
  const version = r.errors[1];
  assert.equal(version?.configPath, '/version');
  assert.equal(version?.column, 10);
  assert.match(version?.suggestion ?? '', /2\.2/);
});

test('version fallbacks: missing → 2.2, unknown 2.x → 2.2, unknown 1.x → 1.1, each with a warning', () => {
  const v1 = `pipelines:\n  p:\n    connectors:\n      s: {type: source, plugin: generator}\n      d: {type: destination, plugin: log}\n`;
  const cases: [string, string, string][] = [
    [`pipelines:\n${MINIMAL('a')}`, 'config.field_required', 'a'],
    [`version: 2.7\npipelines:\n${MINIMAL('b')}`, 'config.version_unsupported', 'b'],
    [`version: 1.10\n${v1}`, 'config.version_unsupported', 'p'],
  ];
  for (const [text, code, id] of cases) {
    const r = parsePipelineText(text, 'v.yaml', { registry, env: {} });
    assert.deepEqual(r.errors, [], text);
    assert.deepEqual(
      r.pipelines.map((p) => p.id),
      [id],
    );
    assert.equal(r.warnings.length, 1, text);
    assert.equal(r.warnings[0]?.code, code);
    assert.equal(r.warnings[0]?.line, 1);
  }
  const bad = parsePipelineText(`version: 3.0\npipelines: []\n`, 'v.yaml', { registry, env: {} });
  assert.equal(bad.errors[0]?.code, 'config.version_unsupported');
});

test('unknown fields are warnings with line, column and a suggestion', () => {
  const text = `version: 2.2
pipelines:
  - id: p
    descripton: typo
    connectors:
      - id: src
        type: source
        plugin: generator
        colour: blue
      - id: dst
        type: destination
        plugin: log
`;
  const r = parsePipelineText(text, 'u.yaml', { registry, env: {} });
  assert.deepEqual(r.errors, []);
  assert.equal(r.pipelines.length, 1);
  assert.deepEqual(
    r.warnings.map((w) => [w.code, w.configPath, w.line, w.column]),
    [
      ['config.field_unknown', '/pipelines/0/descripton', 4, 5],
      ['config.field_unknown', '/pipelines/0/connectors/0/colour', 9, 9],
    ],
  );
  assert.equal(r.warnings[0]?.suggestion, 'did you mean "description"?');
});

test('v2.2 accepts the deprecated processor "type" when "plugin" is empty, with a rename warning', () => {
  const text = `version: 2.2
pipelines:
${MINIMAL('p')}    processors:
      - id: dec
        type: base64.decode
        settings: {field: .Key}
`;
  const r = parsePipelineText(text, 'r.yaml', { registry, env: {} });
  assert.deepEqual(r.errors, []);
  assert.equal(r.pipelines[0]?.processors[0]?.plugin, 'base64.decode');
  assert.deepEqual(
    r.warnings.map((w) => [w.code, w.configPath, w.line, w.column]),
    [['config.field_renamed', '/pipelines/0/processors/0/type', 13, 9]],
  );
});

test('fields newer than the declared version are read with a warning', () => {
  const text = `version: 2.0
pipelines:
${MINIMAL('p')}    processors:
      - id: dec
        plugin: base64.decode
        condition: '{{ true }}'
        settings: {field: .Key}
`;
  const r = parsePipelineText(text, 'n.yaml', { registry, env: {} });
  assert.deepEqual(r.errors, []);
  assert.equal(r.pipelines[0]?.processors[0]?.condition, '{{ true }}');
  assert.deepEqual(
    r.warnings.map((w) => [w.code, w.configPath]),
    [
      ['config.field_unknown', '/pipelines/0/processors/0/plugin'],
      ['config.field_unknown', '/pipelines/0/processors/0/condition'],
    ],
  );
});

test('env interpolation: ${VAR} and $VAR in every string, unset → "" with a warning naming it and its place', () => {
  const text = `version: 2.2
pipelines:
  - id: \${PIPELINE}
    description: from $USER_NAME
    connectors:
      - id: src
        type: source
        plugin: file
        settings:
          path: \${DIR}/in-\${MISSING}.txt
      - id: dst
        type: destination
        plugin: log
`;
  const r = parsePipelineText(text, 'e.yaml', {
    registry,
    env: { PIPELINE: 'env-pipe', USER_NAME: 'ann', DIR: '/data' },
  });
  assert.deepEqual(r.errors, []);
  const p = r.pipelines[0];
  assert.equal(p?.id, 'env-pipe');
  assert.equal(p?.description, 'from ann');
  assert.equal(p?.connectors[0]?.settings['path'], '/data/in-.txt');
  assert.equal(p?.connectors[0]?.id, 'env-pipe:src');
  assert.deepEqual(
    r.warnings.map((w) => [w.code, w.configPath, w.line, w.column]),
    [['config.env_unset', '/pipelines/0/connectors/0/settings/path', 10, 17]],
  );
  assert.match(r.warnings[0]?.message ?? '', /"MISSING"/);
});

test('a numeric-looking value is not interpolated and keeps its spelling', () => {
  const text = `version: 2.2\npipelines:\n${MINIMAL('p')}`.replace(
    'plugin: generator',
    'plugin: generator\n        settings: {count: 010}',
  );
  const r = parsePipelineText(text, 'n.yaml', { registry, env: {} });
  assert.deepEqual(r.errors, []);
  assert.equal(r.pipelines[0]?.connectors[0]?.settings['count'], '010');
});

test('a stopped pipeline without connectors is only a warning, as Conduit provisions it', () => {
  const r = parsePipelineText(`version: 2.2\npipelines:\n  - id: idle\n    status: stopped\n`, 's.yaml', {
    registry,
    env: {},
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.pipelines[0]?.id, 'idle');
  assert.equal(r.warnings[0]?.code, 'pipeline.invalid');
});

test('an empty file and empty documents hold no pipelines and no problems', () => {
  for (const text of ['', '# only a comment\n', '---\n---\n']) {
    assert.deepEqual(parsePipelineText(text, 'e.yaml', { registry }), { pipelines: [], errors: [], warnings: [] });
  }
});
