/** base64.encode against Conduit's documented examples and unit tests, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { base64DecodePlugin } from '../base64-decode/index.js';
import { asError, asRecord, assertReadmeTable, configured, processOne, rec } from '../testing.js';
import { base64EncodePlugin } from './index.js';

const plugin = base64EncodePlugin;

const encode = async (field: string, r: OpenCDCRecord) => processOne(plugin, { field }, r);

describe('base64.encode: Conduit examples', () => {
  it('encodes the raw key', async () => {
    const r = asRecord(
      await encode(
        '.Key',
        rec({
          metadata: { key1: 'val1' },
          key: Buffer.from('test-key'),
          payload: { before: null, after: { foo: 'bar' } },
        }),
      ),
    );
    assert.deepEqual(r.key, Buffer.from('dGVzdC1rZXk='));
    assert.deepEqual(r.payload.after, { foo: 'bar' });
    assert.deepEqual(r.position, Buffer.from('test-position'));
  });

  it('encodes a string in .Payload.After.foo', async () => {
    const r = asRecord(
      await encode(
        '.Payload.After.foo',
        rec({
          metadata: { key1: 'val1' },
          key: Buffer.from('test-key'),
          payload: { before: null, after: { foo: 'bar' } },
        }),
      ),
    );
    assert.deepEqual(r.payload.after, { foo: 'YmFy' });
    assert.deepEqual(r.key, Buffer.from('test-key'));
  });
});

describe('base64.encode: Conduit unit tests', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a string', 'bar', 'YmFy'],
    ['an int', 1, 'MQ=='],
    ['a float', 1.1, 'MS4x'],
    ['a bool', true, 'dHJ1ZQ=='],
    ['bytes', Buffer.from('bar'), 'YmFy'],
  ];
  for (const [name, value, want] of cases) {
    it(`encodes ${name}`, async () => {
      const r = asRecord(await encode('.Key.foo', rec({ key: { foo: value } as never })));
      assert.deepEqual(r.key, { foo: want });
    });
  }

  it('raw data', async () => {
    assert.deepEqual(asRecord(await encode('.Key', rec({ key: Buffer.from('foo') }))).key, Buffer.from('Zm9v'));
  });

  it('null stays null', async () => {
    assert.equal(asRecord(await encode('.Key', rec())).key, null);
  });

  it('fails on structured data and on a map', async () => {
    let err = asError(await encode('.Key', rec({ key: { foo: 'bar' } })));
    assert.match(
      err.message,
      /^processor p:proc \(base64\.encode\) failed: field \.Key: unexpected data type: structured data$/,
    );
    err = asError(await encode('.Key.foo', rec({ key: { foo: { bar: 'baz' } } })));
    assert.match(err.message, /field \.Key\.foo: unexpected data type: structured data$/);
  });
});

describe('base64.encode: behaviour', () => {
  it('numbers print as Go prints them: whole numbers as ints, others as floats', async () => {
    for (const [value, text] of [
      [1234567, '1234567'],
      [-0.5, '-0.5'],
      [1e21, '1e+21'],
      [12345678901234567890n, '12345678901234567890'],
    ] as const) {
      const r = asRecord(await encode('.Key.n', rec({ key: { n: value } })));
      assert.deepEqual(r.key, { n: Buffer.from(text).toString('base64') }, String(value));
    }
  });

  it('encodes metadata values; times and arrays are refused', async () => {
    assert.deepEqual(asRecord(await encode('.Metadata.k', rec({ metadata: { k: 'hello' } }))).metadata, {
      k: 'aGVsbG8=',
    });
    asError(await encode('.Key.t', rec({ key: { t: new Date(0) } })));
    asError(await encode('.Key.a', rec({ key: { a: [1] } })));
  });

  it('base64.decode undoes it', async () => {
    const enc = await configured(plugin, { field: '.Payload.After' });
    const dec = await configured(base64DecodePlugin, { field: '.Payload.After' });
    const bytes = Buffer.from([0, 1, 2, 250, 255, 10]);
    const r = rec({ payload: { before: null, after: bytes } });
    const back = asRecord((await dec.process([asRecord((await enc.process([r]))[0])]))[0]);
    assert.deepEqual(back.payload.after, bytes);
  });
});

describe('base64.encode: configuration errors', () => {
  it('requires field; .Position is refused in the spec', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"field"/ });
    assert.throws(() => parseConfig(plugin.params, { field: '.Position' }), { code: 'param.validation_failed' });
  });

  it('refuses, at configure, what cannot be set and malformed references', async () => {
    for (const field of ['$.Position', '.', '.Payload.After.']) {
      await assert.rejects(configured(plugin, { field }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.configPath, 'field');
        assert.match(e.message, /^processor p:proc: field: /);
        return true;
      });
    }
  });
});

describe('base64.encode: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
