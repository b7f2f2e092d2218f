/**
 * A batch of records as one Parquet file, written by parquet-encode.ts (our own writer: one row group,
 * data pages v2, SNAPPY by parquet-snappy.ts).
 *
 * Columns, all optional (nullable), in this order: `opencdc_position` (BYTE_ARRAY), `opencdc_operation`
 * (STRING), `opencdc_metadata` (JSON), `opencdc_key` (JSON: structured keys as objects, raw keys as base64
 * strings), `opencdc_before` (JSON, the payload before), then one column per top-level field of the
 * structured payloads (the union over the batch, in the order first seen; a record without the field has
 * null), and `opencdc_raw` (BYTE_ARRAY) when some payload of the batch is raw (null in the other records).
 * A field's type is inferred from its values in the batch: BOOLEAN, INT64 (integers), DOUBLE (numbers, or a
 * mix of integers and numbers), STRING (UTF8), BYTE_ARRAY, TIMESTAMP (dates, as INT64 milliseconds, UTC);
 * anything else, a mix, or only nulls is JSON (UTF-8 text; bytes inside as base64). STRING columns are
 * dictionary-encoded when a dictionary makes them smaller, PLAIN otherwise; every other column is
 * PLAIN. Every column chunk carries its null count.
 */
import type { OpenCDCRecord, StructuredData, StructuredValue } from '../../opencdc/record.js';
import { isRawData, isStructuredData } from '../../opencdc/record.js';
import { ParquetFile } from './parquet-encode.js';

export const RESERVED_COLUMNS = [
  'opencdc_position',
  'opencdc_operation',
  'opencdc_metadata',
  'opencdc_key',
  'opencdc_before',
  'opencdc_raw',
] as const;

type FieldType = 'BOOLEAN' | 'INT64' | 'DOUBLE' | 'STRING' | 'BYTE_ARRAY' | 'TIMESTAMP' | 'JSON';

const CREATED_BY = 'conduit-ts s3 destination';

/** Encodes the records; a record with a payload field named like a reserved column fails alone. */
export function recordsToParquet(records: readonly OpenCDCRecord[]): {
  bytes: Uint8Array;
  outcomes: (Error | undefined)[] | undefined;
  written: number;
} {
  const { rows, outcomes, names, types, columns } = payloadColumns(records);
  const n = rows.length;
  const file = new ParquetFile(n);
  file.byteArrays(
    'opencdc_position',
    rows.map((r) => r.position),
  );
  file.strings(
    'opencdc_operation',
    rows.map((r) => r.operation),
  );
  file.byteArrays(
    'opencdc_metadata',
    rows.map((r) => JSON.stringify(r.metadata)),
    'JSON',
  );
  file.byteArrays(
    'opencdc_key',
    rows.map((r) => (r.key === null ? null : jsonText(r.key))),
    'JSON',
  );
  file.byteArrays(
    'opencdc_before',
    rows.map((r) => (r.payload.before === null ? null : jsonText(r.payload.before))),
    'JSON',
  );

  for (let f = 0; f < names.length; f++) {
    const name = names[f] as string;
    const data = columns[f] as (StructuredValue | null)[];
    switch (types[f]) {
      case 'BOOLEAN':
        file.booleans(name, data as (boolean | null)[]);
        break;
      case 'INT64':
        file.int64s(name, data as (number | bigint | null)[]);
        break;
      case 'DOUBLE':
        for (let i = 0; i < n; i++) if (typeof data[i] === 'bigint') data[i] = Number(data[i]);
        file.doubles(name, data as (number | null)[]);
        break;
      case 'TIMESTAMP':
        file.int64s(
          name,
          data.map((v) => (v === null ? null : (v as Date).getTime())),
          'TIMESTAMP_MILLIS',
        );
        break;
      case 'STRING':
        file.strings(name, data as (string | null)[]);
        break;
      case 'BYTE_ARRAY':
        file.byteArrays(name, data as (Uint8Array | null)[]);
        break;
      default:
        file.byteArrays(
          name,
          data.map((v) => (v === null ? null : jsonText(v))),
          'JSON',
        );
    }
  }
  if (rows.some((r) => isRawData(r.payload.after))) {
    file.byteArrays(
      'opencdc_raw',
      rows.map((r) => (isRawData(r.payload.after) ? r.payload.after : null)),
    );
  }
  return { bytes: file.finish(CREATED_BY), outcomes, written: n };
}

// A column's type while its values are read, as a small integer (0: no value yet).
const KINDS: readonly FieldType[] = ['JSON', 'BOOLEAN', 'INT64', 'DOUBLE', 'STRING', 'BYTE_ARRAY', 'TIMESTAMP', 'JSON'];
const K_JSON = 7;

function kindOf(v: StructuredValue): number {
  if (typeof v === 'string') return 4;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 2 : 3;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'bigint') return 2;
  if (v instanceof Uint8Array) return 5;
  if (v instanceof Date) return 6;
  return K_JSON;
}

