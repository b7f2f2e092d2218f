/**
 * The `opencdc/json` codec: a record as Conduit writes it, byte for byte.
 *
 * Conduit serializes records with goccy/go-json, which follows Go's
 * encoding/json. The rules this module reproduces:
 *
 * - Fields in struct order: `position`, `operation`, `metadata`, `key`,
 *   `payload{before, after}`.
 * - Map keys (metadata and every structured object, at any depth) sorted by
 *   their UTF-8 bytes.
 * - Strings: `"` and `\` escaped, `\n` `\r` `\t` short, every other control
 *   character as `\u00XX` (so `\b` and `\f` too), `<` `>` `&` as `\u003c`
 *   `\u003e` `\u0026`, U+2028/U+2029 as `\u2028`/`\u2029`, and a lone
 *   surrogate (Go: an invalid UTF-8 byte) as `\ufffd`.
 * - Bytes (position, raw data, `Uint8Array` inside structured data) as padded
 *   standard base64; raw data optionally as its UTF-8 text.
 * - `Date` as Go's `time.Time` (RFC 3339, fraction trimmed, UTC `Z`),
 *   `bigint` as its digits, `null` data as `null`, numbers as Go prints a
 *   float64 (the same digits as JavaScript, but `-0` stays `-0`).
 *
 * The encoder is a hand-written string builder: it runs for every record a
 * destination writes. See bench/opencdc-json.bench.ts.
 */
import { isUtf8 } from 'node:buffer';
import { OPERATIONS, type Data, type OpenCDCRecord, type Operation, type StructuredData } from './record.js';

export interface EncodeOptions {
  /** Write raw data as its UTF-8 text instead of base64 (conduit-commons `RawDataAsString`). */
  rawDataAsString?: boolean;
  /** Write `"position":null` (the SDK's `position.excluded` converter option). */
  excludePosition?: boolean;
}

/** A record (or a value inside one) that does not have the OpenCDC JSON shape. */
export class RecordDecodeError extends Error {
  /** The offending field as a JSON path, e.g. `payload.after` or `operation`. */
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`invalid OpenCDC record: ${field === '' ? '' : `${field}: `}${message}`, options);
    this.name = 'RecordDecodeError';
    this.field = field;
  }
}

/** A value that Go's JSON encoder refuses (NaN, Infinity, a year outside 0–9999, a function …). */
export class RecordEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordEncodeError';
  }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/**
 * Encodes a record as Conduit's `opencdc/json`, without a trailing newline.
 *
 * @example
 * encodeRecord(makeRecord({ position: rawData('1'), payload: { before: null, after: { b: 1, a: '<' } } }))
 * // {"position":"MQ==","operation":"create","metadata":{},"key":null,"payload":{"before":null,"after":{"a":"\u003c","b":1}}}
 */
export function encodeRecord(record: OpenCDCRecord, opts?: EncodeOptions): string {
  const asString = opts?.rawDataAsString === true;
  return (
    '{"position":' +
    (opts?.excludePosition === true ? 'null' : quoteBytes(record.position)) +
    ',"operation":' +
    operationJSON(record.operation) +
    ',"metadata":' +
    encodeMetadata(record.metadata) +
    ',"key":' +
    encodeData(record.key, asString) +
    ',"payload":{"before":' +
    encodeData(record.payload.before, asString) +
    ',"after":' +
    encodeData(record.payload.after, asString) +
    '}}'
  );
}

/**
 * Encodes one value the way Go encodes the equivalent `any`: objects as maps
 * with sorted keys, bytes as base64, dates as `time.Time`. Instances of
 * {@link GoStruct} keep their field order (a Go struct).
 */
export function encodeValue(v: unknown): string {
  return value(v, '');
}

/**
 * An object whose fields print in the given order, like a Go struct (plain
 * objects print like Go maps, with sorted keys). Fields whose value is
 * `undefined` are left out (Go's `omitempty`).
 */
export class GoStruct {
  constructor(readonly fields: ReadonlyArray<readonly [string, unknown]>) {}
}

const OPERATION_JSON: Readonly<Record<string, string>> = {
  create: '"create"',
  update: '"update"',
  delete: '"delete"',
  snapshot: '"snapshot"',
};

function operationJSON(op: Operation): string {
  const s = OPERATION_JSON[op];
  if (s === undefined || !Object.hasOwn(OPERATION_JSON, op)) {
    throw new RecordEncodeError(`operation ${JSON.stringify(op)} is not one of ${OPERATIONS.join(', ')}`);
  }
  return s;
}

/** Data as `null`, base64 (or text) for raw data, or a sorted object. */
export function encodeData(d: Data | undefined, rawDataAsString = false): string {
  if (d === null || d === undefined) return 'null';
  if (d instanceof Uint8Array) return rawDataAsString ? quoteBytesAsText(d) : quoteBytes(d);
  return object(d, '');
}

