/** field.convert against Conduit's documented examples and unit tests, plus configuration and per-record errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConduitError } from '../../errors/conduit-error.js';
import { encodeRecord } from '../../opencdc/json.js';
import type { StructuredData } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { asError, asRecord, assertReadmeTable, configured, processOne, rec } from '../testing.js';
import { convert, fieldConvertPlugin } from './index.js';
import { formatFloatF, parseFloat64, parseRFC3339 } from './strconv.js';

const plugin = fieldConvertPlugin;

/** Converts `.Key.id` holding `value` to `type`; returns the new `.Key`. */
async function convertKey(value: unknown, type: string): Promise<unknown> {
  const r = asRecord(
    await processOne(plugin, { field: '.Key.id', type }, rec({ key: { id: value } as StructuredData })),
  );
  return (r.key as StructuredData)['id'];
}

async function convertKeyError(value: unknown, type: string): Promise<string> {
  return asError(await processOne(plugin, { field: '.Key.id', type }, rec({ key: { id: value } as StructuredData })))
    .message;
}

describe('field.convert: Conduit examples', () => {
  it('string to int in .Key.id', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { field: '.Key.id', type: 'int' },
        rec({ operation: 'update', key: { id: '123' }, payload: { before: null, after: { foo: 'bar' } } }),
      ),
    );
    assert.deepEqual(r.key, { id: 123 });
    assert.deepEqual(r.payload.after, { foo: 'bar' });
    assert.equal(r.operation, 'update');
  });

  it('int to bool in .Payload.After.done', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { field: '.Payload.After.done', type: 'bool' },
        rec({ operation: 'update', key: { id: '123' }, payload: { before: null, after: { done: 1 } } }),
      ),
    );
    assert.deepEqual(r.payload.after, { done: true });
    assert.deepEqual(r.key, { id: '123' });
  });

  it('float to string in .Key.id', async () => {
    assert.equal(await convertKey(123.345, 'string'), '123.345');
  });

  it('a Unix time in nanoseconds to a time', async () => {
    const r = asRecord(
      await processOne(
        plugin,
        { field: '.Payload.After.createdAt', type: 'time' },
        rec({ key: { id: 123.345 }, payload: { before: null, after: { createdAt: 1704198896123456789n } } }),
      ),
    );
    const createdAt = (r.payload.after as StructuredData)['createdAt'];
    assert.ok(createdAt instanceof Date);
    assert.equal(createdAt.toISOString(), '2024-01-02T12:34:56.123Z');
    // Conduit prints 2024-01-02T12:34:56.123456789Z: a Date holds milliseconds.
    assert.match(encodeRecord(r), /"after":\{"createdAt":"2024-01-02T12:34:56\.123Z"\}/);
  });
});

describe('field.convert: Conduit unit tests', () => {
  const cases: Array<[string, unknown, string, unknown]> = [
    ['string to int', '54', 'int', 54],
    ['string to float', '54', 'float', 54],
    ['string to bool', '1', 'bool', true],
    ['string to string', '54', 'string', '54'],
    ['int to int', 54, 'int', 54],
    ['int to float', 54, 'float', 54],
    ['int to bool', 1, 'bool', true],
    ['int to string', 54, 'string', '54'],
    ['float to int', 54.0, 'int', 54],
    ['float to float', 54.0, 'float', 54],
    ['float to bool', 1.0, 'bool', true],
    ['float to string', 54.0, 'string', '54'],
    ['bool to int', true, 'int', 1],
    ['bool to float', false, 'float', 0],
    ['bool to bool', true, 'bool', true],
    ['bool to string', false, 'string', 'false'],
    ['bytes to string', Buffer.from('foo'), 'string', 'foo'],
  ];
  for (const [name, value, type, want] of cases) {
    it(name, async () => {
      assert.deepEqual(await convertKey(value, type), want);
    });
  }

  it('int to time', async () => {
    const t = await convertKey(1611254412345678999n, 'time');
    assert.ok(t instanceof Date);
    assert.equal(t.toISOString(), '2021-01-21T18:40:12.345Z');
  });

  it('string to time', async () => {
    const t = await convertKey('2021-01-21T18:40:12.345678999Z', 'time');
    assert.ok(t instanceof Date);
    assert.equal(t.toISOString(), '2021-01-21T18:40:12.345Z');
  });

  it('string to int: out of range', async () => {
    assert.match(await convertKeyError('9999999999999999999', 'int'), /value out of range/);
  });

  it('string to int: not a number', async () => {
    assert.match(await convertKeyError('nan', 'int'), /strconv\.Atoi: parsing "nan": invalid syntax/);
  });

  it('float to int: out of range', async () => {
    assert.match(await convertKeyError(9999999999999999999.0, 'int'), /value out of range/);
  });

  it('string to time: not RFC 3339', async () => {
    const message = await convertKeyError('21.01.2021 18:40:12', 'time');
    assert.match(
      message,
      /^processor p:proc \(field\.convert\) failed: field \.Key\.id: parsing time "21\.01\.2021 18:40:12" as "2006-01-02T15:04:05\.999999999Z07:00"/,
    );
  });
});

