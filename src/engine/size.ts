/**
 * An estimate of the heap a record holds, used to charge the byte budget. It
 * counts data bytes plus a fixed overhead per object and field, which is what
 * the V8 heap pays beyond the data itself. Cheap: no serialisation.
 */
import { hasKeys } from '../opencdc/json.js';
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
    return n;
  }
  const o = v as Record<string, StructuredValue>;
  const shape = shapeOf(o);
  if (shape?.size !== undefined) return shape.size(o);
  for (const k in o) n += k.length + valueSize(o[k] ?? null);
  if (shape !== undefined && ++shape.seen === COMPILE_AFTER) shape.size = compileSize(shape.keys);
  return n;
}

/**
 * The objects of a source mostly share a few key sets (a key's, a payload's): once COMPILE_AFTER objects
 * had one, a function that sizes objects of that shape is compiled (each field read by name, an inline
 * cache, where the loop's `o[k]` is a megamorphic lookup), and used for every object with exactly those
 * keys (a for-in walk that allocates nothing). It counts exactly as the loop does.
 */
interface SizeShape {
  readonly keys: readonly string[];
  seen: number;
  size: ((o: Readonly<Record<string, StructuredValue>>) => number) | undefined;
}

const COMPILE_AFTER = 64;
const SHAPES = 8;
const shapes: SizeShape[] = [];
let shapeNext = 0;

/** The remembered shape `o` has; a new one (replacing the oldest) for a plain object that has none. */
function shapeOf(o: Readonly<Record<string, StructuredValue>>): SizeShape | undefined {
  for (let i = 0; i < shapes.length; i++) {
    const s = shapes[i] as SizeShape;
    if (hasKeys(o, s.keys)) return s;
  }
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const s: SizeShape = { keys: Object.keys(o), seen: 0, size: undefined };
  shapes[shapeNext] = s;
  shapeNext = (shapeNext + 1) % SHAPES;
  return s;
}

function compileSize(keys: readonly string[]): SizeShape['size'] {
  if (keys.length === 0 || keys.length > 1024) return undefined;
  let names = FIELD_OVERHEAD;
  const lines = ['let n = 0, v;'];
  for (const k of keys) {
    names += k.length;
    // A JSON string is a JavaScript string literal: the key cannot break out of it.
    lines.push(
      `v = o[${JSON.stringify(k)}];`,
      `n += typeof v === 'string' ? ${FIELD_OVERHEAD} + v.length : typeof v === 'number' || typeof v === 'boolean' ? 16 : valueSize(v ?? null);`,
    );
  }
  lines.push(`return n + ${names};`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the body is built from quoted keys only
  return new Function('valueSize', `return function size(o) { ${lines.join(' ')} };`)(valueSize) as SizeShape['size'];
}