function encodeMetadata(md: Readonly<Record<string, string>>): string {
  let shape = metadataHint;
  if (!hasKeys(md, shape.keys)) metadataHint = shape = shapeOf(md);
  const keys = shape.sorted;
  const n = keys.length;
  if (n === 0) return '{}';
  // Metadata values repeat across a batch (one read time, one connector, one
  // plugin), usually as the very same strings: when every value equals the
  // last one encoded with this shape, so does the text.
  const last = shape.mdValues;
  if (last !== undefined) {
    let i = 0;
    while (i < n && md[keys[i] as string] === last[i]) i++;
    if (i === n) return shape.mdText;
  }
  const names = shape.names;
  const values = new Array<string>(n);
  let out = '{';
  for (let i = 0; i < n; i++) {
    const v = md[keys[i] as string];
    if (typeof v !== 'string') {
      throw new RecordEncodeError(`metadata ${JSON.stringify(keys[i])} is a ${typeName(v)}, not a string`);
    }
    values[i] = v;
    out += (i === 0 ? '' : ',') + (names[i] as string) + quote(v);
  }
  out += '}';
  shape.mdValues = values;
  shape.mdText = out;
  return out;
}

function value(v: unknown, path: string): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      return numberJSON(v, path);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return quoteBytes(v);
      if (Array.isArray(v)) return array(v, path);
      if (v instanceof Date) return '"' + goTime(v, path) + '"';
      if (v instanceof GoStruct) return struct(v, path);
      return object(v as Record<string, unknown>, path);
    case 'undefined':
      return 'null';
    default:
      throw new RecordEncodeError(`cannot encode a ${typeof v}${at(path)}`);
  }
}

function array(a: readonly unknown[], path: string): string {
  const n = a.length;
  if (n === 0) return '[]';
  let out = '[' + value(a[0], path);
  for (let i = 1; i < n; i++) out += ',' + value(a[i], path);
  return out + ']';
}

function object(o: Readonly<Record<string, unknown>>, path: string): string {
  let shape = objectHint;
  if (!hasKeys(o, shape.keys)) objectHint = shape = shapeOf(o);
  const keys = shape.sorted;
  const firsts = shape.firsts;
  const nexts = shape.nexts;
  const n = keys.length;
  let out = '';
  let first = true;
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string;
    const v = o[k];
    // A JavaScript object with an undefined property means "no such field".
    if (v === undefined) continue;
    out += ((first ? firsts[i] : nexts[i]) as string) + value(v, path === '' ? k : path + '.' + k);
    first = false;
  }
  return first ? '{}' : out + '}';
}

function struct(s: GoStruct, path: string): string {
  let out = '{';
  let first = true;
  for (const [k, v] of s.fields) {
    if (v === undefined) continue;
    out += (first ? '' : ',') + quote(k) + ':' + value(v, path === '' ? k : path + '.' + k);
    first = false;
  }
  return out + '}';
}

function numberJSON(v: number, path: string): string {
  if (!Number.isFinite(v)) throw new RecordEncodeError(`json: unsupported value: ${v}${at(path)}`);
  // Go's float64 formatting uses the shortest repr, with exponents below 1e-6
  // and from 1e21 on: exactly JavaScript's, except that Go keeps the sign of -0.
  if (v === 0 && 1 / v < 0) return '-0';
  // Large integers (ids, timestamps) print faster in two halves than as one double.
  if (Number.isSafeInteger(v) && (v >= 1e9 || v <= -1e9)) {
    const hi = Math.trunc(v / 1e9);
    const lo = `${Math.abs(v - hi * 1e9)}`;
    return `${hi}${ZEROS[9 - lo.length] ?? ''}${lo}`;
  }
  return String(v);
}

const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000', '0000000', '00000000'];

function at(path: string): string {
  return path === '' ? '' : ` at ${path}`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

// Sources often stamp a whole batch with one time: remember the last one formatted.
let lastTime = Number.NaN;
let lastTimeText = '';

/** Go's RFC3339Nano for a UTC time: `2024-01-02T03:04:05.12Z`. */
function goTime(d: Date, path: string): string {
  const t = d.getTime();
  if (t === lastTime) return lastTimeText;
  if (Number.isNaN(t)) throw new RecordEncodeError(`cannot encode an invalid Date${at(path)}`);
  const text = goTimeText(d, path);
  lastTime = t;
  lastTimeText = text;
  return text;
}

function goTimeText(d: Date, path: string): string {
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new RecordEncodeError(`Time.MarshalJSON: year ${year} outside of range [0,9999]${at(path)}`);
  }
  const iso = d.toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ for years 0–9999
  const ms = d.getUTCMilliseconds();
  if (ms === 0) return iso.slice(0, 19) + 'Z';
  let frac = iso.slice(19, 23); // ".sss"
  while (frac.endsWith('0')) frac = frac.slice(0, -1);
  return iso.slice(0, 19) + frac + 'Z';
}

// ---------------------------------------------------------------------------
// Key order
// ---------------------------------------------------------------------------

/**
 * Compares two strings by their UTF-8 bytes (Go's order for map keys). UTF-16
 * order differs only where a surrogate meets a unit from U+E000–U+FFFF.
 */
export function compareGo(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca = ca >= 0xe000 ? ca - 0x800 : ca <= 0xdfff ? ca + 0x2000 : ca;
      cb = cb >= 0xe000 ? cb - 0x800 : cb <= 0xdfff ? cb + 0x2000 : cb;
    }
    return ca - cb;
  }
  return a.length - b.length;
}

