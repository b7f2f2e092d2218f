/**
 * A pure Avro binary codec (Avro 1.11 specification), with Conduit's mapping
 * between Avro values and OpenCDC structured data:
 *
 * | Avro                                   | Structured data                                                  |
 * | -------------------------------------- | ---------------------------------------------------------------- |
 * | null, boolean, string, float, double   | null, boolean, string, number                                    |
 * | int                                    | number                                                           |
 * | long                                   | number; a bigint when beyond ±(2^53 − 1), so nothing is lost     |
 * | bytes, fixed                           | Uint8Array (a Buffer)                                            |
 * | record, map                            | a plain object                                                   |
 * | enum                                   | the symbol, a string                                             |
 * | array                                  | an array                                                         |
 * | union                                  | the value of the branch itself (never wrapped)                   |
 * | timestamp-millis/micros, local-…, date | Date (sub-millisecond digits of micros are dropped on decode)    |
 * | decimal                                | the exact decimal number as a string, e.g. "12.30"               |
 * | uuid, time-millis/micros, duration     | the underlying string, number, bytes                             |
 *
 * Encoding accepts the same shapes, plus: a bigint or integral number for int
 * and long, a Date, number or bigint for timestamp longs and date ints, a
 * string or number for decimals. A record field missing from the object takes
 * its schema default, or null when its type allows null.
 *
 * No I/O here: `parseSchema` compiles schema text once; `encode`/`decode` are
 * functions from values to bytes and back.
 */

/** A problem with a schema text (not valid JSON, not a valid Avro schema). */
export class AvroSchemaError extends Error {
  override readonly name = 'AvroSchemaError';
}

/** A value does not fit the schema, or bytes are not valid Avro for it. */
export class AvroValueError extends Error {
  override readonly name = 'AvroValueError';
}

export type LogicalType =
  | { readonly kind: 'timestamp-millis' | 'timestamp-micros' | 'local-timestamp-millis' | 'local-timestamp-micros' }
  | { readonly kind: 'date' | 'time-millis' | 'time-micros' | 'uuid' | 'duration' }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number };

export type AvroType =
  | { readonly kind: 'null' | 'boolean' | 'float' | 'double' }
  | { readonly kind: 'int' | 'long' | 'bytes' | 'string'; readonly logical?: LogicalType }
  | { readonly kind: 'fixed'; readonly name: string; readonly size: number; readonly logical?: LogicalType }
  | { readonly kind: 'enum'; readonly name: string; readonly symbols: readonly string[] }
  | { readonly kind: 'array'; readonly items: AvroType }
  | { readonly kind: 'map'; readonly values: AvroType }
  | { readonly kind: 'union'; readonly branches: readonly AvroType[] }
  | RecordType;

export interface RecordType {
  readonly kind: 'record';
  readonly name: string;
  /** Filled right after the record is registered, so that fields may refer to it (recursion). */
  readonly fields: AvroField[];
}

export interface AvroField {
  readonly name: string;
  readonly type: AvroType;
  /** The default as a value of the field's type; `undefined` when the schema has none. */
  readonly default: unknown;
}

/** A compiled schema: encode and decode values with it. */
export interface AvroSchema {
  readonly type: AvroType;
  /** The schema text with object keys sorted and no white space: equal for equal schemas. */
  readonly normalized: string;
  encode(value: unknown): Buffer;
  decode(bytes: Uint8Array): unknown;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

// ---------------------------------------------------------------------------
// Schema parsing
// ---------------------------------------------------------------------------

/**
 * Parses and validates an Avro schema.
 *
 * @throws AvroSchemaError naming the place in the schema, e.g. `record.fields[2].type: unknown type "strng"`.
 */
export function parseSchema(text: string): AvroSchema {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AvroSchemaError(`the schema is not valid JSON: ${(e as Error).message}`);
  }
  const type = new SchemaParser().parse(json, '', 'schema');
  const normalized = normalizeJson(json);
  // Encoding is synchronous, so one scratch buffer per schema serves every call.
  const w = new Writer();
  return {
    type,
    normalized,
    encode: (value) => {
      w.pos = 0;
      try {
        writeValue(w, type, value);
        return w.finish();
      } catch (e) {
        throw e instanceof PathError ? e.toValueError() : e;
      } finally {
        // A huge value must not pin its buffer for the life of the schema.
        if (w.buf.length > 1 << 20) w.buf = Buffer.allocUnsafe(256);
      }
    },
    decode: (bytes) => {
      const r = new Reader(bytes);
      const v = readValue(r, type);
      if (r.pos !== bytes.length) {
        throw new AvroValueError(`${bytes.length - r.pos} bytes left over after the value`);
      }
      return v;
    },
  };
}

