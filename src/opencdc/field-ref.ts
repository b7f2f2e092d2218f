/**
 * Field references: the `.Payload.After.foo` strings that processors take to
 * name a part of a record (conduit-processor-sdk `reference`).
 *
 * Grammar (what Conduit accepts):
 *
 *   ref     = [ "$" ] ( "." | field { field | index } )
 *   field   = "." identifier          identifier = letter or "_", then letters, digits, "_"
 *   index   = "[" go-string "]"       a double-quoted Go string, e.g. ["opencdc.readAt"]
 *
 * and the first names must make sense for a record: `.Position`,
 * `.Operation`, `.Metadata` (plus one key), `.Key` (plus any depth),
 * `.Payload`, `.Payload.Before` and `.Payload.After` (plus any depth). Nested
 * names are the real (usually lower-case) names inside structured data.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { OPERATIONS, type Change, type Data, type OpenCDCRecord, type Operation } from './record.js';

/** What a reference points at. */
export type FieldRefTarget =
  | 'record'
  | 'position'
  | 'operation'
  | 'metadata'
  | 'metadataField'
  | 'key'
  | 'payload'
  | 'payloadBefore'
  | 'payloadAfter'
  | 'dataField';

export interface FieldRef {
  /** The reference as written. */
  readonly text: string;
  readonly target: FieldRefTarget;
  /** The names after `.Metadata`, `.Key`, `.Payload.Before` or `.Payload.After` (empty for the others). */
  readonly fields: readonly string[];
  /** False for `.`, `.Position`: `set` and `delete` always throw. */
  readonly settable: boolean;
  /** False for `.`, `.Position` and `.Operation`. */
  readonly deletable: boolean;
  /**
   * The value: the record, position bytes, operation, metadata, a metadata
   * value, data, the payload, or a value inside structured data. `undefined`
   * when a metadata key or nested field does not exist.
   * @throws FieldRefError when the path runs through raw data or a non-object.
   */
  get(record: OpenCDCRecord): unknown;
  /**
   * Sets the value, creating intermediate objects (and structured data where
   * there was none). Data takes bytes or a string (raw data), a plain object
   * (structured data) or null; `.Operation` takes an operation name.
   * @throws FieldRefError for a value of the wrong type or a path through raw data.
   */
  set(record: OpenCDCRecord, value: unknown): void;
  /** Removes the field: data becomes null, metadata empty, a key or nested field is deleted. */
  delete(record: OpenCDCRecord): void;
}

/** A reference cannot be applied to this record, or the value does not fit. */
export class FieldRefError extends Error {
  readonly ref: string;
  constructor(ref: string, message: string) {
    super(`${ref}: ${message}`);
    this.name = 'FieldRefError';
    this.ref = ref;
  }
}

export const FIELD_REF_FORMS =
  '., .Position, .Operation, .Metadata, .Metadata.key, .Metadata["opencdc.readAt"], .Key, .Key.id, .Payload, ' +
  '.Payload.Before, .Payload.After, .Payload.After.foo.bar, .Payload.After["a b"]["c"]';

export interface ParseFieldRefOptions {
  /** Where the reference came from, for the error (e.g. `/processors/0/settings/field`). */
  configPath?: string;
}

/**
 * Parses a field reference.
 *
 * @example
 * const ref = parseFieldRef('.Payload.After["user name"]');
 * ref.set(record, 'Jane');
 * ref.get(record); // 'Jane'
 *
 * @throws ConduitError `config.field_invalid` for anything but the forms above.
 */
export function parseFieldRef(text: string, opts: ParseFieldRefOptions = {}): FieldRef {
  const names = lex(text, opts);
  return build(text, names, opts);
}

// ---------------------------------------------------------------------------
// Lexing
// ---------------------------------------------------------------------------

const IDENT_CHAR = /[\p{L}\p{Nd}_]/u;

function fail(text: string, reason: string, opts: ParseFieldRefOptions): never {
  throw new ConduitError(Code.ConfigFieldInvalid, `invalid field reference ${JSON.stringify(text)}: ${reason}`, {
    ...(opts.configPath === undefined ? {} : { configPath: opts.configPath }),
    suggestion: `Use one of the forms ${FIELD_REF_FORMS}. Keys that are not letters, digits and _ go in brackets with double quotes.`,
  });
}

