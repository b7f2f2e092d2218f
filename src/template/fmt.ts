/**
 * The parts of Go's `fmt` and `strconv` that templates reach: `Sprint`,
 * `Sprintln`, `Sprintf` with the common verbs and flags, float formatting
 * (`%v` of a float64 is `%g` with the shortest representation), and `%q`.
 */
import {
  ChangeView,
  dataValue,
  GoTime,
  MetadataView,
  NIL_DATA,
  OperationView,
  operationView,
  PositionView,
  RecordView,
  sortedKeys,
  typeName,
} from './values.js';
import { formatTime } from './time.js';

// ---------------------------------------------------------------- floats

interface Digits {
  /** significant decimal digits, no leading zeros ("" for zero) */
  d: string;
  /** decimal point position: value = 0.d × 10^dp */
  dp: number;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** x = m × 2^e exactly (x finite, non-negative). */
function decompose(x: number): { m: bigint; e: number } {
  f64[0] = x;
  const lo = u32[0]!;
  const hi = u32[1]!;
  const bexp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) {
    e = -1074;
  } else {
    m |= 1n << 52n;
    e = bexp - 1075;
  }
  return { m, e };
}

/** True when x × 10^s is exactly halfway between two integers. */
function isTie(x: number, s: number): boolean {
  if (x === 0) return false;
  const { m, e } = decompose(Math.abs(x));
  // 2·m·2^e·10^s as num/den
  let num = 2n * m;
  let den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  if (s >= 0) num *= 10n ** BigInt(s);
  else den *= 10n ** BigInt(-s);
  if (num % den !== 0n) return false;
  return (num / den) % 2n === 1n;
}

/** Go rounds half to even; JavaScript's toFixed/toExponential round half away from zero. */
function fixTie(s: string, tie: boolean): string {
  if (!tie) return s;
  const idx = s.search(/[eE]/);
  const mant = idx < 0 ? s : s.slice(0, idx);
  const last = mant.charCodeAt(mant.length - 1) - 48;
  if (last % 2 === 0) return s;
  return mant.slice(0, -1) + String(last - 1) + (idx < 0 ? '' : s.slice(idx));
}

/** Digits of |x|: shortest when prec < 0, else rounded to prec significant digits. */
function digitsOf(x: number, prec: number): Digits {
  const ax = Math.abs(x);
  if (ax === 0) return { d: '', dp: 0 };
  let s: string;
  if (prec < 0) {
    s = ax.toExponential();
  } else {
    const p = Math.max(prec, 1) - 1;
    s = ax.toExponential(p);
    const exp = Math.floor(Math.log10(ax));
    // check ties both at the estimated exponent and its neighbours
    const e10 = Number(s.slice(s.indexOf('e') + 1));
    void exp;
    s = fixTie(s, isTie(ax, p - e10));
  }
  const ei = s.indexOf('e');
  const mant = s.slice(0, ei).replace('.', '');
  const exp = Number(s.slice(ei + 1));
  let d = mant.replace(/0+$/, '');
  if (d === '') d = '0';
  return { d, dp: exp + 1 };
}

function fmtE(dg: Digits, prec: number, upper: boolean): string {
  let out = dg.d.length > 0 ? dg.d[0]! : '0';
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += i < dg.d.length ? dg.d[i]! : '0';
  }
  const exp = dg.d.length === 0 ? 0 : dg.dp - 1;
  const ae = Math.abs(exp);
  out += (upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + String(ae);
  return out;
}

function fmtF(dg: Digits, prec: number): string {
  let out = '';
  if (dg.dp > 0) {
    for (let i = 0; i < dg.dp; i++) out += i < dg.d.length ? dg.d[i]! : '0';
  } else {
    out = '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      const j = dg.dp + i;
      out += j >= 0 && j < dg.d.length ? dg.d[j]! : '0';
    }
  }
  return out;
}

function special(x: number): string | null {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return null;
}

/** strconv.FormatFloat(x, 'g', prec, 64) (prec -1 = shortest), without the sign handling of fmt. */
export function formatFloatG(x: number, prec = -1, upper = false): string {
  const sp = special(x);
  if (sp !== null) return sp;
  const neg = x < 0 || Object.is(x, -0);
  const dg = digitsOf(x, prec === 0 ? 1 : prec);
  let eprec = prec < 0 ? 6 : prec === 0 ? 1 : prec;
  if (prec >= 0 && eprec > dg.d.length && dg.d.length >= dg.dp) eprec = dg.d.length;
  const exp = dg.dp - 1;
  let body: string;
  if (dg.d.length > 0 && (exp < -4 || exp >= eprec)) {
    body = fmtE(dg, dg.d.length - 1, upper);
  } else {
    body = fmtF(dg, Math.max(dg.d.length - dg.dp, 0));
  }
  return (neg ? '-' : '') + body;
}