/** The kind of a column holding values of kinds `a` and `b`: integers and numbers are DOUBLE, a mix is JSON. */
function mergeKinds(a: number, b: number): number {
  if (b === 0) return a;
  if (a === 0 || a === b) return b;
  if ((a === 2 && b === 3) || (a === 3 && b === 2)) return 3;
  return K_JSON;
}

/**
 * Copies the fields of a payload into the columns of its keys (`columns[i]` for the i-th key, row `r`), and
 * merges their kinds into `kinds` (same order). Null and undefined values are skipped. (Object.values then a
 * loop: measured faster than a reader compiled per key set.)
 */
function readValues(o: StructuredData, r: number, columns: (StructuredValue | null)[][], kinds: number[]): void {
  const values = Object.values(o);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === undefined || v === null) continue;
    (columns[i] as (StructuredValue | null)[])[r] = v;
    const k = kindOf(v);
    if (k !== kinds[i]) kinds[i] = mergeKinds(kinds[i] as number, k);
  }
}

/** A key set of the batch's payloads: its columns (in key order), their kinds, and a reserved name among it. */
interface Shape {
  keys: string[];
  columns: (StructuredValue | null)[][];
  slots: number[];
  kinds: number[];
  clash: string | undefined;
}

/**
 * The records without a reserved field name (`rows`; the others failed in `outcomes`), and their structured
 * payloads' fields as columns: their names in the order first seen, their types, and their values (null
 * where a record has none). A batch's payloads usually share their keys, in the same order: the key set
 * of the previous payload is checked first, and a key set's columns and reserved name are found once.
 */
function payloadColumns(records: readonly OpenCDCRecord[]): {
  rows: OpenCDCRecord[];
  outcomes: (Error | undefined)[] | undefined;
  names: string[];
  types: FieldType[];
  columns: (StructuredValue | null)[][];
} {
  const size = records.length;
  let outcomes: (Error | undefined)[] | undefined;
  const rows: OpenCDCRecord[] = [];
  const names: string[] = [];
  const slotOf = new Map<string, number>();
  const columns: (StructuredValue | null)[][] = [];
  const shapes: Shape[] = [];
  let last: Shape | undefined;
  for (let i = 0; i < size; i++) {
    const rec = records[i] as OpenCDCRecord;
    const after = rec.payload.after;
    if (!isStructuredData(after)) {
      rows.push(rec);
      continue;
    }
    const keys = Object.keys(after);
    let shape = last !== undefined && sameKeys(last.keys, keys) ? last : undefined;
    if (shape === undefined) {
      shape = shapes.find((s) => sameKeys(s.keys, keys));
      if (shape === undefined) {
        const slots = keys.map((k) => {
          let slot = slotOf.get(k);
          if (slot === undefined) {
            slot = names.length;
            slotOf.set(k, slot);
            names.push(k);
            columns.push(new Array<StructuredValue | null>(size).fill(null));
          }
          return slot;
        });
        shape = {
          keys,
          columns: slots.map((s) => columns[s] as (StructuredValue | null)[]),
          slots,
          kinds: keys.map(() => 0),
          clash: RESERVED_COLUMNS.find((c) => keys.includes(c)),
        };
        shapes.push(shape);
      }
      last = shape;
    }
    if (shape.clash !== undefined) {
      outcomes ??= new Array<Error | undefined>(size).fill(undefined);
      outcomes[i] = new Error(`s3: payload field "${shape.clash}" has the name of a reserved parquet column`);
      continue;
    }
    readValues(after, rows.length, shape.columns, shape.kinds);
    rows.push(rec);
  }
  const kinds = names.map(() => 0);
  for (const s of shapes) {
    for (let j = 0; j < s.slots.length; j++) {
      const slot = s.slots[j] as number;
      kinds[slot] = mergeKinds(kinds[slot] as number, s.kinds[j] as number);
    }
  }
  if (rows.length < size) for (const c of columns) c.length = rows.length;
  // A field only in failed records has no column.
  const keep = names.map((_, f) => shapes.some((s) => s.clash === undefined && s.slots.includes(f)));
  return {
    rows,
    outcomes,
    names: names.filter((_, f) => keep[f]),
    types: kinds.filter((_, f) => keep[f]).map((k) => KINDS[k] as FieldType),
    columns: columns.filter((_, f) => keep[f]),
  };
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The JSON text of a value (JSON.stringify directly when nothing inside needs jsonSafe). */
function jsonText(v: StructuredValue | StructuredData | Uint8Array): string {
  // Bytes (raw keys) are a base64 string: no character of it needs escaping.
  if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
  return JSON.stringify(plain(v) ? v : jsonSafe(v));
}

/** Whether JSON.stringify writes the value as jsonSafe would: no bytes, big integers or dates inside. */
function plain(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'bigint';
  if (v instanceof Uint8Array || v instanceof Date) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!plain(x)) return false;
    return true;
  }
  for (const k in v) if (!plain((v as Record<string, unknown>)[k])) return false;
  return true;
}

/** A value JSON.stringify can take: bytes as base64, big integers as numbers when exact, else strings. */
function jsonSafe(v: StructuredValue | StructuredData | Uint8Array): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    return v;
  }
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => jsonSafe(x));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
  return out;
}