function lex(text: string, opts: ParseFieldRefOptions): string[] {
  let i = 0;
  const n = text.length;
  if (text.startsWith('$')) {
    i = 1;
    if (n === 1) return [];
  }
  if (i === n) fail(text, 'a reference starts with "."', opts);
  if (text === '.' || text === '$.') {
    if (i === 1) fail(text, 'expected a field name after "$."', opts);
    return [];
  }
  const names: string[] = [];
  while (i < n) {
    const c = text[i] as string;
    if (c === '.') {
      i++;
      const start = i;
      while (i < n) {
        const cp = text.codePointAt(i) as number;
        const ch = String.fromCodePoint(cp);
        if (!IDENT_CHAR.test(ch)) break;
        i += ch.length;
      }
      if (i === start) {
        fail(text, i === n ? 'a field name is missing at the end' : `unexpected ${describe(text, i)} after "."`, opts);
      }
      const name = text.slice(start, i);
      if (/^[0-9]/.test(name)) fail(text, `a field name cannot start with a digit (${JSON.stringify(name)})`, opts);
      names.push(name);
    } else if (c === '[') {
      if (names.length === 0) fail(text, '"[" needs a field before it', opts);
      i++;
      if (text[i] !== '"') fail(text, `expected a double-quoted string after "[", got ${describe(text, i)}`, opts);
      const [value, end] = unquote(text, i, opts);
      i = end;
      if (text[i] !== ']') fail(text, `expected "]" after the string, got ${describe(text, i)}`, opts);
      i++;
      names.push(value);
    } else {
      fail(text, `unexpected ${describe(text, i)}`, opts);
    }
  }
  return names;
}

function describe(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  return JSON.stringify(String.fromCodePoint(text.codePointAt(i) as number));
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/** Reads a double-quoted Go string starting at `start` (the quote); returns its value and the index after it. */
function unquote(text: string, start: number, opts: ParseFieldRefOptions): [string, number] {
  let out = '';
  let i = start + 1;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (c === '"') return [out, i + 1];
    if (c === '\n') break;
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) break;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    let digits: string;
    let radix: number;
    let len: number;
    if (e === 'x' || e === 'u' || e === 'U') {
      len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      digits = text.slice(i + 2, i + 2 + len);
      radix = 16;
      if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== len) {
        fail(text, `invalid escape \\${e}${digits} in string`, opts);
      }
      i += 2 + len;
    } else if (e >= '0' && e <= '7') {
      digits = text.slice(i + 1, i + 4);
      radix = 8;
      if (!/^[0-7]{3}$/.test(digits)) fail(text, `invalid octal escape \\${digits} in string`, opts);
      i += 4;
    } else {
      fail(text, `unknown escape \\${e} in string`, opts);
    }
    const cp = parseInt(digits, radix);
    if ((e === 'x' || radix === 8) && cp > 0x7f) {
      fail(text, `byte escapes above \\x7f are not supported in field names; use \\u`, opts);
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      fail(text, `escape \\${e}${digits} is not a valid character`, opts);
    out += String.fromCodePoint(cp);
  }
  return fail(text, 'unterminated quoted string', opts);
}

// ---------------------------------------------------------------------------
// Building references
// ---------------------------------------------------------------------------

function build(text: string, names: readonly string[], opts: ParseFieldRefOptions): FieldRef {
  const [first, second] = names;
  switch (first) {
    case undefined:
      return recordRef(text);
    case 'Position':
      if (names.length > 1) fail(text, '.Position is not a structured field', opts);
      return positionRef(text);
    case 'Operation':
      if (names.length > 1) fail(text, '.Operation is not a structured field', opts);
      return operationRef(text);
    case 'Metadata':
      if (names.length > 2) fail(text, '.Metadata fields are not structured', opts);
      return second === undefined ? metadataRef(text) : metadataFieldRef(text, second);
    case 'Key':
      return names.length === 1 ? dataRef(text, 'key', keyAccess) : dataFieldRef(text, keyAccess, names.slice(1));
    case 'Payload': {
      if (second === undefined) return payloadRef(text);
      const access = second === 'Before' ? beforeAccess : second === 'After' ? afterAccess : undefined;
      if (access === undefined) {
        fail(text, `unexpected field ${JSON.stringify(second)} in .Payload (expected Before or After)`, opts);
      }
      return names.length === 2
        ? dataRef(text, second === 'Before' ? 'payloadBefore' : 'payloadAfter', access)
        : dataFieldRef(text, access, names.slice(2));
    }
    default:
      return fail(
        text,
        `unexpected field ${JSON.stringify(first)} (expected Position, Operation, Metadata, Key or Payload)`,
        opts,
      );
  }
}