/** The keys of an object in Go's order, and each one quoted with its colon. */
interface Shape {
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  readonly names: readonly string[];
  /** The names with what goes before them: `{"k":` as the first field, `,"k":` after another. */
  readonly firsts: readonly string[];
  readonly nexts: readonly string[];
  /** Metadata only: the values last encoded with this shape (in `sorted` order) and their text. */
  mdValues: string[] | undefined;
  mdText: string;
  /**
   * Metadata only, for the byte encoder: the values it wrote last (undefined: no valid bytes), their bytes
   * (`mdView`, the start of `mdBytes`, the shape's own buffer; a view because `set` copies it at a third
   * of `copy`'s cost) and where each field starts in them (`mdOffsets[n]`: the closing brace).
   */
  mdByteValues: string[] | undefined;
  mdBytes: Buffer | undefined;
  mdView: Buffer | undefined;
  mdOffsets: number[] | undefined;
  /** `firsts` and `nexts` as UTF-8, made on first use by the byte encoder. */
  firstBytes: Buffer[] | undefined;
  nextBytes: Buffer[] | undefined;
  /** Objects of this shape the byte encoder wrote; at COMPILE_AFTER it compiles `encode`. */
  uses: number;
  /** The byte encoder for objects of this shape, compiled for it (see compileShape). */
  encode: ((o: Readonly<Record<string, unknown>>, path: string) => void) | undefined;
}

// Records from one source share their key sets, usually in one insertion
// order, so the sorted and quoted keys of recent shapes are remembered.
const SHAPE_CACHE_SIZE = 64;
const shapeCache: Shape[] = [];
let shapeNext = 0;
const EMPTY_SHAPE: Shape = {
  keys: [],
  sorted: [],
  names: [],
  firsts: [],
  nexts: [],
  mdValues: undefined,
  mdText: '{}',
  mdByteValues: undefined,
  mdBytes: undefined,
  mdView: undefined,
  mdOffsets: undefined,
  firstBytes: [],
  nextBytes: [],
  uses: 0,
  encode: undefined,
};

// The shape last found for metadata, and for an object: the next one is most
// likely the same, and checking that needs no key array.
let metadataHint: Shape = EMPTY_SHAPE;
let objectHint: Shape = EMPTY_SHAPE;

/** Whether `o`'s own enumerable keys are `keys`, in order (a for-in walk: no allocation). */
export function hasKeys(o: object, keys: readonly string[]): boolean {
  // for-in also walks inherited enumerable keys: only trust it on plain objects.
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return false;
  const n = keys.length;
  let i = 0;
  for (const k in o) {
    if (i === n || k !== keys[i]) return false;
    i++;
  }
  return i === n;
}

function shapeOf(o: object): Shape {
  const keys = Object.keys(o);
  const n = keys.length;
  if (n === 0) return EMPTY_SHAPE;
  const size = shapeCache.length;
  outer: for (let c = 0; c < size; c++) {
    const e = shapeCache[c] as Shape;
    const ek = e.keys;
    if (ek.length !== n) continue;
    for (let i = 0; i < n; i++) if (ek[i] !== keys[i]) continue outer;
    return e;
  }
  let sorted = keys;
  for (let i = 1; i < n; i++) {
    if (compareGo(keys[i - 1] as string, keys[i] as string) > 0) {
      sorted = keys.slice().sort(compareGo);
      break;
    }
  }
  const names = sorted.map((k) => quote(k) + ':');
  const shape: Shape = {
    keys,
    sorted,
    names,
    firsts: names.map((k) => '{' + k),
    nexts: names.map((k) => ',' + k),
    mdValues: undefined,
    mdText: '',
    mdByteValues: undefined,
    mdBytes: undefined,
    mdView: undefined,
    mdOffsets: undefined,
    firstBytes: undefined,
    nextBytes: undefined,
    uses: 0,
    encode: undefined,
  };
  // Objects with many keys are rarely repeated shapes; keep the cache cheap to scan.
  if (n <= 256) {
    if (size < SHAPE_CACHE_SIZE) shapeCache.push(shape);
    else shapeCache[shapeNext] = shape;
    shapeNext = (shapeNext + 1) % SHAPE_CACHE_SIZE;
  }
  return shape;
}

// ---------------------------------------------------------------------------
// Strings and bytes
// ---------------------------------------------------------------------------

const HEX = '0123456789abcdef';

/** A JSON string literal with Go's escaping (HTML-safe, U+2028/9 escaped, lone surrogates as U+FFFD). */
export function quote(s: string): string {
  const n = s.length;
  let out = '';
  let last = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Printable ASCII other than " \ < > & needs nothing.
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) continue;
    let esc: string;
    if (c < 0x80) {
      switch (c) {
        case 0x22:
          esc = '\\"';
          break;
        case 0x5c:
          esc = '\\\\';
          break;
        case 0x0a:
          esc = '\\n';
          break;
        case 0x0d:
          esc = '\\r';
          break;
        case 0x09:
          esc = '\\t';
          break;
        case 0x7f:
          continue;
        default: // other control characters, < > &
          esc = '\\u00' + HEX[c >> 4] + HEX[c & 0xf];
      }
    } else if (c === 0x2028) {
      esc = '\\u2028';
    } else if (c === 0x2029) {
      esc = '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
      }
      esc = '\\ufffd';
    } else {
      continue;
    }
    out += s.slice(last, i) + esc;
    last = i + 1;
  }
  if (last === 0) return '"' + s + '"';
  return '"' + out + s.slice(last) + '"';
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Every pair of base64 digits, indexed by 12 bits. */
const B64_PAIRS: readonly string[] = Array.from({ length: 4096 }, (_, i) => (B64[i >> 6] as string) + B64[i & 63]);
/** Below this many bytes, base64 in JavaScript beats a call into Buffer#toString. */
const SMALL_BYTES = 48;

