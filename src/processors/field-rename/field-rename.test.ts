/** field.rename against Conduit's documented examples, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConduitError } from '../../errors/conduit-error.js';
import { runChain } from '../../engine/processor-chain.js';
import { parseConfig } from '../../sdk/params.js';
import { asError, asRecord, assertReadmeTable, configured, PROCESSOR_ID, processOne, rec } from '../testing.js';
import { fieldRenamePlugin } from './index.js';

const plugin = fieldRenamePlugin;

describe('field.rename: Conduit examples', () => {
  it('renames a metadata key and a field in .Payload.After', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { mapping: '.Metadata.key1:newKey,.Payload.After.foo:newFoo' },
        rec({ metadata: { key1: 'val1' }, payload: { before: { bar: 'baz' }, after: { foo: 'bar' } } }),
      ),
    );
    assert.deepEqual(r.metadata, { newKey: 'val1' });
    assert.deepEqual(r.payload, { before: { bar: 'baz' }, after: { newFoo: 'bar' } });
    assert.equal(r.operation, 'create');
  });

  it('renames a field in .Key and one in .Payload.Before', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { mapping: '.Key.id:table,.Payload.Before.bar:renamedBar' },
        rec({
          metadata: { key1: 'val1' },
          key: { id: 'table-name' },
          payload: { before: { bar: 'baz' }, after: { foo: 'bar' } },
        }),
      ),
    );
    assert.deepEqual(r.metadata, { key1: 'val1' });
    assert.deepEqual(r.key, { table: 'table-name' });
    assert.deepEqual(r.payload, { before: { renamedBar: 'baz' }, after: { foo: 'bar' } });
  });

  it('keeps the other metadata keys (Conduit unit test)', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { mapping: '.Metadata.key1:newKey,.Payload.After.foo:newFoo' },
        rec({ metadata: { key1: 'val1', key2: 'val2' }, payload: { before: null, after: { foo: 'bar' } } }),
      ),
    );
    assert.deepEqual(r.metadata, { newKey: 'val1', key2: 'val2' });
    assert.deepEqual(r.payload, { before: null, after: { newFoo: 'bar' } });
  });
});

describe('field.rename: behaviour', () => {
  it('renames nested fields and bracketed keys, keeping the value and its subtree', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { mapping: '.Payload.After.user.name:fullName, .Metadata["opencdc.collection"]:table' },
        rec({
          metadata: { 'opencdc.collection': 'users' },
          payload: { before: null, after: { user: { name: { first: 'A', last: 'B' }, id: 1 } } },
        }),
      ),
    );
    assert.deepEqual(r.payload.after, { user: { fullName: { first: 'A', last: 'B' }, id: 1 } });
    assert.deepEqual(r.metadata, { table: 'users' });
  });

  it('leaves a record without the field as it is, creating nothing', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { mapping: '.Payload.After.a.b:c,.Metadata.missing:x,.Key.id:key' },
        rec({ operation: 'delete', payload: { before: { id: 1 }, after: null } }),
      ),
    );
    assert.equal(r.payload.after, null);
    assert.equal(r.key, null);
    assert.deepEqual(r.metadata, {});
  });

  it('applies the pairs in order', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { mapping: '.Payload.After.a:b,.Payload.After.b:c' },
        rec({ payload: { before: null, after: { a: 1 } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { c: 1 });
  });
});

describe('field.rename: per-record errors', () => {
  it('a new name that is taken fails that record, naming processor and field; the others go on', async () => {
    const p = await configured(plugin, { mapping: '.Payload.After.foo:bar' });
    const out = await p.process([
      rec({ payload: { before: null, after: { foo: 1, bar: 2 } } }),
      rec({ payload: { before: null, after: { foo: 3 } } }),
    ]);
    const err = asError(out[0]);
    assert.match(
      err.message,
      /^processor p:proc \(field\.rename\) failed: field \.Payload\.After\.foo: .*"bar".*already exists/,
    );
    assert.equal((err as ConduitError).code, 'processor.failed');
    assert.deepEqual(asRecord(out[1]).payload.after, { bar: 3 });
  });

  it('raw data is a record error', async () => {
    const out = await processOne(
      plugin,
      { mapping: '.Payload.After.foo:bar' },
      rec({ payload: { before: null, after: Buffer.from('{"foo":1}') } }),
    );
    assert.match(asError(out).message, /field \.Payload\.After\.foo: .*raw data/);
  });

  it('through the chain the record is nacked with that message', async () => {
    const processor = await configured(plugin, { mapping: '.Metadata.a:b' });
    const nacks: string[] = [];
    const out = await runChain(
      [{ id: PROCESSOR_ID, plugin: plugin.name, processor, condition: undefined, workers: 1 }],
      [rec({ metadata: { a: '1', b: '2' } })],
      (_, e) => nacks.push(e.message),
    );
    assert.deepEqual(out, []);
    assert.match(nacks[0] ?? '', /^processor p:proc \(field\.rename\) failed: field \.Metadata\.a: /);
  });
});

describe('field.rename: configuration errors', () => {
  const fails = async (mapping: string, message: RegExp) =>
    assert.rejects(configured(plugin, { mapping }), (e: unknown) => {
      assert.ok(e instanceof ConduitError, String(e));
      assert.equal(e.code, 'param.validation_failed');
      assert.equal(e.configPath, 'mapping');
      assert.match(e.message, /^processor p:proc: mapping: /);
      assert.match(e.message, message);
      return true;
    });

  it('requires mapping', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"mapping"/ });
  });

  it('refuses the top-level fields (Conduit unit test: .Metadata)', async () => {
    for (const field of [
      '.Metadata',
      '.Payload',
      '.Payload.Before',
      '.Payload.After',
      '.Position',
      '.Key',
      '.Operation',
    ]) {
      await fails(`${field}:foo,.Payload.After.foo:bar`, /top-level field/);
    }
    await fails('$.Key:foo', /only a metadata key or a field/);
    await fails('.:foo', /only a metadata key or a field/);
  });

  it('refuses pairs that are not <field>:<name>', async () => {
    await fails('.Payload.After.foo', /is not <field>:<new name>/);
    await fails('.Payload.After.foo:bar:baz', /is not <field>:<new name>/);
  });

  it('refuses an empty new name, a name equal to the old one and malformed references', async () => {
    await fails('.Payload.After.foo: ', /empty name/);
    await fails('.Payload.After.foo:foo', /its own name/);
    await fails('.Payload.After[foo]:bar', /invalid field reference/);
    await fails('Payload.After.foo:bar', /invalid field reference/);
  });
});

describe('field.rename: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
