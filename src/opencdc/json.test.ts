import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compareGo,
  decodeRecord,
  encodeRecord,
  encodeRecordInto,
  encodeValue,
  encodeValueBytes,
  GoStruct,
  quote,
  RecordDecodeError,
  RecordEncodeError,
} from './json.js';
import type { Data, OpenCDCRecord, StructuredData, StructuredValue } from './record.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function rec(r: Partial<OpenCDCRecord>): OpenCDCRecord {
  return {
    position: r.position ?? b('foo'),
    operation: r.operation ?? 'create',
    metadata: r.metadata ?? {},
    key: r.key ?? null,
    payload: r.payload ?? { before: null, after: null },
  };
}

// Expected bytes are derived by hand from Go's encoding rules (and, where noted,
// copied from conduit-commons / conduit-connector-sdk tests).
describe('encodeRecord', () => {
  const conduitRecord = rec({
    position: b('standing'),
    operation: 'update',
    metadata: { foo: 'bar' },
    key: b('padlock-key'),
    payload: {
      before: b('yellow'),
      after: { bool: true, int: 1, int32: 1, int64: 1, float32: 1.2, float64: 1.2, string: 'orange' },
    },
  });

  it('matches conduit-commons TestJSONSerializer (default)', () => {
    assert.equal(
      encodeRecord(conduitRecord),
      '{"position":"c3RhbmRpbmc=","operation":"update","metadata":{"foo":"bar"},"key":"cGFkbG9jay1rZXk=","payload":{"before":"eWVsbG93","after":{"bool":true,"float32":1.2,"float64":1.2,"int":1,"int32":1,"int64":1,"string":"orange"}}}',
    );
  });

  it('matches conduit-commons TestJSONSerializer (raw data as string)', () => {
    assert.equal(
      encodeRecord(conduitRecord, { rawDataAsString: true }),
      '{"position":"c3RhbmRpbmc=","operation":"update","metadata":{"foo":"bar"},"key":"padlock-key","payload":{"before":"yellow","after":{"bool":true,"float32":1.2,"float64":1.2,"int":1,"int32":1,"int64":1,"string":"orange"}}}',
    );
  });

  it('matches conduit-connector-sdk TestJSONEncoder (sorted after, null before)', () => {
    const r = rec({
      metadata: { 'conduit.source.plugin.name': 'example' },
      key: b('bar'),
      payload: { before: null, after: { foo: 'bar', baz: 'qux' } },
    });
    assert.equal(
      encodeRecord(r),
      '{"position":"Zm9v","operation":"create","metadata":{"conduit.source.plugin.name":"example"},"key":"YmFy","payload":{"before":null,"after":{"baz":"qux","foo":"bar"}}}',
    );
  });

  it('writes empty metadata as {} and no data as null, empty raw data as ""', () => {
    assert.equal(
      encodeRecord(rec({ position: b(''), operation: 'delete', key: b('') })),
      '{"position":"","operation":"delete","metadata":{},"key":"","payload":{"before":null,"after":null}}',
    );
  });

  it('sorts metadata and structured keys by UTF-8 bytes, at every depth', () => {
    const r = rec({
      operation: 'snapshot',
      metadata: { 'opencdc.readAt': '1', 'conduit.x': '2', 'opencdc.collection': 'c', B: 'b', a: 'a' },
      key: { id: 1 },
      payload: {
        before: null,
        after: { z: { y: 1, x: [{ d: 1, c: 2 }] }, 10: 'ten', 2: 'two', A: true, _: null },
      },
    });
    assert.equal(
      encodeRecord(r),
      '{"position":"Zm9v","operation":"snapshot","metadata":{"B":"b","a":"a","conduit.x":"2","opencdc.collection":"c","opencdc.readAt":"1"},' +
        '"key":{"id":1},"payload":{"before":null,"after":{"10":"ten","2":"two","A":true,"_":null,"z":{"x":[{"c":2,"d":1}],"y":1}}}}',
    );
  });

  it('orders a supplementary character after U+E000–U+FFFF, as UTF-8 does', () => {
    // UTF-16 code units would put U+1F600 (D83D DE00) before U+E000.
    assert.equal(encodeValue({ '\u{1F600}': 1, '\uE000': 2, '\uFFFD': 3 }), '{"\uE000":2,"\uFFFD":3,"\u{1F600}":1}');
    assert.ok(compareGo('\uE000', '\u{1F600}') < 0);
    assert.ok(compareGo('a', 'ab') < 0);
    assert.equal(compareGo('x', 'x'), 0);
  });

  it('escapes like Go: HTML characters, control characters, U+2028/9, lone surrogates', () => {
    const s = '<a href="x">&</a>\\\n\r\t\b\f\x00\x1f\x7f\u2028\u2029é😀\udc00\ud800x\udbff';
    assert.equal(
      quote(s),
      '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\\\\\n\\r\\t\\u0008\\u000c\\u0000\\u001f\x7f\\u2028\\u2029é😀\\ufffd\\ufffdx\\ufffd"',
    );
    assert.equal(quote(''), '""');
    assert.equal(quote('plain ascii'), '"plain ascii"');
    // Keys are escaped too.
    assert.equal(encodeValue({ '<k>': 'v' }), '{"\\u003ck\\u003e":"v"}');
  });

  it('writes bytes as base64, bigint as digits, dates as Go time.Time', () => {
    const after: Record<string, StructuredValue> = {
      bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
      empty: new Uint8Array(0),
      big: 12345678901234567890n,
      neg: -9007199254740993n,
      d1: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120)),
      d2: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 0)),
      d3: new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 7)),
    };
    assert.equal(
      encodeValue(after),
      '{"big":12345678901234567890,"bytes":"AAEC/f7/","d1":"2024-01-02T03:04:05.12Z","d2":"2024-01-02T03:04:05Z",' +
        '"d3":"1999-12-31T23:59:59.007Z","empty":"","neg":-9007199254740993}',
    );
  });

  it('writes numbers as Go writes float64', () => {
    assert.equal(
      encodeValue([0, -0, 1, -1.5, 0.1, 1e20, 1e21, 1.5e-7, 0.000001, 123456789012, 2 ** 53]),
      '[0,-0,1,-1.5,0.1,100000000000000000000,1e+21,1.5e-7,0.000001,123456789012,9007199254740992]',
    );
  });

  it('nests arrays and objects, and treats undefined like JSON.stringify', () => {
    assert.equal(
      encodeValue({ a: [], b: {}, c: [[1], { x: undefined }], d: undefined }),
      '{"a":[],"b":{},"c":[[1],{}]}',
    );
    assert.equal(encodeValue([undefined]), '[null]');
  });

  it('keeps GoStruct fields in order and leaves out undefined ones', () => {
    assert.equal(
      encodeValue(
        new GoStruct([
          ['z', 1],
          ['a', undefined],
          ['m', { b: 1, a: 2 }],
        ]),
      ),
      '{"z":1,"m":{"a":2,"b":1}}',
    );
  });

  it('writes a null position when asked (position.excluded)', () => {
    assert.match(encodeRecord(rec({}), { excludePosition: true }), /^\{"position":null,/);
  });

  it('writes invalid UTF-8 in raw data as text with one \\ufffd per bad byte, like Go', () => {
    const r = rec({ key: Buffer.from([0x61, 0xff, 0xe2, 0x82, 0x41, 0xed, 0xa0, 0x80, 0x3c]) });
    const out = encodeRecord(r, { rawDataAsString: true });
    assert.ok(out.includes('"key":"a\\ufffd\\ufffd\\ufffdA\\ufffd\\ufffd\\ufffd\\u003c"'), out);
    const ok = rec({ key: b('héllo <&> \u2028') });
    assert.ok(encodeRecord(ok, { rawDataAsString: true }).includes('"key":"héllo \\u003c\\u0026\\u003e \\u2028"'));
  });

  it('accepts a Uint8Array that is a view into a larger buffer', () => {
    const big = new Uint8Array([9, 9, 0x66, 0x6f, 0x6f, 9]);
    assert.ok(encodeRecord(rec({ position: big.subarray(2, 5) })).startsWith('{"position":"Zm9v",'));
  });

  it('refuses values Go refuses', () => {
    assert.throws(() => encodeValue({ x: NaN }), RecordEncodeError);
    assert.throws(() => encodeValue({ x: Infinity }), /unsupported value: Infinity at x/);
    assert.throws(() => encodeValue(new Date(NaN)), RecordEncodeError);
    assert.throws(() => encodeValue(new Date(Date.UTC(10000, 0, 1))), /year 10000 outside of range/);
    assert.throws(() => encodeValue({ f: () => 1 }), /cannot encode a function at f/);
    assert.throws(() => encodeRecord({ ...rec({}), operation: 'frobnicate' as never }), /operation "frobnicate"/);
    assert.throws(
      () => encodeRecord(rec({ metadata: { n: 1 as unknown as string } })),
      /metadata "n" is a number, not a string/,
    );
  });
});