/** The schema text with object keys sorted and no white space (array order kept). */
export function normalizeSchema(text: string): string {
  return normalizeJson(JSON.parse(text));
}

function normalizeJson(v: unknown): string {
  return JSON.stringify(v, (_, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );
}

class SchemaParser {
  private readonly named = new Map<string, AvroType>();

  parse(s: unknown, namespace: string, at: string): AvroType {
    if (typeof s === 'string') return this.reference(s, namespace, at);
    if (Array.isArray(s)) return this.union(s, namespace, at);
    if (s === null || typeof s !== 'object')
      throw new AvroSchemaError(`${at}: a schema must be a string, an object or an array`);
    const o = s as Record<string, unknown>;
    const t = o['type'];
    if (typeof t !== 'string') {
      // {"type": {...}} and {"type": [...]} nest a schema.
      if (t !== undefined && t !== null && typeof t === 'object') return this.parse(t, namespace, at);
      throw new AvroSchemaError(`${at}: "type" is missing`);
    }
    switch (t) {
      case 'record':
      case 'error':
        return this.record(o, namespace, at);
      case 'enum':
        return this.enumType(o, namespace, at);
      case 'fixed':
        return this.fixed(o, namespace, at);
      case 'array':
        if (o['items'] === undefined) throw new AvroSchemaError(`${at}: an array needs "items"`);
        return { kind: 'array', items: this.parse(o['items'], namespace, `${at}.items`) };
      case 'map':
        if (o['values'] === undefined) throw new AvroSchemaError(`${at}: a map needs "values"`);
        return { kind: 'map', values: this.parse(o['values'], namespace, `${at}.values`) };
      default: {
        if (!PRIMITIVES.has(t)) return this.reference(t, namespace, at);
        const logical = logicalFor(t, o);
        return logical === undefined ? primitive(t) : ({ kind: t, logical } as AvroType);
      }
    }
  }

  private reference(name: string, namespace: string, at: string): AvroType {
    if (PRIMITIVES.has(name)) return primitive(name);
    const full = fullName(name, namespace);
    const t = this.named.get(full) ?? this.named.get(name);
    if (t === undefined) throw new AvroSchemaError(`${at}: unknown type ${JSON.stringify(name)}`);
    return t;
  }

  private union(branches: unknown[], namespace: string, at: string): AvroType {
    const parsed = branches.map((b, i) => this.parse(b, namespace, `${at}[${i}]`));
    const seen = new Set<string>();
    parsed.forEach((b, i) => {
      if (b.kind === 'union') throw new AvroSchemaError(`${at}[${i}]: a union cannot hold a union`);
      const key = 'name' in b ? `${b.kind}:${b.name}` : b.kind;
      if (seen.has(key)) throw new AvroSchemaError(`${at}[${i}]: the union holds ${key.replace(':', ' ')} twice`);
      seen.add(key);
    });
    return { kind: 'union', branches: parsed };
  }

  private define(o: Record<string, unknown>, namespace: string, at: string): { full: string; ns: string } {
    const name = o['name'];
    if (typeof name !== 'string') throw new AvroSchemaError(`${at}: a ${String(o['type'])} needs a "name"`);
    const ns = typeof o['namespace'] === 'string' ? o['namespace'] : namespace;
    const full = fullName(name, ns);
    for (const part of full.split('.')) {
      if (!NAME.test(part)) throw new AvroSchemaError(`${at}: ${JSON.stringify(full)} is not a valid Avro name`);
    }
    if (PRIMITIVES.has(full)) throw new AvroSchemaError(`${at}: ${JSON.stringify(full)} is a primitive type name`);
    if (this.named.has(full)) throw new AvroSchemaError(`${at}: the type ${JSON.stringify(full)} is defined twice`);
    const dot = full.lastIndexOf('.');
    return { full, ns: dot < 0 ? '' : full.slice(0, dot) };
  }

  private record(o: Record<string, unknown>, namespace: string, at: string): AvroType {
    const { full, ns } = this.define(o, namespace, at);
    const rec: RecordType = { kind: 'record', name: full, fields: [] };
    this.named.set(full, rec);
    const fields = o['fields'];
    if (!Array.isArray(fields)) throw new AvroSchemaError(`${at}: a record needs "fields", an array`);
    const names = new Set<string>();
    fields.forEach((f: unknown, i) => {
      const fat = `${at}.fields[${i}]`;
      if (f === null || typeof f !== 'object') throw new AvroSchemaError(`${fat}: a field must be an object`);
      const fo = f as Record<string, unknown>;
      const name = fo['name'];
      if (typeof name !== 'string' || !NAME.test(name)) {
        throw new AvroSchemaError(`${fat}: ${JSON.stringify(name)} is not a valid field name`);
      }
      if (names.has(name)) throw new AvroSchemaError(`${fat}: the field ${JSON.stringify(name)} is defined twice`);
      names.add(name);
      if (fo['type'] === undefined)
        throw new AvroSchemaError(`${fat}: the field ${JSON.stringify(name)} needs a "type"`);
      const type = this.parse(fo['type'], ns, `${at}.${name}`);
      let def: unknown = undefined;
      if ('default' in fo) {
        try {
          def = fromDefault(type, fo['default']);
        } catch (e) {
          throw new AvroSchemaError(`${fat}: the default of ${JSON.stringify(name)}: ${(e as Error).message}`);
        }
      }
      rec.fields.push({ name, type, default: def });
    });
    return rec;
  }

  private enumType(o: Record<string, unknown>, namespace: string, at: string): AvroType {
    const { full } = this.define(o, namespace, at);
    const symbols = o['symbols'];
    if (!Array.isArray(symbols) || symbols.some((s) => typeof s !== 'string' || !NAME.test(s))) {
      throw new AvroSchemaError(`${at}: an enum needs "symbols", an array of names`);
    }
    if (new Set(symbols).size !== symbols.length) throw new AvroSchemaError(`${at}: an enum symbol is repeated`);
    const t: AvroType = { kind: 'enum', name: full, symbols: symbols as string[] };
    this.named.set(full, t);
    return t;
  }

  private fixed(o: Record<string, unknown>, namespace: string, at: string): AvroType {
    const { full } = this.define(o, namespace, at);
    const size = o['size'];
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
      throw new AvroSchemaError(`${at}: a fixed needs "size", a non-negative integer`);
    }
    const logical = logicalFor('fixed', o, size);
    const t: AvroType =
      logical === undefined ? { kind: 'fixed', name: full, size } : { kind: 'fixed', name: full, size, logical };
    this.named.set(full, t);
    return t;
  }
}