function quoteBytes(b: Uint8Array): string {
  const n = b.length;
  if (n > SMALL_BYTES) return '"' + toBuffer(b).toString('base64') + '"';
  // Positions and keys are short: padded standard base64 without leaving JavaScript.
  let out = '"';
  const whole = n - (n % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const x = ((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number);
    out += (B64_PAIRS[x >> 12] as string) + B64_PAIRS[x & 0xfff];
  }
  if (n - whole === 1) {
    const x = b[i] as number;
    out += (B64_PAIRS[x << 4] as string) + '=="';
  } else if (n - whole === 2) {
    const x = ((b[i] as number) << 8) | (b[i + 1] as number);
    out += (B64_PAIRS[x >> 4] as string) + B64[(x << 2) & 63] + '="';
  } else {
    out += '"';
  }
  return out;
}

/** Raw data as text: valid UTF-8 as is; each invalid byte as `\ufffd`, like Go. */
function quoteBytesAsText(b: Uint8Array): string {
  const buf = toBuffer(b);
  if (isUtf8(buf)) return quote(buf.toString('utf8'));
  let out = '"';
  let start = 0;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const size = utf8SequenceLength(buf, i);
    if (size > 0) {
      i += size;
      continue;
    }
    if (i > start) out += quote(buf.toString('utf8', start, i)).slice(1, -1);
    out += '\\ufffd';
    i++;
    start = i;
  }
  if (n > start) out += quote(buf.toString('utf8', start, n)).slice(1, -1);
  return out + '"';
}

