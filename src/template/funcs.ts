/**
 * The function table: Go's text/template builtins plus the sprig functions
 * that Conduit pipelines use. Each function declares Go parameter types so
 * that argument checking matches Go (`wrong type for value; expected string;
 * got float64`), and arity is checked at call time like Go does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { bytesToString, formatV, quoteGo, sprint, sprintf, sprintln } from './fmt.js';
import { JsonError, marshalJson } from './json.js';
import { formatTime, parseTime, ZERO_TIME } from './time.js';
import {
  byteLength,
  ChangeView,
  compareGoStrings,
  GoTime,
  isAscii,
  isPlainMap,
  isTrue,
  MetadataView,
  NIL_DATA,
  OperationView,
  PositionView,
  RecordView,
  typeName,
} from './values.js';

/** Go parameter types the call machinery converts arguments to. */
export type ParamType = 'any' | 'value' | 'string' | 'int' | 'bool' | 'map' | 'time';

export interface FuncDef {
  params: readonly ParamType[];
  variadic?: ParamType;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fn: (...args: any[]) => unknown;
}

/** An error returned (or a panic raised) by a template function. */
export class FuncError extends Error {}

const fail = (msg: string): never => {
  throw new FuncError(msg);
};

// ---------------------------------------------------------------- comparison

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid' | 'other';

function basicKind(v: unknown): BasicKind {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'string';
    case 'undefined':
    case 'symbol':
      return 'invalid';
  }
  if (v === null) return 'invalid';
  if (v instanceof OperationView) return 'int';
  return 'other';
}

function num(v: unknown): number | bigint {
  if (v instanceof OperationView) return BigInt(v.code);
  return v as number | bigint;
}

const ERR_BAD_COMPARISON = 'incompatible types for comparison';
const ERR_BAD_COMPARISON_TYPE = 'invalid type for comparison';

/**
 * Go's `eq` for two values. One deliberate leniency: an int and a float64
 * compare by value instead of failing with "incompatible types", because a
 * JavaScript connector cannot say whether its number was an int or a float.
 */
function eq2(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb) {
    if ((ka === 'int' || ka === 'float') && (kb === 'int' || kb === 'float')) {
      return Number(num(a)) === Number(num(b));
    }
    if (ka !== 'invalid' && kb !== 'invalid') fail(ERR_BAD_COMPARISON);
    return false;
  }
  switch (ka) {
    case 'bool':
    case 'string':
    case 'float':
      return a === b;
    case 'int':
      return num(a) === num(b);
    case 'invalid':
      return true;
    default:
      if (a instanceof GoTime && b instanceof GoTime) return a.ms === b.ms && a.nsExtra === b.nsExtra;
      if (a instanceof RecordView && b instanceof RecordView) return a.record === b.record;
      return fail(`non-comparable type ${formatV(a)}: ${typeName(a)}`);
  }
}

function lessThan(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb) {
    if ((ka === 'int' || ka === 'float') && (kb === 'int' || kb === 'float')) {
      return Number(num(a)) < Number(num(b));
    }
    return fail(ERR_BAD_COMPARISON);
  }
  switch (ka) {
    case 'int':
      return num(a) < num(b);
    case 'float':
      return (a as number) < (b as number);
    case 'string':
      return compareGoStrings(a as string, b as string) < 0;
    default:
      return fail(ERR_BAD_COMPARISON_TYPE);
  }
}

// ---------------------------------------------------------------- helpers

/** sprig's strval. */
export function strval(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof OperationView || v instanceof PositionView) return v.String();
  if (v instanceof GoTime || v instanceof Date) return formatV(v);
  return formatV(v === undefined || v === NIL_DATA ? null : v);
}

function parseGoInt(s: string): bigint | null {
  let t = s;
  let neg = false;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  t = t.replace(/_/g, '');
  let r: bigint;
  try {
    if (/^0[xX][0-9a-fA-F]+$/.test(t) || /^0[bB][01]+$/.test(t) || /^0[oO][0-7]+$/.test(t)) r = BigInt(t.toLowerCase());
    else if (/^0[0-7]+$/.test(t)) r = BigInt('0o' + t.slice(1));
    else if (/^[0-9]+$/.test(t)) r = BigInt(t);
    else return null;
  } catch {
    return null;
  }
  return neg ? -r : r;
}

