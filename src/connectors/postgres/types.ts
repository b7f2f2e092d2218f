/**
 * Postgres values in text format → record values.
 *
 * The snapshot (rows read with every column as text) and CDC (pgoutput sends
 * column values in text format) both call {@link decodeText}, so a row read
 * by either path produces identical values. The text must come from a session
 * set up with {@link SESSION_SETTINGS} (ISO dates, UTC, ISO 8601 intervals,
 * shortest exact floats, UTF-8); the walsender honours these when they are
 * given as startup options of the replication connection.
 *
 * | Postgres type | Record value | Example |
 * | --- | --- | --- |
 * | `boolean` | boolean | `true` |
 * | `smallint`, `integer`, `oid`, `xid`, `cid` | number | `42` |
 * | `bigint`, `xid8` | number within ±(2^53−1), else bigint (no precision lost; JSON gets its exact digits) | `42`, `9223372036854775807` |
 * | `real`, `double precision` | number (shortest text that round-trips); `NaN`, `Infinity`, `-Infinity` as those strings | `1.1`, `"NaN"` |
 * | `numeric` | string, exactly as Postgres prints it (scale kept; `NaN`, `Infinity` too) | `"1234567890.50"` |
 * | `text`, `varchar`, `char(n)` (blank-padded), `name`, `"char"`, `uuid` | string | `"ab  "`, `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"` |
 * | `json`, `jsonb` | string: the JSON text, not parsed (exact, like Debezium's `io.debezium.data.Json`) | `"{\"a\": 1}"` |
 * | `bytea` | bytes (base64 in JSON) | `AQL/` |
 * | `date` | string `YYYY-MM-DD` as Postgres prints it | `"2024-01-02"` |
 * | `time`, `timetz` | string as Postgres prints it | `"03:04:05.123456"`, `"12:34:56.789+05:30"` |
 * | `timestamp` | string `YYYY-MM-DDThh:mm:ss[.ffffff]`, fraction digits as Postgres printed them | `"2024-01-02T03:04:05.123456"` |
 * | `timestamptz` | string, RFC 3339 in UTC, fraction digits as Postgres printed them | `"2024-01-02T03:04:05.123456Z"` |
 * | `interval` | string, ISO 8601 as Postgres prints it (a field may carry its own sign) | `"P1Y2M3DT4H5M6.789S"`, `"P-1DT3H"` |
 * | arrays of any type here (`int[]`, `text[][]`, …) | nested arrays of the element values, SQL NULL elements as `null`, lower bounds dropped | `[[1, null], [3, 4]]` |
 * | `int2vector`, `oidvector` | array of numbers | `[1, 2]` |
 * | domains | as their base type | |
 * | enums, composite types, ranges, multiranges, geometric types, `xml`, `inet`, `cidr`, `macaddr`, `money` (as `lc_monetary` prints it), `bit`, `varbit`, `tsvector`, `pg_lsn`, extension types (`citext`, `hstore`, …) and every other type | string: Postgres' text form | `"happy"`, `"(1,\"x y\")"`, `"[1,10)"`, `"192.168.0.1/24"` |
 *
 * Dates and timestamps that are `infinity`, `-infinity` or BC keep Postgres'
 * text (`"0044-03-15 12:00:00+00 BC"`); years past 9999 keep all their digits.
 * Domains, and arrays of types that are not built in, need a
 * {@link TypeRegistry} (see {@link loadTypeRegistry}); without one they decode
 * as their text. (A query's row description gives a domain's base type, but
 * pgoutput's Relation message gives the domain itself.)
 */
import type pg from 'pg';
import type { StructuredValue } from '../../opencdc/record.js';

/**
 * Session settings that make Postgres print values the way {@link decodeText}
 * reads them. Apply them to every connection whose output is decoded: the
 * snapshot's and the replication connection's (as startup options, see
 * {@link SESSION_OPTIONS}; the walsender honours them).
 */
export const SESSION_SETTINGS = {
  DateStyle: 'ISO',
  TimeZone: 'UTC',
  IntervalStyle: 'iso_8601',
  extra_float_digits: '3',
  client_encoding: 'UTF8',
} as const;