describe('field.convert: details', () => {
  it('int keeps 64-bit values exact as bigint', async () => {
    assert.equal(await convertKey('9007199254740993', 'int'), 9007199254740993n);
    assert.equal(await convertKey('-9223372036854775808', 'int'), -9223372036854775808n);
    assert.equal(await convertKey('+7', 'int'), 7);
  });

  it('float to int needs a whole number', async () => {
    assert.match(await convertKeyError(54.5, 'int'), /parsing "54\.5": invalid syntax/);
  });

  it('floats print without an exponent, like Go with format f', async () => {
    assert.equal(await convertKey(1e21, 'string'), '1000000000000000000000');
    assert.equal(await convertKey(1e-7, 'string'), '0.0000001');
    assert.equal(await convertKey(-1.5e-10, 'string'), '-0.00000000015');
    assert.equal(await convertKey(123456789.125, 'string'), '123456789.125');
  });

  it('float parses Go syntax: exponents, inf, hex floats', async () => {
    assert.equal(await convertKey('1e3', 'float'), 1000);
    assert.equal(await convertKey('.5', 'float'), 0.5);
    assert.equal(await convertKey('-Inf', 'float'), -Infinity);
    assert.equal(await convertKey('0x1.8p1', 'float'), 3);
    assert.match(await convertKeyError('1e400', 'float'), /ParseFloat: parsing "1e400": value out of range/);
    assert.match(await convertKeyError('0x10', 'float'), /invalid syntax/);
    assert.match(await convertKeyError('', 'float'), /invalid syntax/);
  });

  it('bool takes Go spellings only', async () => {
    assert.equal(await convertKey('F', 'bool'), false);
    assert.equal(await convertKey('TRUE', 'bool'), true);
    assert.match(await convertKeyError('yes', 'bool'), /strconv\.ParseBool: parsing "yes": invalid syntax/);
    assert.match(await convertKeyError(2, 'bool'), /invalid syntax/);
  });

  it('time from RFC 3339 with an offset, and from negative nanoseconds', async () => {
    assert.equal(
      ((await convertKey('2021-01-21T19:40:12+01:00', 'time')) as Date).toISOString(),
      '2021-01-21T18:40:12.000Z',
    );
    assert.equal(((await convertKey(-1, 'time')) as Date).toISOString(), '1969-12-31T23:59:59.999Z');
    assert.match(await convertKeyError('2021-02-29T00:00:00Z', 'time'), /day out of range/);
    assert.equal(parseRFC3339('0001-01-01T00:00:00Z').toISOString(), '0001-01-01T00:00:00.000Z');
  });

  it('a time to string prints as Go prints a time.Time', async () => {
    assert.equal(await convertKey(new Date('2024-01-02T12:34:56.5Z'), 'string'), '2024-01-02 12:34:56.5 +0000 UTC');
  });

  it('null, a missing field and raw data are record errors', async () => {
    assert.match(await convertKeyError(null, 'string'), /field \.Key\.id: the value is null/);
    const missing = await processOne(plugin, { field: '.Key.nope', type: 'int' }, rec({ key: { id: 1 } }));
    assert.match(asError(missing).message, /field \.Key\.nope: the field does not exist/);
    const raw = await processOne(plugin, { field: '.Key.id', type: 'int' }, rec({ key: Buffer.from('{"id":1}') }));
    assert.match(asError(raw).message, /raw data/);
  });

  it('one failing record does not stop the others', async () => {
    const p = await configured(plugin, { field: '.Payload.After.n', type: 'int' });
    const out = await p.process(['1', 'x', '3'].map((n) => rec({ payload: { before: null, after: { n } } })));
    assert.deepEqual(asRecord(out[0]).payload.after, { n: 1 });
    asError(out[1]);
    assert.deepEqual(asRecord(out[2]).payload.after, { n: 3 });
  });

  it('property: a float converted to string and back is the same float', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        const back = convert(convert(x, 'string'), 'float') as number;
        assert.ok(Object.is(back, x), `${x} -> ${formatFloatF(x)} -> ${back}`);
        assert.ok(!/e/i.test(formatFloatF(x)) || !Number.isFinite(x));
      }),
    );
  });

  it('property: parseFloat64 agrees with Number on decimal text', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        assert.ok(Object.is(parseFloat64(formatFloatF(x)), x));
        if (x !== 0) assert.ok(Object.is(parseFloat64(x.toExponential()), x));
      }),
    );
  });
});

describe('field.convert: configuration errors', () => {
  it('requires field and type; type must be one of the five', () => {
    assert.throws(() => parseConfig(plugin.params, { type: 'int' }), { code: 'param.required', message: /"field"/ });
    assert.throws(() => parseConfig(plugin.params, { field: '.Key.foo' }), {
      code: 'param.required',
      message: /"type"/,
    });
    assert.throws(() => parseConfig(plugin.params, { field: '.Key.foo', type: 'map' }), {
      code: 'param.validation_failed',
      message: /"type"/,
    });
  });

  it('field must start with .Payload or .Key (Conduit: .Metadata.foo, aPayload.foo)', () => {
    for (const field of ['.Metadata.foo', 'aPayload.foo', '$.Payload.After.x']) {
      assert.throws(() => parseConfig(plugin.params, { field, type: 'int' }), {
        code: 'param.validation_failed',
        message: /"field"/,
      });
    }
  });

  it('refuses, at configure, whole data and malformed references', async () => {
    for (const field of ['.Payload', '.Payload.After', '.Key', '.Payload.Nope', '.Key[x]']) {
      await assert.rejects(configured(plugin, { field, type: 'int' }), (e: unknown) => {
        assert.ok(e instanceof ConduitError, String(e));
        assert.equal(e.code, 'param.validation_failed');
        assert.equal(e.configPath, 'field');
        assert.match(e.message, /^processor p:proc: field: /);
        return true;
      });
    }
  });
});

describe('field.convert: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
