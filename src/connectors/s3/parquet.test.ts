import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parquetMetadata, parquetReadObjects, type FileMetaData } from 'hyparquet';
import type { OpenCDCRecord, StructuredData, StructuredValue } from '../../opencdc/record.js';
import { maxCompressedLength, snappyCompress } from './parquet-snappy.js';
import { recordsToParquet } from './parquet.js';

// hyparquet's own decompressor (not part of its public entry), to check ours byte for byte.
import { snappyUncompress } from 'hyparquet/src/snappy.js';

function record(
  i: number,
  after: OpenCDCRecord['payload']['after'],
  extra: Partial<OpenCDCRecord> = {},
): OpenCDCRecord {
  return {
    position: Buffer.from(`pos-${i}`),
    operation: 'create',
    metadata: { 'opencdc.readAt': String(1_700_000_000_000 + i) },
    key: { id: i },
    payload: { before: null, after },
    ...extra,
  };
}

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

async function readBack(bytes: Uint8Array): Promise<{ rows: Record<string, unknown>[]; meta: FileMetaData }> {
  const file = arrayBuffer(bytes);
  const rows = (await parquetReadObjects({ file, utf8: false })) as Record<string, unknown>[];
  return { rows, meta: parquetMetadata(file) };
}

/** What JSON columns hold for a value: bytes as base64, big integers as numbers (or strings), dates as ISO. */
function jsonView(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? 0 : v) : null;
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : jsonView(x)));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = jsonView(x);
    return out;
  }
  return v;
}

type Kind = 'BOOLEAN' | 'INT64' | 'DOUBLE' | 'STRING' | 'BYTE_ARRAY' | 'TIMESTAMP' | 'JSON';

/** The column type the values of a field should give (an independent statement of the rule). */
function expectedKind(values: readonly unknown[]): Kind {
  const kinds = new Set<Kind>();
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'boolean') kinds.add('BOOLEAN');
    else if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) kinds.add('INT64');
    else if (typeof v === 'number') kinds.add('DOUBLE');
    else if (typeof v === 'string') kinds.add('STRING');
    else if (v instanceof Uint8Array) kinds.add('BYTE_ARRAY');
    else if (v instanceof Date) kinds.add('TIMESTAMP');
    else kinds.add('JSON');
  }
  if (kinds.size === 1) return [...kinds][0] as Kind;
  if (kinds.size === 2 && kinds.has('INT64') && kinds.has('DOUBLE')) return 'DOUBLE';
  return 'JSON';
}

const SCHEMA_OF: Record<Kind, { type: string; converted_type?: string }> = {
  BOOLEAN: { type: 'BOOLEAN' },
  INT64: { type: 'INT64' },
  DOUBLE: { type: 'DOUBLE' },
  STRING: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  BYTE_ARRAY: { type: 'BYTE_ARRAY' },
  TIMESTAMP: { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' },
  JSON: { type: 'BYTE_ARRAY', converted_type: 'JSON' },
};

/** What the reader gives back for a value of a column of that kind. */
function readView(kind: Kind, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'INT64':
      return BigInt(v as number | bigint);
    case 'DOUBLE':
      return Number(v);
    case 'BYTE_ARRAY':
      return [...(v as Uint8Array)];
    case 'TIMESTAMP':
      return (v as Date).getTime();
    case 'JSON':
      return jsonView(v);
    default:
      return v;
  }
}

function readValue(kind: Kind, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (kind === 'BYTE_ARRAY') return [...(v as Uint8Array)];
  if (kind === 'TIMESTAMP') return (v as Date).getTime();
  return v;
}

/**
 * Checks a file against the records it was made of: the schema (names, order, types, all optional), one row
 * group with the row count, and every value of every column.
 */