/** {@link SESSION_SETTINGS} as the `options` startup parameter (`-c DateStyle=ISO -c TimeZone=UTC …`). */
export const SESSION_OPTIONS: string = Object.entries(SESSION_SETTINGS)
  .map(([k, v]) => `-c ${k}=${v}`)
  .join(' ');

/** What {@link decodeText} needs to know about a type that is not built in. */
export interface TypeInfo {
  /** `pg_type.typname`. */
  name: string;
  /** For an array type: the element type's OID. */
  elementOid?: number;
  /** For a domain: the OID of the type it is based on. */
  baseOid?: number;
  /** For an array type: the element delimiter (`,` for every type but `box`, which uses `;`). */
  delimiter?: string;
  /** `pg_type.typtype`: b base, c composite, d domain, e enum, m multirange, p pseudo, r range. */
  kind?: string;
}

/** Looks up types that are not built in (a `Map<number, TypeInfo>` is one). */
export interface TypeRegistry {
  get(oid: number): TypeInfo | undefined;
}

// Built-in type OIDs (pg_type.dat); they are fixed across Postgres versions.
const BOOL = 16;
const BYTEA = 17;
const CHAR = 18;
const NAME = 19;
const INT8 = 20;
const INT2 = 21;
const INT2VECTOR = 22;
const INT4 = 23;
const TEXT = 25;
const OID = 26;
const XID = 28;
const CID = 29;
const OIDVECTOR = 30;
const JSON_ = 114;
const FLOAT4 = 700;
const FLOAT8 = 701;
const BPCHAR = 1042;
const VARCHAR = 1043;
const DATE = 1082;
const TIME = 1083;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const INTERVAL = 1186;
const TIMETZ = 1266;
const NUMERIC = 1700;
const UUID = 2950;
const JSONB = 3802;
const XID8 = 5069;
const BOX = 603;

/** Built-in array type OID → element type OID (every array type in pg_type.dat but the system catalogs' rows). */
const BUILTIN_ARRAYS = new Map<number, number>([
  [143, 142], // _xml
  [199, 114], // _json
  [271, 5069], // _xid8
  [629, 628], // _line
  [651, 650], // _cidr
  [719, 718], // _circle
  [775, 774], // _macaddr8
  [791, 790], // _money
  [1000, 16], // _bool
  [1001, 17], // _bytea
  [1002, 18], // _char
  [1003, 19], // _name
  [1005, 21], // _int2
  [1006, 22], // _int2vector
  [1007, 23], // _int4
  [1008, 24], // _regproc
  [1009, 25], // _text
  [1010, 27], // _tid
  [1011, 28], // _xid
  [1012, 29], // _cid
  [1013, 30], // _oidvector
  [1014, 1042], // _bpchar
  [1015, 1043], // _varchar
  [1016, 20], // _int8
  [1017, 600], // _point
  [1018, 601], // _lseg
  [1019, 602], // _path
  [1020, 603], // _box
  [1021, 700], // _float4
  [1022, 701], // _float8
  [1027, 604], // _polygon
  [1028, 26], // _oid
  [1034, 1033], // _aclitem
  [1040, 829], // _macaddr
  [1041, 869], // _inet
  [1115, 1114], // _timestamp
  [1182, 1082], // _date
  [1183, 1083], // _time
  [1185, 1184], // _timestamptz
  [1187, 1186], // _interval
  [1231, 1700], // _numeric
  [1263, 2275], // _cstring
  [1270, 1266], // _timetz
  [1561, 1560], // _bit
  [1563, 1562], // _varbit
  [2201, 1790], // _refcursor
  [2207, 2202], // _regprocedure
  [2208, 2203], // _regoper
  [2209, 2204], // _regoperator
  [2210, 2205], // _regclass
  [2211, 2206], // _regtype
  [2287, 2249], // _record
  [2949, 2970], // _txid_snapshot
  [2951, 2950], // _uuid
  [3221, 3220], // _pg_lsn
  [3643, 3614], // _tsvector
  [3644, 3642], // _gtsvector
  [3645, 3615], // _tsquery
  [3735, 3734], // _regconfig
  [3770, 3769], // _regdictionary
  [3807, 3802], // _jsonb
  [3905, 3904], // _int4range
  [3907, 3906], // _numrange
  [3909, 3908], // _tsrange
  [3911, 3910], // _tstzrange
  [3913, 3912], // _daterange
  [3927, 3926], // _int8range
  [4073, 4072], // _jsonpath
  [4090, 4089], // _regnamespace
  [4097, 4096], // _regrole
  [4192, 4191], // _regcollation
  [5039, 5038], // _pg_snapshot
  [6150, 4451], // _int4multirange
  [6151, 4532], // _nummultirange
  [6152, 4533], // _tsmultirange
  [6153, 4534], // _tstzmultirange
  [6155, 4535], // _datemultirange
  [6157, 4536], // _int8multirange
]);