/** strconv.FormatFloat(x, 'e', prec, 64). */
export function formatFloatE(x: number, prec: number, upper = false): string {
  const sp = special(x);
  if (sp !== null) return sp;
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  let dg: Digits;
  if (ax === 0) dg = { d: '', dp: 0 };
  else {
    let s = ax.toExponential(prec);
    const e10 = Number(s.slice(s.indexOf('e') + 1));
    s = fixTie(s, isTie(ax, prec - e10));
    const ei = s.indexOf('e');
    dg = { d: s.slice(0, ei).replace('.', ''), dp: Number(s.slice(ei + 1)) + 1 };
  }
  return (neg ? '-' : '') + fmtE(dg, prec, upper);
}

/** strconv.FormatFloat(x, 'f', prec, 64). */
export function formatFloatF(x: number, prec: number): string {
  const sp = special(x);
  if (sp !== null) return sp;
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  let body: string;
  if (ax >= 1e21) {
    body = BigInt(ax).toString() + (prec > 0 ? '.' + '0'.repeat(prec) : '');
  } else if (prec > 100) {
    body = fmtF(digitsOf(ax, 17), prec);
  } else {
    body = fixTie(ax.toFixed(prec), isTie(ax, prec));
  }
  return (neg ? '-' : '') + body;
}

// ---------------------------------------------------------------- quoting

function isPrintable(cp: number): boolean {
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp >= 0x80 && cp < 0xa0) return false;
  if (cp === 0xad || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) return false;
  if (cp >= 0xd800 && cp < 0xe000) return false;
  if (cp >= 0xfff9 && cp <= 0xfffb) return false;
  if (cp > 0x10ffff) return false;
  return true;
}

function escapeRune(cp: number, quote: string, asciiOnly: boolean): string {
  if (cp === quote.charCodeAt(0)) return '\\' + quote;
  if (cp === 0x5c) return '\\\\';
  if (asciiOnly ? cp < 0x7f && cp >= 0x20 : isPrintable(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp >= 0xd800 && cp < 0xe000) return '\\ufffd';
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** strconv.Quote (or QuoteToASCII). */
export function quoteGo(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0)!, '"', asciiOnly);
  return out + '"';
}

export function quoteRune(cp: number, asciiOnly = false): string {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) cp = 0xfffd;
  return "'" + escapeRune(cp, "'", asciiOnly) + "'";
}

// ---------------------------------------------------------------- values

export function bytesToString(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** `%v` of a value (what `{{ x }}` and `print` produce). */
export function formatV(v: unknown, plus = false): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatFloatG(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return '<nil>';
    case 'symbol':
      return '<nil>';
    case 'function':
      return '0x' + '1';
  }
  return formatOne(v, 'v', { ...NO_FLAGS, plusV: plus }, 0);
}

interface Flags {
  plus: boolean;
  /** %+v: struct field names (the plus flag itself is cleared, as in Go) */
  plusV: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number;
  prec: number;
}

const NO_FLAGS: Flags = {
  plus: false,
  plusV: false,
  minus: false,
  sharp: false,
  space: false,
  zero: false,
  width: -1,
  prec: -1,
};

