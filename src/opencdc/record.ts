/**
 * The OpenCDC record: the unit of data that flows through a pipeline.
 *
 * In memory a record is a plain object. Raw data is a `Uint8Array` (usually a
 * Buffer), structured data a plain JSON-like object. Positions are opaque bytes
 * owned by the source connector that produced the record.
 */

export const Operation = {
  Create: 'create',
  Update: 'update',
  Delete: 'delete',
  Snapshot: 'snapshot',
} as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

export const OPERATIONS: readonly Operation[] = ['create', 'update', 'delete', 'snapshot'];

/** A JSON-compatible value inside structured data. Bytes are allowed and encode as base64. */
export type StructuredValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | StructuredValue[]
  | { [key: string]: StructuredValue };

/** Structured data: a map of field names to values. */
export type StructuredData = { [key: string]: StructuredValue };

/** Raw data is bytes; structured data is an object. `null` means "no data". */
export type Data = Uint8Array | StructuredData | null;

export type Metadata = Record<string, string>;

export interface Change {
  before: Data;
  after: Data;
}

export interface OpenCDCRecord {
  position: Uint8Array;
  operation: Operation;
  metadata: Metadata;
  key: Data;
  payload: Change;
}

export function isRawData(d: Data | undefined): d is Uint8Array {
  return d instanceof Uint8Array;
}

export function isStructuredData(d: Data | undefined): d is StructuredData {
  return d !== null && d !== undefined && !(d instanceof Uint8Array);
}

/** Creates raw data from a string (UTF-8) or bytes. */
export function rawData(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Builds a record, filling in what is missing the way Conduit's SDK does. */
export function makeRecord(r: Partial<OpenCDCRecord> & { position: Uint8Array }): OpenCDCRecord {
  return {
    position: r.position,
    operation: r.operation ?? 'create',
    metadata: r.metadata ?? {},
    key: r.key ?? null,
    payload: r.payload ?? { before: null, after: null },
  };
}

/** A deep copy, so that one branch of a fan-out can change a record without the others seeing it. */
export function cloneRecord(r: OpenCDCRecord): OpenCDCRecord {
  return {
    position: r.position,
    operation: r.operation,
    metadata: { ...r.metadata },
    key: cloneData(r.key),
    payload: { before: cloneData(r.payload.before), after: cloneData(r.payload.after) },
  };
}

export function cloneData(d: Data): Data {
  if (d === null) return null;
  if (d instanceof Uint8Array) return d; // raw data is never mutated in place
  return structuredClone(d);
}