describe('decodeRecord', () => {
  it('reads raw data from strings and structured data from objects', () => {
    const r = decodeRecord(
      '{"position":"c3RhbmRpbmc=","operation":"update","metadata":{"foo":"bar"},"key":"cGFkbG9jay1rZXk=","payload":{"before":"eWVsbG93","after":{"int":1,"s":"orange","n":null}}}',
    );
    assert.deepEqual(r, {
      position: b('standing'),
      operation: 'update',
      metadata: { foo: 'bar' },
      key: b('padlock-key'),
      payload: { before: b('yellow'), after: { int: 1, s: 'orange', n: null } },
    });
  });

  it('takes bytes, and fills in what is missing', () => {
    const r = decodeRecord(b('{"operation":"snapshot","extra":1}'));
    assert.deepEqual(r, {
      position: Buffer.alloc(0),
      operation: 'snapshot',
      metadata: {},
      key: null,
      payload: { before: null, after: null },
    });
    assert.deepEqual(decodeRecord('{"operation":"delete","position":null,"metadata":null,"payload":null}').payload, {
      before: null,
      after: null,
    });
  });

  it('ignores CR and LF inside base64, as Go does', () => {
    assert.deepEqual(decodeRecord('{"operation":"create","position":"Zm9v\\r\\nYmFy"}').position, b('foobar'));
  });

  const bad: [string, string, RegExp][] = [
    ['not json', 'nope', /not JSON/],
    ['an array', '[]', /expected a JSON object, got an array/],
    ['bad operation', '{"operation":"frobnicate"}', /operation: unknown operation "frobnicate"/],
    [
      'missing operation',
      '{"position":""}',
      /operation: expected one of create, update, delete, snapshot, got nothing/,
    ],
    ['numeric operation', '{"operation":1}', /operation: expected one of .* got the number 1/],
    ['position not base64', '{"operation":"create","position":"!!!"}', /position: "!!!" is not valid base64/],
    ['position unpadded', '{"operation":"create","position":"Zm9"}', /position: "Zm9" is not valid base64/],
    ['position a number', '{"operation":"create","position":5}', /position: expected a base64 string/],
    ['metadata value', '{"operation":"create","metadata":{"a":1}}', /metadata\.a: expected a string, got the number 1/],
    ['metadata array', '{"operation":"create","metadata":[]}', /metadata: expected an object of strings/],
    ['key a number', '{"operation":"create","key":12}', /key: expected a base64 string .* got the number 12/],
    [
      'after not base64',
      '{"operation":"create","payload":{"after":"a b"}}',
      /payload\.after: "a b" is not valid base64/,
    ],
    ['before an array', '{"operation":"create","payload":{"before":[1]}}', /payload\.before: .* got an array/],
    ['payload a string', '{"operation":"create","payload":"x"}', /payload: expected an object/],
  ];
  for (const [name, text, re] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => decodeRecord(text),
        (err: unknown) => err instanceof RecordDecodeError && re.test(err.message),
      );
    });
  }

  it('names the field on the error', () => {
    try {
      decodeRecord('{"operation":"create","payload":{"after":7}}');
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof RecordDecodeError);
      assert.equal(err.field, 'payload.after');
    }
  });
});