const COMMA = 44;
const SEMICOLON = 59;

/**
 * Decodes one value that Postgres printed in text format (under
 * {@link SESSION_SETTINGS}) into a record value; see the table at the top of
 * this file. SQL NULL never reaches here: the caller maps it to `null`.
 *
 * @example decodeText(20, '9007199254740993') // 9007199254740993n
 * @example decodeText(1007, '{1,NULL,3}') // [1, null, 3]
 */
export function decodeText(typeOid: number, text: string, types?: TypeRegistry): StructuredValue {
  switch (typeOid) {
    case TEXT:
    case VARCHAR:
    case BPCHAR:
    case NAME:
    case CHAR:
    case UUID:
    case JSON_:
    case JSONB:
    case NUMERIC:
    case DATE:
    case TIME:
    case TIMETZ:
    case INTERVAL:
      return text;
    case INT4:
    case INT2:
    case OID:
    case XID:
    case CID:
      return Number(text);
    case INT8:
    case XID8:
      return decodeInt8(text);
    case BOOL:
      return text === 't';
    case FLOAT8:
    case FLOAT4:
      return decodeFloat(text);
    case TIMESTAMPTZ:
      return decodeTimestamptz(text);
    case TIMESTAMP:
      return decodeTimestamp(text);
    case BYTEA:
      return decodeBytea(text);
    case INT2VECTOR:
    case OIDVECTOR:
      return text === '' ? [] : text.split(' ').map(Number);
    default:
      return decodeOther(typeOid, text, types);
  }
}

function decodeOther(typeOid: number, text: string, types: TypeRegistry | undefined): StructuredValue {
  const elem = BUILTIN_ARRAYS.get(typeOid);
  if (elem !== undefined) return decodeArray(text, elem, elem === BOX ? SEMICOLON : COMMA, types);
  const info = types?.get(typeOid);
  if (info === undefined) return text;
  if (info.baseOid !== undefined && info.baseOid !== 0) return decodeText(info.baseOid, text, types);
  if (info.elementOid !== undefined && info.elementOid !== 0) {
    const delim = info.delimiter !== undefined && info.delimiter.length === 1 ? info.delimiter.charCodeAt(0) : COMMA;
    return decodeArray(text, info.elementOid, delim, types);
  }
  return text;
}

/** An Avro type, as schema JSON. */
export type AvroTypeJson = string | { readonly [k: string]: unknown } | readonly AvroTypeJson[];

/**
 * The Avro type of the values `decodeText` gives a column of this type, not null (the `logrepl.withAvroSchema`
 * schemas). Floats may be the strings `NaN`, `Infinity`, `-Infinity`, so they are a union with string; dates,
 * times, numerics and every type kept as text are strings; arrays are arrays of nullable elements.
 */
export function avroTypeOf(typeOid: number, types?: TypeRegistry): AvroTypeJson {
  switch (typeOid) {
    case BOOL:
      return 'boolean';
    case INT2:
    case INT4:
      return 'int';
    case OID:
    case XID:
    case CID:
    case INT8:
    case XID8:
      return 'long';
    case FLOAT4:
      return ['float', 'string'];
    case FLOAT8:
      return ['double', 'string'];
    case BYTEA:
      return 'bytes';
    case UUID:
      return { type: 'string', logicalType: 'uuid' };
    case INT2VECTOR:
    case OIDVECTOR:
      return { type: 'array', items: typeOid === INT2VECTOR ? 'int' : 'long' };
  }
  const info = types?.get(typeOid);
  if (info?.baseOid !== undefined && info.baseOid !== 0) return avroTypeOf(info.baseOid, types);
  const elem =
    BUILTIN_ARRAYS.get(typeOid) ??
    (info?.elementOid !== undefined && info.elementOid !== 0 ? info.elementOid : undefined);
  if (elem !== undefined) return { type: 'array', items: nullable(avroTypeOf(elem, types)) };
  return 'string';
}