interface DataAccess {
  readonly path: string;
  get(r: OpenCDCRecord): Data;
  set(r: OpenCDCRecord, d: Data): void;
}

const keyAccess: DataAccess = {
  path: '.Key',
  get: (r) => r.key,
  set: (r, d) => {
    r.key = d;
  },
};
const beforeAccess: DataAccess = {
  path: '.Payload.Before',
  get: (r) => r.payload.before,
  set: (r, d) => {
    r.payload.before = d;
  },
};
const afterAccess: DataAccess = {
  path: '.Payload.After',
  get: (r) => r.payload.after,
  set: (r, d) => {
    r.payload.after = d;
  },
};

function readOnly(text: string, what: string): never {
  throw new FieldRefError(text, `${what} is read-only`);
}

function recordRef(text: string): FieldRef {
  return {
    text,
    target: 'record',
    fields: [],
    settable: false,
    deletable: false,
    get: (r) => r,
    set: () => readOnly(text, 'the record'),
    delete: () => readOnly(text, 'the record'),
  };
}

function positionRef(text: string): FieldRef {
  return {
    text,
    target: 'position',
    fields: [],
    settable: false,
    deletable: false,
    get: (r) => r.position,
    set: () => readOnly(text, '.Position'),
    delete: () => readOnly(text, '.Position'),
  };
}

const OPERATION_NUMBERS: readonly Operation[] = ['create', 'update', 'delete', 'snapshot'];

function operationRef(text: string): FieldRef {
  return {
    text,
    target: 'operation',
    fields: [],
    settable: true,
    deletable: false,
    get: (r) => r.operation,
    set: (r, v) => {
      if (typeof v === 'string' && (OPERATIONS as readonly string[]).includes(v)) {
        r.operation = v as Operation;
        return;
      }
      // Conduit also takes the protobuf numbers 1–4.
      if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4) {
        r.operation = OPERATION_NUMBERS[v - 1] as Operation;
        return;
      }
      throw new FieldRefError(
        text,
        `unknown operation ${typeof v === 'string' ? JSON.stringify(v) : describeValue(v)} (expected ${OPERATIONS.join(', ')})`,
      );
    },
    delete: () => {
      throw new FieldRefError(text, 'cannot delete .Operation');
    },
  };
}

function metadataRef(text: string): FieldRef {
  return {
    text,
    target: 'metadata',
    fields: [],
    settable: true,
    deletable: true,
    get: (r) => r.metadata,
    set: (r, v) => {
      if (v === null || v === undefined) {
        r.metadata = {};
        return;
      }
      if (!isPlainObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
        throw new FieldRefError(text, `expected an object of strings, got ${describeValue(v)}`);
      }
      r.metadata = v as Record<string, string>;
    },
    delete: (r) => {
      r.metadata = {};
    },
  };
}

function metadataFieldRef(text: string, key: string): FieldRef {
  return holds((r) => r.metadata, {
    text,
    target: 'metadataField',
    fields: [key],
    settable: true,
    deletable: true,
    get: (r) => (Object.hasOwn(r.metadata, key) ? r.metadata[key] : undefined),
    set: (r, v) => {
      if (v === null || v === undefined) {
        delete r.metadata[key];
        return;
      }
      if (typeof v !== 'string') throw new FieldRefError(text, `metadata values are strings, got ${describeValue(v)}`);
      r.metadata[key] = v;
    },
    delete: (r) => {
      delete r.metadata[key];
    },
  });
}

/** Bytes or a string (raw data), a plain object (structured data), or null. */
function toData(text: string, v: unknown): Data {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (isPlainObject(v)) return v as Data;
  throw new FieldRefError(
    text,
    `expected raw data (bytes or a string), structured data (an object) or null, got ${describeValue(v)}`,
  );
}

function dataRef(text: string, target: FieldRefTarget, access: DataAccess): FieldRef {
  return {
    text,
    target,
    fields: [],
    settable: true,
    deletable: true,
    get: (r) => access.get(r),
    set: (r, v) => access.set(r, toData(text, v)),
    delete: (r) => access.set(r, null),
  };
}

