/** field.exclude against Conduit's documented examples, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConduitError } from '../../errors/conduit-error.js';
import { parseConfig } from '../../sdk/params.js';
import { asError, asRecord, assertReadmeTable, configured, processOne, rec } from '../testing.js';
import { fieldExcludePlugin } from './index.js';

const plugin = fieldExcludePlugin;

describe('field.exclude: Conduit examples', () => {
  it('excluding .Payload leaves an empty payload', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { fields: '.Payload' },
        rec({ metadata: { key1: 'val1' }, payload: { before: { bar: 'baz' }, after: { foo: 'bar' } } }),
      ),
    );
    assert.deepEqual(r.payload, { before: null, after: null });
    assert.deepEqual(r.metadata, { key1: 'val1' });
    assert.equal(r.operation, 'create');
  });

  it('excludes several fields: .Metadata, .Payload.After.foo and .Key.key1', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { fields: '.Metadata,.Payload.After.foo,.Key.key1' },
        rec({
          metadata: { source: 's3' },
          key: { key1: 'val1', key2: 'val2' },
          payload: { before: { bar: 'baz' }, after: { foo: 'bar', foobar: 'baz' } },
        }),
      ),
    );
    assert.deepEqual(r.metadata, {});
    assert.deepEqual(r.key, { key2: 'val2' });
    assert.deepEqual(r.payload, { before: { bar: 'baz' }, after: { foobar: 'baz' } });
  });

  it('keeps the other fields (Conduit unit test)', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { fields: '.Metadata,.Payload.After.foo' },
        rec({ metadata: { key1: 'val1', key2: 'val2' }, payload: { before: null, after: { foo: 'bar', keep: 'me' } } }),
      ),
    );
    assert.deepEqual(r.metadata, {});
    assert.deepEqual(r.payload.after, { keep: 'me' });
  });
});

describe('field.exclude: behaviour', () => {
  it('removes a whole subtree, a metadata key and whole data', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { fields: '.Payload.After.user, .Metadata["opencdc.readAt"], .Key, .Payload.Before' },
        rec({
          metadata: { 'opencdc.readAt': '1', keep: 'k' },
          key: Buffer.from('k'),
          payload: { before: { a: 1 }, after: { user: { name: 'x', tags: ['a'] }, id: 1 } },
        }),
      ),
    );
    assert.deepEqual(r.payload, { before: null, after: { id: 1 } });
    assert.deepEqual(r.metadata, { keep: 'k' });
    assert.equal(r.key, null);
  });

  it('a missing field is no error and creates nothing', async () => {
    const r = asRecord(
      await processOne(plugin, { fields: '.Payload.After.a.b,.Metadata.nope' }, rec({ operation: 'delete' })),
    );
    assert.deepEqual(r.payload, { before: null, after: null });
  });

  it('a nested field under raw data fails that record only', async () => {
    const p = await configured(plugin, { fields: '.Payload.After.secret' });
    const out = await p.process([
      rec({ payload: { before: null, after: Buffer.from('{"secret":1}') } }),
      rec({ payload: { before: null, after: { secret: 1, id: 2 } } }),
    ]);
    assert.match(
      asError(out[0]).message,
      /^processor p:proc \(field\.exclude\) failed: field \.Payload\.After\.secret: .*raw data/,
    );
    assert.deepEqual(asRecord(out[1]).payload.after, { id: 2 });
  });
});

describe('field.exclude: configuration errors', () => {
  it('requires fields', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"fields"/ });
  });

  it('refuses .Position and .Operation in the spec, so offline validation sees it too', () => {
    for (const fields of ['.Position', '.Operation', '.Payload.After.foo, .Position']) {
      assert.throws(() => parseConfig(plugin.params, { fields }), {
        code: 'param.validation_failed',
        message: /"fields"/,
      });
    }
  });

  it('refuses, at configure, references that cannot be deleted and malformed references', async () => {
    for (const fields of ['$.Position', '$.Operation', '.', '.Payload.After[foo]', '.Nope']) {
      await assert.rejects(configured(plugin, { fields }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.code, 'param.validation_failed');
        assert.equal(e.configPath, 'fields');
        assert.match(e.message, /^processor p:proc: fields: /);
        return true;
      });
    }
  });
});

describe('field.exclude: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