/** `T` or null: a union with null first (a union in a union is flattened, as Avro forbids nesting them). */
export function nullable(t: AvroTypeJson): AvroTypeJson {
  return ['null', ...(Array.isArray(t) ? t : [t])];
}

/** Digits of ±(2^53−1) have 16 characters; anything shorter (sign included) is a safe integer. */
function decodeInt8(text: string): number | bigint {
  const n = Number(text);
  if (text.length < 16 || Number.isSafeInteger(n)) return n;
  // Beyond 2^53 a number would round; every such int8 rounds to ≥ 2^53, which is not a safe integer.
  return BigInt(text);
}

function decodeFloat(text: string): number | string {
  const c = text.charCodeAt(0);
  // 'N'aN, 'I'nfinity, '-I'nfinity: JSON has no such numbers.
  if (c === 78 || c === 73 || (c === 45 && text.charCodeAt(1) === 73)) return text;
  return Number(text);
}

/** `\x0102ff` (bytea_output=hex, the default) or the older escape form. */
function decodeBytea(text: string): Buffer {
  if (text.charCodeAt(0) === 92 && text.charCodeAt(1) === 120) return Buffer.from(text.substring(2), 'hex');
  return decodeByteaEscape(text);
}

function decodeByteaEscape(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (c !== 92) {
      out[n++] = c;
      i++;
    } else if (text.charCodeAt(i + 1) === 92) {
      out[n++] = 92;
      i += 2;
    } else {
      out[n++] = parseInt(text.substring(i + 1, i + 4), 8);
      i += 4;
    }
  }
  return out.subarray(0, n);
}

/** 'infinity', '-infinity' and BC timestamps keep their text. */
function isSpecialTimestamp(text: string): boolean {
  const c = text.charCodeAt(0);
  return c === 105 /* i */ || c === 45 /* - */ || text.charCodeAt(text.length - 1) === 67; /* BC */
}

/** '2024-01-02 03:04:05.123456' → '2024-01-02T03:04:05.123456'. */
function decodeTimestamp(text: string): string {
  if (isSpecialTimestamp(text)) return text;
  const sp = text.indexOf(' ');
  if (sp < 0) return text;
  return text.substring(0, sp) + 'T' + text.substring(sp + 1);
}

/** '2024-01-02 03:04:05.123456+00' → '2024-01-02T03:04:05.123456Z'. */
function decodeTimestamptz(text: string): string {
  if (isSpecialTimestamp(text)) return text;
  const sp = text.indexOf(' ');
  const len = text.length;
  if (
    sp > 0 &&
    text.charCodeAt(len - 3) === 43 /* + */ &&
    text.charCodeAt(len - 2) === 48 &&
    text.charCodeAt(len - 1) === 48
  ) {
    return text.substring(0, sp) + 'T' + text.substring(sp + 1, len - 3) + 'Z';
  }
  return timestamptzToUtc(text, sp);
}

/**
 * The slow path for a session whose TimeZone is not UTC: '2024-01-02 08:34:05.5+05:30'.
 * Anything else (another DateStyle) is returned as it is.
 */