function payloadRef(text: string): FieldRef {
  return {
    text,
    target: 'payload',
    fields: [],
    settable: true,
    deletable: true,
    get: (r) => r.payload,
    set: (r, v) => {
      if (!isPlainObject(v)) throw new FieldRefError(text, `expected {before, after}, got ${describeValue(v)}`);
      const change: Change = { before: toData(text, v.before), after: toData(text, v.after) };
      r.payload = change;
    },
    delete: (r) => {
      r.payload = { before: null, after: null };
    },
  };
}

const RAW_DATA = 'raw data cannot be navigated, use json.decode first';

function dataFieldRef(text: string, access: DataAccess, fields: readonly string[]): FieldRef {
  const last = fields[fields.length - 1] as string;
  const parents = fields.slice(0, -1);

  /** The object holding the last field; undefined if it does not exist and `create` is false. */
  const container = (r: OpenCDCRecord, create: boolean): Record<string, unknown> | undefined => {
    let d = access.get(r);
    if (d instanceof Uint8Array) throw new FieldRefError(text, `${access.path} holds raw data: ${RAW_DATA}`);
    if (d === null || d === undefined) {
      if (!create) return undefined;
      d = {};
      access.set(r, d);
    }
    let cur = d as Record<string, unknown>;
    let path = access.path;
    for (const f of parents) {
      let next = Object.hasOwn(cur, f) ? cur[f] : undefined;
      if (next === null || next === undefined) {
        if (!create) return undefined;
        next = {};
        cur[f] = next;
      } else if (!isPlainObject(next)) {
        const why = next instanceof Uint8Array ? `: ${RAW_DATA}` : '';
        throw new FieldRefError(
          text,
          `${path}.${f} does not contain structured data (it is ${describeValue(next)})${why}`,
        );
      }
      cur = next as Record<string, unknown>;
      path += '.' + f;
    }
    return cur;
  };

  return holds((r) => container(r, false), {
    text,
    target: 'dataField',
    fields,
    settable: true,
    deletable: true,
    get: (r) => {
      const c = container(r, false);
      return c !== undefined && Object.hasOwn(c, last) ? c[last] : undefined;
    },
    set: (r, v) => {
      (container(r, true) as Record<string, unknown>)[last] = v;
    },
    delete: (r) => {
      const c = container(r, false);
      if (c !== undefined) delete c[last];
    },
  });
}

// ---------------------------------------------------------------------------
// Renaming
// ---------------------------------------------------------------------------

/**
 * For the references that name one entry of an object (a metadata key, a field
 * inside structured data): how to find that object in a record, or undefined
 * when it does not exist. Kept beside the references, not on them, so that
 * the FieldRef shape stays as it is.
 */
const HOLDERS = new WeakMap<FieldRef, (r: OpenCDCRecord) => Record<string, unknown> | undefined>();

function holds(holder: (r: OpenCDCRecord) => Record<string, unknown> | undefined, ref: FieldRef): FieldRef {
  HOLDERS.set(ref, holder);
  return ref;
}

/** True for the references {@link renameField} takes: a metadata key or a field inside structured data. */
export function isRenamable(ref: FieldRef): boolean {
  return HOLDERS.has(ref);
}

/**
 * Renames the field a reference names, keeping its value, in the same object:
 * `.Metadata.a` to metadata key `b`, `.Payload.After.user.name` to
 * `.Payload.After.user.<name>`. Nothing is created: when the field (or the
 * object holding it) does not exist, the record is left as it is and the
 * result is false.
 *
 * @example
 * renameField(parseFieldRef('.Payload.After.foo'), record, 'bar'); // {foo: 1} becomes {bar: 1}
 *
 * @throws FieldRefError when the new name is already taken, when the path runs
 *   through raw data or a non-object, or for a reference that is not a metadata
 *   key or a nested field (see {@link isRenamable}).
 */
export function renameField(ref: FieldRef, record: OpenCDCRecord, name: string): boolean {
  const holder = HOLDERS.get(ref);
  if (holder === undefined) {
    throw new FieldRefError(ref.text, 'only a metadata key or a field inside structured data can be renamed');
  }
  const obj = holder(record);
  const old = ref.fields[ref.fields.length - 1] as string;
  if (obj === undefined || !Object.hasOwn(obj, old)) return false;
  if (name === old) return true;
  if (Object.hasOwn(obj, name)) {
    throw new FieldRefError(ref.text, `cannot rename to ${JSON.stringify(name)}: that field already exists`);
  }
  obj[name] = obj[old];
  delete obj[old];
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (v instanceof Uint8Array) return 'raw bytes';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'string') return `a string`;
  return `a ${typeof v}`;
}
