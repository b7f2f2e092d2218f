/**
 * How Conduit's AI processors turn a field into the text they send, and how
 * they print numbers and prompts: the Go conversions (`Data.Bytes()`,
 * `fmt.Sprintf`, `json.Marshal` of float32 and float64) reproduced, so a
 * record leaves with the bytes Conduit would give it.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import { encodeValue } from '../../opencdc/json.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { asBuffer, isDataRef, kindOf } from '../util.js';

/**
 * The text of a field value as the OpenAI processors and `cohere.embed` read
 * it: raw data and positions as their bytes (UTF-8), structured data as its
 * JSON (keys sorted, as Go prints a map), a string as it is.
 *
 * @throws Error `unsupported type …` for anything else (null, a number, …).
 */
export function fieldText(v: unknown): string {
  if (v instanceof Uint8Array) return asBuffer(v).toString('utf8');
  if (typeof v === 'string') return v;
  if (isStructured(v)) return encodeValue(v);
  throw new Error(`unsupported type: the field holds ${kindOf(v)}`);
}

/**
 * The text of a field value as `cohere.command` and `cohere.rerank` read it:
 * raw data as its bytes, structured data as JSON, anything else as Go's `%v`
 * prints it (`<nil>` for a missing value).
 */
export function fieldTextLoose(v: unknown): string {
  if (v instanceof Uint8Array) return asBuffer(v).toString('utf8');
  if (isStructured(v)) return encodeValue(v);
  return goValue(v);
}

function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return encodeValue(v);
}

export function isStructured(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/**
 * Go's `fmt.Sprintf(format, arg)` for one string argument: `%s` and `%v` take
 * the argument, `%q` quotes it, `%%` is a percent sign. A verb without an
 * argument left prints `%!s(MISSING)`, a wrong verb `%!d(string=…)`, and an
 * argument no verb took is appended as `%!(EXTRA string=…)`, as Go does.
 */
export function goSprintf(format: string, arg: string): string {
  let used = false;
  const out = format.replace(/%([-+# 0]*\d*(?:\.\d*)?)([a-zA-Z%])/g, (_m, _flags: string, verb: string) => {
    if (verb === '%') return '%';
    if (used) return `%!${verb}(MISSING)`;
    used = true;
    if (verb === 's' || verb === 'v') return arg;
    if (verb === 'q') return JSON.stringify(arg);
    return `%!${verb}(string=${arg})`;
  });
  return used ? out : `${out}%!(EXTRA string=${arg})`;
}

/**
 * An embedding as Go's `json.Marshal([]float32)` prints it: each number with
 * the fewest digits that read back as the same float32.
 */
export function float32Json(values: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; i++) parts.push(JSON.stringify(shortestFloat32(values[i] ?? 0)));
  return `[${parts.join(',')}]`;
}

function shortestFloat32(v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) throw new Error(`the embedding holds ${v}, which JSON cannot represent`);
  for (let p = 1; p <= 9; p++) {
    const n = Number(f.toPrecision(p));
    if (Math.fround(n) === f) return n;
  }
  return f;
}

/** An embedding as Go's `json.Marshal([]float64)` prints it (the same digits as JSON.stringify). */
export function float64Json(values: readonly number[]): string {
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`the embedding holds ${v}, which JSON cannot represent`);
  }
  return JSON.stringify(values);
}

/** A list of numbers, or undefined when `v` is not one. */
export function numberList(v: unknown): number[] | undefined {
  if (!Array.isArray(v)) return undefined;
  for (const x of v) if (typeof x !== 'number') return undefined;
  return v as number[];
}

/** Stores text in a field: raw data in `.Key` and the payloads, a string anywhere else. */
export function setText(ref: FieldRef, record: OpenCDCRecord, text: string): void {
  ref.set(record, isDataRef(ref) ? Buffer.from(text, 'utf8') : text);
}

/** Splits a list into pieces of at most `size` items. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