function primitive(name: string): AvroType {
  return { kind: name } as AvroType;
}

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

/** The logical type of a schema, or undefined when absent or invalid (the spec says: ignore it then). */
function logicalFor(base: string, o: Record<string, unknown>, size?: number): LogicalType | undefined {
  const lt = o['logicalType'];
  switch (lt) {
    case 'timestamp-millis':
    case 'timestamp-micros':
    case 'local-timestamp-millis':
    case 'local-timestamp-micros':
    case 'time-micros':
      return base === 'long' ? { kind: lt } : undefined;
    case 'date':
    case 'time-millis':
      return base === 'int' ? { kind: lt } : undefined;
    case 'uuid':
      return base === 'string' ? { kind: lt } : undefined;
    case 'duration':
      return base === 'fixed' && size === 12 ? { kind: lt } : undefined;
    case 'decimal': {
      if (base !== 'bytes' && base !== 'fixed') return undefined;
      const precision = o['precision'];
      const scale = o['scale'] ?? 0;
      if (typeof precision !== 'number' || !Number.isInteger(precision) || precision <= 0) return undefined;
      if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision) return undefined;
      return { kind: 'decimal', precision, scale };
    }
    default:
      return undefined;
  }
}

/** Converts a JSON default into a value of the type (the spec's rules: a union's default is of its first branch). */
function fromDefault(t: AvroType, d: unknown): unknown {
  switch (t.kind) {
    case 'union': {
      const first = t.branches[0];
      if (first === undefined) throw new Error('an empty union has no default');
      return fromDefault(first, d);
    }
    case 'bytes':
    case 'fixed':
      if (typeof d !== 'string') throw new Error('expected a string');
      return Buffer.from(d, 'latin1');
    case 'record': {
      if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new Error('expected an object');
      const out: Record<string, unknown> = {};
      for (const f of t.fields) {
        const v = (d as Record<string, unknown>)[f.name];
        setKey(out, f.name, v === undefined ? f.default : fromDefault(f.type, v));
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(d)) throw new Error('expected an array');
      return d.map((x) => fromDefault(t.items, x));
    case 'map': {
      if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new Error('expected an object');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d)) setKey(out, k, fromDefault(t.values, v));
      return out;
    }
    default:
      return d;
  }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

