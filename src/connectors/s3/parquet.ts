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

  const fields = new Map<string, FieldType | undefined>();
  for (const r of rows) {
    const after = r.payload.after;
    if (!isStructuredData(after)) continue;
    for (const [name, value] of Object.entries(after)) {
      fields.set(name, merge(fields.get(name), value));
    }
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
    columnData.push({
      name,
      type: t,
      data: rows.map((r) => {
        const after = r.payload.after;
        const v = isStructuredData(after) ? after[name] : undefined;
        return v === undefined || v === null ? null : convert(t, v);
      }),
    });
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