/** cast.ToInt64 (errors become 0, as sprig ignores them). */
export function toInt64(v: unknown): bigint {
  switch (typeof v) {
    case 'bigint':
      return v;
    case 'number':
      return Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : 0n;
    case 'boolean':
      return v ? 1n : 0n;
    case 'string': {
      const t = v.replace(/\.0*$/, '');
      return parseGoInt(t) ?? 0n;
    }
  }
  if (v instanceof OperationView) return BigInt(v.code);
  return 0n;
}

/** cast.ToFloat64. */
export function toFloat64(v: unknown): number {
  switch (typeof v) {
    case 'number':
      return v;
    case 'bigint':
      return Number(v);
    case 'boolean':
      return v ? 1 : 0;
    case 'string': {
      const t = v.trim() === v ? v : '';
      if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
      if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
      if (/^nan$/i.test(t)) return NaN;
      return 0;
    }
  }
  return 0;
}

function empty(v: unknown): boolean {
  if (v instanceof RecordView || v instanceof ChangeView || v instanceof GoTime || v instanceof Date) return false;
  return !isTrue(v);
}

function listOf(v: unknown, fn: string): unknown[] | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v;
  if (v instanceof Uint8Array) return Array.from(v, (b) => BigInt(b));
  return fail(`Cannot find ${fn} on type ${typeName(v)}`);
}

/** sprig's strslice (toStrings). */
function strslice(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const e of v) if (e !== null && e !== undefined) out.push(strval(e));
    return out;
  }
  if (v instanceof Uint8Array) return Array.from(v, (b) => String(b));
  return [strval(v)];
}

/** reflect.DeepEqual on template values. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (a === null || b === null || typeof a !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainMap(a) && isPlainMap(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  if (a instanceof OperationView && b instanceof OperationView) return a.code === b.code;
  return false;
}

// Go's byte-oriented string slicing (substr, trunc) on UTF-8.
function byteSlice(s: string, start: number, end?: number): string {
  if (isAscii(s)) return s.slice(start, end);
  const b = Buffer.from(s, 'utf8');
  return b.subarray(start, end).toString('utf8');
}

function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

/** strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = !/[\p{L}\p{N}_]/u.test(prev) && (/[\s]/u.test(prev) || !/[\p{L}\p{N}]/u.test(prev));
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function words(s: string): string[] {
  return s
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

function camelcase(s: string): string {
  // xstrings.ToCamelCase: words split at '_' (and '-', ' '), each capitalised
  return s
    .split(/[_\-\s]+/)
    .filter((w) => w !== '')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

/** Translates RE2 syntax that JavaScript spells differently. */
export function goRegExp(re: string, global = false): RegExp {
  let flags = global ? 'g' : '';
  let src = re;
  const m = /^\(\?([imsU]+)\)/.exec(src);
  if (m) {
    src = src.slice(m[0].length);
    if (m[1]!.includes('i')) flags += 'i';
    if (m[1]!.includes('m')) flags += 'm';
    if (m[1]!.includes('s')) flags += 's';
  }
  src = src
    .replace(/\(\?P</g, '(?<')
    .replace(/\\z/g, '$(?![\\s\\S])')
    .replace(/\\A/g, '^');
  try {
    return new RegExp(src, flags);
  } catch (e) {
    return fail(`error parsing regexp: ${(e as Error).message}`);
  }
}

/** regexp.Expand-style replacement: $1, ${1}, $name, ${name}, $$. */
function expandReplacement(repl: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    if (repl[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    if (repl[i + 1] === '{') {
      const close = repl.indexOf('}', i + 2);
      if (close < 0) {
        out += '$';
        continue;
      }
      name = repl.slice(i + 2, close);
      i = close;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(repl.slice(i + 1));
      if (!m) {
        out += '$';
        continue;
      }
      name = m[0];
      i += name.length;
    }
    if (/^\d+$/.test(name)) out += match[Number(name)] ?? '';
    else out += match.groups?.[name] ?? '';
  }
  return out;
}

function htmlEscape(s: string): string {
  return s.replace(/[<>&'"\0]/g, (c) =>
    c === '<'
      ? '&lt;'
      : c === '>'
        ? '&gt;'
        : c === '&'
          ? '&amp;'
          : c === "'"
            ? '&#39;'
            : c === '"'
              ? '&#34;'
              : '\uFFFD',
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029) {
      out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    } else out += ch;
  }
  return out;
}

/** url.QueryEscape. */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** The text/template helpers html, js and urlquery take ...any and print them like Sprint. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args);
}

