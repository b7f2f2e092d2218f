/** split against Conduit's documented example and unit tests, through the engine's chain, and errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConduitError } from '../../errors/conduit-error.js';
import { runChain } from '../../engine/processor-chain.js';
import type { StructuredData } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { asError, asMulti, assertReadmeTable, configured, PROCESSOR_ID, processOne, rec } from '../testing.js';
import { splitPlugin } from './index.js';

const plugin = splitPlugin;

describe('split: Conduit examples', () => {
  it('splits .Payload.After.users into one record per user', async () => {
    const users = [
      { name: 'Alice', age: 30 },
      { name: 'Bob', age: 25 },
      { name: 'Charlie', age: 35 },
    ];
    const out = asMulti(
      await processOne(
        plugin,
        { field: '.Payload.After.users' },
        rec({ operation: 'update', key: { id: 123 }, payload: { before: null, after: { users } } }),
      ),
    );
    assert.equal(out.length, 3);
    out.forEach((r, i) => {
      assert.deepEqual(r, {
        position: Buffer.from('test-position'),
        operation: 'update',
        metadata: { 'split.index': String(i) },
        key: { id: 123 },
        payload: { before: null, after: { users: users[i] } },
      });
    });
  });

  it('splits a slice in .Key', async () => {
    const out = asMulti(await processOne(plugin, { field: '.Key.myslice' }, rec({ key: { myslice: [1, 2, 3] } })));
    assert.deepEqual(
      out.map((r) => [r.key, r.metadata]),
      [
        [{ myslice: 1 }, { 'split.index': '0' }],
        [{ myslice: 2 }, { 'split.index': '1' }],
        [{ myslice: 3 }, { 'split.index': '2' }],
      ],
    );
  });

  it('a field that is not an array is a record error', async () => {
    const err = asError(await processOne(plugin, { field: '.Key.id' }, rec({ key: { id: '123' } })));
    assert.match(
      err.message,
      /^processor p:proc \(split\) failed: field \.Key\.id: the field is not an array \(it is a string\)$/,
    );
  });
});

describe('split: behaviour', () => {
  it('keeps the other fields and metadata, and each record is independent', async () => {
    const out = asMulti(
      await processOne(
        plugin,
        { field: '.Payload.After.items' },
        rec({
          metadata: { m: '1' },
          payload: { before: { old: true }, after: { items: ['x', 'y'], other: { k: 1 } } },
        }),
      ),
    );
    assert.deepEqual(out[1]?.payload, { before: { old: true }, after: { items: 'y', other: { k: 1 } } });
    assert.deepEqual(out[1]?.metadata, { m: '1', 'split.index': '1' });
    ((out[0]?.payload.after as StructuredData)['other'] as StructuredData)['k'] = 2;
    assert.deepEqual((out[1]?.payload.after as StructuredData)['other'], { k: 1 });
  });

  it('an empty array drops the record without an error; through the chain it is neither written nor nacked', async () => {
    assert.deepEqual(asMulti(await processOne(plugin, { field: '.Key.a' }, rec({ key: { a: [] } }))), []);
    const processor = await configured(plugin, { field: '.Key.a' });
    const nacks: string[] = [];
    const out = await runChain(
      [{ id: PROCESSOR_ID, plugin: plugin.name, processor, condition: undefined, workers: 1 }],
      [rec({ key: { a: [] } }), rec({ key: { a: [7] } }), rec({ key: { a: 'no' } })],
      (_, e) => nacks.push(e.message),
    );
    assert.deepEqual(
      out.map((r) => r.key),
      [{ a: 7 }],
    );
    assert.equal(nacks.length, 1);
    assert.match(nacks[0] ?? '', /^processor p:proc \(split\) failed: field \.Key\.a: /);
  });

  it('a missing field, null and raw data are record errors', async () => {
    assert.match(
      asError(await processOne(plugin, { field: '.Key.a' }, rec({ key: { b: 1 } }))).message,
      /it is missing/,
    );
    assert.match(
      asError(await processOne(plugin, { field: '.Key.a' }, rec({ key: { a: null } }))).message,
      /it is null/,
    );
    assert.match(
      asError(await processOne(plugin, { field: '.Key.a' }, rec({ key: Buffer.from('{}') }))).message,
      /raw data/,
    );
  });
});

describe('split: configuration errors', () => {
  it('field is required and must start with .Payload or .Key (Conduit: .Metadata.foo, aPayload.foo)', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"field"/ });
    for (const field of ['.Metadata.foo', 'aPayload.foo']) {
      assert.throws(() => parseConfig(plugin.params, { field }), {
        code: 'param.validation_failed',
        message: /"field"/,
      });
    }
  });

  it('refuses, at configure, whole data and malformed references', async () => {
    for (const field of ['.Payload', '.Payload.After', '.Key', '.Key.']) {
      await assert.rejects(configured(plugin, { field }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.configPath, 'field');
        assert.match(e.message, /^processor p:proc: field: /);
        return true;
      });
    }
  });
});

describe('split: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
