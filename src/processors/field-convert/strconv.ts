/**
 * The parts of Go's strconv and time that `field.convert` goes through: a
 * value becomes text the way Conduit prints it, and text becomes a value the
 * way Go parses it (Atoi, ParseFloat, ParseBool, RFC 3339).
 */
import { parseBool } from '../../sdk/params.js';

/** A conversion that Go's strconv refuses; the message is Go's. */
export class ConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvertError';
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function syntax(fn: string, s: string): ConvertError {
  return new ConvertError(`strconv.${fn}: parsing ${JSON.stringify(s)}: invalid syntax`);
}

function range(fn: string, s: string): ConvertError {
  return new ConvertError(`strconv.${fn}: parsing ${JSON.stringify(s)}: value out of range`);
}

/** strconv.Atoi on 64 bits, as a bigint. */
function atoiBig(s: string): bigint {
  if (!/^[+-]?\d+$/.test(s)) throw syntax('Atoi', s);
  const n = BigInt(s);
  if (n < INT64_MIN || n > INT64_MAX) throw range('Atoi', s);
  return n;
}

/** strconv.Atoi: a number when it is exact as one, otherwise a bigint (ids and nanosecond times). */
export function atoi(s: string): number | bigint {
  const n = atoiBig(s);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INF = /^[+-]?inf(inity)?$/i;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/** strconv.ParseFloat(s, 64). */
export function parseFloat64(s: string): number {
  let v: number;
  if (DECIMAL.test(s)) {
    v = Number(s);
  } else if (INF.test(s)) {
    return s.startsWith('-') ? -Infinity : Infinity;
  } else if (/^nan$/i.test(s)) {
    return NaN;
  } else {
    const m = HEX.exec(s);
    const int = m?.[2] ?? '';
    const frac = m?.[3] ?? '';
    if (m === null || int + frac === '') throw syntax('ParseFloat', s);
    // Exact while the mantissa fits a double; Go rounds longer ones once, this twice at most.
    const mantissa = Number.parseInt(int + frac, 16);
    v = mantissa * 2 ** (Number(m[4]) - 4 * frac.length);
    if (m[1] === '-') v = -v;
  }
  if (!Number.isFinite(v)) throw range('ParseFloat', s);
  return v;
}

/** strconv.ParseBool. */
export function parseBool64(s: string): boolean {
  const b = parseBool(s);
  if (b === undefined) throw syntax('ParseBool', s);
  return b;
}

/**
 * A float64 as strconv.FormatFloat(v, 'f', -1, 64) prints it: the shortest
 * digits that read back the same, never with an exponent.
 */
export function formatFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  // JavaScript switches to an exponent below 1e-6 and from 1e21 on: write the digits out.
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exp; // digits before the decimal point
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return (neg ? '-' : '') + out;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const RFC3339_NANO = '2006-01-02T15:04:05.999999999Z07:00';

/**
 * A time as Go's `time.Parse(time.RFC3339Nano, s)` reads it, as a Date:
 * digits beyond the millisecond are dropped, the offset is applied.
 */
export function parseRFC3339(s: string): Date {
  const m = RFC3339.exec(s);
  const bad = (why: string) =>
    new ConvertError(`parsing time ${JSON.stringify(s)} as ${JSON.stringify(RFC3339_NANO)}: ${why}`);
  if (m === null) throw bad('not an RFC 3339 time');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12) throw bad('month out of range');
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // days in the month of a leap year
  if (day < 1 || day > days || (month === 2 && day === 29 && !isLeap(year))) throw bad('day out of range');
  if (hour > 23) throw bad('hour out of range');
  if (minute > 59) throw bad('minute out of range');
  if (second > 59) throw bad('second out of range');
  let offset = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) throw bad('time zone offset out of range');
    offset = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute - offset, second, ms);
  return d;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** A Unix time in nanoseconds as a Date (Go's `time.Unix(0, n)`), to the millisecond. */
export function fromUnixNanos(n: number | bigint): Date {
  const ns = BigInt(n);
  let ms = ns / 1_000_000n;
  if (ns < 0n && ms * 1_000_000n !== ns) ms -= 1n; // floor, as Go keeps nanoseconds non-negative
  return new Date(Number(ms));
}
