/** The Avro codec, schema inference and the wire format, against bytes written out by hand from the specification. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AvroSchemaError, AvroValueError, normalizeSchema, parseSchema } from './avro.js';
import { inferSchema } from './infer.js';
import { frame, unframe } from './wire.js';

const bytes = (b: Buffer): number[] => [...b];
const roundTrip = (schema: string, v: unknown): unknown => {
  const s = parseSchema(schema);
  return s.decode(s.encode(v));
};

describe('avro: primitives, golden bytes', () => {
  it('null, boolean, int and long zig-zag varints', () => {
    assert.deepEqual(bytes(parseSchema('"null"').encode(null)), []);
    assert.deepEqual(bytes(parseSchema('"boolean"').encode(true)), [1]);
    assert.deepEqual(bytes(parseSchema('"boolean"').encode(false)), [0]);
    const int = parseSchema('"int"');
    const cases: Array<[number, number[]]> = [
      [0, [0]],
      [-1, [1]],
      [1, [2]],
      [-64, [0x7f]],
      [64, [0x80, 0x01]],
      [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
      [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
    ];
    for (const [v, b] of cases) {
      assert.deepEqual(bytes(int.encode(v)), b, `int ${v}`);
      assert.equal(int.decode(Buffer.from(b)), v);
    }
  });

  it('long keeps 64 bits: numbers while safe, bigints beyond', () => {
    const long = parseSchema('"long"');
    assert.deepEqual(bytes(long.encode(2n ** 63n - 1n)), [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert.deepEqual(bytes(long.encode(-(2n ** 63n))), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert.equal(long.decode(long.encode(2n ** 63n - 1n)), 2n ** 63n - 1n);
    assert.equal(long.decode(long.encode(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
    assert.equal(long.decode(long.encode(2n ** 53n)), 2n ** 53n);
    assert.equal(long.decode(long.encode(5n)), 5);
    assert.throws(() => long.encode(2n ** 63n), AvroValueError);
    assert.throws(() => long.encode(1.5), /expected long, got the number 1.5/);
    assert.throws(() => long.decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])));
  });

  it('property: every 64-bit long round-trips exactly', () => {
    const long = parseSchema('"long"');
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const back = long.decode(long.encode(v));
        assert.equal(BigInt(back as number | bigint), v);
        assert.equal(typeof back, v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? 'number' : 'bigint');
      }),
      { numRuns: 500 },
    );
  });

  it('float and double little-endian, strings and bytes length-prefixed', () => {
    assert.deepEqual(bytes(parseSchema('"double"').encode(2.3)), [102, 102, 102, 102, 102, 102, 2, 64]);
    assert.deepEqual(bytes(parseSchema('"float"').encode(1)), [0, 0, 0x80, 0x3f]);
    assert.deepEqual(bytes(parseSchema('"string"').encode('bar')), [6, 98, 97, 114]);
    assert.deepEqual(bytes(parseSchema('"string"').encode('é')), [4, 0xc3, 0xa9]);
    assert.deepEqual(bytes(parseSchema('"bytes"').encode(Buffer.from([1, 2]))), [4, 1, 2]);
    assert.deepEqual(roundTrip('"bytes"', Buffer.from([1, 2])), Buffer.from([1, 2]));
    assert.equal(roundTrip('"float"', 0.5), 0.5);
  });
});

describe('avro: complex types', () => {
  const schema = JSON.stringify({
    type: 'record',
    name: 'r',
    namespace: 'ns',
    fields: [
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'attrs', type: { type: 'map', values: 'long' } },
      { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
      { name: 'hash', type: { type: 'fixed', name: 'H', size: 2 } },
      { name: 'opt', type: ['null', 'string'], default: null },
      { name: 'next', type: ['null', 'r'], default: null },
      { name: 'n', type: 'int', default: 7 },
    ],
  });

  it('records, arrays, maps, enums, fixed, unions (unwrapped), recursion', () => {
    const s = parseSchema(schema);
    const v = {
      tags: ['a'],
      attrs: { x: 1 },
      color: 'GREEN',
      hash: Buffer.from([9, 8]),
      opt: 'o',
      next: { tags: [], attrs: {}, color: 'RED', hash: Buffer.from([0, 0]), opt: null, next: null, n: 1 },
      n: 2,
    };
    const b = s.encode(v);
    assert.deepEqual(
      bytes(b).slice(0, 16),
      [2, 2, 97, 0, /* attrs */ 2, 2, 120, 2, 0, /* color */ 2, /* hash */ 9, 8, /* opt */ 2, 2, 111, /* next */ 2],
    );
    assert.deepEqual(s.decode(b), v);
  });

  it('missing fields take their default, or null when nullable; else an error naming the field', () => {
    const s = parseSchema(schema);
    const v = s.decode(s.encode({ tags: [], attrs: {}, color: 'RED', hash: Buffer.from([1, 1]) })) as Record<
      string,
      unknown
    >;
    assert.equal(v['n'], 7);
    assert.equal(v['opt'], null);
    assert.throws(
      () => s.encode({ tags: [], attrs: {}, color: 'RED' }),
      /\.hash: missing, and fixed ns\.H \(2 bytes\) has no default/,
    );
    assert.throws(
      () => s.encode({ tags: [], attrs: {}, color: 'BLUE', hash: Buffer.from([1, 1]) }),
      /\.color: expected one of the symbols RED, GREEN/,
    );
    assert.throws(
      () => s.encode({ tags: [1], attrs: {}, color: 'RED', hash: Buffer.from([1, 1]) }),
      /\.tags\[0\]: expected string, got the integer 1/,
    );
  });

  it('union branches: the best fit for the value', () => {
    const u = parseSchema('["null","double","long","string",{"type":"map","values":"long"}]');
    assert.deepEqual(bytes(u.encode(1)), [4, 2]); // long (index 2), not double
    assert.deepEqual(bytes(u.encode(1.5)).slice(0, 1), [2]); // double
    assert.deepEqual(bytes(u.encode(null)), [0]);
    assert.deepEqual(bytes(u.encode('x')), [6, 2, 120]);
    assert.deepEqual(u.decode(u.encode({ a: 1 })), { a: 1 });
    assert.throws(() => u.encode(true), /expected one of \[null, double, long, string, map\], got a bool/);
  });

  it('logical types: timestamps and dates as times, decimals as exact text', () => {
    const t = new Date('2024-05-06T07:08:09.123Z');
    assert.deepEqual(roundTrip('{"type":"long","logicalType":"timestamp-millis"}', t), t);
    assert.deepEqual(roundTrip('{"type":"long","logicalType":"timestamp-micros"}', t), t);
    assert.deepEqual(
      parseSchema('{"type":"long","logicalType":"timestamp-micros"}').decode(Buffer.from([0xce, 0x0f])),
      new Date(0), // 999 µs rounds down to the millisecond
    );
    assert.deepEqual(
      parseSchema('{"type":"long","logicalType":"timestamp-micros"}').decode(Buffer.from([0x01])),
      new Date(-1), // -1 µs rounds down too
    );
    assert.deepEqual(
      roundTrip('{"type":"int","logicalType":"date"}', new Date('2024-05-06T00:00:00Z')),
      new Date('2024-05-06T00:00:00Z'),
    );
    const dec = '{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}';
    assert.deepEqual(bytes(parseSchema(dec).encode('-1.23')), [2, 0x85]); // -123 in one byte
    assert.equal(roundTrip(dec, '12.3'), '12.30');
    assert.equal(roundTrip(dec, 5), '5.00');
    assert.equal(
      roundTrip('{"type":"fixed","name":"d","size":4,"logicalType":"decimal","precision":8,"scale":0}', '-70000'),
      '-70000',
    );
    assert.throws(() => parseSchema(dec).encode('1.234'), /more than 2 decimal places/);
    // An invalid logical type is ignored: the underlying type is used.
    assert.equal(roundTrip('{"type":"string","logicalType":"date"}', 'x'), 'x');
  });

  it('map keys such as __proto__ stay data', () => {
    const v = roundTrip('{"type":"map","values":"int"}', JSON.parse('{"__proto__":1}')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
  });

  it('malformed data is an error, never a crash or a huge allocation', () => {
    const s = parseSchema(schema);
    const good = s.encode({ tags: ['a'], attrs: {}, color: 'RED', hash: Buffer.from([1, 1]) });
    for (let i = 0; i < good.length; i++) assert.throws(() => s.decode(good.subarray(0, i)), AvroValueError);
    assert.throws(() => s.decode(Buffer.concat([good, Buffer.from([0])])), /1 bytes left over/);
    assert.throws(
      () => parseSchema('"string"').decode(Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f])),
      /runs past the end/,
    );
    assert.throws(
      () => parseSchema('{"type":"array","items":"null"}').decode(Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f])),
      /cannot fit/,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        try {
          s.decode(b);
        } catch (e) {
          assert.ok(e instanceof AvroValueError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('avro: schema validation', () => {
  it('refuses invalid schemas, naming the place', () => {
    const bad: Array<[string, RegExp]> = [
      ['{', /not valid JSON/],
      ['"strng"', /unknown type "strng"/],
      ['{"type":"record","name":"1x","fields":[]}', /"1x" is not a valid Avro name/],
      ['{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}', /defined twice/],
      ['{"type":"record","name":"r","fields":[{"name":"a-b","type":"int"}]}', /"a-b" is not a valid field name/],
      ['["int","int"]', /holds int twice/],
      ['["int",["long"]]', /cannot hold a union/],
      ['{"type":"enum","name":"e","symbols":["A","A"]}', /repeated/],
      ['{"type":"fixed","name":"f","size":-1}', /non-negative/],
      ['{"type":"array"}', /needs "items"/],
      [
        '{"type":"record","name":"r","fields":[{"name":"b","type":"bytes","default":1}]}',
        /default of "b": expected a string/,
      ],
    ];
    for (const [text, re] of bad)
      assert.throws(
        () => parseSchema(text),
        (e: unknown) => e instanceof AvroSchemaError && re.test(e.message),
        text,
      );
  });

  it('normalizes: the same schema written two ways is the same text', () => {
    assert.equal(
      normalizeSchema('{ "name": "r", "type": "record", "fields": [ {"type": "int", "name": "a"} ] }'),
      normalizeSchema('{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}'),
    );
  });
});

describe('avro: schema inference (autoRegister)', () => {
  it("matches Conduit's documented example, byte for byte", () => {
    const data = {
      myString: 'bar',
      myInt: 1,
      myFloat: 2.3,
      myMap: { foo: true, bar: 2.2 },
      myStruct: { foo: 1, bar: false },
    };
    const s = parseSchema(inferSchema(data));
    assert.deepEqual(
      bytes(s.encode(data)),
      [102, 102, 102, 102, 102, 102, 2, 64, 2, 154, 153, 153, 153, 153, 153, 1, 64, 1, 6, 98, 97, 114, 0, 2],
    );
    assert.deepEqual(s.decode(s.encode(data)), data);
  });

  it('null is a nullable string; arrays are unions with null; times are timestamp-micros', () => {
    const schema = JSON.parse(
      inferSchema({
        n: null,
        big: 2n ** 60n,
        huge: 1e20,
        list: [1, 'a', 1],
        empty: [],
        at: new Date(0),
        raw: Buffer.from('x'),
      }),
    ) as { fields: Array<{ name: string; type: unknown }> };
    const types = Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));
    assert.deepEqual(types, {
      at: { type: 'long', logicalType: 'timestamp-micros' },
      big: 'long',
      empty: { type: 'array', items: ['null', 'string'] },
      huge: 'double',
      list: { type: 'array', items: ['null', 'long', 'string'] },
      n: ['string', 'null'],
      raw: 'bytes',
    });
  });

  it('arrays of objects of one shape share one record; other shapes are an error', () => {
    const text = inferSchema({ items: [{ a: 1 }, { a: 2 }] });
    assert.deepEqual(parseSchema(text).decode(parseSchema(text).encode({ items: [{ a: 1 }, { a: 2 }] })), {
      items: [{ a: 1 }, { a: 2 }],
    });
    assert.throws(() => inferSchema({ items: [{ a: 1 }, { b: 2 }] }), /record\.items: the items have different shapes/);
    assert.throws(() => inferSchema({ 'first-name': 'x' }), /"first-name" is not a valid Avro name/);
  });

  it('property: inferred schemas encode their data and decode it back', () => {
    const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/);
    const leaf = fc.oneof(
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noInteger: true }),
      fc.string(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      obj: fc.dictionary(key, tie('val'), { maxKeys: 4 }),
      val: fc.oneof({ depthSize: 'small' }, leaf, leaf, tie('obj'), fc.array(leaf, { maxLength: 3 })),
    }));
    fc.assert(
      fc.property(value.obj, (data) => {
        const s = parseSchema(inferSchema(data));
        // Compared as JSON: the generator may build objects without a prototype.
        const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
        assert.deepEqual(plain(s.decode(s.encode(data))), plain(data));
      }),
      { numRuns: 200 },
    );
  });
});

describe('wire format', () => {
  it('magic byte 0 and a big-endian 4-byte schema ID', () => {
    assert.deepEqual(bytes(frame(1, Buffer.from([6, 98]))), [0, 0, 0, 0, 1, 6, 98]);
    assert.deepEqual(bytes(frame(0x01020304, Buffer.alloc(0))), [0, 1, 2, 3, 4]);
    const { schemaId, payload } = unframe(Buffer.from([0, 0, 0, 1, 0, 7]));
    assert.equal(schemaId, 256);
    assert.deepEqual([...payload], [7]);
    assert.throws(() => unframe(Buffer.from([0, 0, 1])), /shorter than the 5-byte schema header/);
    assert.throws(() => unframe(Buffer.from([1, 0, 0, 0, 1])), /not the magic byte 0/);
  });
});
