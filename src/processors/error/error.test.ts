/** error against Conduit's documented example and unit tests, with a condition, and configuration errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConduitError } from '../../errors/conduit-error.js';
import { compileCondition, runChain } from '../../engine/processor-chain.js';
import { asError, assertReadmeTable, configured, PROCESSOR_ID, processOne, rec } from '../testing.js';
import { errorPlugin } from './index.js';

const plugin = errorPlugin;

describe('error: Conduit examples', () => {
  it('fails the record with a message templated from the record', async () => {
    const out = await processOne(
      plugin,
      { message: 'custom error message with data from record: {{.Metadata.foo}}' },
      rec({ metadata: { foo: 'bar' }, payload: { before: { bar: 'baz' }, after: { foo: 'bar' } } }),
    );
    assert.equal(asError(out).message, 'custom error message with data from record: bar');
  });

  it('without settings every record fails with "error processor triggered"', async () => {
    const p = await configured(plugin, {});
    const out = await p.process([rec({ metadata: { key1: 'val1' } }), rec({ metadata: { key2: 'val2' } })]);
    assert.equal(out.length, 2);
    for (const r of out) assert.equal(asError(r).message, 'error processor triggered');
  });

  it('a static message and a templated one, per record', async () => {
    const records = [rec({ metadata: { foo: 'rec 1' } }), rec({ metadata: { foo: 'rec 2' } })];
    const fixed = await (await configured(plugin, { message: 'static error message' })).process(records);
    assert.deepEqual(
      fixed.map((r) => asError(r).message),
      ['static error message', 'static error message'],
    );
    const templated = await (
      await configured(plugin, { message: 'error message: {{.Metadata.foo}}' })
    ).process(records);
    assert.deepEqual(
      templated.map((r) => asError(r).message),
      ['error message: rec 1', 'error message: rec 2'],
    );
  });
});

describe('error: behaviour', () => {
  it('text without {{ is not a template', async () => {
    const out = await processOne(plugin, { message: 'half done: 50% {x}' }, rec());
    assert.equal(asError(out).message, 'half done: 50% {x}');
  });

  it('a template that fails on a record reports the template error as the message', async () => {
    const out = await processOne(
      plugin,
      { message: '{{ index .Payload.After.list 5 }}' },
      rec({ payload: { before: null, after: { list: [1] } } }),
    );
    assert.match(asError(out).message, /^template: .*index out of range: 5/);
  });

  it('with a condition only the selected records are nacked, through the engine with the processor named', async () => {
    const processor = await configured(plugin, { message: 'bad kind {{ .Metadata.kind }}' });
    const nacks: Array<[string | undefined, string, string]> = [];
    const out = await runChain(
      [
        {
          id: PROCESSOR_ID,
          plugin: plugin.name,
          processor,
          condition: compileCondition('{{ eq .Metadata.kind "bad" }}', PROCESSOR_ID),
          workers: 1,
        },
      ],
      ['ok', 'bad', 'ok'].map((kind, i) => rec({ metadata: { kind, n: String(i) } })),
      (r, e, node) => nacks.push([r.metadata['n'], e.message, node]),
    );
    assert.deepEqual(
      out.map((r) => r.metadata['n']),
      ['0', '2'],
    );
    assert.deepEqual(nacks, [['1', 'processor p:proc (error) failed: bad kind bad', PROCESSOR_ID]]);
  });
});

describe('error: configuration errors', () => {
  it('a template syntax error fails at configure, naming the parameter, line and column', async () => {
    await assert.rejects(configured(plugin, { message: 'x {{ .Metadata.foo ' }), (e: unknown) => {
      assert.ok(e instanceof ConduitError);
      assert.equal(e.code, 'config.field_invalid');
      assert.equal(e.configPath, 'message');
      assert.equal(e.line, 1);
      assert.match(e.message, /^processor p:proc: message: template: /);
      return true;
    });
  });

  it('an unknown function fails at configure', async () => {
    await assert.rejects(configured(plugin, { message: '{{ nosuch .Key }}' }), {
      code: 'config.field_invalid',
      message: /function "nosuch" not defined/,
    });
  });
});

describe('error: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