function timestamptzToUtc(text: string, sp: number): string {
  // hh:mm:ss after the space, then an optional fraction, then ±hh[:mm[:ss]].
  let sign = -1;
  for (let i = sp + 9; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 43 || c === 45) {
      sign = i;
      break;
    }
  }
  if (sp < 0 || sign < 0 || text.charCodeAt(sp + 3) !== 58) return text;
  const date = text.substring(0, sp).split('-');
  const off = text.substring(sign + 1).split(':');
  const y = Number(date[0]);
  const mo = Number(date[1]);
  const d = Number(date[2]);
  const h = Number(text.substring(sp + 1, sp + 3));
  const mi = Number(text.substring(sp + 4, sp + 6));
  const s = Number(text.substring(sp + 7, sp + 9));
  const offSeconds = Number(off[0]) * 3600 + Number(off[1] ?? 0) * 60 + Number(off[2] ?? 0);
  if (![y, mo, d, h, mi, s, offSeconds].every(Number.isFinite)) return text;
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0–99 to 1900–1999
  t.setUTCHours(h, mi, s, 0);
  const utc = new Date(t.getTime() - (text.charCodeAt(sign) === 43 ? 1 : -1) * offSeconds * 1000);
  const uy = utc.getUTCFullYear();
  if (uy < 1) return text; // would become BC, which RFC 3339 cannot say
  return (
    String(uy).padStart(4, '0') +
    '-' +
    pad2(utc.getUTCMonth() + 1) +
    '-' +
    pad2(utc.getUTCDate()) +
    'T' +
    pad2(utc.getUTCHours()) +
    ':' +
    pad2(utc.getUTCMinutes()) +
    ':' +
    pad2(utc.getUTCSeconds()) +
    text.substring(sp + 9, sign) +
    'Z'
  );
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** An array literal's structure: nested arrays of element texts, `null` for SQL NULL. */
export type ArrayLiteral = (string | null | ArrayLiteral)[];

/**
 * Parses a Postgres array literal (`{1,NULL,"a \"b\""}`, `[0:1]={{1,2},{3,4}}`)
 * into nested arrays of element texts, the way `array_in` reads it: elements
 * may be quoted (with `\` escapes) or not (with `\` escapes, surrounding
 * whitespace dropped; an unquoted `NULL` in any case is SQL NULL). Bounds
 * decoration is dropped. Throws on a malformed literal.
 *
 * @param delimiter `,` for every built-in type but `box` (`;`).
 */
export function parseArrayLiteral(text: string, delimiter = ','): ArrayLiteral {
  return parseArray(text, delimiter.charCodeAt(0), (s) => s) as ArrayLiteral;
}

function decodeArray(text: string, elemOid: number, delim: number, types: TypeRegistry | undefined): StructuredValue[] {
  return parseArray(text, delim, (s) => decodeText(elemOid, s, types));
}

function isSpace(c: number): boolean {
  // isspace() in the C locale, which array_in uses.
  return c === 32 || (c >= 9 && c <= 13);
}

class ArrayParser {
  i = 0;
  constructor(
    readonly text: string,
    readonly delim: number,
    readonly elem: (s: string) => StructuredValue,
  ) {}

  fail(why: string): never {
    throw new Error(`malformed array literal at offset ${this.i} (${why}): ${this.text.slice(0, 200)}`);
  }

  skipSpace(): void {
    const t = this.text;
    while (this.i < t.length && isSpace(t.charCodeAt(this.i))) this.i++;
  }

  /** At '{'; returns after the matching '}'. */
  level(): StructuredValue[] {
    const t = this.text;
    const out: StructuredValue[] = [];
    this.i++;
    this.skipSpace();
    if (t.charCodeAt(this.i) === 125 /* } */) {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      const c = t.charCodeAt(this.i);
      if (c === 123 /* { */) out.push(this.level());
      else if (c === 34 /* " */) out.push(this.elem(this.quoted()));
      else {
        const s = this.unquoted();
        out.push(s === null ? null : this.elem(s));
      }
      this.skipSpace();
      const d = t.charCodeAt(this.i);
      this.i++;
      if (d === this.delim) continue;
      if (d === 125) return out;
      this.i--;
      this.fail(Number.isNaN(d) ? 'unexpected end' : `unexpected ${JSON.stringify(t[this.i])}`);
    }
  }

