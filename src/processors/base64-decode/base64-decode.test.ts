/** base64.decode against Conduit's documented example and unit tests, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord, StructuredData } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { asError, asRecord, assertReadmeTable, configured, processOne, rec } from '../testing.js';
import { base64DecodePlugin, decodeStdBase64 } from './index.js';

const plugin = base64DecodePlugin;

const decode = async (field: string, r: OpenCDCRecord) => processOne(plugin, { field }, r);

describe('base64.decode: Conduit examples', () => {
  it('decodes the string in .Payload.After.foo', async () => {
    const r = asRecord(
      await decode(
        '.Payload.After.foo',
        rec({
          metadata: { key1: 'val1' },
          key: Buffer.from('test-key'),
          payload: { before: null, after: { foo: 'YmFy' } },
        }),
      ),
    );
    assert.deepEqual(r.payload.after, { foo: 'bar' });
    assert.deepEqual(r.key, Buffer.from('test-key'));
    assert.deepEqual(r.position, Buffer.from('test-position'));
    assert.deepEqual(r.metadata, { key1: 'val1' });
  });
});

describe('base64.decode: Conduit unit tests', () => {
  it('raw data stays raw data', async () => {
    const r = asRecord(await decode('.Key', rec({ key: Buffer.from('Zm9v') })));
    assert.deepEqual(r.key, Buffer.from('foo'));
  });

  it('a string in structured data', async () => {
    const r = asRecord(await decode('.Key.foo', rec({ key: { foo: 'YmFy' } })));
    assert.deepEqual(r.key, { foo: 'bar' });
  });

  const failures: Array<[string, string, OpenCDCRecord, RegExp]> = [
    ['structured data', '.Key', rec({ key: { foo: 'bar' } }), /unexpected data type: structured data/],
    ['a map', '.Key.foo', rec({ key: { foo: { bar: 'baz' } } }), /unexpected data type: structured data/],
    ['an int', '.Key.foo', rec({ key: { foo: 1 } }), /unexpected data type: a number/],
    ['a float', '.Key.foo', rec({ key: { foo: 1.1 } }), /unexpected data type: a number/],
    [
      'invalid base64',
      '.Key.foo',
      rec({ key: { foo: 'bar' } }),
      /failed to decode the value: illegal base64 data at input byte 0$/,
    ],
  ];
  for (const [name, field, r, message] of failures) {
    it(`fails on ${name}`, async () => {
      const err = asError(await decode(field, r));
      assert.match(
        err.message,
        new RegExp(`^processor p:proc \\(base64\\.decode\\) failed: field ${field.replace(/\./g, '\\.')}: `),
      );
      assert.match(err.message, message);
    });
  }
});

describe('base64.decode: behaviour', () => {
  it('decodes metadata values and bytes inside structured data', async () => {
    const r = asRecord(await decode('.Metadata.token', rec({ metadata: { token: 'aGVsbG8=' } })));
    assert.deepEqual(r.metadata, { token: 'hello' });
    const b = asRecord(
      await decode('.Payload.After.b', rec({ payload: { before: null, after: { b: Buffer.from('aGk=') } } })),
    );
    assert.deepEqual(b.payload.after, { b: 'hi' });
  });

  it('null and a missing field are left alone', async () => {
    let r = asRecord(await decode('.Payload.After', rec()));
    assert.equal(r.payload.after, null);
    r = asRecord(await decode('.Payload.After.x', rec({ payload: { before: null, after: { y: 'eQ==' } } })));
    assert.deepEqual(r.payload.after, { y: 'eQ==' });
  });

  it('follows Go: padding required, line breaks ignored, error at the failing byte', () => {
    assert.equal(decodeStdBase64(Buffer.from('Zm9v\nYmFy\r\n')).toString(), 'foobar');
    assert.equal(decodeStdBase64(Buffer.from('Zg==')).toString(), 'f');
    assert.equal(decodeStdBase64(Buffer.from('Zm8=')).toString(), 'fo');
    assert.equal(decodeStdBase64(Buffer.from('')).length, 0);
    const at = (s: string) => {
      try {
        decodeStdBase64(Buffer.from(s));
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    assert.equal(at('Zg'), 'illegal base64 data at input byte 0');
    assert.equal(at('Zm9vYg'), 'illegal base64 data at input byte 4');
    assert.equal(at('Zm9v!'), 'illegal base64 data at input byte 4');
    assert.equal(at('Zg='), 'illegal base64 data at input byte 3');
    assert.equal(at('Zg=x'), 'illegal base64 data at input byte 2');
    assert.equal(at('Zg==Zg=='), 'illegal base64 data at input byte 4');
    assert.equal(at('Z==='), 'illegal base64 data at input byte 1');
    assert.equal(at('Zm9v_-=='), 'illegal base64 data at input byte 4');
  });

  it('property: decodes what Node encodes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        assert.deepEqual(decodeStdBase64(Buffer.from(Buffer.from(bytes).toString('base64'))), Buffer.from(bytes));
      }),
    );
  });

  it('invalid UTF-8 in a nested field becomes replacement characters, raw data keeps the bytes', async () => {
    const r = asRecord(await decode('.Payload.After.x', rec({ payload: { before: null, after: { x: '/w==' } } })));
    assert.equal((r.payload.after as StructuredData)['x'], '\ufffd');
    const raw = asRecord(
      await decode('.Payload.After', rec({ payload: { before: null, after: Buffer.from('/w==') } })),
    );
    assert.deepEqual(raw.payload.after, Buffer.from([0xff]));
  });
});

describe('base64.decode: configuration errors', () => {
  it('requires field; .Position is refused in the spec', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"field"/ });
    assert.throws(() => parseConfig(plugin.params, { field: '.Position' }), {
      code: 'param.validation_failed',
      message: /"field"/,
    });
  });

  it('refuses, at configure, what cannot be set and malformed references', async () => {
    for (const field of ['$.Position', '.', 'Payload', '.Payload.After["x]']) {
      await assert.rejects(configured(plugin, { field }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.code, 'param.validation_failed');
        assert.equal(e.configPath, 'field');
        assert.match(e.message, /^processor p:proc: field: /);
        return true;
      });
    }
  });
});

describe('base64.decode: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