describe('round trip (property)', () => {
  // Values that survive JSON: no Date, bigint or bytes inside structured data
  // (those come back as strings or numbers), and well-formed strings.
  const str = fc.string({ unit: 'binary', maxLength: 12 });
  const { value } = fc.letrec<{ value: StructuredValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      str,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(str, tie('value'), { maxKeys: 4, noNullPrototype: true }),
    ),
  }));
  const structured = fc.dictionary(str, value, { maxKeys: 6, noNullPrototype: true });
  const raw = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
  const data: fc.Arbitrary<Data> = fc.oneof(fc.constant(null), raw, structured);
  const record: fc.Arbitrary<OpenCDCRecord> = fc.record(
    {
      position: raw,
      operation: fc.constantFrom('create', 'update', 'delete', 'snapshot'),
      metadata: fc.dictionary(str, str, { maxKeys: 6, noNullPrototype: true }),
      key: data,
      payload: fc.record({ before: data, after: data }, { noNullPrototype: true }),
    },
    { noNullPrototype: true },
  );

  it('decode(encode(r)) equals r', () => {
    fc.assert(
      fc.property(record, (r) => {
        assert.deepStrictEqual(decodeRecord(encodeRecord(r)), r);
      }),
      { numRuns: 500 },
    );
  });

  it('encode is valid JSON whose parse equals JSON.stringify of the same data', () => {
    fc.assert(
      fc.property(structured, (s) => {
        // JSON.stringify drops the sign of -0; Go (and encodeValue) keep it.
        const parsed: unknown = JSON.parse(encodeValue(s), (_k, v: unknown) => (Object.is(v, -0) ? 0 : v));
        assert.deepStrictEqual(parsed, JSON.parse(JSON.stringify(s)));
      }),
      { numRuns: 300 },
    );
  });

  it('writes object keys in UTF-8 byte order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(str, { maxLength: 8 }), (keys) => {
        // fromEntries, not o[k] = 0: an assignment to "__proto__" sets no key.
        const o: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
        const sorted = [...keys].sort((x, y) => Buffer.compare(b(x), b(y)));
        const expected = '{' + sorted.map((k) => `${quote(k)}:0`).join(',') + '}';
        assert.equal(encodeValue(o), expected);
      }),
      { numRuns: 300 },
    );
  });
});