/** The length of the valid UTF-8 sequence at `i`, or 0 (Go's utf8.DecodeRune rules). */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const n = b.length;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => {
    if (j >= n) return false;
    const x = b[j] as number;
    return x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Encoding straight into bytes
// ---------------------------------------------------------------------------

/** Where {@link encodeRecordInto} writes: `buf` from `off` on; it may replace `buf` with a bigger one. */
export interface ByteSink {
  buf: Buffer;
  off: number;
}

// The output of the record being encoded. Kept in module variables (not passed
// around) so the hot functions below read them cheaply.
let ob: Buffer = Buffer.alloc(0);
let oo = 0;

/**
 * Writes exactly the UTF-8 bytes of {@link encodeRecord}'s text into a sink.
 * The string encoder builds a rope that has to be flattened before it can be
 * written; this writes bytes as it goes, and copies the parts that repeat
 * (field names, a batch's metadata) from cached bytes. On a throw the sink's
 * `off` is unchanged (its `buf` may have grown).
 */
export function encodeRecordInto(record: OpenCDCRecord, sink: ByteSink, opts?: EncodeOptions): void {
  const asString = opts?.rawDataAsString === true;
  ob = sink.buf;
  oo = sink.off;
  try {
    putConst(B_POSITION);
    if (opts?.excludePosition === true) putConst(B_NULL);
    else bytesInto(record.position);
    const op = OPERATION_BYTES[record.operation];
    if (op === undefined || !Object.hasOwn(OPERATION_BYTES, record.operation)) operationJSON(record.operation);
    putConst(op as Buffer);
    metadataInto(record.metadata);
    putConst(B_KEY);
    dataInto(record.key, asString);
    putConst(B_BEFORE);
    dataInto(record.payload.before, asString);
    putConst(B_AFTER);
    dataInto(record.payload.after, asString);
    putConst(B_END);
    sink.off = oo;
  } finally {
    sink.buf = ob;
    ob = EMPTY_BUF;
  }
}

const EMPTY_BUF = Buffer.alloc(0);

/**
 * Where {@link encodeValueBytes} writes: each result is a piece of it, as Node's own pool hands out small
 * Buffers (so a value's bytes are written once and not copied; a piece keeps at most its 8 KiB slab alive).
 */
const SLAB_BYTES = 8 * 1024;
let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabOff = 0;
/** The length of the last value encoded: values of over a quarter slab are written apart and copied out. */
let lastValueLength = 0;
/** Where values too large for the slab are written before they are copied out (it grows with the largest). */
let valueScratch: Buffer = Buffer.allocUnsafe(16 * 1024);

/**
 * Exactly the UTF-8 bytes of {@link encodeValue}'s text, written as bytes as it
 * goes (no string to build and convert).
 */
export function encodeValueBytes(v: unknown): Buffer {
  const large = lastValueLength > SLAB_BYTES / 4;
  if (!large && slab.length - slabOff < 2 * lastValueLength + 64) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabOff = 0;
  }
  const start = large ? 0 : slabOff;
  ob = large ? valueScratch : slab;
  oo = start;
  try {
    valueInto(v, '');
    lastValueLength = oo - start;
    if (ob === slab) {
      slabOff = (oo + 7) & ~7;
      return slab.subarray(start, oo);
    }
    // Written apart, or larger than what was left of the slab: reserve() moved the bytes to a bigger buffer
    // (the slab's own bytes are untouched, and the next value starts where this one did).
    if (large) valueScratch = ob;
    const out = Buffer.allocUnsafe(oo - start);
    ob.copy(out, 0, start, oo);
    return out;
  } finally {
    ob = EMPTY_BUF;
  }
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const B_POSITION = latin1('{"position":');
const B_NULL = latin1('null');
const B_TRUE = latin1('true');
const B_FALSE = latin1('false');
const B_EMPTY_OBJECT = latin1('{}');
const B_KEY = latin1(',"key":');
const B_BEFORE = latin1(',"payload":{"before":');
const B_AFTER = latin1(',"after":');
const B_END = latin1('}}');
const OPERATION_BYTES: Readonly<Record<string, Buffer>> = Object.fromEntries(
  Object.entries(OPERATION_JSON).map(([op, json]) => [op, latin1(`,"operation":${json},"metadata":`)]),
);

function reserve(n: number): void {
  if (oo + n <= ob.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(ob.length * 2, oo + n, 1024));
  ob.copy(bigger, 0, 0, oo);
  ob = bigger;
}

/** Copies bytes in: a loop for short ones (cheaper than a call to `set`). */
function putConst(b: Uint8Array): void {
  const n = b.length;
  reserve(n);
  const out = ob;
  const o = oo;
  if (n <= 12) for (let i = 0; i < n; i++) out[o + i] = b[i] as number;
  else out.set(b, o);
  oo = o + n;
}

/** A string known to be ASCII (digits, base64, a formatted time). */
function putAscii(s: string): void {
  const n = s.length;
  reserve(n);
  const out = ob;
  const o = oo;
  if (n <= 64) for (let i = 0; i < n; i++) out[o + i] = s.charCodeAt(i);
  else out.write(s, o, n, 'latin1');
  oo = o + n;
}

/** Any text, as UTF-8. */
function putText(s: string): void {
  reserve(s.length * 3);
  oo += ob.write(s, oo, 'utf8');
}

/** 1 for the ASCII characters a JSON string holds as they are: printable, other than " \\ < > &. */
const PLAIN_ASCII = new Uint8Array(128);
for (let c = 0x20; c < 0x7f; c++)
  PLAIN_ASCII[c] = c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 ? 0 : 1;

/** Any character {@link quote} does not write as itself: not printable ASCII, or one of `"\\<>&`. */
const NOT_PLAIN = /["\\<>&\u0000-\u001f\u007f-\uffff]/;
/** From this length a string is checked by NOT_PLAIN and copied natively: 240 against 450 ns at 120. */
const NATIVE_STRING_MIN = 64;

/** A string as {@link quote} writes it: plain ASCII byte by byte, anything else through `quote`. */
function stringInto(s: string): void {
  const n = s.length;
  if (n >= NATIVE_STRING_MIN) {
    if (NOT_PLAIN.test(s)) {
      putText(quote(s));
      return;
    }
    reserve(n + 2);
    const start = oo;
    ob[start] = 0x22;
    ob.write(s, start + 1, n, 'latin1');
    ob[start + n + 1] = 0x22;
    oo = start + n + 2;
    return;
  }
  reserve(n + 2);
  const out = ob;
  const start = oo;
  let o = start + 1;
  out[start] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && PLAIN_ASCII[c] === 1) {
      out[o++] = c;
      continue;
    }
    // Something to escape, or not ASCII: write what the string encoder makes of it.
    putText(quote(s));
    return;
  }
  out[o++] = 0x22;
  oo = o;
}

const B64_CODES = Buffer.from(B64, 'latin1');
const BASE64_LOOP_MAX = 192;