async function assertFileHolds(bytes: Uint8Array, records: readonly OpenCDCRecord[]): Promise<FileMetaData> {
  const { rows, meta } = await readBack(bytes);
  const fields: string[] = [];
  for (const r of records) {
    const a = r.payload.after;
    if (a === null || a instanceof Uint8Array) continue;
    for (const k of Object.keys(a)) if (!fields.includes(k)) fields.push(k);
  }
  const raw = records.some((r) => r.payload.after instanceof Uint8Array);
  const kinds: Record<string, Kind> = {
    opencdc_position: 'BYTE_ARRAY',
    opencdc_operation: 'STRING',
    opencdc_metadata: 'JSON',
    opencdc_key: 'JSON',
    opencdc_before: 'JSON',
  };
  for (const f of fields) {
    kinds[f] = expectedKind(records.map((r) => (r.payload.after as StructuredData | null)?.[f]));
  }
  if (raw) kinds['opencdc_raw'] = 'BYTE_ARRAY';
  const names = Object.keys(kinds);

  assert.equal(Number(meta.num_rows), records.length);
  assert.equal(meta.row_groups.length, 1, 'one row group per batch');
  assert.equal(Number(meta.row_groups[0]?.num_rows), records.length);
  assert.deepEqual(
    meta.schema.slice(1).map((e) => e.name),
    names,
  );
  for (const e of meta.schema.slice(1)) {
    const want = SCHEMA_OF[kinds[e.name] as Kind];
    assert.equal(e.type, want.type, e.name);
    assert.equal(e.converted_type, want.converted_type, e.name);
    assert.equal(e.repetition_type, 'OPTIONAL', e.name);
  }
  for (const c of meta.row_groups[0]?.columns ?? []) {
    assert.equal(c.meta_data?.codec, 'SNAPPY');
    assert.equal(Number(c.meta_data?.num_values), records.length);
  }

  assert.equal(rows.length, records.length);
  rows.forEach((row, i) => {
    const r = records[i] as OpenCDCRecord;
    const after = r.payload.after;
    const want: Record<string, unknown> = {
      opencdc_position: [...r.position],
      opencdc_operation: r.operation,
      opencdc_metadata: r.metadata,
      opencdc_key: jsonView(r.key),
      opencdc_before: jsonView(r.payload.before),
    };
    for (const f of fields) {
      const v = after === null || after instanceof Uint8Array ? undefined : after[f];
      want[f] = readView(kinds[f] as Kind, v);
    }
    if (raw) want['opencdc_raw'] = after instanceof Uint8Array ? [...after] : null;
    const got: Record<string, unknown> = {};
    for (const n of names) got[n] = readValue(kinds[n] as Kind, row[n]);
    assert.deepEqual(got, want, `row ${i}`);
  });
  return meta;
}

function encodingsOf(meta: FileMetaData, column: string): string[] {
  const c = meta.row_groups[0]?.columns.find((x) => x.meta_data?.path_in_schema[0] === column);
  return c?.meta_data?.encodings ?? [];
}

