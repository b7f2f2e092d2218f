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
 * dictionary-encoded when a dictionary at least halves their size, PLAIN otherwise; every other column is
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
  let outcomes: (Error | undefined)[] | undefined;
  const rows: OpenCDCRecord[] = [];
  records.forEach((r, i) => {
    const after = r.payload.after;
    const clash = isStructuredData(after)
      ? RESERVED_COLUMNS.find((c) => Object.prototype.hasOwnProperty.call(after, c))
      : undefined;
    if (clash !== undefined) {
      outcomes ??= new Array<Error | undefined>(records.length).fill(undefined);
      outcomes[i] = new Error(`s3: payload field "${clash}" has the name of a reserved parquet column`);
    } else rows.push(r);
  });

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

  const fields = payloadColumns(rows);
  for (let f = 0; f < fields.names.length; f++) {
    const name = fields.names[f] as string;
    const data = fields.columns[f] as (StructuredValue | null)[];
    switch (fields.types[f]) {
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

/**
 * The structured payloads' fields as columns: their names in the order first seen, their types, and their
 * values (null where a record has none). A batch's payloads usually share their keys (in the same order):
 * the slots of the previous record's keys are then reused, and the values read with one Object.values.
 */
function payloadColumns(rows: readonly OpenCDCRecord[]): {
  names: string[];
  types: FieldType[];
  columns: (StructuredValue | null)[][];
} {
  const n = rows.length;
  const names: string[] = [];
  const slotOf = new Map<string, number>();
  const types: (FieldType | undefined)[] = [];
  const columns: (StructuredValue | null)[][] = [];
  let lastKeys: string[] = [];
  let slots: number[] = [];
  for (let r = 0; r < n; r++) {
    const after = (rows[r] as OpenCDCRecord).payload.after;
    if (!isStructuredData(after)) continue;
    const keys = Object.keys(after);
    if (!sameKeys(keys, lastKeys)) {
      slots = keys.map((k) => {
        let slot = slotOf.get(k);
        if (slot === undefined) {
          slot = names.length;
          slotOf.set(k, slot);
          names.push(k);
          types.push(undefined);
          columns.push(new Array<StructuredValue | null>(n).fill(null));
        }
        return slot;
      });
      lastKeys = keys;
    }
    const values = Object.values(after);
    for (let j = 0; j < values.length; j++) {
      const v = values[j];
      if (v === undefined || v === null) continue;
      const slot = slots[j] as number;
      (columns[slot] as (StructuredValue | null)[])[r] = v;
      types[slot] = merge(types[slot], v);
    }
  }
  return { names, types: types.map((t) => t ?? 'JSON'), columns };
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function typeOf(v: StructuredValue): FieldType | undefined {
  if (v === null) return undefined;
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (typeof v === 'bigint') return 'INT64';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'INT64' : 'DOUBLE';
  if (typeof v === 'string') return 'STRING';
  if (v instanceof Uint8Array) return 'BYTE_ARRAY';
  if (v instanceof Date) return 'TIMESTAMP';
  return 'JSON';
}

function merge(current: FieldType | undefined, v: StructuredValue | undefined): FieldType | undefined {
  const t = v === undefined ? undefined : typeOf(v);
  if (t === undefined) return current;
  if (current === undefined || current === t) return t;
  if ((current === 'INT64' && t === 'DOUBLE') || (current === 'DOUBLE' && t === 'INT64')) return 'DOUBLE';
  return 'JSON';
}

/** The JSON text of a value (JSON.stringify directly when nothing inside needs jsonSafe). */
function jsonText(v: StructuredValue | StructuredData | Uint8Array): string {
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
