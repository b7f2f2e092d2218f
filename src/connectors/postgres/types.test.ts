import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import type { StructuredValue } from '../../opencdc/record.js';
import { postgresUrl } from '../../../test/servers/postgres.js';
import { PgOutputDecoder, TupleKind, type RelationMessage } from './pgoutput.js';
import {
  SESSION_OPTIONS,
  SESSION_SETTINGS,
  decodeText,
  loadTypeRegistry,
  parseArrayLiteral,
  type TypeRegistry,
} from './types.js';

/** Every value as the text Postgres printed, as the snapshot reads it. */
const textTypes = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

let url = '';
let db: pg.Client;
const clients: pg.Client[] = [];

/** A client that sees every value as text, with the session settings (and `options` after them). */
async function textClient(options = ''): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, options: `${SESSION_OPTIONS} ${options}`, types: textTypes });
  await c.connect();
  clients.push(c);
  return c;
}

let seq = 0;
const unique = (what: string) => `pgt_${what}_${process.pid}_${++seq}`;
// Types that are not built in.
const mood = unique('mood');
const posint = unique('posint');
const tags = unique('tags');
const comp = unique('comp');

before(async () => {
  url = await postgresUrl();
  db = await textClient();
  await db.query(`CREATE TYPE ${mood} AS ENUM ('happy', 'sad', 'with "quote"')`);
  await db.query(`CREATE DOMAIN ${posint} AS int4 CHECK (VALUE > 0)`);
  await db.query(`CREATE DOMAIN ${tags} AS text[]`);
  await db.query(`CREATE TYPE ${comp} AS (a int, b text)`);
});
after(async () => {
  await db.query(`DROP TYPE ${mood}, ${comp}`);
  await db.query(`DROP DOMAIN ${posint}, ${tags}`);
  await Promise.all(clients.map((c) => c.end()));
});

/** One at a time: a client runs one query at a time. */
async function oids(types: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of types) out.push(await oid(t));
  return out;
}
const oid = async (type: string) =>
  Number((await db.query<{ o: string }>(`SELECT $1::regtype::oid AS o`, [type])).rows[0]?.o);

/** Selects one expression and decodes it as the connector would. */
async function decoded(
  expr: string,
  opts: { client?: pg.Client; types?: TypeRegistry; params?: unknown[] } = {},
): Promise<StructuredValue> {
  const r = await (opts.client ?? db).query<{ v: string | null }>(`SELECT ${expr} AS v`, opts.params);
  const field = r.fields[0];
  const v = r.rows[0]?.v;
  assert.ok(field !== undefined && v !== undefined);
  return v === null ? null : decodeText(field.dataTypeID, v, opts.types);
}