/** Bytes as a quoted, padded standard base64 string. */
function bytesInto(b: Uint8Array): void {
  const n = b.length;
  // Buffer#toString('base64') costs ~270 ns whatever the length, plus the string it makes (garbage); the loop
  // below makes none and wins up to about 200 bytes (150 bytes: 240 against 300 ns).
  if (n > BASE64_LOOP_MAX) {
    // Quotes written apart: concatenating them would copy the whole base64 text once more.
    const text = toBuffer(b).toString('base64');
    reserve(text.length + 2);
    ob[oo] = 0x22;
    oo += 1 + ob.write(text, oo + 1, text.length, 'latin1');
    ob[oo++] = 0x22;
    return;
  }
  reserve(((n + 2) / 3) * 4 + 2);
  const out = ob;
  let o = oo;
  out[o++] = 0x22;
  const whole = n - (n % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const x = ((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number);
    out[o] = B64_CODES[x >> 18] as number;
    out[o + 1] = B64_CODES[(x >> 12) & 63] as number;
    out[o + 2] = B64_CODES[(x >> 6) & 63] as number;
    out[o + 3] = B64_CODES[x & 63] as number;
    o += 4;
  }
  if (n - whole === 1) {
    const x = b[i] as number;
    out[o] = B64_CODES[x >> 2] as number;
    out[o + 1] = B64_CODES[(x << 4) & 63] as number;
    out[o + 2] = 0x3d;
    out[o + 3] = 0x3d;
    o += 4;
  } else if (n - whole === 2) {
    const x = ((b[i] as number) << 8) | (b[i + 1] as number);
    out[o] = B64_CODES[x >> 10] as number;
    out[o + 1] = B64_CODES[(x >> 4) & 63] as number;
    out[o + 2] = B64_CODES[(x << 2) & 63] as number;
    out[o + 3] = 0x3d;
    o += 4;
  }
  out[o++] = 0x22;
  oo = o;
}

function metadataInto(md: Readonly<Record<string, string>>): void {
  let shape = metadataHint;
  if (!hasKeys(md, shape.keys)) metadataHint = shape = shapeOf(md);
  const keys = shape.sorted;
  const n = keys.length;
  if (n === 0) {
    putConst(B_EMPTY_OBJECT);
    return;
  }
  // As in encodeMetadata: a batch's metadata usually repeats, and then its bytes are copied whole. Values
  // that change per record (a transaction sequence number, a size) are written field by field, with no
  // text built, and the runs of fields between them are copied from the last record's bytes.
  const last = shape.mdByteValues;
  const cache = shape.mdBytes;
  const whole = shape.mdView;
  if (last !== undefined && whole !== undefined) {
    let i = 0;
    while (i < n && md[keys[i] as string] === last[i]) i++;
    if (i === n) {
      reserve(whole.length);
      ob.set(whole, oo);
      oo += whole.length;
      return;
    }
  }
  let firsts = shape.firstBytes;
  let nexts = shape.nextBytes;
  if (firsts === undefined || nexts === undefined) {
    firsts = shape.firsts.map((k) => Buffer.from(k, 'utf8'));
    nexts = shape.nexts.map((k) => Buffer.from(k, 'utf8'));
    shape.firstBytes = firsts;
    shape.nextBytes = nexts;
  }
  // Updated in place below: invalid until the whole metadata is written (a throw leaves no cache).
  shape.mdByteValues = undefined;
  const values = last ?? new Array<string>(n);
  const offsets = shape.mdOffsets ?? new Array<number>(n + 1).fill(0);
  const start = oo;
  for (let i = 0; i < n;) {
    const v = md[keys[i] as string];
    if (last !== undefined && cache !== undefined && v === last[i]) {
      // A run of unchanged fields: their bytes as the last record wrote them.
      let j = i + 1;
      while (j < n && md[keys[j] as string] === last[j]) j++;
      const from = offsets[i] as number;
      const base = oo - start - from;
      for (let k = i; k < j; k++) offsets[k] = (offsets[k] as number) + base;
      putRange(cache, from, offsets[j] as number);
      i = j;
      continue;
    }
    if (typeof v !== 'string') {
      throw new RecordEncodeError(`metadata ${JSON.stringify(keys[i])} is a ${typeName(v)}, not a string`);
    }
    offsets[i] = oo - start;
    putConst((i === 0 ? firsts[i] : nexts[i]) as Buffer);
    stringInto(v);
    values[i] = v;
    i++;
  }
  offsets[n] = oo - start;
  reserve(1);
  ob[oo++] = 0x7d;
  // Kept for the next record, in the shape's own buffer (allocated again only to grow).
  const length = oo - start;
  let bytes = cache;
  if (bytes === undefined || bytes.length < length) bytes = Buffer.allocUnsafeSlow(Math.max(256, 2 * length));
  ob.copy(bytes, 0, start, oo);
  shape.mdBytes = bytes;
  shape.mdView = bytes.subarray(0, length);
  shape.mdOffsets = offsets;
  shape.mdByteValues = values;
}

/** Copies `src[from, to)` in. */
function putRange(src: Buffer, from: number, to: number): void {
  const n = to - from;
  reserve(n);
  src.copy(ob, oo, from, to);
  oo += n;
}

function dataInto(d: Data | undefined, rawDataAsString: boolean): void {
  if (d === null || d === undefined) putConst(B_NULL);
  else if (d instanceof Uint8Array) {
    if (rawDataAsString) putText(quoteBytesAsText(d));
    else bytesInto(d);
  } else objectInto(d, '');
}

function valueInto(v: unknown, path: string): void {
  switch (typeof v) {
    case 'string':
      stringInto(v);
      return;
    case 'number':
      numberInto(v, path);
      return;
    case 'boolean':
      putConst(v ? B_TRUE : B_FALSE);
      return;
    case 'object':
      if (v === null) putConst(B_NULL);
      else if (v instanceof Uint8Array) bytesInto(v);
      else if (Array.isArray(v)) arrayInto(v, path);
      else if (v instanceof Date) timeInto(v, path);
      else if (v instanceof GoStruct) putText(struct(v, path));
      else objectInto(v as Record<string, unknown>, path);
      return;
    case 'undefined':
      putConst(B_NULL);
      return;
    default:
      putText(value(v, path));
  }
}

/** Safe integers digit by digit (no string); everything else as {@link numberJSON} prints it. */
function numberInto(v: number, path: string): void {
  if (!Number.isSafeInteger(v) || v === 0) {
    putAscii(numberJSON(v, path));
    return;
  }
  reserve(17); // a sign and 16 digits
  const out = ob;
  let o = oo;
  if (v < 0) {
    out[o++] = 0x2d;
    v = -v;
  }
  let digits = 1;
  for (let p = 10; p <= v; p *= 10) digits++;
  o += digits;
  oo = o;
  // Above 2^31 the remainder needs floating-point division; below it, integers.
  while (v >= 0x80000000) {
    const q = Math.floor(v / 10);
    out[--o] = 0x30 + (v - q * 10);
    v = q;
  }
  let w = v | 0;
  do {
    const q = (w / 10) | 0;
    out[--o] = 0x30 + (w - q * 10);
    w = q;
  } while (w > 0);
}

// The quoted time last written, as bytes (a batch often shares one time).
let lastTimeMs = Number.NaN;
let lastTimeBytes = EMPTY_BUF;

function timeInto(d: Date, path: string): void {
  const t = d.getTime();
  if (t !== lastTimeMs) {
    lastTimeBytes = Buffer.from('"' + goTime(d, path) + '"', 'latin1');
    lastTimeMs = t;
  }
  putConst(lastTimeBytes);
}

function arrayInto(a: readonly unknown[], path: string): void {
  const n = a.length;
  reserve(1);
  ob[oo++] = 0x5b;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      reserve(1);
      ob[oo++] = 0x2c;
    }
    valueInto(a[i], path);
  }
  reserve(1);
  ob[oo++] = 0x5d;
}

