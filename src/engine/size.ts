/**
 * An estimate of the heap a record holds, used to charge the byte budget. It
 * counts data bytes plus a fixed overhead per object and field, which is what
 * the V8 heap pays beyond the data itself. Cheap: no serialisation.
 */
import type { Data, OpenCDCRecord, StructuredValue } from '../opencdc/record.js';

const RECORD_OVERHEAD = 160;
const FIELD_OVERHEAD = 24;

export function estimateRecordSize(r: OpenCDCRecord): number {
  let n = RECORD_OVERHEAD + r.position.byteLength;
  const md = r.metadata;
  for (const k in md) n += FIELD_OVERHEAD + k.length + (md[k]?.length ?? 0);
  return n + dataSize(r.key) + dataSize(r.payload.before) + dataSize(r.payload.after);
}

export function estimateBatchSize(records: readonly OpenCDCRecord[]): number {
  let n = 0;
  for (const r of records) n += estimateRecordSize(r);
  return n;
}

function dataSize(d: Data): number {
  if (d === null) return 0;
  if (d instanceof Uint8Array) return FIELD_OVERHEAD + d.byteLength;
  return valueSize(d);
}

function valueSize(v: StructuredValue): number {
  if (v === null) return 8;
  switch (typeof v) {
    case 'string':
      return FIELD_OVERHEAD + v.length;
    case 'number':
    case 'boolean':
    case 'bigint':
      return 16;
    default:
      break;
  }
  if (v instanceof Uint8Array) return FIELD_OVERHEAD + v.byteLength;
  if (v instanceof Date) return 32;
  let n = FIELD_OVERHEAD;
  if (Array.isArray(v)) {
    for (const x of v) n += valueSize(x);
  } else {
    const o = v as Record<string, StructuredValue>;
    for (const k in o) n += k.length + valueSize(o[k] ?? null);
  }
  return n;
}