describe('parquet encoding', () => {
  it('writes every field type, nulls, missing fields and type mixes', async () => {
    const records = Array.from({ length: 40 }, (_, i) =>
      record(i, {
        bool: i % 3 === 0,
        int: i * 1_000_003 - 7,
        big: BigInt(i) * 2n ** 40n - 5n,
        neg: -i,
        double: i / 3,
        mixedNumber: i % 2 === 0 ? i : i + 0.25, // int and double: DOUBLE
        mixedBig: i % 2 === 0 ? BigInt(i) : i + 0.5, // bigint and double: DOUBLE
        mixedJson: i % 2 === 0 ? `s${i}` : i, // string and number: JSON
        text: `text ${i}`,
        bytes: Buffer.from([i, 255 - i, 0]),
        when: new Date(Date.UTC(2024, 0, 1) + i * 1234),
        object: { a: i, nested: { b: [1, 'x', null], c: Buffer.from('hi') } },
        list: [i, `v${i}`],
        nullable: i % 4 === 0 ? null : `n${i}`,
        allNull: null,
        ...(i % 5 === 0 ? {} : { sometimes: i }),
      }),
    );
    const { bytes, outcomes, written } = recordsToParquet(records);
    assert.equal(outcomes, undefined);
    assert.equal(written, 40);
    const meta = await assertFileHolds(bytes, records);
    const element = meta.schema.find((e) => e.name === 'when');
    assert.equal(element?.logical_type?.type, 'TIMESTAMP');
    assert.equal(element?.logical_type?.type === 'TIMESTAMP' && element.logical_type.unit, 'MILLIS');
  });

  it('writes unicode, empty and ASCII strings, keys, before and operations', async () => {
    const texts = ['', 'plain', 'Zürich', '日本語テキスト', '𝄞 music', 'emoji 🎉🎉', 'mixed ascii then ü', '\u0000nul'];
    const records = Array.from({ length: 64 }, (_, i) =>
      record(
        i,
        { text: texts[i % texts.length] as string, unique: `${texts[i % texts.length] as string}-${i}` },
        {
          operation: (['create', 'update', 'delete', 'snapshot'] as const)[i % 4],
          key: i % 2 === 0 ? Buffer.from(`key-${i}`) : { id: i, name: 'ö' },
          metadata: { 'opencdc.collection': 'ünïcode', n: String(i) },
          payload: {
            before: i % 3 === 0 ? { old: i, when: new Date(0) } : null,
            after: { text: texts[i % texts.length] as string, unique: `${texts[i % texts.length] as string}-${i}` },
          },
        },
      ),
    );
    await assertFileHolds(recordsToParquet(records).bytes, records);
  });

  it('writes raw payloads next to structured ones', async () => {
    const records = [
      record(0, Buffer.from('raw one')),
      record(1, { a: 1 }),
      record(2, Buffer.alloc(0)),
      record(3, null),
      record(4, { a: 2, b: 'x' }),
    ];
    await assertFileHolds(recordsToParquet(records).bytes, records);
    const onlyRaw = [record(0, Buffer.from([1, 2, 3]))];
    await assertFileHolds(recordsToParquet(onlyRaw).bytes, onlyRaw);
  });

  it('dictionary-encodes low-cardinality strings and writes the others PLAIN', async () => {
    const records = Array.from({ length: 3000 }, (_, i) =>
      record(i, { city: ['Zürich', 'Köln', 'Lyon'][i % 3] as string, id: `user-${i}-${'x'.repeat(i % 7)}` }),
    );
    const meta = await assertFileHolds(recordsToParquet(records).bytes, records);
    assert.ok(encodingsOf(meta, 'city').includes('RLE_DICTIONARY'), encodingsOf(meta, 'city').join());
    assert.ok(!encodingsOf(meta, 'id').includes('RLE_DICTIONARY'), encodingsOf(meta, 'id').join());
    assert.ok(encodingsOf(meta, 'opencdc_operation').includes('RLE_DICTIONARY'));
    const city = meta.row_groups[0]?.columns.find((c) => c.meta_data?.path_in_schema[0] === 'city');
    assert.ok(city?.meta_data?.dictionary_page_offset !== undefined);
    // A dictionary of a single value, with nulls.
    const single = Array.from({ length: 100 }, (_, i) => record(i, { s: i % 10 === 0 ? null : 'same' }));
    const one = await assertFileHolds(recordsToParquet(single).bytes, single);
    assert.ok(encodingsOf(one, 's').includes('RLE_DICTIONARY'));
  });

  it('dictionary-encodes strings whenever the dictionary makes the column smaller', async () => {
    // 1,500 distinct 8-letter words drawn 3,000 times: dictionary and indexes take about half the PLAIN
    // size, a bit more than half (what the rule was before: dictionary only when it halves the column).
    const words = Array.from({ length: 1500 }, (_, i) => `w${String(i).padStart(7, '0')}`);
    let seed = 0x2545f491;
    const records = Array.from({ length: 3000 }, (_, i) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return record(i, { word: words[(seed >>> 0) % 1500] as string, n: i });
    });
    const plain = 3000 * 12;
    const distinct = new Set(records.map((r) => (r.payload.after as StructuredData).word)).size;
    const dictionary = distinct * 12 + Math.ceil((3000 * Math.ceil(Math.log2(distinct))) / 8);
    assert.ok(dictionary > plain / 2 && dictionary < plain, `${dictionary} against ${plain}`);
    const meta = await assertFileHolds(recordsToParquet(records).bytes, records);
    assert.ok(encodingsOf(meta, 'word').includes('RLE_DICTIONARY'), encodingsOf(meta, 'word').join());
  });

  it('merges a field type over payloads of different key sets', async () => {
    const records = [
      record(0, { b: 0n }),
      record(1, { b: null, a: [] }),
      record(2, { a: [1], c: 1 }),
      record(3, { c: 1.5, b: 7 }),
      record(4, { b: 2, c: 2, d: 'x' }),
      record(5, { d: null }),
    ];
    const meta = await assertFileHolds(recordsToParquet(records).bytes, records);
    const typeOf = (name: string) => meta.schema.find((e) => e.name === name);
    assert.equal(typeOf('b')?.type, 'INT64');
    assert.equal(typeOf('c')?.type, 'DOUBLE');
    assert.equal(typeOf('d')?.converted_type, 'UTF8');
    assert.equal(typeOf('a')?.converted_type, 'JSON');
  });

  it('splits big columns into pages and keeps one row group', async () => {
    const big = 'ü'.repeat(300) + 'x'.repeat(400);
    const records = Array.from({ length: 2048 }, (_, i) =>
      record(i, { text: `${i}:${big}`, n: i, blob: Buffer.alloc(600, i & 0xff), maybe: i % 7 === 0 ? null : `${i}` }),
    );
    const { bytes } = recordsToParquet(records);
    const meta = await assertFileHolds(bytes, records);
    const text = meta.row_groups[0]?.columns.find((c) => c.meta_data?.path_in_schema[0] === 'text');
    // About 2 MB of values, in pages of 1 MiB: the chunk is bigger than one page could be.
    assert.ok(Number(text?.meta_data?.total_uncompressed_size) > 1.5 * (1 << 20));
    assert.equal(Number(text?.meta_data?.statistics?.null_count), 0);
    const maybe = meta.row_groups[0]?.columns.find((c) => c.meta_data?.path_in_schema[0] === 'maybe');
    assert.equal(Number(maybe?.meta_data?.statistics?.null_count), Math.ceil(2048 / 7));
  });

  it('fails a record whose payload has a reserved column name, alone', async () => {
    const records = [record(0, { a: 1 }), record(1, { opencdc_raw: 'x' }), record(2, { a: 3 })];
    const { bytes, outcomes, written } = recordsToParquet(records);
    assert.equal(written, 2);
    assert.match(String(outcomes?.[1]?.message), /reserved parquet column/);
    assert.equal(outcomes?.[0], undefined);
    assert.equal(outcomes?.[2], undefined);
    await assertFileHolds(bytes, [records[0] as OpenCDCRecord, records[2] as OpenCDCRecord]);
    const none = recordsToParquet([records[1] as OpenCDCRecord]);
    assert.equal(none.written, 0);
    await assertFileHolds(none.bytes, []);
  });

  it('reads back random records as they were', async () => {
    const scalar = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('a', 'b', 'c'),
      fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
      fc.date({ min: new Date(-1e14), max: new Date(1e14), noInvalidDate: true }),
    );
    const value: fc.Arbitrary<StructuredValue> = fc.oneof(
      { weight: 6, arbitrary: scalar },
      { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), scalar, { maxKeys: 3 }) },
    );
    // A few field names, so that fields repeat across records with several types.
    const payload = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'é', 'long name'), value, { maxKeys: 6 });
    const rec = fc.tuple(payload, fc.boolean(), fc.boolean());
    await fc.assert(
      fc.asyncProperty(fc.array(rec, { maxLength: 40 }), async (shapes) => {
        const records = shapes.map(([after, raw, before], i) =>
          record(i, raw ? Buffer.from(JSON.stringify(jsonView(after))) : after, {
            payload: {
              before: before ? after : null,
              after: raw ? Buffer.from(JSON.stringify(jsonView(after))) : after,
            },
          }),
        );
        await assertFileHolds(recordsToParquet(records).bytes, records);
      }),
      { numRuns: 150 },
    );
  });
});