function objectInto(o: Readonly<Record<string, unknown>>, path: string): void {
  let shape = objectHint;
  if (!hasKeys(o, shape.keys)) objectHint = shape = shapeOf(o);
  const encode = shape.encode ?? (++shape.uses === COMPILE_AFTER ? compileShape(shape) : undefined);
  if (encode !== undefined) {
    encode(o, path);
    return;
  }
  const keys = shape.sorted;
  let firsts = shape.firstBytes;
  let nexts = shape.nextBytes;
  if (firsts === undefined || nexts === undefined) {
    firsts = shape.firsts.map((k) => Buffer.from(k, 'utf8'));
    nexts = shape.nexts.map((k) => Buffer.from(k, 'utf8'));
    shape.firstBytes = firsts;
    shape.nextBytes = nexts;
  }
  const n = keys.length;
  let first = true;
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string;
    const v = o[k];
    if (v === undefined) continue;
    putConst((first ? firsts[i] : nexts[i]) as Buffer);
    valueInto(v, path === '' ? k : path + '.' + k);
    first = false;
  }
  if (first) putConst(B_EMPTY_OBJECT);
  else {
    reserve(1);
    ob[oo++] = 0x7d;
  }
}

/** Objects of one shape the byte encoder writes before it compiles an encoder for that shape. */
const COMPILE_AFTER = 64;

/**
 * An encoder for objects of `shape`, the same bytes as objectInto's loop: each field read by its name (an
 * inline cache per field, where the loop's `o[k]` with a new key each time is a megamorphic lookup), the
 * key's bytes stored one by one (constants in the code), and short plain-ASCII strings and small integers
 * written in place; anything else goes through the loop's own functions. The buffer and offset live in
 * locals and are handed back (`setOff`) before any call that writes, and read again after it. Compiled once
 * the shape is seen COMPILE_AFTER times (records of a source share a few shapes); a shape with no keys, or
 * too many, keeps the loop.
 */
function compileShape(shape: Shape): Shape['encode'] {
  const keys = shape.sorted;
  const n = keys.length;
  if (n === 0 || n > 1024) return undefined;
  const nexts = shape.nexts.map((k) => Buffer.from(k, 'utf8'));
  const lines: string[] = ['let out = getBuf(), p = getOff(), v, r, first = true;'];
  for (let i = 0; i < n; i++) {
    // A JSON string is a JavaScript string literal: the key cannot break out of it.
    const name = JSON.stringify(keys[i]);
    const key = nexts[i] as Buffer; // `,"name":`; the first field written opens the object instead
    const len = key.length;
    const stores = ['out[p] = first ? 123 : 44;'];
    if (len <= 40) for (let b = 1; b < len; b++) stores.push(`out[p + ${b}] = ${key[b] as number};`);
    else stores.push(`K[${i}].copy(out, p + 1, 1);`);
    const at = `path === '' ? ${name} : path + '.' + ${name}`;
    lines.push(
      `v = o[${name}];`,
      'if (v !== undefined) {',
      // Room for the key and a short string (or a small integer) after it.
      `  if (p + ${len + SHORT_STRING + 2} > out.length) { setOff(p); reserve(${len + SHORT_STRING + 2}); out = getBuf(); }`,
      `  ${stores.join(' ')}`,
      `  p += ${len};`,
      '  first = false;',
      `  if (typeof v === 'string' && v.length <= ${SHORT_STRING}) {`,
      '    r = plainAt(out, p, v);',
      '    if (r < 0) { setOff(p); stringInto(v); out = getBuf(); p = getOff(); } else p = r;',
      "  } else if (typeof v === 'number' && v >= 1 && v <= 2147483647 && (v | 0) === v) {",
      '    p = smallIntAt(out, p, v);',
      '  } else {',
      '    setOff(p);',
      "    if (typeof v === 'string') stringInto(v);",
      "    else if (typeof v === 'boolean') putConst(v ? TRUE : FALSE);",
      `    else valueInto(v, ${at});`,
      '    out = getBuf(); p = getOff();',
      '  }',
      '}',
    );
  }
  lines.push('setOff(p);', 'if (first) putConst(EMPTY);', 'else closeObject();');
  // Generated from the shape's keys (each as a JSON string literal, see above) and their bytes as numbers;
  // never from values.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(
    'K',
    'getBuf',
    'getOff',
    'setOff',
    'reserve',
    'plainAt',
    'smallIntAt',
    'putConst',
    'stringInto',
    'valueInto',
    'closeObject',
    'TRUE',
    'FALSE',
    'EMPTY',
    `return function encodeShape(o, path) {\n${lines.join('\n')}\n};`,
  ) as (...deps: unknown[]) => NonNullable<Shape['encode']>;
  shape.encode = factory(
    nexts,
    getBuf,
    getOff,
    setOff,
    reserve,
    plainAt,
    smallIntAt,
    putConst,
    stringInto,
    valueInto,
    closeObject,
    B_TRUE,
    B_FALSE,
    B_EMPTY_OBJECT,
  );
  return shape.encode;
}

