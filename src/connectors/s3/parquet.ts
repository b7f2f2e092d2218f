/**
 * A batch of records as one Parquet file (hyparquet-writer, pure JavaScript).
 *
 * Columns: `opencdc_position` (bytes), `opencdc_operation` (string), `opencdc_metadata` (JSON),
 * `opencdc_key` (JSON: structured keys as objects, raw keys as base64 strings), `opencdc_before`
 * (JSON, the payload before), then one column per top-level field of the structured payloads
 * (the union over the batch; a record without the field has null), and `opencdc_raw` (bytes) for
 * records whose payload is raw. A field's type is inferred from its values in the batch: BOOLEAN,
 * INT64 (integers), DOUBLE, STRING, BYTE_ARRAY, TIMESTAMP (dates); anything else, or a mix, is JSON.
 */
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import type { OpenCDCRecord, StructuredData, StructuredValue } from '../../opencdc/record.js';
import { isRawData, isStructuredData } from '../../opencdc/record.js';

export const RESERVED_COLUMNS = [
  'opencdc_position',
  'opencdc_operation',
  'opencdc_metadata',
  'opencdc_key',
  'opencdc_before',
  'opencdc_raw',
] as const;

type FieldType = 'BOOLEAN' | 'INT64' | 'DOUBLE' | 'STRING' | 'BYTE_ARRAY' | 'TIMESTAMP' | 'JSON';

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

  const afters = rows.map((r) => (isStructuredData(r.payload.after) ? r.payload.after : undefined));
  const fields = new Map<string, FieldType | undefined>();
  for (const after of afters) {
    if (after === undefined) continue;
    for (const name of Object.keys(after)) fields.set(name, merge(fields.get(name), after[name]));
  }
  const columnData: ColumnSource[] = [
    { name: 'opencdc_position', type: 'BYTE_ARRAY', data: rows.map((r) => r.position) },
    { name: 'opencdc_operation', type: 'STRING', data: rows.map((r) => r.operation) },
    { name: 'opencdc_metadata', type: 'JSON', data: rows.map((r) => r.metadata) },
    { name: 'opencdc_key', type: 'JSON', data: rows.map((r) => (r.key === null ? null : jsonSafe(r.key))) },
    {
      name: 'opencdc_before',
      type: 'JSON',
      data: rows.map((r) => (r.payload.before === null ? null : jsonSafe(r.payload.before))),
    },
  ];
  for (const [name, type] of fields) {
    const t = type ?? 'JSON';
    const data = new Array<unknown>(afters.length);
    for (let i = 0; i < afters.length; i++) {
      const v = afters[i]?.[name];
      data[i] = v === undefined || v === null ? null : convert(t, v);
    }
    columnData.push(t === 'STRING' ? stringColumn(name, data as (string | null)[]) : { name, type: t, data });
  }
  if (rows.some((r) => isRawData(r.payload.after))) {
    columnData.push({
      name: 'opencdc_raw',
      type: 'BYTE_ARRAY',
      data: rows.map((r) => (isRawData(r.payload.after) ? r.payload.after : null)),
    });
  }
  const bytes = new Uint8Array(parquetWriteBuffer({ columnData, createdBy: 'conduit-ts s3 destination' }));
  return { bytes, outcomes, written: rows.length };
}

/**
 * A column of strings, with its encoding chosen here (the writer's rule: a dictionary must at least halve
 * the plain size). Left to choose, the writer samples, and when it turns the dictionary down it encodes
 * every string into a buffer of its own (a TextEncoder call and an allocation per value): most of the
 * time of a batch of short strings. So: a dictionary, forced, built from the strings (only the distinct
 * ones are encoded); or PLAIN, with the values as UTF-8 views into one buffer.
 */
function stringColumn(name: string, values: readonly (string | null)[]): ColumnSource {
  let plainBytes = 0;
  let count = 0;
  for (const s of values) {
    if (s === null) continue;
    count++;
    plainBytes += s.length + 4;
  }
  const distinct = new Set<string>();
  let dictionaryBytes = 0;
  for (const s of values) {
    if (s === null || distinct.has(s)) continue;
    distinct.add(s);
    dictionaryBytes += s.length + 4;
    if (2 * dictionaryBytes > plainBytes) break; // cannot pay any more
  }
  const indexBytes = Math.ceil((count * Math.ceil(Math.log2(Math.max(2, distinct.size)))) / 8);
  if (2 * (dictionaryBytes + indexBytes) <= plainBytes) {
    return { name, type: 'STRING', data: utf8Column(values, true), encoding: 'RLE_DICTIONARY' };
  }
  return { name, type: 'STRING', data: utf8Column(values, false), encoding: 'PLAIN' };
}

/**
 * The UTF-8 bytes of strings, as views into one buffer (one allocation instead of one per value). With
 * `dedupe`, equal strings share one view: the writer's dictionary then finds a repeat by identity, without
 * hashing its bytes.
 */
function utf8Column(values: readonly (string | null)[], dedupe: boolean): (Uint8Array | null)[] {
  let bound = 0;
  for (const s of values) if (s !== null) bound += s.length * 3;
  const slab = Buffer.allocUnsafe(bound);
  let off = 0;
  const seen = dedupe ? new Map<string, Uint8Array>() : undefined;
  return values.map((s) => {
    if (s === null) return null;
    if (seen !== undefined) {
      const known = seen.get(s);
      if (known !== undefined) return known;
      const view = utf8Into(s);
      seen.set(s, view);
      return view;
    }
    return utf8Into(s);
  });

  function utf8Into(s: string): Uint8Array {
    const start = off;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        off = start + slab.write(s, start, 'utf8');
        return slab.subarray(start, off);
      }
      slab[off++] = c;
    }
    return slab.subarray(start, off);
  }
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

function convert(t: FieldType, v: StructuredValue): unknown {
  switch (t) {
    case 'INT64':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'DOUBLE':
      return Number(v);
    case 'JSON':
      return jsonSafe(v);
    default:
      return v;
  }
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
