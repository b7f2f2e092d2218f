/**
 * The code that runs inside the script's context before the script itself:
 * Conduit's helpers (`Record`, `RawData`, `StructuredData`, `logger`), a
 * `console`, and the loop that turns host records into script records and the
 * script's results back into primitives the host reads.
 *
 * Isolation rule: the script never holds an object of the host realm. A host
 * object would lead it to the host's `Function` (`o.constructor.constructor`)
 * and from there to `process`. So:
 * - host records are read here, with intrinsics captured before the script
 *   ran (the script may replace `Object.keys` or `Uint8Array.prototype.set`,
 *   never the captured ones), and rebuilt as objects of this realm;
 * - results leave as primitives (strings, numbers; structured data as JSON
 *   text) written into a host array, plus byte arrays created here, which
 *   the host reads through its own intrinsics; the host never
 *   touches an object the script could have shaped, so no script code (a
 *   getter, a proxy trap) runs outside the time budget;
 * - host functions (the log sink, `require` when allowed) stay in closures;
 *   the script gets wrappers of this realm, and a host exception never
 *   reaches it.
 *
 * The source is a string so that it is evaluated in the context as written.
 * It is strict mode: a callee cannot reach its strict caller (`f.caller`).
 */
export const BRIDGE_SOURCE = String.raw`(function install(host, box) {
  'use strict';
  const ObjectKeys = Object.keys;
  const ObjectCreate = Object.create;
  const ObjectDefineProperty = Object.defineProperty;
  const ObjectGetPrototypeOf = Object.getPrototypeOf;
  const ObjectSetPrototypeOf = Object.setPrototypeOf;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectPrototype = Object.prototype;
  const ObjectPrototypeToString = Object.prototype.toString;
  const ObjectPrototypeHasOwn = Object.prototype.hasOwnProperty;
  const ReflectApply = Reflect.apply;
  const ArrayIsArray = Array.isArray;
  const ArrayBufferIsView = ArrayBuffer.isView;
  const U8 = Uint8Array;
  const I32 = Int32Array;
  const DateCtor = Date;
  const DateGetTime = Date.prototype.getTime;
  const ErrorCtor = Error;
  const StringCtor = String;
  const StringFromCharCode = String.fromCharCode;
  const StringCharCodeAt = String.prototype.charCodeAt;
  const StringIndexOf = String.prototype.indexOf;
  const StringSlice = String.prototype.slice;
  const StringSplit = String.prototype.split;
  const NumberIsFinite = Number.isFinite;
  const JSONStringify = JSON.stringify;
  const BigIntToString = BigInt.prototype.toString;
  const TypedArrayProto = ObjectGetPrototypeOf(U8.prototype);
  const TypedArrayTag = ObjectGetOwnPropertyDescriptor(TypedArrayProto, Symbol.toStringTag).get;
  const TypedArrayLength = ObjectGetOwnPropertyDescriptor(TypedArrayProto, 'length').get;
  const TypedArrayBuffer = ObjectGetOwnPropertyDescriptor(TypedArrayProto, 'buffer').get;
  const TypedArrayByteOffset = ObjectGetOwnPropertyDescriptor(TypedArrayProto, 'byteOffset').get;
  const TypedArrayByteLength = ObjectGetOwnPropertyDescriptor(TypedArrayProto, 'byteLength').get;
  const DataViewProto = DataView.prototype;
  const DataViewBuffer = ObjectGetOwnPropertyDescriptor(DataViewProto, 'buffer').get;
  const DataViewByteOffset = ObjectGetOwnPropertyDescriptor(DataViewProto, 'byteOffset').get;
  const DataViewByteLength = ObjectGetOwnPropertyDescriptor(DataViewProto, 'byteLength').get;
  const hostObjectProto = host.objectProto;
  const hostDateProto = host.dateProto;
  const hostLog = host.log;
  const hostRequire = host.require;
  const logLevels = host.levels;
  const allowed = host.allowed;
  const filename = host.filename;
  const MAX_DEPTH = 200;
  const OPERATIONS = { create: true, update: true, delete: true, snapshot: true };

  function define(name, value, locked) {
    ObjectDefineProperty(globalThis, name, { value: value, writable: !locked, configurable: !locked, enumerable: false });
  }

  // ---- UTF-8, without TextEncoder (not part of the language) ----------------------------------

  function utf8Encode(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = ReflectApply(StringCharCodeAt, s, [i]);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = ReflectApply(StringCharCodeAt, s, [i + 1]);
        if (d >= 0xdc00 && d <= 0xdfff) { n += 4; i++; } else n += 3;
      } else n += 3;
    }
    const out = new U8(n);
    let j = 0;
    for (let i = 0; i < s.length; i++) {
      let c = ReflectApply(StringCharCodeAt, s, [i]);
      if (c < 0x80) { out[j++] = c; continue; }
      if (c < 0x800) { out[j++] = 0xc0 | (c >> 6); out[j++] = 0x80 | (c & 63); continue; }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = ReflectApply(StringCharCodeAt, s, [i + 1]);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[j++] = 0xf0 | (c >> 18); out[j++] = 0x80 | ((c >> 12) & 63);
          out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
          continue;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as Go writes it
      out[j++] = 0xe0 | (c >> 12); out[j++] = 0x80 | ((c >> 6) & 63); out[j++] = 0x80 | (c & 63);
    }
    return out;
  }

  function utf8Decode(b) {
    let s = '';
    const n = ReflectApply(TypedArrayLength, b, []);
    for (let i = 0; i < n; ) {
      const c = b[i];
      let cp = 0xfffd;
      let len = 1;
      if (c < 0x80) cp = c;
      else if (c >= 0xc2 && c < 0xe0 && i + 1 < n && (b[i + 1] & 0xc0) === 0x80) {
        cp = ((c & 31) << 6) | (b[i + 1] & 63); len = 2;
      } else if (c >= 0xe0 && c < 0xf0 && i + 2 < n && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80) {
        cp = ((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63); len = 3;
        if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
      } else if (c >= 0xf0 && c < 0xf5 && i + 3 < n && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80 && (b[i + 3] & 0xc0) === 0x80) {
        cp = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63); len = 4;
        if (cp < 0x10000 || cp > 0x10ffff) cp = 0xfffd;
      }
      if (cp >= 0x10000) { cp -= 0x10000; s += StringFromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 1023)); }
      else s += StringFromCharCode(cp);
      i += len;
    }
    return s;
  }

  // ---- Conduit's helpers ------------------------------------------------------------------------

  /** A new record, as Conduit's Record(): metadata is always there. Works with and without new. */
  function Record() {
    return { Position: new U8(0), Operation: 'create', Metadata: {}, Key: null, Payload: { Before: null, After: null } };
  }
  /** Raw data: the UTF-8 bytes of the argument (none without one), as Conduit's RawData(). */
  function RawData(s) {
    if (s === undefined || s === null) return new U8(0);
    if (ArrayBufferIsView(s)) return new U8(viewBytes(s));
    return utf8Encode(StringCtor(s));
  }
  /** Structured data: a plain object; with an argument, a shallow copy of it. */
  function StructuredData(init) {
    const o = {};
    if (init !== null && typeof init === 'object') {
      const ks = ObjectKeys(init);
      for (let i = 0; i < ks.length; i++) o[ks[i]] = init[ks[i]];
    }
    return o;
  }

  // ---- logging ----------------------------------------------------------------------------------

  function emit(level, msg, fields) {
    if (!logLevels[level]) return;
    let json = '';
    try {
      json = fields === null ? '' : JSONStringify(fields, (k, v) => (typeof v === 'bigint' ? ReflectApply(BigIntToString, v, []) : v));
    } catch (e) {
      json = '';
    }
    try {
      hostLog(level, StringCtor(msg), json);
    } catch (e) {
      // A host failure (even a stack overflow at the call) must not hand the script a host error.
      throw new ErrorCtor('the logger failed');
    }
  }

  function sprintf(format, args) {
    let i = 0;
    let out = '';
    const f = StringCtor(format);
    for (let p = 0; p < f.length; p++) {
      const ch = f[p];
      if (ch !== '%' || p + 1 >= f.length) { out += ch; continue; }
      const verb = f[++p];
      if (verb === '%') { out += '%'; continue; }
      out += i < args.length ? show(args[i++]) : '%!' + verb + '(MISSING)';
    }
    return out;
  }

  function show(v) {
    if (typeof v === 'string') return v;
    if (v !== null && typeof v === 'object' && !(v instanceof ErrorCtor)) {
      try { return JSONStringify(v); } catch (e) { /* fall through */ }
    }
    return StringCtor(v);
  }

  /** A zerolog-like event: logger.Info().Str('k', 'v').Msg('text'). */
  function event(level) {
    const fields = {};
    const ev = {
      Str(k, v) { fields[StringCtor(k)] = StringCtor(v); return ev; },
      Int(k, v) { fields[StringCtor(k)] = v; return ev; },
      Int64(k, v) { fields[StringCtor(k)] = v; return ev; },
      Float64(k, v) { fields[StringCtor(k)] = v; return ev; },
      Bool(k, v) { fields[StringCtor(k)] = !!v; return ev; },
      Any(k, v) { fields[StringCtor(k)] = v; return ev; },
      Interface(k, v) { fields[StringCtor(k)] = v; return ev; },
      Err(e) { fields.error = e === null || e === undefined ? null : StringCtor(e && e.message !== undefined ? e.message : e); return ev; },
      Msg(m) { emit(level, m === undefined ? '' : m, fields); },
      Msgf(f, ...args) { emit(level, sprintf(f, args), fields); },
      Send() { emit(level, '', fields); },
      Enabled() { return !!logLevels[level]; },
    };
    return ev;
  }

  const logger = {
    Trace: () => event('trace'),
    Debug: () => event('debug'),
    Info: () => event('info'),
    Warn: () => event('warn'),
    Error: () => event('error'),
    Err: (e) => event('error').Err(e),
  };
  function consoleAt(level) {
    return (...args) => {
      let msg = '';
      for (let i = 0; i < args.length; i++) msg += (i > 0 ? ' ' : '') + show(args[i]);
      emit(level, msg, null);
    };
  }
  const console = {
    log: consoleAt('info'), info: consoleAt('info'), debug: consoleAt('debug'), trace: consoleAt('trace'),
    warn: consoleAt('warn'), error: consoleAt('error'),
  };

  function require(name) {
    const n = StringCtor(name);
    const bare = ReflectApply(StringIndexOf, n, ['node:']) === 0 ? ReflectApply(StringSlice, n, [5]) : n;
    if (hostRequire === null || !allowed[bare]) {
      throw new ErrorCtor('require("' + n + '") is not allowed: the script runs in a sandbox; an operator can allow a module with the sandbox.allow parameter');
    }
    return hostRequire(bare);
  }

  /** The UTF-8 parts of the web's TextEncoder and TextDecoder, for scripts that read raw data as text. */
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(s) { return utf8Encode(s === undefined ? '' : StringCtor(s)); }
  }
  class TextDecoder {
    get encoding() { return 'utf-8'; }
    decode(b) { return b === undefined || b === null ? '' : utf8Decode(viewBytes(b)); }
  }

  const module = { exports: {} };
  define('Record', Record, false);
  define('RawData', RawData, false);
  define('StructuredData', StructuredData, false);
  define('logger', logger, false);
  define('console', console, false);
  define('require', require, false);
  define('TextEncoder', TextEncoder, false);
  define('TextDecoder', TextDecoder, false);
  define('module', module, false);
  define('exports', module.exports, false);
  if (host.fetch !== null) define('fetch', host.fetch, false);
  if (host.process !== null) define('process', host.process, false);

  // ---- host records → script records ------------------------------------------------------------

  // The raw bytes (position, key, before, after) of the batch's records, laid out by the host (see layout in
  // sandbox.ts) in box.pristine, parts starting at multiples of 4: each call copies them into ONE array of
  // this realm, the arena, and each record gets a view of its part: one allocation per call instead of one
  // per field. A view's buffer is the whole arena, so a script may write into another record's part; every
  // view handed back is compared with the pristine bytes (which the script never sees) when its record's
  // result is written, so such a write is seen as a change, never lost.
  let arena = null; // Uint8Array: the batch's raw bytes, as the script may have changed them
  let arenaBuffer = null; // its ArrayBuffer
  let arenaW = null; // the same bytes as 32-bit words
  let pristine = null; // the host's Uint8Array, as laid out
  let pristineW = null; // the host's Int32Array over it
  // Per field s = 4i + f of record i (f: 0 position, 1 key, 2 before, 3 after), host Int32Arrays: where its
  // part starts (-1: not raw bytes; -2: bytes the arena does not hold, copied on their own) and its length.
  let partAt = null;
  let partLen = null;

  /** Copies the batch's raw bytes into a new arena: every call gets its own, as the host laid them out. */
  function prepare() {
    pristine = box.pristine;
    pristineW = box.pristineW;
    partAt = box.partAt;
    partLen = box.partLen;
    arena = new U8(pristine);
    arenaBuffer = ReflectApply(TypedArrayBuffer, arena, []);
    arenaW = new I32(arenaBuffer);
  }

  /** The script's bytes for field s with host value h: a view of its part of the arena. */
  function rawIn(h, s) {
    const at = partAt[s];
    if (at >= 0) return new U8(arenaBuffer, at, partLen[s]);
    if (at === -2) return new U8(h);
    return null;
  }

  function dataIn(d, s) {
    const v = rawIn(d, s);
    if (v !== null) return v;
    if (d === null || d === undefined) return null;
    return valueIn(d, 0);
  }

  function valueIn(v, depth) {
    if (v === null || typeof v !== 'object') return v;
    if (depth > MAX_DEPTH) throw new ErrorCtor('record data nested more than ' + MAX_DEPTH + ' levels');
    if (ArrayIsArray(v)) {
      const n = v.length;
      const a = new Array(n);
      for (let i = 0; i < n; i++) a[i] = valueIn(v[i], depth + 1);
      return a;
    }
    const p = ObjectGetPrototypeOf(v);
    if (p !== hostObjectProto && p !== null) {
      if (ArrayBufferIsView(v)) return new U8(v);
      if (p === hostDateProto) return new DateCtor(ReflectApply(DateGetTime, v, []));
    }
    const o = {};
    const ks = ObjectKeys(v);
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i];
      if (k === '__proto__') ObjectDefineProperty(o, k, { value: valueIn(v[k], depth + 1), writable: true, enumerable: true, configurable: true });
      else o[k] = valueIn(v[k], depth + 1);
    }
    return o;
  }

  // The batch's metadata, flattened by the host (sandbox.ts): box.meta holds key, value, key, value …
  // (strings only), record i's from box.metaAt[i] to box.metaAt[i + 1].
  let meta = null;
  let metaAt = null;

  // Metadata objects come from a constructor, not {}: V8 then sizes them for the keys they get (slack
  // tracking), instead of growing a property store key by key. Their prototype is still Object.prototype.
  function Metadata() {}
  Metadata.prototype = ObjectPrototype;

  function metadataIn(i) {
    const o = new Metadata();
    const end = metaAt[i + 1];
    for (let j = metaAt[i]; j < end; j += 2) {
      const k = meta[j];
      if (k === '__proto__') ObjectDefineProperty(o, k, { value: meta[j + 1], writable: true, enumerable: true, configurable: true });
      else o[k] = meta[j + 1];
    }
    return o;
  }

  // What the script was given for input record i: origin[5i] its position, then key, before, after (byte
  // arrays or not) and the metadata object. A result that gives bytes back unchanged refers to the input's
  // own (see reused); metadata given back with keys only added or changed travels as those keys (metadataDelta).
  // Without a prototype: a write past its end meets no setter the script put on Array.prototype.
  const origin = ObjectSetPrototypeOf([], null);

  // The wire: a host array of primitives (strings, numbers, null) the host reads results from (see
  // sandbox.ts), and the next index to write. Set at the start of each batch.
  let w = [];
  let nw = 0;

  function recordIn(r, i) {
    const p = r.payload;
    const s = 4 * i;
    let position = rawIn(r.position, s);
    if (position === null) position = new U8(0);
    const key = dataIn(r.key, s + 1);
    const before = dataIn(p.before, s + 2);
    const after = dataIn(p.after, s + 3);
    const metadata = metadataIn(i);
    const o = 5 * i;
    origin[o] = position;
    origin[o + 1] = key;
    origin[o + 2] = before;
    origin[o + 3] = after;
    origin[o + 4] = metadata;
    return {
      Position: position,
      Operation: r.operation,
      Metadata: metadata,
      Key: key,
      Payload: { Before: before, After: after },
    };
  }

  /**
   * True when v is the array the script was given for field f of input i, with the same bytes as the input:
   * the host then keeps the input's own bytes. Compared, not trusted: the script may have changed the array
   * (or, through its buffer, another record's).
   */
  function reused(v, i, f) {
    if (i < 0 || v === null || v === undefined) return false;
    if (origin[5 * i + f] !== v) return false;
    const s = 4 * i + f;
    const at = partAt[s];
    if (at < 0) return false;
    const n = partLen[s];
    if (ReflectApply(TypedArrayLength, v, []) !== n) return false; // its buffer is gone
    // Words, four at a time (a third of the time of a byte loop), then the last bytes.
    const a = arenaW;
    const b = pristineW;
    const end = (at + n) >> 2;
    let j = at >> 2;
    for (; j + 4 <= end; j += 4) {
      if (((a[j] ^ b[j]) | (a[j + 1] ^ b[j + 1]) | (a[j + 2] ^ b[j + 2]) | (a[j + 3] ^ b[j + 3])) !== 0) return false;
    }
    for (; j < end; j++) if (a[j] !== b[j]) return false;
    for (let k = end << 2; k < at + n; k++) if (arena[k] !== pristine[k]) return false;
    return true;
  }

  // ---- script results → JSON text + bytes --------------------------------------------------------

  // Tags for values JSON cannot hold; the host turns them back (see sandbox.ts).
  const TAG_BYTES = '\u0000b';
  const TAG_BIGINT = '\u0000n';
  const TAG_DATE = '\u0000d';
  const TAG_FLOAT = '\u0000f';

  function FieldError(path, message) {
    const e = new ErrorCtor('field ' + path + ': ' + message);
    e.conduitField = path;
    return e;
  }

  let tagged = false;

  /** Bytes of a typed array, DataView or ArrayBuffer, copied so later changes by the script do not count. */
  function viewBytes(v) {
    if (ArrayBufferIsView(v)) {
      let buf, off, len;
      try {
        buf = ReflectApply(TypedArrayBuffer, v, []);
        off = ReflectApply(TypedArrayByteOffset, v, []);
        len = ReflectApply(TypedArrayByteLength, v, []);
      } catch (e) {
        buf = ReflectApply(DataViewBuffer, v, []);
        off = ReflectApply(DataViewByteOffset, v, []);
        len = ReflectApply(DataViewByteLength, v, []);
      }
      return new U8(new U8(buf, off, len));
    }
    return new U8(new U8(v));
  }

  const ArrayBufferProto = ArrayBuffer.prototype;
  const SharedArrayBufferProto = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer.prototype : null;
  function isArrayBuffer(v) {
    const p = ObjectGetPrototypeOf(v);
    return p === ArrayBufferProto || (p !== null && p === SharedArrayBufferProto);
  }

  function bytesRef(v) {
    const i = box.nbytes++;
    box.bytes[i] = viewBytes(v);
    return i;
  }

  function bytesOut(v, path) {
    if (v === null || v === undefined) return bytesRef(new U8(0));
    if (typeof v === 'string') return bytesRef(utf8Encode(v));
    if (ArrayBufferIsView(v) || (typeof v === 'object' && isArrayBuffer(v))) return bytesRef(v);
    if (ArrayIsArray(v)) {
      const n = v.length;
      const b = new U8(n);
      for (let i = 0; i < n; i++) {
        const x = v[i];
        if (typeof x !== 'number' || x < 0 || x > 255 || x !== (x | 0)) throw FieldError(path + '[' + i + ']', 'expected a byte (0-255), got ' + kind(x));
        b[i] = x;
      }
      return bytesRef(b);
    }
    throw FieldError(path, 'expected bytes (RawData) or a string, got ' + kind(v));
  }

  function kind(v) {
    if (v === null) return 'null';
    if (v === undefined) return 'undefined';
    if (ArrayIsArray(v)) return 'an array';
    if (typeof v === 'object') return 'an object';
    if (typeof v === 'string') return 'the string ' + JSONStringify(v);
    return 'a ' + typeof v;
  }

  function dataOut(d, path) {
    if (d === null || d === undefined) return null;
    if (typeof d === 'string') return bytesRef(utf8Encode(d));
    if (typeof d !== 'object') throw FieldError(path, 'expected RawData, StructuredData or null, got ' + kind(d));
    if (ArrayBufferIsView(d) || isArrayBuffer(d)) return bytesRef(d);
    if (ArrayIsArray(d)) throw FieldError(path, 'expected RawData, StructuredData or null, got an array');
    keyPath.length = 0;
    try {
      return objectCopy(d, 0);
    } catch (e) {
      if (e === PATH) throw FieldError(path + keyPath.join(''), pathProblem);
      throw e;
    }
  }

  // The path of the value being copied, kept as segments and only joined for an error message.
  const keyPath = [];
  const PATH = {};
  let pathProblem = '';
  function fail(depth, segment, problem) {
    keyPath.length = depth;
    keyPath[depth] = segment;
    pathProblem = problem;
    throw PATH;
  }

  function tag(name, value) {
    tagged = true;
    const t = {};
    t[name] = value;
    return t;
  }

  /** A copy that JSON can hold: plain objects and arrays, with tags for what it cannot. */
  function objectCopy(o, depth) {
    const ks = ObjectKeys(o);
    const c = {};
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i];
      let v;
      try {
        v = valueCopy(o[k], depth + 1);
      } catch (e) {
        if (e === PATH && keyPath[depth] === undefined) keyPath[depth] = '.' + k;
        throw e;
      }
      if (k === '__proto__') ObjectDefineProperty(c, k, { value: v, writable: true, enumerable: true, configurable: true });
      else c[k] = v;
    }
    return c;
  }

  function valueCopy(v, depth) {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return NumberIsFinite(v) ? v : tag(TAG_FLOAT, StringCtor(v));
      case 'undefined':
        return null;
      case 'bigint':
        return tag(TAG_BIGINT, ReflectApply(BigIntToString, v, []));
      case 'object':
        break;
      default:
        return fail(depth, '', 'a ' + typeof v + ' cannot be stored in a record');
    }
    if (v === null) return null;
    if (depth > MAX_DEPTH) return fail(depth, '', 'nested more than ' + MAX_DEPTH + ' levels (is it a cycle?)');
    if (ArrayIsArray(v)) {
      const n = v.length;
      const a = new Array(n);
      for (let i = 0; i < n; i++) {
        try {
          a[i] = valueCopy(v[i], depth + 1);
        } catch (e) {
          if (e === PATH && keyPath[depth] === undefined) keyPath[depth] = '[' + i + ']';
          throw e;
        }
      }
      return a;
    }
    if (ArrayBufferIsView(v)) {
      let t = '';
      try { t = ReflectApply(TypedArrayTag, v, []); } catch (e) { t = 'DataView'; }
      if (t === 'Uint8Array' || t === 'Uint8ClampedArray' || t === 'DataView') return tag(TAG_BYTES, bytesRef(v));
      const n = ReflectApply(TypedArrayLength, v, []);
      const a = new Array(n);
      for (let i = 0; i < n; i++) a[i] = valueCopy(v[i], depth + 1);
      return a;
    }
    if (ReflectApply(ObjectPrototypeToString, v, []) === '[object Date]') {
      let t;
      try { t = ReflectApply(DateGetTime, v, []); } catch (e) { return fail(depth, '', 'not a real Date'); }
      if (!NumberIsFinite(t)) return fail(depth, '', 'an invalid Date');
      return tag(TAG_DATE, t);
    }
    return objectCopy(v, depth);
  }

  /** A metadata value as the host takes it: a string (numbers and booleans as text, null as ""). */
  function metadataValue(k, v) {
    if (v !== null && typeof v === 'object') throw FieldError('.Metadata.' + k, 'expected a string, got ' + kind(v));
    if (typeof v === 'function' || typeof v === 'symbol') throw FieldError('.Metadata.' + k, 'expected a string, got a ' + typeof v);
    return typeof v === 'string' ? v : v === null ? '' : StringCtor(v);
  }

  /** The whole metadata into the wire: 1, the number of keys, then key, value, key, value … */
  function metadataOut(m) {
    w[nw++] = 1;
    const at = nw;
    w[nw++] = 0;
    if (m === null || m === undefined) return;
    if (typeof m !== 'object' || ArrayIsArray(m)) throw FieldError('.Metadata', 'expected an object of strings, got ' + kind(m));
    const ks = ObjectKeys(m);
    let count = 0;
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i];
      const v = m[k];
      if (v === undefined) continue;
      w[nw++] = k;
      w[nw++] = metadataValue(k, v);
      count++;
    }
    w[at] = count;
  }

  /**
   * When m is the metadata object given for input i and still holds every key of the input's metadata:
   * writes 0, then only the keys added or changed (often none), as metadataOut, and returns true; the host
   * applies them to the input's metadata. Else false (what it wrote is to be overwritten). The input's keys
   * come first in m, in the order given (a key the script deleted, or an index-like key it added, breaks
   * that order: the whole metadata goes); values are strings, compared by identity.
   */
  function metadataDelta(m, i) {
    if (i < 0 || m !== origin[5 * i + 4] || m === null || typeof m !== 'object') return false;
    // for-in lists the same keys as Object.keys, without an array per record, as long as nothing enumerable is
    // inherited: m's prototype is still Object.prototype and the script added nothing enumerable to it.
    if (ObjectGetPrototypeOf(m) !== ObjectPrototype) return false;
    for (const k in PROBE) return false;
    const from = metaAt[i];
    const given = (metaAt[i + 1] - from) >> 1;
    w[nw++] = 0;
    const at = nw;
    w[nw++] = 0;
    let count = 0;
    let j = 0;
    for (const k in m) {
      const v = m[k];
      if (j < given) {
        if (k !== meta[from + 2 * j] || v === undefined) return false;
        j++;
        if (v === meta[from + 2 * j - 1]) continue;
      } else if (v === undefined) continue;
      w[nw++] = k;
      w[nw++] = metadataValue(k, v);
      count++;
    }
    if (j < given) return false;
    w[at] = count;
    return true;
  }
  /** An empty object of this realm: for-in over it lists what Object.prototype holds enumerable (normally nothing). */
  const PROBE = {};

  /** Data into the wire: null, a bytes index, or structured data as JSON text. */
  function dataWire(d, path) {
    const c = dataOut(d, path);
    w[nw++] = c !== null && typeof c === 'object' ? JSONStringify(c) : c;
  }

  /**
   * A record into the wire: position, operation, metadata (see metadataOut), key, before, after, tagged.
   * Data is null, a bytes index or JSON text; -1 (position), -2 (key), -3 (before), -4 (after) stand for
   * the bytes of input record i, unchanged. Tagged is 1 when JSON text holds tags (see TAG_BYTES).
   */
  function recordOut(r, path, i) {
    if (r === null || typeof r !== 'object' || ArrayIsArray(r)) {
      throw new ErrorCtor(path + 'expected a record (or null to filter it out), got ' + kind(r));
    }
    tagged = false;
    const op = r.Operation;
    if (typeof op !== 'string' || OPERATIONS[op] !== true) {
      throw FieldError('.Operation', 'unknown operation ' + (typeof op === 'string' ? JSONStringify(op) : kind(op)) + ' (expected create, update, delete or snapshot)');
    }
    w[nw++] = reused(r.Position, i, 0) ? -1 : bytesOut(r.Position, '.Position');
    w[nw++] = op;
    const md = r.Metadata;
    const mark = nw;
    if (!metadataDelta(md, i)) {
      nw = mark;
      metadataOut(md);
    }
    if (reused(r.Key, i, 1)) w[nw++] = -2;
    else dataWire(r.Key, '.Key');
    const p = r.Payload;
    if (p !== null && p !== undefined) {
      if (typeof p !== 'object') throw FieldError('.Payload', 'expected an object with Before and After, got ' + kind(p));
      const b = p.Before;
      const a = p.After;
      if (reused(b, i, 2)) w[nw++] = -3;
      else dataWire(b, '.Payload.Before');
      if (reused(a, i, 3)) w[nw++] = -4;
      else dataWire(a, '.Payload.After');
    } else {
      w[nw++] = null;
      w[nw++] = null;
    }
    w[nw++] = tagged ? 1 : 0;
  }

  /**
   * A result: "F" filtered, '{"e":msg,"f":field}' failed, or the index in the wire where its records
   * start: their number, then each record (see recordOut).
   */
  function resultOut(res, i) {
    if (res === null || res === undefined) return 'F';
    if (ArrayIsArray(res)) {
      const n = res.length;
      if (n === 0) return 'F';
      const at = nw;
      w[nw++] = n;
      for (let j = 0; j < n; j++) recordOut(res[j], 'element ' + j + ': ', i);
      return at;
    }
    if (res instanceof ErrorCtor) return failure(res);
    if (typeof res.then === 'function') {
      throw new ErrorCtor('the script returned a Promise: process and processBatch must return their results, not a Promise');
    }
    const at = nw;
    w[nw++] = 1;
    recordOut(res, '', i);
    return at;
  }

  function describe(e) {
    let msg;
    let field = '';
    try {
      if (e !== null && typeof e === 'object' && typeof e.message === 'string') {
        const name = typeof e.name === 'string' && e.name !== 'Error' ? e.name + ': ' : '';
        msg = name + e.message;
        if (typeof e.conduitField === 'string') field = e.conduitField;
        else msg = where(e) + msg;
      } else {
        msg = 'threw ' + show(e);
      }
    } catch (x) {
      msg = 'threw a value that cannot be shown';
    }
    return { msg: StringCtor(msg), field: field };
  }

  function failure(e) {
    const d = describe(e);
    return '{"e":' + JSONStringify(d.msg) + ',"f":' + JSONStringify(d.field) + '}';
  }

  /** "script.js:3:9: " from the first stack frame in the script, if any. */
  function where(e) {
    const stack = e.stack;
    if (typeof stack !== 'string') return '';
    const lines = ReflectApply(StringSplit, stack, ['\n']);
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      const at = ReflectApply(StringIndexOf, l, [filename + ':']);
      if (at < 0) continue;
      let end = at + filename.length + 1;
      while (end < l.length && ((l[end] >= '0' && l[end] <= '9') || l[end] === ':')) end++;
      return ReflectApply(StringSlice, l, [at, end]) + ': ';
    }
    return '';
  }

  // ---- the loops the host runs under the time budget ---------------------------------------------

  let entry = null;
  let batchEntry = null;

  /** After the script ran: find process / processBatch (globals, or module exports). */
  function bind() {
    let exp = module.exports;
    if (exp !== null && (typeof exp === 'object' || typeof exp === 'function')) {
      if (typeof exp.processBatch === 'function') batchEntry = exp.processBatch;
      else if (typeof exp.process === 'function') entry = exp.process;
      else if (typeof exp.default === 'function') entry = exp.default;
      else if (exp.default !== null && typeof exp.default === 'object') {
        if (typeof exp.default.processBatch === 'function') batchEntry = exp.default.processBatch;
        else if (typeof exp.default.process === 'function') entry = exp.default.process;
      }
    }
    const local = module.conduitLocal;
    if (entry === null && batchEntry === null && local !== undefined) {
      if (typeof local.processBatch === 'function') batchEntry = local.processBatch;
      else if (typeof local.process === 'function') entry = local.process;
    }
    if (entry === null && batchEntry === null) {
      if (typeof globalThis.processBatch === 'function') batchEntry = globalThis.processBatch;
      else if (typeof globalThis.process === 'function' && globalThis.process !== host.process) entry = globalThis.process;
    }
    box.mode = batchEntry !== null ? 'batch' : entry !== null ? 'record' : 'none';
  }

  /** One record at a time, from box.next; box.next moves past each finished record. */
  function runRecords() {
    const recs = box.input;
    const end = box.end;
    for (let i = box.next; i < end; i++) {
      let out;
      try {
        out = resultOut(entry(recordIn(recs[i], i)), i);
      } catch (e) {
        out = failure(e);
      }
      box.out[i] = out;
      box.next = i + 1;
    }
  }

  /** The whole batch in one call of processBatch(records). */
  function runBatch() {
    const recs = box.input;
    const n = box.end;
    let results;
    try {
      const arr = new Array(n);
      for (let i = 0; i < n; i++) arr[i] = recordIn(recs[i], i);
      results = batchEntry(arr);
    } catch (e) {
      const f = failure(e);
      for (let i = 0; i < n; i++) box.out[i] = f;
      box.next = n;
      return;
    }
    if (!ArrayIsArray(results) || results.length !== n) {
      const f = failure(new ErrorCtor('processBatch must return an array with one result per record (' + n + '), got ' + (ArrayIsArray(results) ? results.length + ' results' : kind(results))));
      for (let i = 0; i < n; i++) box.out[i] = f;
      box.next = n;
      return;
    }
    for (let i = 0; i < n; i++) {
      let out;
      try {
        out = resultOut(results[i], i);
      } catch (e) {
        out = failure(e);
      }
      box.out[i] = out;
    }
    box.next = n;
  }

  define('__conduit_bind__', bind, true);
  define('__conduit_describe__', () => {
    const e = box.thrown;
    box.thrown = null;
    box.described = describe(e).msg;
  }, true);
  define('__conduit_run__', () => {
    if (box.next === 0) {
      // A new batch: origin keeps its length (no regrowth per batch); entries are written before they are read.
      w = box.wire;
      nw = 0;
      meta = box.meta;
      metaAt = box.metaAt;
    }
    // Every call fills an arena of its own: a record run again after the watchdog stopped a call gets its
    // bytes as the input has them, whatever the stopped call did to the last arena.
    prepare();
    try {
      return batchEntry !== null ? runBatch() : runRecords();
    } finally {
      if (box.next >= box.end) {
        arena = arenaBuffer = arenaW = pristine = pristineW = partAt = partLen = meta = metaAt = null;
        for (let i = 5 * box.end - 1; i >= 0; i--) origin[i] = null; // the batch's arrays are not kept alive
      }
    }
  }, true);
})`;