/** Strings up to this length are tried as plain ASCII in place by a compiled shape encoder. */
const SHORT_STRING = 64;

const getBuf = (): Buffer => ob;
const getOff = (): number => oo;
const setOff = (p: number): void => {
  oo = p;
};

/**
 * `s` quoted at `out[p]` if it is plain ASCII (the capacity is the caller's: length + 2), and the offset after
 * it; -1 if it needs escaping or is not ASCII (the bytes written are then garbage past the caller's offset).
 */
function plainAt(out: Buffer, p: number, s: string): number {
  const n = s.length;
  out[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || PLAIN_ASCII[c] === 0) return -1;
    out[p++] = c;
  }
  out[p] = 0x22;
  return p + 1;
}

/** An integer in [1, 2^31) at `out[p]` (capacity 10 is the caller's), and the offset after it. */
function smallIntAt(out: Buffer, p: number, v: number): number {
  let digits = 1;
  for (let t = 10; t <= v; t *= 10) digits++;
  let o = p + digits;
  do {
    const q = (v / 10) | 0;
    out[--o] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  return p + digits;
}

function closeObject(): void {
  reserve(1);
  ob[oo++] = 0x7d;
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes padded standard base64 the way Go's encoding/json does for `[]byte` (CR and LF ignored). */
export function decodeBase64(s: string, field: string): Buffer {
  const t = s.includes('\n') || s.includes('\r') ? s.replace(/[\r\n]/g, '') : s;
  if (!BASE64.test(t)) throw new RecordDecodeError(field, `${preview(s)} is not valid base64`);
  return Buffer.from(t, 'base64');
}

function preview(s: string): string {
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s);
}

/**
 * Decodes `opencdc/json` text into a record. A JSON string in `key`,
 * `payload.before` or `payload.after` is raw data (base64); an object is
 * structured data; `null` or a missing field is no data. Unknown fields are
 * ignored, as Go ignores them.
 *
 * @throws RecordDecodeError naming the field that is wrong.
 */
export function decodeRecord(text: string | Uint8Array): OpenCDCRecord {
  const s = typeof text === 'string' ? text : toBuffer(text).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (err) {
    throw new RecordDecodeError('', `not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(parsed)) throw new RecordDecodeError('', `expected a JSON object, got ${jsonType(parsed)}`);

  const payload = parsed.payload;
  let before: Data = null;
  let after: Data = null;
  if (payload !== null && payload !== undefined) {
    if (!isPlainObject(payload)) throw new RecordDecodeError('payload', `expected an object, got ${jsonType(payload)}`);
    before = decodeData(payload.before, 'payload.before');
    after = decodeData(payload.after, 'payload.after');
  }
  return {
    position: decodePosition(parsed.position),
    operation: decodeOperation(parsed.operation),
    metadata: decodeMetadata(parsed.metadata),
    key: decodeData(parsed.key, 'key'),
    payload: { before, after },
  };
}

function decodePosition(v: unknown): Uint8Array {
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (typeof v !== 'string') throw new RecordDecodeError('position', `expected a base64 string, got ${jsonType(v)}`);
  return decodeBase64(v, 'position');
}

function decodeOperation(v: unknown): Operation {
  if (typeof v !== 'string') {
    throw new RecordDecodeError(
      'operation',
      `expected one of ${OPERATIONS.join(', ')}, got ${v === undefined ? 'nothing' : jsonType(v)}`,
    );
  }
  if (!(OPERATIONS as readonly string[]).includes(v)) {
    throw new RecordDecodeError(
      'operation',
      `unknown operation ${JSON.stringify(v)} (expected ${OPERATIONS.join(', ')})`,
    );
  }
  return v as Operation;
}

function decodeMetadata(v: unknown): Record<string, string> {
  if (v === null || v === undefined) return {};
  if (!isPlainObject(v)) throw new RecordDecodeError('metadata', `expected an object of strings, got ${jsonType(v)}`);
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (typeof x !== 'string') {
      throw new RecordDecodeError(`metadata.${k}`, `expected a string, got ${jsonType(x)}`);
    }
  }
  return v as Record<string, string>;
}

function decodeData(v: unknown, field: string): Data {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return decodeBase64(v, field);
  if (isPlainObject(v)) return v as StructuredData;
  throw new RecordDecodeError(
    field,
    `expected a base64 string (raw data), an object (structured data) or null, got ${jsonType(v)}`,
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'object':
      return 'an object';
    case 'string':
      return `the string ${preview(v)}`;
    case 'number':
      return `the number ${v}`;
    case 'boolean':
      return `${v}`;
    default:
      return typeof v;
  }
}