/** [SQL expression, the record value it must decode to]. */
const cases: [string, StructuredValue][] = [
  ['true', true],
  ['false', false],
  ['(-32768)::int2', -32768],
  ['2147483647::int4', 2147483647],
  ['4294967295::oid', 4294967295],
  ['42::int8', 42],
  ['(-9007199254740991)::int8', -9007199254740991],
  ['9007199254740991::int8', 9007199254740991],
  ['9007199254740992::int8', 9007199254740992n],
  ['9007199254740993::int8', 9007199254740993n],
  ['9223372036854775807::int8', 9223372036854775807n],
  ['(-9223372036854775808)::int8', -9223372036854775808n],
  ['1.1::float4', 1.1],
  ['3.4028235e38::float4', 3.4028235e38],
  ['0.1::float8', 0.1],
  ['1e300::float8', 1e300],
  ['5e-324::float8', 5e-324],
  [`'-0'::float8`, -0],
  [`'NaN'::float8`, 'NaN'],
  [`'Infinity'::float8`, 'Infinity'],
  [`'-Infinity'::float4`, '-Infinity'],
  [
    `'1234567890123456789012345678901234567890.0123456789'::numeric`,
    '1234567890123456789012345678901234567890.0123456789',
  ],
  [`'1.50'::numeric(10,3)`, '1.500'],
  [`'NaN'::numeric`, 'NaN'],
  [`'-Infinity'::numeric`, '-Infinity'],
  [`'héllo "w" \\ 😀'::text`, 'héllo "w" \\ 😀'],
  [`'ab'::char(4)`, 'ab  '],
  [`'ab'::varchar(10)`, 'ab'],
  [`'x'::"char"`, 'x'],
  [`'pg'::name`, 'pg'],
  [`'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid`, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
  [`'{"b": 2,  "a": [1, 2.50]}'::json`, '{"b": 2,  "a": [1, 2.50]}'],
  [`'{"b": 2,  "a": [1, 2.50]}'::jsonb`, '{"a": [1, 2.50], "b": 2}'],
  [`'<a>x</a>'::xml`, '<a>x</a>'],
  [`'192.168.0.1/24'::inet`, '192.168.0.1/24'],
  [`'10.0.0.0/8'::cidr`, '10.0.0.0/8'],
  [`'08:00:2b:01:02:03'::macaddr`, '08:00:2b:01:02:03'],
  [`'1234.56'::money`, '$1,234.56'],
  [`B'101'::bit(3)`, '101'],
  [`B'10'::varbit`, '10'],
  [`'a fat cat'::tsvector`, `'a' 'cat' 'fat'`],
  [`'16/B374D848'::pg_lsn`, '16/B374D848'],
  [`'(1,2)'::point`, '(1,2)'],
  [`int4range(1, 10)`, '[1,10)'],
  [`'\\x00ff10'::bytea`, Buffer.from([0, 255, 16])],
  [`''::bytea`, Buffer.alloc(0)],
  [`'2024-01-02'::date`, '2024-01-02'],
  [`'0044-03-15 BC'::date`, '0044-03-15 BC'],
  [`'infinity'::date`, 'infinity'],
  [`'03:04:05.123456'::time`, '03:04:05.123456'],
  [`'12:34:56.789+05:30'::timetz`, '12:34:56.789+05:30'],
  [`'2024-01-02 03:04:05.123456+00'::timestamptz`, '2024-01-02T03:04:05.123456Z'],
  [`'2024-01-02 03:04:05.000001+00'::timestamptz`, '2024-01-02T03:04:05.000001Z'],
  [`'2024-01-02 03:04:05+00'::timestamptz`, '2024-01-02T03:04:05Z'],
  [`'2024-01-02 08:34:05.5+05:30'::timestamptz`, '2024-01-02T03:04:05.5Z'],
  [`'0099-06-01 00:00+00'::timestamptz`, '0099-06-01T00:00:00Z'],
  [`'0044-03-15 12:00+00 BC'::timestamptz`, '0044-03-15 12:00:00+00 BC'],
  [`'infinity'::timestamptz`, 'infinity'],
  [`'-infinity'::timestamptz`, '-infinity'],
  [`'2024-01-02 03:04:05.123456'::timestamp`, '2024-01-02T03:04:05.123456'],
  [`'10000-01-01 00:00'::timestamp`, '10000-01-01T00:00:00'],
  [`'-infinity'::timestamp`, '-infinity'],
  [`'1 year 2 months 3 days 4 hours 5 minutes 6.789 seconds'::interval`, 'P1Y2M3DT4H5M6.789S'],
  [`'-1 day +3 hours'::interval`, 'P-1DT3H'],
  [`'1 mon -1 sec'::interval`, 'P1MT-1S'],
  [`'0'::interval`, 'PT0S'],
  [`'1.5 months'::interval`, 'P1M15D'],
  [`'1 2 3'::int2vector`, [1, 2, 3]],
  [`ARRAY[1, NULL, 3]`, [1, null, 3]],
  [
    `ARRAY[['a', 'b'], ['c,d', 'e"f']]`,
    [
      ['a', 'b'],
      ['c,d', 'e"f'],
    ],
  ],
  [
    `ARRAY['\\x', 'NULL', 'null', NULL, '', ' sp ', 'back\\slash', '{brace}', 'qu"ote', 'semi;colon', E'tab\\there', '😀']`,
    ['\\x', 'NULL', 'null', null, '', ' sp ', 'back\\slash', '{brace}', 'qu"ote', 'semi;colon', 'tab\there', '😀'],
  ],
  [`'[0:1]={1,2}'::int[]`, [1, 2]],
  [
    `'[0:1][-1:0]={{1,2},{3,4}}'::int[]`,
    [
      [1, 2],
      [3, 4],
    ],
  ],
  [`ARRAY[ARRAY[ARRAY[1]], ARRAY[ARRAY[NULL::int]]]`, [[[1]], [[null]]]],
  [`'{}'::int[]`, []],
  [`ARRAY[9007199254740993, 1]::int8[]`, [9007199254740993n, 1]],
  [`ARRAY[true, false, NULL]`, [true, false, null]],
  [`ARRAY['NaN', '1.5', '-Infinity']::float8[]`, ['NaN', 1.5, '-Infinity']],
  [`ARRAY['1.10', 'NaN']::numeric[]`, ['1.10', 'NaN']],
  [`ARRAY['\\x00ff'::bytea, '\\x'::bytea, NULL]`, [Buffer.from([0, 255]), Buffer.alloc(0), null]],
  [`ARRAY['2024-01-02 03:04:05.5+00'::timestamptz, 'infinity']`, ['2024-01-02T03:04:05.5Z', 'infinity']],
  [`ARRAY['2024-01-02 03:04:05'::timestamp]`, ['2024-01-02T03:04:05']],
  [`ARRAY['2024-01-02'::date]`, ['2024-01-02']],
  [`ARRAY['1 day'::interval]`, ['P1D']],
  [`ARRAY['{"a": "x,y}"}'::jsonb]`, ['{"a": "x,y}"}']],
  [`ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]`, ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']],
  [`ARRAY[box '((1,2),(3,4))', box '((5,6),(7,8))']`, ['(3,4),(1,2)', '(7,8),(5,6)']],
  [`ARRAY[int4range(1, 10), 'empty']`, ['[1,10)', 'empty']],
  [`ARRAY['1 2'::int2vector]`, [[1, 2]]],
  [`ARRAY['x'::"char", ' ']`, ['x', ' ']],
];

describe('decodeText on values Postgres printed under SESSION_SETTINGS', () => {
  it('applies the settings it documents', async () => {
    const r = await db.query<Record<string, string>>(
      `SELECT current_setting('DateStyle') AS "DateStyle", current_setting('TimeZone') AS "TimeZone",
              current_setting('IntervalStyle') AS "IntervalStyle",
              current_setting('extra_float_digits') AS extra_float_digits,
              current_setting('client_encoding') AS client_encoding`,
    );
    assert.deepEqual(r.rows[0], { ...SESSION_SETTINGS, DateStyle: 'ISO, MDY' });
  });

  for (const [expr, want] of cases) {
    it(expr, async () => {
      assert.deepEqual(await decoded(expr), want);
    });
  }

  it('gives UTC timestamps whatever the session time zone', async () => {
    for (const [tz, texts] of [
      ['Asia/Kolkata', ['2024-01-02 03:04:05.123456+00', '2024-06-30 23:59:59.999999+00']],
      ['America/St_Johns', ['1900-01-01 00:00+00', '2024-03-10 06:30:00.5+00']], // -03:30:52 before 1935
      ['Europe/Amsterdam', ['0001-01-01 00:00+00', '1800-01-01 00:00:00.01+00']], // +00:19:32 in LMT
    ] as const) {
      const c = await textClient(`-c TimeZone=${tz}`);
      for (const t of texts) {
        const want = await decoded(`'${t}'::timestamptz`);
        assert.deepEqual(await decoded(`'${t}'::timestamptz`, { client: c }), want, `${t} in ${tz}`);
      }
    }
  });

  it('decodes any text[] back to what went in', async () => {
    const special = fc.constantFrom('a', 'N', 'U', 'L', ' ', '\t', '\n', '"', '\\', ',', ';', '{', '}', 'é', '😀');
    const element = fc.option(
      fc.oneof(fc.string({ unit: special, maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 8 })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(element, { maxLength: 8 }), async (arr) => {
        assert.deepEqual(await decoded('$1::text[]', { params: [arr] }), arr);
      }),
      { numRuns: 200 },
    );
  });

  it('decodes any bigint exactly, as a number when it is safe', async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), async (n) => {
        const v = await decoded('$1::int8', { params: [n.toString()] });
        if (n >= -BigInt(Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) {
          assert.equal(v, Number(n));
        } else assert.equal(v, n);
      }),
      { numRuns: 200 },
    );
  });

  it('decodes any double exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double(), fc.float(), async (d, f) => {
        const v = await decoded('$1::float8', { params: [String(Object.is(d, -0) ? '-0' : d)] });
        assert.ok(Number.isNaN(d) || !Number.isFinite(d) ? v === String(d) : Object.is(v, d), `${d} → ${v as string}`);
        // float4 prints its shortest exact text, which is the number a user typed.
        const w = await decoded('$1::float4', { params: [String(Object.is(f, -0) ? '-0' : f)] });
        if (Number.isFinite(f)) assert.equal(Math.fround(w as number), f);
      }),
      { numRuns: 200 },
    );
  });

  it('decodes any timestamptz to the instant, in UTC, under any session time zone', async () => {
    const c = await textClient('-c TimeZone=America/St_Johns');
    await fc.assert(
      fc.asyncProperty(
        fc.date({ min: new Date('0001-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }),
        async (d) => {
          const v = await decoded('$1::timestamptz', { client: c, params: [d.toISOString()] });
          assert.equal(typeof v, 'string');
          assert.match(v as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
          assert.equal(new Date(v as string).getTime(), d.getTime(), `${d.toISOString()} → ${v as string}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('types that are not built in, through the registry', () => {
  it('decodes enums, domains, composites and arrays of them', async () => {
    const names = [mood, `${mood}[]`, posint, `${posint}[]`, tags, comp, `${comp}[]`];
    const types = await loadTypeRegistry(db, await oids(names));
    const both = async (expr: string) => [await decoded(expr), await decoded(expr, { types })];

    assert.deepEqual(await both(`'happy'::${mood}`), ['happy', 'happy']);
    assert.deepEqual(await both(`ARRAY['happy', NULL, 'with "quote"']::${mood}[]`), [
      '{happy,NULL,"with \\"quote\\""}',
      ['happy', null, 'with "quote"'],
    ]);
    assert.deepEqual(await both(`ARRAY[1, 2]::${posint}[]`), ['{1,2}', [1, 2]]);
    // A query's row description gives a domain's base type; pgoutput's Relation message gives the domain.
    const r = await db.query(`SELECT 42::${posint} AS v`);
    assert.equal(r.fields[0]?.dataTypeID, 23);
    const domain = await oid(posint);
    assert.deepEqual([decodeText(domain, '42'), decodeText(domain, '42', types)], ['42', 42]);
    const tagsOid = await oid(tags);
    assert.deepEqual(
      [decodeText(tagsOid, '{"a b",c}'), decodeText(tagsOid, '{"a b",c}', types)],
      ['{"a b",c}', ['a b', 'c']],
    );
    assert.deepEqual(await both(`ROW(1, 'x y')::${comp}`), ['(1,"x y")', '(1,"x y")']);
    assert.deepEqual(await both(`ARRAY[ROW(1, 'x y')::${comp}]`), ['{"(1,\\"x y\\")"}', ['(1,"x y")']]);
  });

  it('loads what an array type leads to', async () => {
    const types = await loadTypeRegistry(db, [await oid(`${posint}[]`)]);
    assert.deepEqual(types.get(await oid(posint)), { name: posint, kind: 'd', baseOid: 23 });
    assert.deepEqual(types.get(await oid(`${posint}[]`)), {
      name: `_${posint}`,
      kind: 'b',
      elementOid: await oid(posint),
      delimiter: ',',
    });
    assert.equal((await loadTypeRegistry(db, [])).get(23), undefined);
  });
});

describe('the snapshot and CDC give the same values', () => {
  it('decodes a row read with SELECT and the same row from pgoutput identically', async () => {
    const table = unique('t');
    const pub = unique('p');
    const slot = unique('s');
    await db.query(`CREATE TABLE ${table} (
      id int8 PRIMARY KEY, b bool, i2 int2, i4 int4, f4 float4, f8 float8, n numeric, t text, c char(3), j json,
      jb jsonb, u uuid, bt bytea, d date, tm time, tz timestamptz, ts timestamp, iv interval, ia int4[], ta text[],
      ba bytea[], tza timestamptz[], r int4range, x xml, nul text, m ${mood}, ma ${mood}[], p ${posint},
      pa ${posint}[], tg ${tags})`);
    await db.query(`CREATE PUBLICATION ${pub} FOR TABLE ${table}`);
    await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    try {
      await db.query(`INSERT INTO ${table} VALUES (
        9223372036854775807, true, -2, 7, 1.1, 'NaN', 12345678901234567890.5, 'hé "x"', 'ab', '{"a":  1}',
        '{"a":  1}', gen_random_uuid(), '\\xdeadbeef', '2024-02-29', '23:59:59.999999', '2024-01-02 03:04:05.123456+00',
        '2024-01-02 03:04:05', '1 year -2 days 3 hours', '[0:1]={1,NULL}', ARRAY['a,b', NULL, '"'],
        ARRAY['\\x01'::bytea], ARRAY['2024-01-02 03:04:05+00'::timestamptz], '[1,5)', '<x/>', NULL, 'sad',
        '{happy,sad}', 7, '{8,9}', '{x,"y z"}')`);
      const snap = await db.query<Record<string, string | null>>(`SELECT * FROM ${table}`);
      const snapshotTypes = await loadTypeRegistry(
        db,
        snap.fields.map((f) => f.dataTypeID),
      );
      const row = snap.rows[0];
      assert.ok(row !== undefined);
      const fromSnapshot = Object.fromEntries(
        snap.fields.map((f) => {
          const v = row[f.name];
          return [f.name, v === null || v === undefined ? null : decodeText(f.dataTypeID, v, snapshotTypes)];
        }),
      );

      const cdc = await db.query<{ data: string }>(
        `SELECT data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)`,
        [slot, pub],
      );
      const decoder = new PgOutputDecoder();
      const ms = cdc.rows.map((r) => decoder.decode(decodeText(17, r.data) as Buffer)); // bytea as text
      const rel = ms.find((m): m is RelationMessage => m.type === 'relation');
      const ins = ms.find((m) => m.type === 'insert');
      assert.ok(rel !== undefined && ins?.type === 'insert');
      const cdcTypes = await loadTypeRegistry(
        db,
        rel.columns.map((c) => c.typeOid),
      );
      const fromCdc = Object.fromEntries(
        rel.columns.map((c, i) => {
          const kind = ins.newTuple.kinds[i];
          const v = ins.newTuple.values[i];
          return [c.name, kind === TupleKind.Text ? decodeText(c.typeOid, v as string, cdcTypes) : null];
        }),
      );
      assert.deepEqual(fromCdc, fromSnapshot);
      assert.deepEqual(
        {
          id: fromCdc.id,
          tz: fromCdc.tz,
          ia: fromCdc.ia,
          bt: fromCdc.bt,
          f8: fromCdc.f8,
          ma: fromCdc.ma,
          pa: fromCdc.pa,
          p: fromCdc.p,
          tg: fromCdc.tg,
        },
        {
          id: 9223372036854775807n,
          tz: '2024-01-02T03:04:05.123456Z',
          ia: [1, null],
          bt: Buffer.from('deadbeef', 'hex'),
          f8: 'NaN',
          ma: ['happy', 'sad'],
          pa: [8, 9],
          p: 7,
          tg: ['x', 'y z'],
        },
      );
    } finally {
      await db.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
      await db.query(`DROP PUBLICATION ${pub}`);
      await db.query(`DROP TABLE ${table}`);
    }
  });
});

describe('parseArrayLiteral', () => {
  const ok: [string, unknown][] = [
    ['{}', []],
    ['  { }  ', []],
    ['{a}', ['a']],
    ['{NULL,null,NuLl,"NULL",\\NULL}', [null, null, null, 'NULL', 'NULL']],
    ['{ a b , c }', ['a b', 'c']],
    ['{a\\ ,b}', ['a ', 'b']],
    ['{"a\\"b\\\\c",d\\,e}', ['a"b\\c', 'd,e']],
    ['{""}', ['']],
    [
      '{{1,2},{3,4}}',
      [
        ['1', '2'],
        ['3', '4'],
      ],
    ],
    ['{{{x}}}', [[['x']]]],
    ['[1:1]={x}', ['x']],
    [
      '[0:1][2:3]={{a,b},{c,d}}',
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    ],
    ['{"a" , "b"}', ['a', 'b']],
    ['{é,😀}', ['é', '😀']],
  ];
  for (const [text, want] of ok) {
    it(JSON.stringify(text), () => {
      assert.deepEqual(parseArrayLiteral(text), want);
    });
  }

  it('uses the delimiter it is given', () => {
    assert.deepEqual(parseArrayLiteral('{(3,4),(1,2);(7,8),(5,6)}', ';'), ['(3,4),(1,2)', '(7,8),(5,6)']);
  });

  it('throws on malformed literals', () => {
    for (const bad of [
      '',
      'a',
      '{',
      '{a',
      '{a,',
      '{a,}',
      '{,a}',
      '{"a}',
      '{a"b}',
      '{a}x',
      '[1:2]{a}',
      '{a\\}',
      '{{a}b}',
      '{"{",}}',
    ]) {
      assert.throws(() => parseArrayLiteral(bad), /malformed array literal/, JSON.stringify(bad));
    }
  });
});
