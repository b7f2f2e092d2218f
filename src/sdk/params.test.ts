import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';
import {
  Config,
  parseConfig,
  redactSettings,
  specFor,
  specsToJsonSchema,
  specsToMarkdown,
  validateSettings,
  type ParamSpecs,
} from './params.js';

const SPECS: ParamSpecs = {
  path: { type: 'string', required: true, description: 'the path' },
  rate: { type: 'float', default: '0', greaterThan: -1, description: 'records per second' },
  count: { type: 'int', default: '10', lessThan: 100, description: 'how many' },
  enabled: { type: 'bool', default: 'true', description: 'on or off' },
  wait: { type: 'duration', default: '1s', description: 'how long' },
  mode: { type: 'string', default: 'a', inclusion: ['a', 'b'], description: 'the mode' },
  name: { type: 'string', exclusion: ['root'], regex: '^[a-z]+$', description: 'a name' },
  ops: { type: 'string', list: true, inclusion: ['create', 'update'], default: 'create', description: 'operations' },
  password: { type: 'string', secret: true, regex: '^.{8,}$', description: 'a secret' },
  'collections.*.format.type': { type: 'string', inclusion: ['raw', 'structured'], description: 'per collection' },
};

const problems = (settings: Record<string, string>) =>
  validateSettings(SPECS, settings, { pathPrefix: '/settings' }).errors.map((e) => [e.code, e.configPath]);

describe('parameter spec', () => {
  it('trims, applies defaults and reads typed values', () => {
    const c = parseConfig(SPECS, { path: '  /tmp/x  ', count: '7', ops: 'create, update' });
    assert.equal(c.string('path'), '/tmp/x');
    assert.equal(c.int('count'), 7);
    assert.equal(c.float('rate'), 0);
    assert.equal(c.bool('enabled'), true);
    assert.equal(c.duration('wait'), 1000);
    assert.equal(c.string('mode'), 'a');
    assert.deepEqual(c.list('ops'), ['create', 'update']);
  });

  it('reports every problem with its code and path', () => {
    assert.deepEqual(
      problems({
        count: '100',
        rate: '-1',
        enabled: 'yes',
        wait: '5 minutes',
        mode: 'c',
        name: 'root',
        ops: 'create,delete',
        typo: 'x',
      }),
      [
        ['param.unrecognized', '/settings/typo'],
        ['param.required', '/settings/path'],
        ['param.validation_failed', '/settings/rate'],
        ['param.validation_failed', '/settings/count'],
        ['param.invalid_type', '/settings/enabled'],
        ['param.invalid_type', '/settings/wait'],
        ['param.validation_failed', '/settings/mode'],
        ['param.validation_failed', '/settings/name'],
        ['param.validation_failed', '/settings/ops'],
      ],
    );
  });

  it('suggests the nearest parameter for a misspelt one', () => {
    const [e] = validateSettings(SPECS, { path: 'x', cuont: '1' }).errors;
    assert.equal(e?.suggestion, 'did you mean "count"?');
  });

  it('matches wildcard keys on one segment', () => {
    assert.equal(specFor(SPECS, 'collections.users.format.type')?.inclusion?.length, 2);
    assert.equal(specFor(SPECS, 'collections.a.b.format.type'), undefined);
    assert.deepEqual(problems({ path: 'x', 'collections.users.format.type': 'xml' }), [
      ['param.validation_failed', '/settings/collections.users.format.type'],
    ]);
    const c = parseConfig(SPECS, { path: 'x', 'collections.users.format.type': 'raw' });
    assert.deepEqual([...c.group('collections.').entries()], [['users', { 'format.type': 'raw' }]]);
  });

  it('never shows a secret value: not in errors, not in redacted settings', () => {
    const errs = validateSettings(SPECS, { path: 'x', password: 'short' }).errors;
    assert.equal(errs.length, 1);
    assert.ok(!errs[0]?.message.includes('short'), errs[0]?.message);
    assert.deepEqual(redactSettings(SPECS, { path: 'x', password: 'hunter22-long' }), { path: 'x', password: '***' });
  });

  it('generates docs and JSON Schema from the same declaration', () => {
    const md = specsToMarkdown(SPECS);
    assert.match(md, /\| `count` \| int \| `10` \| < 100 \| how many \|/);
    assert.match(md, /\| `password` \| string \|  \| matches `\^\.\{8,\}\$`; secret \|/);
    const schema = specsToJsonSchema(SPECS) as { required: string[]; properties: Record<string, unknown> };
    assert.deepEqual(schema.required, ['path']);
    assert.deepEqual((schema.properties['mode'] as { enum: string[] }).enum, ['a', 'b']);
    assert.equal((schema.properties['password'] as { writeOnly: boolean }).writeOnly, true);
  });

  it('Config reads absent values as zero values', () => {
    const c = new Config(SPECS, {});
    assert.equal(c.int('count'), 0);
    assert.equal(c.bool('enabled'), false);
    assert.deepEqual(c.list('ops'), []);
    assert.equal(c.has('path'), false);
  });
});

describe('Go durations', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0', 0],
    ['1s', 1000],
    ['1.5s', 1500],
    ['300ms', 300],
    ['1h2m3s', 3_723_000],
    ['-2m', -120_000],
    ['10us', 0.01],
    ['10µs', 0.01],
    ['5ns', 0.000005],
    ['.5s', 500],
    ['1', undefined],
    ['1d', undefined],
    ['s', undefined],
    ['', undefined],
  ];
  for (const [text, ms] of cases) {
    it(`${JSON.stringify(text)} is ${ms === undefined ? 'rejected' : `${ms} ms`}`, () => {
      const got = parseDuration(text);
      if (ms === undefined) assert.equal(got, undefined);
      else assert.ok(got !== undefined && Math.abs(got - ms) < 1e-9, `got ${got}`);
    });
  }
  it('formats like Go', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(3_600_000), '1h0m0s');
  });
});
