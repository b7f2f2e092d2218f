/**
 * How Go's `text/template` sees our JavaScript values.
 *
 * | JS value                  | Go value                                  |
 * |---------------------------|-------------------------------------------|
 * | `undefined`               | invalid `reflect.Value` ("<no value>")    |
 * | `null`                    | nil `interface{}`                         |
 * | `string` / `boolean`      | `string` / `bool`                         |
 * | `number`                  | `float64` (what JSON decoding produces)   |
 * | `bigint`                  | `int` / `int64`                           |
 * | `Uint8Array`              | `opencdc.RawData` / `[]byte`              |
 * | array                     | `[]interface{}`                           |
 * | plain object              | `map[string]interface{}` (StructuredData) |
 * | `Date` / {@link GoTime}   | `time.Time`                               |
 * | {@link RecordView} etc.   | `opencdc.Record`, `Change`, `Metadata`... |
 */
import type { Change, OpenCDCRecord } from '../opencdc/record.js';

/** The struct `opencdc.Record`, viewed without copying the record. */
export class RecordView {
  constructor(readonly record: OpenCDCRecord) {}
}

/** The struct `opencdc.Change`. */
export class ChangeView {
  constructor(readonly change: Change) {}
}

/** The named map `opencdc.Metadata` (`map[string]string`). */
export class MetadataView {
  constructor(readonly map: Record<string, string>) {}
}

/** `opencdc.Position`: a byte slice with a `String()` method. */
export class PositionView {
  constructor(readonly bytes: Uint8Array) {}
  String(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('utf8');
  }
}

/** `opencdc.Operation`: an int with a `String()` method. */
export class OperationView {
  constructor(
    readonly code: number,
    readonly name: string,
  ) {}
  String(): string {
    return this.name;
  }
}

export const OPERATION_VIEWS: Record<string, OperationView> = {
  create: new OperationView(1, 'create'),
  update: new OperationView(2, 'update'),
  delete: new OperationView(3, 'delete'),
  snapshot: new OperationView(4, 'snapshot'),
};

export function operationView(op: string): OperationView {
  return OPERATION_VIEWS[op] ?? new OperationView(0, `Operation(0)`);
}

/** A nil value of the interface type `opencdc.Data` (prints `<nil>`, not `<no value>`). */
export const NIL_DATA: unique symbol = Symbol('nil opencdc.Data');

/** `time.Time`: milliseconds since the epoch plus extra nanoseconds, in local time or UTC. */
export class GoTime {
  constructor(
    readonly ms: number,
    readonly nsExtra = 0,
    readonly utc = false,
  ) {}
  static fromDate(d: Date): GoTime {
    return new GoTime(d.getTime());
  }
  get unixSeconds(): number {
    return Math.floor(this.ms / 1000);
  }
  get nanos(): number {
    return (((this.ms % 1000) + 1000) % 1000) * 1e6 + this.nsExtra;
  }
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Go's name for the type of a value, as it appears in error messages. */
export function typeName(v: unknown): string {
  switch (typeof v) {
    case 'undefined':
      return '<nil>';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return 'float64';
    case 'bigint':
      return 'int';
    case 'function':
      return 'func';
    case 'symbol':
      return 'opencdc.Data';
  }
  if (v === null) return '<nil>';
  if (v instanceof Uint8Array) return '[]uint8';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof RecordView) return 'opencdc.Record';
  if (v instanceof ChangeView) return 'opencdc.Change';
  if (v instanceof MetadataView) return 'opencdc.Metadata';
  if (v instanceof PositionView) return 'opencdc.Position';
  if (v instanceof OperationView) return 'opencdc.Operation';
  if (v instanceof GoTime || v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

/** Go's `template.IsTrue`. Returns undefined when the value has no truth value. */
export function isTrue(v: unknown): boolean {
  switch (typeof v) {
    case 'undefined':
      return false;
    case 'string':
      return v.length > 0;
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'function':
      return true;
    case 'symbol':
      return false;
  }
  if (v === null) return false;
  if (v instanceof Uint8Array) return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof RecordView || v instanceof ChangeView || v instanceof GoTime || v instanceof Date) return true;
  if (v instanceof MetadataView) return hasAnyKey(v.map);
  if (v instanceof PositionView) return v.bytes.length > 0;
  if (v instanceof OperationView) return v.code !== 0;
  return hasAnyKey(v as object);
}

function hasAnyKey(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** Normalises a value for passing into a Go `interface{}` parameter. */
export function toIface(v: unknown): unknown {
  if (v === undefined || v === NIL_DATA) return null;
  return v;
}

/** Views a record the way Go templates see `opencdc.Record`. */
export function recordView(record: OpenCDCRecord): RecordView {
  return new RecordView(record);
}

/** True when `v` has the shape of an OpenCDC record. */
export function looksLikeRecord(v: unknown): v is OpenCDCRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<OpenCDCRecord>;
  return (
    r.position instanceof Uint8Array &&
    typeof r.operation === 'string' &&
    typeof r.payload === 'object' &&
    r.payload !== null &&
    typeof r.metadata === 'object'
  );
}

export function dataValue(d: unknown): unknown {
  return d === null || d === undefined ? NIL_DATA : d;
}

/** Sorted keys as Go's fmt and encoding/json order them (byte-wise). */
export function sortedKeys(o: object): string[] {
  const ks = Object.keys(o);
  ks.sort(compareGoStrings);
  return ks;
}

export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order equals UTF-8 byte order except around surrogates; good enough and fast
  return a < b ? -1 : 1;
}

/** UTF-8 byte length of a string. */
export function byteLength(s: string): number {
  return /^[\x00-\x7f]*$/.test(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

export function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}