function formatDate(layout: string, date: unknown): string {
  let t: GoTime;
  if (date instanceof GoTime) t = date;
  else if (date instanceof Date) t = GoTime.fromDate(date);
  else if (typeof date === 'bigint') t = new GoTime(Number(date) * 1000);
  else t = new GoTime(Date.now());
  return formatTime(t, layout);
}

function int64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

// ---------------------------------------------------------------- table

const S: ParamType = 'string';
const A: ParamType = 'any';
const V: ParamType = 'value';
const I: ParamType = 'int';

export const FUNCS: Record<string, FuncDef> = {
  // ---- text/template builtins (and/or are compiled specially)
  and: { params: [V], variadic: V, fn: () => undefined },
  or: { params: [V], variadic: V, fn: () => undefined },
  not: { params: [V], fn: (v: unknown) => !isTrue(v) },
  eq: {
    params: [V],
    variadic: V,
    fn: (a: unknown, ...bs: unknown[]) => {
      if (bs.length === 0) fail('missing argument for comparison');
      for (const b of bs) if (eq2(a, b)) return true;
      return false;
    },
  },
  ne: { params: [V, V], fn: (a: unknown, b: unknown) => !eq2(a, b) },
  lt: { params: [V, V], fn: (a: unknown, b: unknown) => lessThan(a, b) },
  le: { params: [V, V], fn: (a: unknown, b: unknown) => lessThan(a, b) || eq2(a, b) },
  gt: { params: [V, V], fn: (a: unknown, b: unknown) => !lessThan(a, b) && !eq2(a, b) },
  ge: { params: [V, V], fn: (a: unknown, b: unknown) => !lessThan(a, b) },
  len: {
    params: [V],
    fn: (v: unknown): bigint => {
      if (typeof v === 'string') return BigInt(byteLength(v));
      if (Array.isArray(v)) return BigInt(v.length);
      if (v instanceof Uint8Array) return BigInt(v.length);
      if (v instanceof PositionView) return BigInt(v.bytes.length);
      if (v instanceof MetadataView) return BigInt(Object.keys(v.map).length);
      if (v === null || v === undefined || v === NIL_DATA) return fail('len of nil pointer');
      if (isPlainMap(v)) return BigInt(Object.keys(v).length);
      return fail(`len of type ${typeName(v)}`);
    },
  },
  index: {
    params: [V],
    variadic: V,
    fn: (item: unknown, ...indices: unknown[]) => {
      let cur = item;
      for (let k = 0; k < indices.length; k++) cur = indexOne(cur, indices[k]);
      return cur;
    },
  },
  print: { params: [], variadic: A, fn: (...a: unknown[]) => sprint(a) },
  println: { params: [], variadic: A, fn: (...a: unknown[]) => sprintln(a) },
  printf: { params: [S], variadic: A, fn: (f: string, ...a: unknown[]) => sprintf(f, a) },
  html: { params: [], variadic: A, fn: (...a: unknown[]) => htmlEscape(evalArgs(a)) },
  js: { params: [], variadic: A, fn: (...a: unknown[]) => jsEscape(evalArgs(a)) },
  urlquery: { params: [], variadic: A, fn: (...a: unknown[]) => queryEscape(evalArgs(a)) },
  call: {
    params: [V],
    variadic: V,
    fn: (f: unknown, ...args: unknown[]) => {
      if (typeof f !== 'function') {
        if (f === null || f === undefined) return fail('call of nil');
        return fail(`non-function of type ${typeName(f)}`);
      }
      return (f as (...a: unknown[]) => unknown)(...args);
    },
  },

  // ---- sprig: strings
  upper: { params: [S], fn: (s: string) => s.toUpperCase() },
  lower: { params: [S], fn: (s: string) => s.toLowerCase() },
  title: { params: [S], fn: title },
  trim: { params: [S], fn: (s: string) => s.trim() },
  trimAll: { params: [S, S], fn: (cut: string, s: string) => trimChars(s, cut) },
  trimPrefix: { params: [S, S], fn: (p: string, s: string) => (s.startsWith(p) ? s.slice(p.length) : s) },
  trimSuffix: {
    params: [S, S],
    fn: (p: string, s: string) => (p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s),
  },
  replace: { params: [S, S, S], fn: (o: string, n: string, s: string) => goReplaceAll(s, o, n) },
  repeat: {
    params: [I, S],
    fn: (n: number, s: string) => (n < 0 ? fail('strings: negative Repeat count') : s.repeat(n)),
  },
  substr: {
    params: [I, I, S],
    fn: (start: number, end: number, s: string) => {
      const len = byteLength(s);
      if (start < 0) return checkSlice(s, 0, end, len);
      if (end < 0 || end > len) return checkSlice(s, start, len, len);
      return checkSlice(s, start, end, len);
    },
  },
  trunc: {
    params: [I, S],
    fn: (c: number, s: string) => {
      const len = byteLength(s);
      if (c < 0 && len + c > 0) return byteSlice(s, len + c);
      if (c >= 0 && len > c) return byteSlice(s, 0, c);
      return s;
    },
  },
  contains: { params: [S, S], fn: (sub: string, s: string) => s.includes(sub) },
  hasPrefix: { params: [S, S], fn: (p: string, s: string) => s.startsWith(p) },
  hasSuffix: { params: [S, S], fn: (p: string, s: string) => s.endsWith(p) },
  split: {
    params: [S, S],
    fn: (sep: string, s: string) => {
      const out: Record<string, unknown> = {};
      goSplit(s, sep).forEach((p, i) => (out['_' + i] = p));
      return out;
    },
  },
  splitList: { params: [S, S], fn: (sep: string, s: string) => goSplit(s, sep) },
  join: { params: [S, A], fn: (sep: string, v: unknown) => strslice(v).join(sep) },
  toStrings: { params: [A], fn: strslice },
  quote: {
    params: [],
    variadic: A,
    fn: (...a: unknown[]) =>
      a
        .filter((x) => x !== null)
        .map((x) => quoteGo(strval(x)))
        .join(' '),
  },
  squote: {
    params: [],
    variadic: A,
    fn: (...a: unknown[]) =>
      a
        .filter((x) => x !== null)
        .map((x) => `'${strval(x)}'`)
        .join(' '),
  },
  cat: {
    params: [],
    variadic: A,
    fn: (...a: unknown[]) =>
      a
        .filter((x) => x !== null)
        .map((x) => formatV(x))
        .join(' '),
  },
  indent: {
    params: [I, S],
    fn: (n: number, s: string) => {
      const pad = ' '.repeat(Math.max(n, 0));
      return pad + s.split('\n').join('\n' + pad);
    },
  },
  nindent: {
    params: [I, S],
    fn: (n: number, s: string) => {
      const pad = ' '.repeat(Math.max(n, 0));
      return '\n' + pad + s.split('\n').join('\n' + pad);
    },
  },
  kebabcase: { params: [S], fn: (s: string) => words(s).join('-').toLowerCase() },
  snakecase: { params: [S], fn: (s: string) => words(s).join('_').toLowerCase() },
  camelcase: { params: [S], fn: camelcase },
  nospace: { params: [S], fn: (s: string) => s.replace(/\s+/gu, '') },
  toString: { params: [A], fn: strval },
  sha256sum: { params: [S], fn: (s: string) => createHash('sha256').update(s, 'utf8').digest('hex') },
  b64enc: { params: [S], fn: (s: string) => Buffer.from(s, 'utf8').toString('base64') },
  b64dec: {
    params: [S],
    fn: (s: string) => {
      const bad = /[^A-Za-z0-9+/=]/.exec(s);
      if (bad) return `illegal base64 data at input byte ${bad.index}`;
      if (s.length % 4 !== 0) return `illegal base64 data at input byte ${s.length - (s.length % 4)}`;
      return Buffer.from(s, 'base64').toString('utf8');
    },
  },
  uuidv4: { params: [], fn: () => randomUUID() },

  // ---- sprig: regular expressions
  regexMatch: {
    params: [S, S],
    fn: (re: string, s: string) => {
      try {
        return goRegExp(re).test(s);
      } catch {
        return false;
      }
    },
  },
  regexFind: {
    params: [S, S],
    fn: (re: string, s: string) => goRegExp(re).exec(s)?.[0] ?? '',
  },
  regexFindAll: {
    params: [S, S, I],
    fn: (re: string, s: string, n: number) => {
      const all = [...s.matchAll(goRegExp(re, true))].map((m) => m[0]);
      return n < 0 ? all : all.slice(0, n);
    },
  },
  regexReplaceAll: {
    params: [S, S, S],
    fn: (re: string, s: string, repl: string) =>
      s.replace(goRegExp(re, true), (...m: unknown[]) => {
        const groups = m[m.length - 1];
        const hasGroups = typeof groups === 'object' && groups !== null;
        const parts = m.slice(0, hasGroups ? -3 : -2) as string[];
        const arr = Object.assign([...parts], { groups: hasGroups ? groups : undefined, index: 0, input: s });
        return expandReplacement(repl, arr as unknown as RegExpExecArray);
      }),
  },
  regexReplaceAllLiteral: {
    params: [S, S, S],
    fn: (re: string, s: string, repl: string) => s.replace(goRegExp(re, true), () => repl),
  },
  regexSplit: {
    params: [S, S, I],
    fn: (re: string, s: string, n: number) => {
      const parts = s.split(goRegExp(re, true));
      return n < 0 ? parts : parts.slice(0, n);
    },
  },

  // ---- sprig: numbers
  int: { params: [A], fn: (v: unknown) => toInt64(v) },
  int64: { params: [A], fn: (v: unknown) => toInt64(v) },
  float64: { params: [A], fn: (v: unknown) => toFloat64(v) },
  atoi: {
    params: [S],
    fn: (s: string) => {
      if (!/^[+-]?\d+$/.test(s)) return 0n;
      const v = BigInt(s);
      return v === BigInt.asIntN(64, v) ? v : 0n;
    },
  },
  add: { params: [], variadic: A, fn: (...a: unknown[]) => int64(a.reduce<bigint>((s, x) => s + toInt64(x), 0n)) },
  add1: { params: [A], fn: (a: unknown) => int64(toInt64(a) + 1n) },
  sub: { params: [A, A], fn: (a: unknown, b: unknown) => int64(toInt64(a) - toInt64(b)) },
  mul: {
    params: [A],
    variadic: A,
    fn: (a: unknown, ...r: unknown[]) => int64(r.reduce<bigint>((s, x) => s * toInt64(x), toInt64(a))),
  },
  div: {
    params: [A, A],
    fn: (a: unknown, b: unknown) => {
      const d = toInt64(b);
      if (d === 0n) fail('runtime error: integer divide by zero');
      return int64(toInt64(a) / d);
    },
  },
  mod: {
    params: [A, A],
    fn: (a: unknown, b: unknown) => {
      const d = toInt64(b);
      if (d === 0n) fail('runtime error: integer divide by zero');
      return toInt64(a) % d;
    },
  },
  max: {
    params: [A],
    variadic: A,
    fn: (a: unknown, ...r: unknown[]) => r.reduce<bigint>((m, x) => (toInt64(x) > m ? toInt64(x) : m), toInt64(a)),
  },
  min: {
    params: [A],
    variadic: A,
    fn: (a: unknown, ...r: unknown[]) => r.reduce<bigint>((m, x) => (toInt64(x) < m ? toInt64(x) : m), toInt64(a)),
  },
  seq: {
    params: [],
    variadic: I,
    fn: (...p: number[]) => {
      const [a, b, c] = p;
      let start = 1;
      let end = 0;
      let step = 1;
      if (p.length === 1) end = a!;
      else if (p.length === 2) [start, end] = [a!, b!];
      else if (p.length === 3) [start, step, end] = [a!, b!, c!];
      else return '';
      if (p.length < 3 && end < start) step = -1;
      const out: number[] = [];
      if (step === 0) return '';
      for (let i = start; step > 0 ? i <= end : i >= end; i += step) out.push(i);
      return out.join(' ');
    },
  },

  // ---- sprig: defaults and flow
  default: {
    params: [A],
    variadic: A,
    fn: (d: unknown, ...given: unknown[]) => (given.length === 0 || empty(given[0]) ? d : given[0]),
  },
  empty: { params: [A], fn: empty },
  coalesce: { params: [], variadic: A, fn: (...a: unknown[]) => a.find((x) => !empty(x)) ?? null },
  ternary: { params: [A, A, 'bool'], fn: (t: unknown, f: unknown, c: boolean) => (c ? t : f) },
  toJson: {
    params: [A],
    fn: (v: unknown) => {
      try {
        return marshalJson(v);
      } catch (e) {
        if (e instanceof JsonError) return '';
        throw e;
      }
    },
  },
  toPrettyJson: {
    params: [A],
    fn: (v: unknown) => {
      try {
        return marshalJson(v, '  ');
      } catch (e) {
        if (e instanceof JsonError) return '';
        throw e;
      }
    },
  },
  fail: { params: [S], fn: (msg: string) => fail(msg) },

  // ---- sprig: lists and dicts
  list: { params: [], variadic: A, fn: (...a: unknown[]) => a },
  dict: {
    params: [],
    variadic: A,
    fn: (...a: unknown[]) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < a.length; i += 2) out[strval(a[i])] = i + 1 < a.length ? a[i + 1] : '';
      return out;
    },
  },
  get: { params: ['map', S], fn: (m: Record<string, unknown> | null, k: string) => (m && k in m ? m[k] : '') },
  set: {
    params: ['map', S, A],
    fn: (m: Record<string, unknown> | null, k: string, v: unknown) => {
      if (m === null) return fail('assignment to entry in nil map');
      m[k] = v;
      return m;
    },
  },
  unset: {
    params: ['map', S],
    fn: (m: Record<string, unknown> | null, k: string) => {
      if (m) delete m[k];
      return m;
    },
  },
  hasKey: { params: ['map', S], fn: (m: Record<string, unknown> | null, k: string) => m !== null && k in m },
  keys: {
    params: [],
    variadic: 'map',
    fn: (...ms: (Record<string, unknown> | null)[]) => ms.flatMap((m) => (m ? Object.keys(m) : [])),
  },
  values: {
    params: ['map'],
    fn: (m: Record<string, unknown> | null) => (m ? Object.values(m) : []),
  },
  sortAlpha: { params: [A], fn: (v: unknown) => strslice(v).sort(compareGoStrings) },
  first: {
    params: [A],
    fn: (v: unknown) => {
      const l = listOf(v, 'first');
      return l && l.length > 0 ? l[0] : null;
    },
  },
  last: {
    params: [A],
    fn: (v: unknown) => {
      const l = listOf(v, 'last');
      return l && l.length > 0 ? l[l.length - 1] : null;
    },
  },
  rest: {
    params: [A],
    fn: (v: unknown) => {
      const l = listOf(v, 'rest');
      return l && l.length > 0 ? l.slice(1) : null;
    },
  },
  initial: {
    params: [A],
    fn: (v: unknown) => {
      const l = listOf(v, 'initial');
      return l && l.length > 0 ? l.slice(0, -1) : null;
    },
  },
  reverse: {
    params: [A],
    fn: (v: unknown) => {
      const l = listOf(v, 'reverse');
      return l ? [...l].reverse() : null;
    },
  },
  append: {
    params: [A, A],
    fn: (v: unknown, x: unknown) => {
      if (v === null) return fail('Cannot push on type <nil>');
      const l =
        Array.isArray(v) || v instanceof Uint8Array ? listOf(v, 'push')! : fail(`Cannot push on type ${typeName(v)}`);
      return [...l, x];
    },
  },
  prepend: {
    params: [A, A],
    fn: (v: unknown, x: unknown) => {
      const l = Array.isArray(v) ? v : fail(`Cannot prepend on type ${typeName(v)}`);
      return [x, ...l];
    },
  },
  concat: {
    params: [],
    variadic: A,
    fn: (...ls: unknown[]) =>
      ls.flatMap((l) => (Array.isArray(l) ? l : fail(`Cannot concat type ${typeName(l)} as list`))),
  },
  uniq: {
    params: [A],
    fn: (v: unknown) => {
      const l = Array.isArray(v) ? v : fail(`Cannot find uniq on type ${typeName(v)}`);
      const out: unknown[] = [];
      for (const x of l) if (!out.some((y) => deepEqual(x, y))) out.push(x);
      return out;
    },
  },
  compact: {
    params: [A],
    fn: (v: unknown) => {
      const l = Array.isArray(v) ? v : fail(`Cannot compact on type ${typeName(v)}`);
      return l.filter((x) => !empty(x));
    },
  },
  has: {
    params: [A, A],
    fn: (needle: unknown, hay: unknown) => {
      if (hay === null) return false;
      const l = Array.isArray(hay) ? hay : fail(`Cannot find has on type ${typeName(hay)}`);
      return l.some((x) => deepEqual(x, needle));
    },
  },
  slice: {
    params: [A],
    variadic: A,
    fn: (v: unknown, ...ix: unknown[]) => {
      let l: unknown[];
      if (Array.isArray(v)) l = v;
      else if (v instanceof Uint8Array) l = Array.from(v, (b) => BigInt(b));
      else return fail(`Cannot slice on type ${typeName(v)}`);
      if (l.length === 0) return null;
      const start = ix.length > 0 ? Number(toInt64(ix[0])) : 0;
      const end = ix.length > 1 ? Number(toInt64(ix[1])) : l.length;
      if (start < 0 || end > l.length || start > end) {
        return fail(`reflect: slice index out of range`);
      }
      const out = l.slice(start, end);
      return v instanceof Uint8Array ? v.subarray(start, end) : out;
    },
  },

  // ---- sprig: dates
  now: { params: [], fn: () => new GoTime(Date.now()) },
  date: { params: [S, A], fn: (layout: string, d: unknown) => formatDate(layout, d) },
  unixEpoch: { params: ['time'], fn: (t: GoTime) => String(Math.floor(t.ms / 1000)) },
  toDate: { params: [S, S], fn: (layout: string, s: string) => parseTime(layout, s) ?? ZERO_TIME },
};

