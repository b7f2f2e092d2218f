/** json.encode against Conduit's documented examples and unit tests, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConduitError } from '../../errors/conduit-error.js';
import { encodeValue, encodeValueBytes, GoStruct } from '../../opencdc/json.js';
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

describe('json.encode: raw data is written as bytes', () => {
  // json.encode writes whole data straight to bytes (encodeValueBytes): the very bytes of the JSON text.
  // Plain ASCII, what Go escapes (HTML characters, U+2028, controls), lone surrogates, and any code point.
  const special = fc.constantFrom(
    '&',
    '<',
    '>',
    '"',
    '\\',
    '\n',
    '\u0000',
    '\u007f',
    '\u2028',
    '\u2029',
    '\ud800',
    '\udc00',
  );
  const unit = fc.oneof(
    fc.constantFrom('a', 'Z', '0', ' ', 'é', '😀'),
    special,
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  );
  const str = fc.string({ unit, maxLength: 12 });
  const leaf = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.constant(-0),
    fc.bigInt(),
    str,
    fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
    fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(str, tie('value'), { maxKeys: 5, noNullPrototype: true }),
      fc.dictionary(str, tie('value'), { maxKeys: 3 }).map((o) => new GoStruct(Object.entries(o))),
    ),
  }));

  it('the bytes are the UTF-8 of the text, or both throw', () => {
    fc.assert(
      fc.property(value, (v) => {
        let text: string;
        try {
          text = encodeValue(v);
        } catch (e) {
          assert.throws(() => encodeValueBytes(v), { message: (e as Error).message });
          return;
        }
        assert.deepEqual(encodeValueBytes(v), Buffer.from(text, 'utf8'));
      }),
      { numRuns: 2000 },
    );
  });

  it('a value larger than the scratch buffer, then a small one', () => {
    const big = { a: 'x'.repeat(100_000), b: [1, 2, 3] };
    assert.deepEqual(encodeValueBytes(big), Buffer.from(encodeValue(big)));
    assert.equal(encodeValueBytes({ z: 1 }).toString(), '{"z":1}');
  });
});

describe('json.encode: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