function pad(s: string, f: Flags, numeric: boolean): string {
  if (f.width < 0) return s;
  const n = [...s].length;
  if (n >= f.width) return s;
  const fill = f.width - n;
  if (f.minus) return s + ' '.repeat(fill);
  if (f.zero && numeric) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined || v === NIL_DATA) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatV(v)})`;
}

function signed(s: string, neg: boolean, f: Flags): string {
  if (neg) return '-' + s;
  if (f.plus) return '+' + s;
  if (f.space) return ' ' + s;
  return s;
}

function fmtInt(n: bigint, verb: string, f: Flags): string | null {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let s: string;
  switch (verb) {
    case 'v':
    case 'd':
      s = a.toString();
      break;
    case 'x':
      s = (f.sharp ? '0x' : '') + a.toString(16);
      break;
    case 'X':
      s = (f.sharp ? '0X' : '') + a.toString(16).toUpperCase();
      break;
    case 'o':
      s = (f.sharp ? '0' : '') + a.toString(8);
      break;
    case 'O':
      s = '0o' + a.toString(8);
      break;
    case 'b':
      s = a.toString(2);
      break;
    case 'c':
      return pad(String.fromCodePoint(Number(n) > 0x10ffff || n < 0n ? 0xfffd : Number(n)), f, false);
    case 'q':
      return pad(quoteRune(Number(n), f.plus), f, false);
    case 'U':
      s = 'U+' + a.toString(16).toUpperCase().padStart(4, '0');
      return pad(s, f, false);
    default:
      return null;
  }
  if (f.prec >= 0) {
    const digitsStart = s.startsWith('0x') || s.startsWith('0X') || s.startsWith('0o') ? 2 : 0;
    const body = s.slice(digitsStart);
    if (f.prec === 0 && a === 0n) s = '';
    else if (body.length < f.prec) s = s.slice(0, digitsStart) + '0'.repeat(f.prec - body.length) + body;
    return pad(signed(s, neg, f), { ...f, zero: false }, true);
  }
  return pad(signed(s, neg, f), f, true);
}

function fmtFloat(x: number, verb: string, f: Flags): string | null {
  let s: string;
  switch (verb) {
    case 'v':
    case 'g':
      s = formatFloatG(x, f.prec);
      break;
    case 'G':
      s = formatFloatG(x, f.prec, true);
      break;
    case 'e':
    case 'E':
      s = formatFloatE(x, f.prec < 0 ? 6 : f.prec, verb === 'E');
      break;
    case 'f':
    case 'F':
      s = formatFloatF(x, f.prec < 0 ? 6 : f.prec);
      break;
    default:
      return null;
  }
  if (f.sharp && (verb === 'v' || verb === 'g' || verb === 'G') && !s.includes('.') && !/[eEIN]/.test(s)) {
    s += '.';
  }
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  if (s === '+Inf') s = 'Inf';
  const isInfNaN = s === 'Inf' || s === 'NaN';
  const out = signed(s, neg, f);
  return pad(out, f, !isInfNaN);
}

function fmtString(s: string, verb: string, f: Flags): string | null {
  switch (verb) {
    case 'v':
    case 's':
      if (f.prec >= 0) s = [...s].slice(0, f.prec).join('');
      return pad(s, f, false);
    case 'q':
      if (f.sharp && !/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(s)) return pad('`' + s + '`', f, false);
      return pad(quoteGo(s, f.plus), f, false);
    case 'x':
    case 'X': {
      let h = Buffer.from(s, 'utf8').toString('hex');
      if (verb === 'X') h = h.toUpperCase();
      return pad(h, f, false);
    }
    default:
      return null;
  }
}

/** Formats one operand for one verb, recursing into containers like fmt does. */
export function formatOne(v: unknown, verb: string, f: Flags, depth: number): string {
  if (v === null || v === undefined || v === NIL_DATA) {
    return verb === 'v' ? pad('<nil>', f, false) : badVerb(verb, v);
  }
  switch (typeof v) {
    case 'string':
      return fmtString(v, verb, f) ?? badVerb(verb, v);
    case 'boolean':
      return verb === 'v' || verb === 't' ? pad(v ? 'true' : 'false', f, false) : badVerb(verb, v);
    case 'bigint':
      return fmtInt(v, verb, f) ?? badVerb(verb, v);
    case 'number':
      return fmtFloat(v, verb, f) ?? badVerb(verb, v);
    case 'function':
      return verb === 'v' || verb === 'p' ? '0x1' : badVerb(verb, v);
  }
  // Stringers
  const stringVerb = verb === 'v' || verb === 's' || verb === 'x' || verb === 'X' || verb === 'q';
  if (v instanceof OperationView) {
    if (stringVerb) return fmtString(v.String(), verb, f)!;
    return fmtInt(BigInt(v.code), verb, f) ?? badVerb(verb, v);
  }
  if (v instanceof PositionView) {
    if (stringVerb) return fmtString(v.String(), verb, f)!;
    return fmtBytes(v.bytes, verb, f, depth);
  }
  if (v instanceof GoTime || v instanceof Date) {
    const t = v instanceof Date ? GoTime.fromDate(v) : v;
    if (stringVerb) return fmtString(formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST'), verb, f)!;
    return badVerb(verb, v);
  }
  if (v instanceof Uint8Array) return fmtBytes(v, verb, f, depth);
  if (Array.isArray(v)) {
    return '[' + v.map((e) => formatOne(e, verb, f, depth + 1)).join(' ') + ']';
  }
  if (v instanceof RecordView) {
    const r = v.record;
    const fields: [string, unknown][] = [
      ['Position', new PositionView(r.position)],
      ['Operation', operationView(r.operation)],
      ['Metadata', new MetadataView(r.metadata)],
      ['Key', dataValue(r.key)],
      ['Payload', new ChangeView(r.payload)],
      ['serializer', null],
    ];
    return fmtStruct(fields, verb, f, depth);
  }
  if (v instanceof ChangeView) {
    return fmtStruct(
      [
        ['Before', dataValue(v.change.before)],
        ['After', dataValue(v.change.after)],
      ],
      verb,
      f,
      depth,
    );
  }
  const m = v instanceof MetadataView ? v.map : (v as Record<string, unknown>);
  let out = 'map[';
  let first = true;
  for (const k of sortedKeys(m)) {
    if (!first) out += ' ';
    first = false;
    out += formatOne(k, verb, f, depth + 1) + ':' + formatOne(m[k], verb, f, depth + 1);
  }
  return out + ']';
}

function fmtStruct(fields: [string, unknown][], verb: string, f: Flags, depth: number): string {
  return (
    '{' + fields.map(([name, val]) => (f.plusV ? name + ':' : '') + formatOne(val, verb, f, depth + 1)).join(' ') + '}'
  );
}

function fmtBytes(b: Uint8Array, verb: string, f: Flags, depth: number): string {
  switch (verb) {
    case 's':
    case 'q':
      return fmtString(bytesToString(b), verb, f)!;
    case 'x':
    case 'X': {
      let h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
      if (verb === 'X') h = h.toUpperCase();
      return pad(h, f, false);
    }
    default: {
      const parts: string[] = [];
      for (const x of b) parts.push(formatOne(BigInt(x), verb, f, depth + 1));
      return '[' + parts.join(' ') + ']';
    }
  }
}

// ---------------------------------------------------------------- Sprint & co

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = '';
  let prevString = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const isStr = typeof a === 'string';
    if (i > 0 && !isStr && !prevString) out += ' ';
    out += formatV(a);
    prevString = isStr;
  }
  return out;
}

/** fmt.Sprintln: spaces between all operands and a final newline. */
export function sprintln(args: readonly unknown[]): string {
  return args.map((a) => formatV(a)).join(' ') + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argi = 0;
  const n = format.length;
  let i = 0;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Flags = { ...NO_FLAGS };
    // flags
    for (; i < n; i++) {
      const c = format[i];
      if (c === '+') f.plus = true;
      else if (c === '-') f.minus = true;
      else if (c === '#') f.sharp = true;
      else if (c === ' ') f.space = true;
      else if (c === '0') f.zero = !f.minus;
      else break;
    }
    // width
    if (format[i] === '*') {
      const a = args[argi++];
      f.width = typeof a === 'bigint' ? Number(a) : 0;
      if (f.width < 0) {
        f.minus = true;
        f.width = -f.width;
      }
      i++;
    } else {
      const m = /^\d+/.exec(format.slice(i, i + 10));
      if (m) {
        f.width = Number(m[0]);
        i += m[0].length;
      }
    }
    // precision
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        const a = args[argi++];
        f.prec = typeof a === 'bigint' ? Number(a) : 0;
        i++;
      } else {
        const m = /^\d+/.exec(format.slice(i, i + 10));
        f.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const cp = format.codePointAt(i)!;
    const verb = String.fromCodePoint(cp);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[argi++];
    if (verb === 'T') {
      out += pad(a === null || a === undefined ? '<nil>' : typeName(a), f, false);
      continue;
    }
    if (verb === 'v' && f.sharp) f.sharp = false; // %#v (Go syntax) is approximated by %v
    if (verb === 'v' && f.plus) {
      f.plus = false;
      f.plusV = true;
    }
    out += formatOne(a, verb, f, 0);
  }
  if (argi < args.length) {
    out +=
      '%!(EXTRA ' +
      args
        .slice(argi)
        .map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${formatV(a)}`))
        .join(', ') +
      ')';
  }
  return out;
}