function trimChars(s: string, cut: string): string {
  const set = new Set([...cut]);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a]!)) a++;
  while (b > a && set.has(chars[b - 1]!)) b--;
  return chars.slice(a, b).join('');
}

function goReplaceAll(s: string, old: string, nw: string): string {
  if (old === '') {
    // strings.Replace with an empty old inserts nw around every rune
    const cs = [...s];
    return nw + cs.map((c) => c + nw).join('');
  }
  return s.split(old).join(nw);
}

function checkSlice(s: string, start: number, end: number, len: number): string {
  if (start > end || end > len || start < 0) {
    return fail(`runtime error: slice bounds out of range [${start}:${end}]`);
  }
  return byteSlice(s, start, end);
}

function intIndex(ix: unknown, cap: number): number {
  if (ix === null || ix === undefined) fail('cannot index slice/array with nil');
  if (typeof ix !== 'bigint' && !(ix instanceof OperationView)) {
    fail(`cannot index slice/array with type ${typeName(ix)}`);
  }
  const n = Number(num(ix));
  if (n < 0 || n >= cap) fail(`index out of range: ${n}`);
  return n;
}

function indexOne(item: unknown, ix: unknown): unknown {
  if (item === undefined || item === null || item === NIL_DATA) return fail('index of untyped nil');
  if (Array.isArray(item)) return item[intIndex(ix, item.length)];
  if (item instanceof Uint8Array) return BigInt(item[intIndex(ix, item.length)]!);
  if (item instanceof PositionView) return BigInt(item.bytes[intIndex(ix, item.bytes.length)]!);
  if (typeof item === 'string') {
    const b = isAscii(item) ? null : Buffer.from(item, 'utf8');
    const len = b ? b.length : item.length;
    const n = intIndex(ix, len);
    return BigInt(b ? b[n]! : item.charCodeAt(n));
  }
  if (item instanceof MetadataView || isPlainMap(item)) {
    if (ix === null || ix === undefined) {
      return fail('value is nil; should be of type string');
    }
    if (typeof ix !== 'string') fail(`value has type ${typeName(ix)}; should be string`);
    if (item instanceof MetadataView) {
      const v = item.map[ix as string];
      return v === undefined ? '' : v;
    }
    if (!Object.prototype.hasOwnProperty.call(item, ix as string)) return null;
    const v = item[ix as string];
    return v === undefined ? null : v;
  }
  return fail(`can't index item of type ${typeName(item)}`);
}

export function hasFunction(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(FUNCS, name);
}

export { bytesToString };