/** encodeRecordInto's bytes, written after `pad` bytes into a sink that starts tiny (so it grows). */
function into(r: OpenCDCRecord, opts?: Parameters<typeof encodeRecord>[1], pad = 3): Buffer {
  const sink = { buf: Buffer.alloc(pad + 1, 0x2a), off: pad };
  encodeRecordInto(r, sink, opts);
  assert.equal(sink.buf.subarray(0, pad).toString('latin1'), '*'.repeat(pad), 'bytes before off are kept');
  return sink.buf.subarray(pad, sink.off);
}

const utf8Of = (r: OpenCDCRecord, opts?: Parameters<typeof encodeRecord>[1]): Buffer =>
  Buffer.from(encodeRecord(r, opts), 'utf8');

describe('encodeValueBytes', () => {
  const str = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.string({ unit: fc.constantFrom('a', '"', '\\', 'é', '\u2028', '😀'), maxLength: 6 }),
    fc.constantFrom('__proto__', 'constructor', '', 'a.b'),
  );
  const value = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    // The edges of the compiled encoder's small-integer path (digit counts, 2^31) and of its short strings.
    fc.constantFrom(1, 9, 10, 99, 100, 999_999_999, 1e9, 2 ** 31 - 1, 2 ** 31, -1, 0, -0, 1.5),
    fc.double({ noDefaultInfinity: true }),
    str,
    fc.string({ unit: 'grapheme-ascii', minLength: 62, maxLength: 68 }),
    // Long strings, plain or with something to escape or encode anywhere in them.
    fc.string({
      unit: fc.constantFrom('a', 'b', '"', '<', '&', 'é', '\u2028', '\x7f', '\x1f', '😀', '\ud800'),
      minLength: 60,
      maxLength: 140,
    }),
    fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 300 }),
    // A long plain string with one character to escape or encode in it.
    fc
      .tuple(
        fc.nat({ max: 99 }),
        fc.constantFrom('"', '\\', '<', '>', '&', '\x00', '\x1f', '\x7f', '\x80', 'é', '\u2028', '\ud800', '😀'),
      )
      .map(([at, c]) => 'x'.repeat(at) + c + 'y'.repeat(99 - at)),
    fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }),
    fc.uint8Array({ maxLength: 20 }),
    fc.dictionary(str, fc.oneof(fc.integer(), str), { maxKeys: 3 }),
  );
  const bytesOf = (v: unknown): Buffer | Error => {
    try {
      return Buffer.from(encodeValue(v), 'utf8');
    } catch (e) {
      return e as Error;
    }
  };

  it('writes the bytes of encodeValue, before and after a shape is compiled (property)', () => {
    // Objects of one key set, 100 of them: the byte encoder compiles an encoder for a shape it sees often, and
    // the first field written (the one after `{`) moves as values are undefined or not.
    fc.assert(
      fc.property(
        fc.uniqueArray(str, { maxLength: 7 }),
        fc.array(value, { minLength: 1, maxLength: 9 }),
        (keys, vals) => {
          for (let i = 0; i < 100; i++) {
            const o = Object.fromEntries(keys.map((k, j) => [k, vals[(i * 7 + j) % vals.length]]));
            const want = bytesOf(o);
            if (want instanceof Error) assert.throws(() => encodeValueBytes(o), { message: want.message });
            else assert.deepEqual(encodeValueBytes(o), want);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('hands out values that stay as written while later ones are encoded (property)', () => {
    // Small values are pieces of a shared slab and large ones are copied out: none may overlap another.
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 5000 }), { minLength: 1, maxLength: 60 }), (sizes) => {
        const outs = sizes.map((n, i) => encodeValueBytes({ i, s: 'x'.repeat(n) }));
        sizes.forEach((n, i) => assert.deepEqual(outs[i], Buffer.from(`{"i":${i},"s":"${'x'.repeat(n)}"}`)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('encodeRecordInto (the byte encoder)', () => {
  // Every kind of value, including what the fast paths do not take: escapes,
  // non-ASCII, lone surrogates, long strings and bytes, negative and unsafe
  // numbers, dates, nested arrays and objects, GoStruct.
  const str = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 14 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
    fc.string({ unit: fc.constantFrom('a', '<', '"', '\\', '\n', 'é', '\u2028', '\ud800', '😀'), maxLength: 10 }),
  );
  const num = fc.oneof(
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -0, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53, 1e21, 123.5, -1e-7, 999_999_999, 1e9, 10 ** 15),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.constant(undefined),
      fc.boolean(),
      num,
      str,
      fc.bigInt(),
      fc.date({ min: new Date(-62167219200000), max: new Date(253402300799999), noInvalidDate: true }),
      fc.uint8Array({ maxLength: 200 }),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(str, tie('value'), { maxKeys: 4 }),
      fc.array(fc.tuple(str, tie('value')), { maxLength: 3 }).map((f) => new GoStruct(f)),
    ),
  }));
  const bytes = fc.uint8Array({ maxLength: 60 }).map((u) => Buffer.from(u));
  const data = fc.oneof(fc.constant(null), bytes, fc.dictionary(str, value, { maxKeys: 6 }));
  const record = fc.record({
    position: fc.oneof(bytes, fc.uint8Array({ maxLength: 300 })),
    operation: fc.constantFrom('create' as const, 'update' as const, 'delete' as const, 'snapshot' as const),
    metadata: fc.dictionary(str, str, { maxKeys: 6 }),
    key: data,
    payload: fc.record({ before: data, after: data }),
  }) as fc.Arbitrary<OpenCDCRecord>;

  it('writes the UTF-8 bytes of encodeRecord (property)', () => {
    fc.assert(
      fc.property(record, fc.boolean(), fc.boolean(), (r, rawDataAsString, excludePosition) => {
        const opts = { rawDataAsString, excludePosition };
        assert.deepEqual(into(r, opts), utf8Of(r, opts));
      }),
      { numRuns: 1000 },
    );
  });

  it('writes metadata that repeats, changes and repeats again across records of one shape (property)', () => {
    // The byte encoder caches a shape's metadata bytes once its values repeat; a value changing per record
    // (a sequence number) or going back to an earlier one must not reuse stale bytes.
    const md = fc.record({ 'b.seq': fc.constantFrom('1', '2', 'é'), 'a.tx': fc.constantFrom('x', 'y'), c: str });
    fc.assert(
      fc.property(fc.array(md, { minLength: 1, maxLength: 12 }), (mds) => {
        for (const metadata of mds) {
          const r = rec({ metadata: { ...metadata } });
          assert.deepEqual(into(r), utf8Of(r));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('writes metadata right after a record whose metadata could not be encoded (property)', () => {
    // Unchanged runs of fields are copied from the last record's bytes: a throw halfway must not leave them stale.
    const v = fc.constantFrom('1', '2', 'é', 7 as unknown as string);
    const md = fc.record({ a: v, b: fc.constantFrom('x', 'y'), c: v, d: fc.constantFrom('p', 'q') });
    fc.assert(
      fc.property(fc.array(md, { minLength: 1, maxLength: 12 }), (mds) => {
        for (const metadata of mds) {
          const r = rec({ metadata: { ...metadata } });
          let want: Buffer;
          try {
            want = utf8Of(r);
          } catch {
            assert.throws(() => into(r), RecordEncodeError);
            continue;
          }
          assert.deepEqual(into(r), want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('writes base64 of every length like Buffer does', () => {
    for (let n = 0; n < 200; n++) {
      const u = new Uint8Array(n).map((_, i) => (i * 97 + n * 31) & 0xff);
      const r = rec({ position: u, key: u.subarray(1), payload: { before: null, after: { u } } });
      const want = Buffer.from(u).toString('base64');
      assert.ok(into(r).toString().startsWith(`{"position":"${want}"`), `length ${n}`);
      assert.deepEqual(into(r), utf8Of(r), `length ${n}`);
      assert.equal(encodeValue(u), `"${want}"`, `length ${n}`);
    }
  });

  it('writes integers digit by digit exactly as numbers print, at every boundary', () => {
    const ns = [0, -0, 1, -1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32];
    for (let p = 1; p <= 1e16; p *= 10) ns.push(p - 1, p, p + 1, -p);
    ns.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 1e21, 0.5, -2.5e-7);
    for (const n of ns) {
      const r = rec({ payload: { before: null, after: { n } } });
      assert.equal(into(r).toString(), encodeRecord(r), String(n));
    }
  });

  it('writes strings that need escaping or are not ASCII through the string encoder', () => {
    for (const v of [
      'plain',
      'a<b>&c',
      'quote " and \\',
      'tab\tnew\n',
      'é',
      'x'.repeat(100) + '\u2028',
      '\udc00',
      '😀',
    ]) {
      const r = rec({ metadata: { [v]: v }, payload: { before: null, after: { [v]: v, s: v } } });
      assert.deepEqual(into(r), utf8Of(r), v);
    }
  });

  it('follows metadata that changes while its shape stays, and shapes that change', () => {
    const records = [
      rec({ metadata: { 'opencdc.readAt': '1', b: 'x' } }),
      rec({ metadata: { 'opencdc.readAt': '1', b: 'x' } }),
      rec({ metadata: { 'opencdc.readAt': '2', b: 'x' } }),
      rec({ metadata: { 'opencdc.readAt': '2', b: 'é<' } }),
      rec({ metadata: { b: 'é<', 'opencdc.readAt': '2' } }),
      rec({ metadata: { 'opencdc.readAt': '2' } }),
      rec({ metadata: {} }),
      rec({ metadata: { 'opencdc.readAt': '2', b: 'x' } }),
    ];
    for (const r of records) {
      const text = encodeRecord(r);
      assert.equal(text, encodeRecord(r), 'stable');
      assert.deepEqual(into(r), b(text));
    }
    assert.match(encodeRecord(records[3] as OpenCDCRecord), /"metadata":\{"b":"é\\u003c","opencdc.readAt":"2"\}/);
  });

  it('does not take inherited or missing keys for the keys of the last object', () => {
    const proto: Record<string, unknown> = { b: 2 };
    const inherited = Object.create(proto) as Record<string, unknown>;
    inherited['a'] = 1;
    const bare = Object.create(null) as Record<string, unknown>;
    bare['b'] = 2;
    bare['a'] = 1;
    const objects: Record<string, unknown>[] = [
      { a: 1, b: 2 },
      inherited,
      { a: 1, b: 2 },
      { a: 1 },
      { b: 2, a: 1 },
      bare,
      { a: 1, b: 2, c: 3 },
      { a: 1, b: undefined },
      Object.defineProperty({ a: 1 }, 'b', { value: 2, enumerable: false }),
    ];
    const want = ['{"a":1,"b":2}', '{"a":1}', '{"a":1,"b":2}', '{"a":1}', '{"a":1,"b":2}', '{"a":1,"b":2}'];
    want.push('{"a":1,"b":2,"c":3}', '{"a":1}', '{"a":1}');
    objects.forEach((o, i) => {
      assert.equal(encodeValue(o), want[i], `object ${i}`);
      const r = rec({
        metadata: Object.fromEntries(Object.keys(o).map((k) => [k, 'v'])),
        payload: { before: null, after: o as StructuredData },
      });
      assert.deepEqual(into(r), utf8Of(r), `object ${i}`);
    });
  });

  it('writes dates that change between records', () => {
    const times = [0, 0, 1, 1_700_000_000_123, 1_700_000_000_120, 1_700_000_000_000, 1_700_000_000_000];
    for (const t of times) {
      const r = rec({ payload: { before: { t: new Date(t) }, after: { t: new Date(t), u: new Date(t + 1) } } });
      assert.deepEqual(into(r), utf8Of(r), String(t));
    }
  });

  it('leaves the sink where it was when a value cannot be encoded', () => {
    const sink = { buf: Buffer.alloc(4), off: 2 };
    const bad = rec({ payload: { before: null, after: { a: 'x'.repeat(50), n: Number.NaN } } });
    assert.throws(() => encodeRecordInto(bad, sink), RecordEncodeError);
    assert.equal(sink.off, 2);
    assert.throws(() => encodeRecordInto(rec({ operation: 'upsert' as never }), sink), RecordEncodeError);
    assert.throws(() => encodeRecordInto(rec({ metadata: { a: 1 as never } }), sink), RecordEncodeError);
    assert.equal(sink.off, 2);
    const good = rec({ payload: { before: null, after: { a: 1 } } });
    encodeRecordInto(good, sink);
    assert.equal(sink.buf.subarray(2, sink.off).toString(), encodeRecord(good));
  });
});
