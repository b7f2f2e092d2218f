/** json.encode against Conduit's documented examples and unit tests, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { asError, asRecord, assertReadmeTable, configured, processOne, rec } from '../testing.js';
import { jsonEncodePlugin } from './index.js';

const plugin = jsonEncodePlugin;

const encode = async (field: string, r: OpenCDCRecord) => processOne(plugin, { field }, r);

describe('json.encode: Conduit examples', () => {
  it('encodes a structured key into raw JSON', async () => {
    const r = asRecord(await encode('.Key', rec({ key: { tables: ['table1,table2'] } })));
    assert.deepEqual(r.key, Buffer.from('{"tables":["table1,table2"]}'));
  });

  it('encodes a map in .Payload.Before.foo into a JSON string, keys sorted', async () => {
    const r = asRecord(
      await encode(
        '.Payload.Before.foo',
        rec({
          operation: 'snapshot',
          payload: { before: { foo: { before: { data: 4, id: 3 }, baz: 'bar' } }, after: null },
        }),
      ),
    );
    assert.deepEqual(r.payload.before, { foo: '{"baz":"bar","before":{"data":4,"id":3}}' });
  });
});

describe('json.encode: Conduit unit tests', () => {
  it('a structured key', async () => {
    const r = asRecord(await encode('.Key', rec({ key: { after: { data: 4, id: 3 } } })));
    assert.deepEqual(r.key, Buffer.from('{"after":{"data":4,"id":3}}'));
  });

  it('a map in .Payload.After.foo', async () => {
    const r = asRecord(
      await encode(
        '.Payload.After.foo',
        rec({ payload: { before: null, after: { foo: { after: { data: 4, id: 3 }, baz: 'bar' } } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { foo: '{"after":{"data":4,"id":3},"baz":"bar"}' });
  });

  it('an array under .Payload.After', async () => {
    const r = asRecord(
      await encode('.Payload.After', rec({ payload: { before: null, after: { foo: ['one', 'two', 'three'] } } })),
    );
    assert.deepEqual(r.payload.after, Buffer.from('{"foo":["one","two","three"]}'));
  });

  it('an int value', async () => {
    const r = asRecord(await encode('.Payload.After.foo', rec({ payload: { before: null, after: { foo: 123 } } })));
    assert.deepEqual(r.payload.after, { foo: '123' });
  });

  it('a null value stays null', async () => {
    const r = asRecord(await encode('.Payload.After', rec()));
    assert.equal(r.payload.after, null);
  });
});

describe('json.encode: behaviour', () => {
  it('writes values as Go does: strings quoted, HTML escaped, bytes as base64, times in RFC 3339, bigints exact', async () => {
    const r = asRecord(
      await encode(
        '.Payload.After',
        rec({
          payload: {
            before: null,
            after: { s: '<a&b>', b: Buffer.from('hi'), t: new Date('2024-01-02T03:04:05.5Z'), n: 9007199254740993n },
          },
        }),
      ),
    );
    assert.equal(
      Buffer.from(r.payload.after as Uint8Array).toString(),
      '{"b":"aGk=","n":9007199254740993,"s":"\\u003ca\\u0026b\\u003e","t":"2024-01-02T03:04:05.5Z"}',
    );
    const s = asRecord(await encode('.Key.name', rec({ key: { name: 'x' } })));
    assert.deepEqual(s.key, { name: '"x"' });
  });

  it('raw data is encoded as a base64 JSON string', async () => {
    const r = asRecord(await encode('.Key', rec({ key: Buffer.from('test-key') })));
    assert.deepEqual(r.key, Buffer.from('"dGVzdC1rZXk="'));
  });

  it('a missing field is left alone', async () => {
    const r = asRecord(await encode('.Payload.After.x', rec({ payload: { before: null, after: { y: 1 } } })));
    assert.deepEqual(r.payload.after, { y: 1 });
  });

  it('a value JSON cannot hold is a record error naming processor and field', async () => {
    const err = asError(await encode('.Payload.After', rec({ payload: { before: null, after: { x: NaN } } })));
    assert.match(err.message, /^processor p:proc \(json\.encode\) failed: field \.Payload\.After: .*NaN/);
  });
});

describe('json.encode: configuration errors', () => {
  it('requires field; it must be under .Payload or .Key and not .Payload itself (in the spec)', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"field"/ });
    for (const field of ['.Metadata', '.Payload']) {
      assert.throws(() => parseConfig(plugin.params, { field }), {
        code: 'param.validation_failed',
        message: /"field"/,
      });
    }
  });

  it('refuses, at configure, malformed references', async () => {
    await assert.rejects(configured(plugin, { field: '.Payload.During' }), (e: unknown) => {
      assert.ok(e instanceof ConduitError);
      assert.equal(e.configPath, 'field');
      assert.match(e.message, /^processor p:proc: field: invalid field reference/);
      return true;
    });
  });
});

describe('json.encode: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
