/** json.decode against Conduit's documented examples and unit tests, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { jsonEncodePlugin } from '../json-encode/index.js';
import { asError, asRecord, assertReadmeTable, configured, processOne, rec } from '../testing.js';
import { jsonDecodePlugin } from './index.js';

const plugin = jsonDecodePlugin;

const decode = async (field: string, r: OpenCDCRecord) => processOne(plugin, { field }, r);

describe('json.decode: Conduit examples', () => {
  it('decodes a raw JSON key into structured data', async () => {
    const r = asRecord(await decode('.Key', rec({ key: Buffer.from('{"after":{"data":4,"id":3}}') })));
    assert.deepEqual(r.key, { after: { data: 4, id: 3 } });
    assert.deepEqual(r.payload, { before: null, after: null });
  });

  it('decodes a JSON string in .Payload.Before.foo into a map', async () => {
    const r = asRecord(
      await decode(
        '.Payload.Before.foo',
        rec({
          operation: 'snapshot',
          payload: { before: { foo: '{"before":{"data":4,"id":3},"baz":"bar"}' }, after: null },
        }),
      ),
    );
    assert.deepEqual(r.payload.before, { foo: { before: { data: 4, id: 3 }, baz: 'bar' } });
    assert.equal(r.payload.after, null);
    assert.equal(r.operation, 'snapshot');
  });
});

describe('json.decode: Conduit unit tests', () => {
  it('a JSON string in .Payload.After.foo', async () => {
    const r = asRecord(
      await decode(
        '.Payload.After.foo',
        rec({ payload: { before: null, after: { foo: '{"after":{"data":4,"id":3},"baz":"bar"}' } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { foo: { after: { data: 4, id: 3 }, baz: 'bar' } });
  });

  it('a JSON array and a JSON string in a nested field', async () => {
    let r = asRecord(
      await decode('.Payload.After.foo', rec({ payload: { before: null, after: { foo: '["one", "two", "three"]' } } })),
    );
    assert.deepEqual(r.payload.after, { foo: ['one', 'two', 'three'] });
    r = asRecord(await decode('.Payload.After.foo', rec({ payload: { before: null, after: { foo: '"bar"' } } })));
    assert.deepEqual(r.payload.after, { foo: 'bar' });
  });

  it('raw .Payload.Before into structured data', async () => {
    const r = asRecord(
      await decode(
        '.Payload.Before',
        rec({ payload: { before: Buffer.from('{"before":{"data":4},"foo":"bar"}'), after: null } }),
      ),
    );
    assert.deepEqual(r.payload.before, { before: { data: 4 }, foo: 'bar' });
  });

  it('structured data stays as it is; empty raw data becomes null; null stays null', async () => {
    let r = asRecord(await decode('.Key', rec({ key: { after: { data: 4, id: 3 } } })));
    assert.deepEqual(r.key, { after: { data: 4, id: 3 } });
    r = asRecord(await decode('.Key', rec({ key: Buffer.alloc(0) })));
    assert.equal(r.key, null);
    r = asRecord(await decode('.Payload.After', rec()));
    assert.equal(r.payload.after, null);
  });

  it('invalid JSON is a record error naming processor, field and cause', async () => {
    const err = asError(await decode('.Key', rec({ key: Buffer.from('"invalid":"json"') })));
    assert.match(
      err.message,
      /^processor p:proc \(json\.decode\) failed: field \.Key: failed to unmarshal raw data as JSON: /,
    );
    assert.equal((err as ConduitError).code, 'processor.failed');
  });
});

describe('json.decode: behaviour', () => {
  it('a top-level JSON string becomes raw data; other non-objects cannot be whole data', async () => {
    const r = asRecord(
      await decode('.Payload.After', rec({ payload: { before: null, after: Buffer.from('"text"') } })),
    );
    assert.deepEqual(r.payload.after, Buffer.from('text'));
    for (const json of ['42', '[1]', 'true']) {
      asError(await decode('.Payload.After', rec({ payload: { before: null, after: Buffer.from(json) } })));
    }
  });

  it('JSON null clears the field', async () => {
    const r = asRecord(await decode('.Payload.After.x', rec({ payload: { before: null, after: { x: 'null' } } })));
    assert.deepEqual(r.payload.after, { x: null });
  });

  it('a missing nested field is left alone, creating nothing', async () => {
    const r = asRecord(await decode('.Payload.After.x.y', rec()));
    assert.equal(r.payload.after, null);
  });

  it('numbers, bools and arrays are not JSON text: record error', async () => {
    for (const x of [1, true, ['a']]) {
      const err = asError(await decode('.Payload.After.x', rec({ payload: { before: null, after: { x } } })));
      assert.match(err.message, /field \.Payload\.After\.x: unexpected data type/);
    }
  });

  it('one bad record does not stop the others', async () => {
    const p = await configured(plugin, { field: '.Key' });
    const out = await p.process(['{"a":1}', '{', '{"b":2}'].map((k) => rec({ key: Buffer.from(k) })));
    assert.deepEqual(asRecord(out[0]).key, { a: 1 });
    asError(out[1]);
    assert.deepEqual(asRecord(out[2]).key, { b: 2 });
  });

  it('property: json.decode undoes json.encode on structured data', async () => {
    const enc = await configured(jsonEncodePlugin, { field: '.Payload.After' });
    const dec = await configured(plugin, { field: '.Payload.After' });
    const json = fc.jsonValue({ maxDepth: 3 });
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), json), async (after) => {
        const r = rec({ payload: { before: null, after: structuredClone(after) as never } });
        const encoded = asRecord((await enc.process([r]))[0]);
        assert.ok(encoded.payload.after instanceof Uint8Array);
        const decoded = asRecord((await dec.process([encoded]))[0]);
        // Compared as plain JSON: the generator may build objects without a prototype, and -0 round-trips as -0.
        const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
        assert.deepEqual(plain(decoded.payload.after), plain(after));
      }),
      { numRuns: 100 },
    );
  });
});

describe('json.decode: configuration errors', () => {
  it('requires field; it must be under .Payload or .Key and not .Payload itself (in the spec)', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"field"/ });
    for (const field of ['.Metadata', '.Payload', '.Position', 'Payload.After']) {
      assert.throws(() => parseConfig(plugin.params, { field }), {
        code: 'param.validation_failed',
        message: /"field"/,
      });
    }
    for (const field of ['.Key', '.Payload.After', '.Payload.Before', '.Payload.After.foo']) {
      parseConfig(plugin.params, { field });
    }
  });

  it('refuses, at configure, malformed references', async () => {
    for (const field of ['.Payload.Nope', '.Key[x]', '.Payload.After.']) {
      await assert.rejects(configured(plugin, { field }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.code, 'param.validation_failed');
        assert.equal(e.configPath, 'field');
        assert.match(e.message, /^processor p:proc: field: invalid field reference/);
        return true;
      });
    }
  });
});

describe('json.decode: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