describe('snappy', () => {
  function roundTrip(input: Uint8Array): number {
    const out = new Uint8Array(maxCompressedLength(input.length) + 3);
    const end = snappyCompress(input, 0, input.length, out, 3);
    const back = new Uint8Array(input.length);
    snappyUncompress(out.subarray(3, end), back);
    assert.deepEqual(Buffer.from(back), Buffer.from(input));
    return end - 3;
  }

  it('decompresses to the input, for sizes around its limits', () => {
    for (const n of [0, 1, 4, 14, 15, 16, 61, 255, 256, 65535, 65536, 65537, 200_000]) {
      roundTrip(new Uint8Array(n).map((_, i) => (i * 7919) % 251));
      roundTrip(new Uint8Array(n));
      roundTrip(Buffer.from('abcdefgh'.repeat(Math.ceil(n / 8)).slice(0, n)));
    }
    assert.ok(roundTrip(Buffer.from('repeat me '.repeat(1000))) < 500, 'repeats are compressed');
  });

  it('decompresses to the input at the edges of its formats', () => {
    const random = (n: number) => Buffer.from(randomBytes(n));
    // Sizes around 4-byte words, and around 64 KiB blocks.
    for (const n of [2, 3, 5, 7, 8, 9, 12, 13, 17, 31, 32, 33, 65534, 65538, 131071, 131072, 131073]) {
      roundTrip(random(n));
      roundTrip(Buffer.alloc(n, 0x61));
    }
    // Incompressible: at most the bound, at least the input.
    const noise = random(100_000);
    const packed = roundTrip(noise);
    assert.ok(packed >= noise.length && packed <= maxCompressedLength(noise.length));
    // Highly repetitive, and matches longer than 64 bytes (a copy is cut in pieces).
    assert.ok(roundTrip(Buffer.alloc(200_000, 7)) < 200_000 / 20);
    const chunk = random(300);
    assert.ok(roundTrip(Buffer.concat([chunk, chunk, chunk, random(10), chunk])) < 700);
    // Offsets over 2047 (3-byte copies) and repeats further apart than a block (no copy can reach them).
    const far = random(3000);
    assert.ok(roundTrip(Buffer.concat([far, far])) < 3200);
    const farther = random(70_000);
    roundTrip(Buffer.concat([farther, farther]));
    // Matches ending at every byte of a word, then a mismatch.
    const base = random(64);
    for (let k = 0; k < 12; k++) {
      const tail = Buffer.from(base.subarray(0, 4 + k));
      roundTrip(Buffer.concat([base, tail, Buffer.from([(base[4 + k] as number) ^ 0xff]), random(20), base]));
    }
  });

  it('compresses views of one buffer at the same offset but of different lengths', () => {
    const buf = Buffer.from('abcdefgh'.repeat(200));
    for (const n of [10, 1000, 1600, 20]) {
      const input = buf.subarray(0, n);
      const out = new Uint8Array(maxCompressedLength(n));
      const end = snappyCompress(input, 0, n, out, 0);
      const back = new Uint8Array(n);
      snappyUncompress(out.subarray(0, end), back);
      assert.deepEqual(Buffer.from(back), Buffer.from(input));
    }
  });

  it('decompresses to the input, for random bytes of small alphabets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 5000 }), (alphabet, bytes) => {
        roundTrip(bytes.map((b) => b % alphabet));
      }),
      { numRuns: 200 },
    );
  });
});