  /** At '"'; returns the element's text, after the closing quote. */
  quoted(): string {
    const t = this.text;
    const start = ++this.i;
    const end = t.indexOf('"', start);
    if (end < 0) this.fail('unterminated quoted element');
    const bs = t.indexOf('\\', start);
    if (bs < 0 || bs > end) {
      this.i = end + 1;
      return t.substring(start, end);
    }
    let out = '';
    let seg = start;
    for (let i = bs; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === 92) {
        if (i + 1 >= t.length) break;
        out += t.substring(seg, i) + t[i + 1];
        seg = ++i + 1;
      } else if (c === 34) {
        this.i = i + 1;
        return out + t.substring(seg, i);
      }
    }
    this.i = t.length;
    return this.fail('unterminated quoted element');
  }

  /** An unquoted element: its text, or `null` for NULL. Stops at the delimiter or '}'. */
  unquoted(): string | null {
    const t = this.text;
    const start = this.i;
    let i = start;
    let escaped = false;
    // The end of the last character that is not unescaped whitespace: trailing blanks are dropped.
    let keep = start;
    for (; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === this.delim || c === 125) break;
      if (c === 92) {
        escaped = true;
        i++;
        keep = i + 1;
      } else if (c === 34 || c === 123) {
        this.i = i;
        this.fail(`unexpected ${JSON.stringify(t[i])} in an unquoted element`);
      } else if (!isSpace(c)) keep = i + 1;
    }
    if (i >= t.length) {
      this.i = i;
      this.fail('unexpected end');
    }
    this.i = i;
    if (keep === start) this.fail('empty element');
    if (!escaped) {
      const s = t.substring(start, keep);
      if (keep - start === 4 && s.toUpperCase() === 'NULL') return null;
      return s;
    }
    let out = '';
    let seg = start;
    for (let j = start; j < keep; j++) {
      if (t.charCodeAt(j) === 92) {
        out += t.substring(seg, j) + (t[j + 1] ?? '');
        seg = ++j + 1;
      }
    }
    return out + t.substring(seg, keep);
  }
}

function parseArray(text: string, delim: number, elem: (s: string) => StructuredValue): StructuredValue[] {
  const p = new ArrayParser(text, delim, elem);
  p.skipSpace();
  if (text.charCodeAt(p.i) === 91 /* [ */) {
    // Bounds decoration: [lo:hi][lo:hi]=
    const eq = text.indexOf('=', p.i);
    if (eq < 0) p.fail('bounds without "="');
    p.i = eq + 1;
    p.skipSpace();
  }
  if (text.charCodeAt(p.i) !== 123) p.fail('expected "{"');
  const out = p.level();
  p.skipSpace();
  if (p.i !== text.length) p.fail('text after the array');
  return out;
}

/**
 * Loads what {@link decodeText} needs about the given types from pg_type: for
 * each OID, and for the element and base types they lead to (an array of a
 * domain over an enum loads all three). Built-in OIDs may be passed; they are
 * loaded too but never consulted.
 *
 * @example
 * const types = await loadTypeRegistry(client, relation.columns.map((c) => c.typeOid));
 * decodeText(col.typeOid, text, types);
 */
export async function loadTypeRegistry(client: pg.Client | pg.PoolClient, oids: number[]): Promise<TypeRegistry> {
  const registry = new Map<number, TypeInfo>();
  if (oids.length === 0) return registry;
  // Text in and out, so the result does not depend on the client's type parsers.
  const res = await client.query<Record<string, string | null>>(
    `WITH RECURSIVE t(oid) AS (
       SELECT oid FROM pg_catalog.pg_type WHERE oid = ANY($1::text::oid[])
       UNION
       SELECT x.oid FROM t
         JOIN pg_catalog.pg_type p ON p.oid = t.oid
         CROSS JOIN LATERAL (VALUES
           (CASE WHEN p.typlen = -1 AND p.typelem <> 0 THEN p.typelem END),
           (NULLIF(p.typbasetype, 0))) AS x(oid)
       WHERE x.oid IS NOT NULL
     )
     SELECT p.oid::text AS oid, p.typname::text AS name, p.typtype::text AS kind,
            CASE WHEN p.typlen = -1 AND p.typelem <> 0 THEN p.typelem::text END AS element,
            NULLIF(p.typbasetype, 0)::text AS base, p.typdelim::text AS delim
       FROM pg_catalog.pg_type p JOIN t ON t.oid = p.oid`,
    [`{${[...new Set(oids)].join(',')}}`],
  );
  for (const row of res.rows) {
    const info: TypeInfo = { name: String(row.name), kind: String(row.kind) };
    if (row.element !== null && row.element !== undefined) {
      info.elementOid = Number(row.element);
      info.delimiter = String(row.delim);
    }
    if (row.base !== null && row.base !== undefined) info.baseOid = Number(row.base);
    registry.set(Number(row.oid), info);
  }
  return registry;
}