class Writer {
  buf = Buffer.allocUnsafe(256);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A zig-zag varint; |v| < 2^52 keeps to float arithmetic. */
  long(v: number | bigint): void {
    if (typeof v === 'number' && Math.abs(v) < 2 ** 52) {
      let z = v >= 0 ? v * 2 : -v * 2 - 1;
      this.ensure(10);
      while (z >= 0x80) {
        this.buf[this.pos++] = (z % 0x80) | 0x80;
        z = Math.floor(z / 0x80);
      }
      this.buf[this.pos++] = z;
      return;
    }
    const b = BigInt(v);
    let z = BigInt.asUintN(64, (b << 1n) ^ (b >> 63n));
    this.ensure(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
  }

  bytes(b: Uint8Array): void {
    this.long(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    const max = Buffer.byteLength(s, 'utf8');
    this.long(max);
    this.ensure(max);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A copy that owns exactly the written bytes. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

/**
 * A value that does not fit, on its way up: each level adds its step to the
 * path (`.field`, `[2]`), so the path is built only when something fails.
 */
class PathError extends Error {
  readonly steps: string[] = [];

  /** The error for users: `.a.b[2]: expected int, got a string`. */
  toValueError(): AvroValueError {
    const path = this.steps.reverse().join('');
    return new AvroValueError(`${path === '' ? 'the value' : path}: ${this.message}`);
  }
}

/** Runs one nested write, adding its step to the path of a failure. */
function step(name: string, e: unknown): never {
  if (e instanceof PathError) e.steps.push(name);
  throw e;
}

function fail(t: AvroType, v: unknown): never {
  throw new PathError(`expected ${describeType(t)}, got ${describeValue(v)}`);
}

/** A type in words for messages. */
export function describeType(t: AvroType): string {
  switch (t.kind) {
    case 'record':
    case 'enum':
      return `${t.kind} ${t.name}`;
    case 'fixed':
      return `fixed ${t.name} (${t.size} bytes)`;
    case 'union':
      return `one of [${t.branches.map(describeType).join(', ')}]`;
    case 'int':
    case 'long':
    case 'bytes':
    case 'string':
      return t.logical === undefined ? t.kind : `${t.kind} (${t.logical.kind})`;
    default:
      return t.kind;
  }
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v instanceof Date) return 'a time';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
    case 'bigint':
      return `the integer ${v}`;
    case 'boolean':
      return 'a bool';
    case 'object':
      return 'an object';
    default:
      return `a ${typeof v}`;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function asInteger(v: unknown): number | bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return undefined;
}

function inIntRange(n: number | bigint): boolean {
  return typeof n === 'number' ? n >= INT_MIN && n <= INT_MAX : n >= BigInt(INT_MIN) && n <= BigInt(INT_MAX);
}

function inLongRange(n: number | bigint): boolean {
  return typeof n === 'number' ? n >= -(2 ** 63) && n < 2 ** 63 : n >= LONG_MIN && n <= LONG_MAX;
}

const DAY_MS = 86_400_000;

function writeValue(w: Writer, t: AvroType, v: unknown): void {
  switch (t.kind) {
    case 'null':
      if (v !== null && v !== undefined) fail(t, v);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail(t, v);
      w.byte(v ? 1 : 0);
      return;
    case 'int': {
      let n = asInteger(v);
      if (v instanceof Date && t.logical?.kind === 'date') n = Math.floor(v.getTime() / DAY_MS);
      if (n === undefined || !inIntRange(n)) fail(t, v);
      w.long(typeof n === 'bigint' ? Number(n) : n);
      return;
    }
    case 'long': {
      let n = asInteger(v);
      if (v instanceof Date && t.logical !== undefined) {
        const ms = v.getTime();
        if (Number.isNaN(ms)) fail(t, v);
        n = t.logical.kind.endsWith('micros') ? BigInt(ms) * 1000n : ms;
      }
      if (n === undefined || !inLongRange(n)) fail(t, v);
      w.long(n);
      return;
    }
    case 'float':
    case 'double': {
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number') fail(t, v);
      w.ensure(8);
      if (t.kind === 'float') w.pos = w.buf.writeFloatLE(n, w.pos);
      else w.pos = w.buf.writeDoubleLE(n, w.pos);
      return;
    }
    case 'string':
      if (typeof v !== 'string') fail(t, v);
      w.string(v);
      return;
    case 'bytes':
      if (t.logical?.kind === 'decimal' && !(v instanceof Uint8Array)) {
        w.bytes(decimalBytes(v, t.logical.scale, undefined, t));
        return;
      }
      if (!(v instanceof Uint8Array)) fail(t, v);
      w.bytes(v);
      return;
    case 'fixed': {
      let b = v;
      if (t.logical?.kind === 'decimal' && !(v instanceof Uint8Array)) b = decimalBytes(v, t.logical.scale, t.size, t);
      if (!(b instanceof Uint8Array) || b.length !== t.size) fail(t, v);
      w.raw(b);
      return;
    }
    case 'enum': {
      const i = typeof v === 'string' ? t.symbols.indexOf(v) : -1;
      if (i < 0) {
        throw new PathError(
          `expected one of the symbols ${t.symbols.join(', ')} of enum ${t.name}, got ${typeof v === 'string' ? JSON.stringify(v) : describeValue(v)}`,
        );
      }
      w.long(i);
      return;
    }
    case 'array': {
      if (!Array.isArray(v)) fail(t, v);
      if (v.length > 0) {
        w.long(v.length);
        for (let i = 0; i < v.length; i++) {
          try {
            writeValue(w, t.items, v[i]);
          } catch (e) {
            step(`[${i}]`, e);
          }
        }
      }
      w.byte(0);
      return;
    }
    case 'map': {
      if (!isPlainObject(v)) fail(t, v);
      const keys = Object.keys(v);
      if (keys.length > 0) {
        w.long(keys.length);
        for (const k of keys) {
          w.string(k);
          try {
            writeValue(w, t.values, v[k]);
          } catch (e) {
            step(`[${JSON.stringify(k)}]`, e);
          }
        }
      }
      w.byte(0);
      return;
    }
    case 'record': {
      if (!isPlainObject(v)) fail(t, v);
      for (const f of t.fields) {
        let x = Object.prototype.hasOwnProperty.call(v, f.name) ? v[f.name] : undefined;
        if (x === undefined) {
          if (f.default !== undefined) x = f.default;
          else if (!acceptsNull(f.type)) {
            step(`.${f.name}`, new PathError(`missing, and ${describeType(f.type)} has no default`));
          }
        }
        try {
          writeValue(w, f.type, x);
        } catch (e) {
          step(`.${f.name}`, e);
        }
      }
      return;
    }
    case 'union': {
      const i = pickBranch(t.branches, v);
      if (i < 0) fail(t, v);
      w.long(i);
      writeValue(w, t.branches[i] as AvroType, v);
      return;
    }
  }
}

function acceptsNull(t: AvroType): boolean {
  return t.kind === 'null' || (t.kind === 'union' && t.branches.some((b) => b.kind === 'null'));
}

/**
 * The union branch for a value: the kinds that fit it best come first (an
 * integer prefers int, then long, then double; an object a record whose
 * required fields it has, then a map), and among branches of one kind the
 * first in the union wins.
 */
function pickBranch(branches: readonly AvroType[], v: unknown): number {
  let best = -1;
  let bestRank = Infinity;
  for (let i = 0; i < branches.length; i++) {
    const r = rank(branches[i] as AvroType, v);
    if (r >= 0 && r < bestRank) {
      best = i;
      bestRank = r;
    }
  }
  return best;
}

/** How well a branch fits a value: 0 best, -1 not at all. */
function rank(b: AvroType, v: unknown): number {
  if (v === null || v === undefined) return b.kind === 'null' ? 0 : -1;
  switch (typeof v) {
    case 'boolean':
      return b.kind === 'boolean' ? 0 : -1;
    case 'number':
    case 'bigint': {
      const n = asInteger(v);
      switch (b.kind) {
        case 'int':
          return n !== undefined && inIntRange(n) ? (b.logical?.kind === 'date' ? 2 : 0) : -1;
        case 'long':
          return n !== undefined && inLongRange(n) ? 1 : -1;
        case 'double':
          return 3;
        case 'float':
          return 4;
        case 'bytes':
        case 'fixed':
          return b.logical?.kind === 'decimal' ? 5 : -1;
        default:
          return -1;
      }
    }
    case 'string':
      if (b.kind === 'string') return 0;
      if (b.kind === 'enum') return b.symbols.includes(v) ? 1 : -1;
      return (b.kind === 'bytes' || b.kind === 'fixed') && b.logical?.kind === 'decimal' ? 2 : -1;
    default:
      break;
  }
  if (v instanceof Uint8Array) return b.kind === 'bytes' ? 0 : b.kind === 'fixed' && b.size === v.length ? 1 : -1;
  if (v instanceof Date) {
    if (b.kind === 'long' && b.logical !== undefined) return b.logical.kind.includes('timestamp') ? 0 : 2;
    return b.kind === 'int' && b.logical?.kind === 'date' ? 1 : -1;
  }
  if (Array.isArray(v)) return b.kind === 'array' ? 0 : -1;
  if (!isPlainObject(v)) return -1;
  if (b.kind === 'map') return 1;
  if (b.kind !== 'record') return -1;
  return b.fields.every((f) => f.default !== undefined || acceptsNull(f.type) || v[f.name] !== undefined) ? 0 : -1;
}

/** A decimal (string, number or bigint) as the two's-complement big-endian unscaled integer. */
function decimalBytes(v: unknown, scale: number, size: number | undefined, t: AvroType): Buffer {
  let text: string;
  if (typeof v === 'string') text = v.trim();
  else if (typeof v === 'bigint') text = v.toString();
  else if (typeof v === 'number' && Number.isFinite(v)) text = String(v);
  else fail(t, v);
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) fail(t, v);
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let exp = Number(m[4] ?? '0') - (m[3] ?? '').length + scale;
  if (exp < 0) {
    const dropped = digits.slice(digits.length + exp);
    if (/[^0]/.test(dropped)) {
      throw new PathError(`${text} has more than ${scale} decimal places`);
    }
    digits = digits.slice(0, digits.length + exp);
    exp = 0;
  }
  let unscaled = BigInt((digits === '' ? '0' : digits) + '0'.repeat(exp));
  if (m[1] === '-') unscaled = -unscaled;
  return twosComplement(unscaled, size);
}

function twosComplement(n: bigint, size: number | undefined): Buffer {
  let len = 1;
  while (n < -(1n << BigInt(8 * len - 1)) || n >= 1n << BigInt(8 * len - 1)) len++;
  if (size !== undefined) {
    if (len > size) throw new PathError(`the decimal does not fit ${size} bytes`);
    len = size;
  }
  const out = Buffer.alloc(len);
  let u = BigInt.asUintN(8 * len, n);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

class Reader {
  pos = 0;
  readonly buf: Buffer;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new AvroValueError('the data ends in the middle of a value');
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  /** A zig-zag varint of up to 64 bits: a number when safe, else a bigint. */
  long(): number | bigint {
    let b = this.byte();
    let n = b & 0x7f;
    let mul = 0x80;
    while (b & 0x80) {
      if (mul === 2 ** 49) return this.longBig(n);
      b = this.byte();
      n += (b & 0x7f) * mul;
      mul *= 0x80;
    }
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private longBig(low: number): number | bigint {
    let acc = BigInt(low);
    let shift = 49n;
    let b: number;
    do {
      if (shift > 63n) throw new AvroValueError('a long is longer than 10 bytes');
      b = this.byte();
      acc |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (acc >> 64n !== 0n) throw new AvroValueError('a long does not fit 64 bits');
    const v = (acc >> 1n) ^ -(acc & 1n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  int(): number {
    const v = this.long();
    if (typeof v === 'bigint' || v < INT_MIN || v > INT_MAX) throw new AvroValueError(`an int is out of range: ${v}`);
    return v;
  }

  length(): number {
    const n = this.long();
    if (typeof n === 'bigint' || n < 0 || this.pos + n > this.buf.length) {
      throw new AvroValueError(`a length of ${n} runs past the end of the data`);
    }
    return n;
  }

  bytes(n: number): Buffer {
    this.need(n);
    // A copy: the value must not keep the whole input alive.
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.length();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** The item count of the next block, 0 at the end; a negative count is followed by the block's size. */
  block(): number {
    let n = this.long();
    if (typeof n === 'bigint') throw new AvroValueError(`a block count of ${n} is too large`);
    if (n < 0) {
      n = -n;
      this.long();
    }
    // Every item takes at least one byte, except nulls and empty records: bound by what is left generously.
    if (n > this.buf.length - this.pos + 1_000_000)
      throw new AvroValueError(`a block of ${n} items cannot fit the data`);
    return n;
  }
}

function readValue(r: Reader, t: AvroType): unknown {
  switch (t.kind) {
    case 'null':
      return null;
    case 'boolean': {
      const b = r.byte();
      if (b > 1) throw new AvroValueError(`a boolean byte is ${b}`);
      return b === 1;
    }
    case 'int': {
      const n = r.int();
      return t.logical?.kind === 'date' ? new Date(n * DAY_MS) : n;
    }
    case 'long': {
      const n = r.long();
      switch (t.logical?.kind) {
        case 'timestamp-millis':
        case 'local-timestamp-millis':
          return new Date(Number(n));
        case 'timestamp-micros':
        case 'local-timestamp-micros': {
          const us = BigInt(n);
          // Floor division, so that times before 1970 round down like positive ones.
          const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
          return new Date(Number(ms));
        }
        default:
          return n;
      }
    }
    case 'float': {
      r.need(4);
      const v = r.buf.readFloatLE(r.pos);
      r.pos += 4;
      return v;
    }
    case 'double': {
      r.need(8);
      const v = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
      return v;
    }
    case 'string':
      return r.string();
    case 'bytes': {
      const b = r.bytes(r.length());
      return t.logical?.kind === 'decimal' ? decimalText(b, t.logical.scale) : b;
    }
    case 'fixed': {
      const b = r.bytes(t.size);
      return t.logical?.kind === 'decimal' ? decimalText(b, t.logical.scale) : b;
    }
    case 'enum': {
      const i = r.long();
      const s = typeof i === 'number' ? t.symbols[i] : undefined;
      if (s === undefined) throw new AvroValueError(`enum ${t.name} has no symbol number ${i}`);
      return s;
    }
    case 'array': {
      const out: unknown[] = [];
      for (let n = r.block(); n > 0; n = r.block()) {
        for (let i = 0; i < n; i++) out.push(readValue(r, t.items));
      }
      return out;
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      for (let n = r.block(); n > 0; n = r.block()) {
        for (let i = 0; i < n; i++) {
          const k = r.string();
          setKey(out, k, readValue(r, t.values));
        }
      }
      return out;
    }
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const f of t.fields) setKey(out, f.name, readValue(r, f.type));
      return out;
    }
    case 'union': {
      const i = r.long();
      const b = typeof i === 'number' ? t.branches[i] : undefined;
      if (b === undefined) throw new AvroValueError(`the union has no branch number ${i}`);
      return readValue(r, b);
    }
  }
}

/** Sets a key, even `__proto__`, as an own enumerable property. */
function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function decimalText(b: Buffer, scale: number): string {
  if (b.length === 0) return '0';
  let u = 0n;
  for (const x of b) u = (u << 8n) | BigInt(x);
  const n = BigInt.asIntN(8 * b.length, u);
  const neg = n < 0n;
  let digits = (neg ? -n : n).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return neg ? `-${digits}` : digits;
}
