/**
 * Infers an Avro schema from structured data, the way Conduit's `avro.encode`
 * does with its `autoRegister` strategy (conduit-commons' extractor), in
 * JavaScript terms:
 *
 * - an object becomes a record named by its path (`record`, `record.address`),
 *   its fields sorted by name; the top-level value must be an object;
 * - null becomes a nullable string, `["string","null"]`: there is nothing to
 *   learn the type from;
 * - a safe integer (|n| < 2^53) or a bigint becomes `long`; any other number `double`;
 * - a string `string`, a boolean `boolean`, bytes `bytes`, a Date a `long`
 *   with logical type `timestamp-micros`;
 * - an array becomes an array of the union of `null` and its items' types
 *   (an empty array: `["null","string"]`); arrays and records inside are
 *   merged when their shapes agree.
 *
 * So two records of one shape may still give two schemas (a null field now, a
 * number later): that is why the strategy is for development only.
 */
import { AvroSchemaError } from './avro.js';

type Schema = string | { [k: string]: unknown } | Schema[];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The schema of a structured value, as JSON text.
 *
 * @throws AvroSchemaError for a key that is not a valid Avro name, a value of
 *   an unsupported type, or array items of irreconcilable shapes.
 */
export function inferSchema(data: Record<string, unknown>): string {
  return JSON.stringify(record(data, 'record'));
}

function record(o: Record<string, unknown>, path: string): Schema {
  const keys = Object.keys(o).sort();
  return {
    type: 'record',
    name: path,
    fields: keys.map((k) => {
      if (!NAME.test(k)) {
        throw new AvroSchemaError(
          `${path}: the field name ${JSON.stringify(k)} is not a valid Avro name (letters, digits and _, not starting with a digit)`,
        );
      }
      return { name: k, type: infer(o[k], `${path}.${k}`) };
    }),
  };
}

function infer(v: unknown, path: string): Schema {
  if (v === null || v === undefined) return ['string', 'null'];
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      // Beyond 2^53 a number is not an exact integer any more: a double, as it came.
      return Number.isSafeInteger(v) ? 'long' : 'double';
    case 'bigint':
      return 'long';
    case 'string':
      return 'string';
    case 'object':
      break;
    default:
      throw new AvroSchemaError(`${path}: a ${typeof v} has no Avro type`);
  }
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Date) return { type: 'long', logicalType: 'timestamp-micros' };
  if (Array.isArray(v)) {
    const items: Schema[] = ['null'];
    for (const x of v) addBranch(items, infer(x, `${path}.item`), path);
    if (v.length === 0) items.push('string');
    return { type: 'array', items };
  }
  return record(v as Record<string, unknown>, path);
}

/** Adds a type to a union's branches: equal ones once, arrays merged, nested unions flattened. */
function addBranch(branches: Schema[], s: Schema, path: string): void {
  if (Array.isArray(s)) {
    for (const b of s) addBranch(branches, b, path);
    return;
  }
  const text = JSON.stringify(s);
  if (branches.some((b) => JSON.stringify(b) === text)) return;
  const kind = kindOf(s);
  const i = branches.findIndex((b) => kindOf(b) === kind);
  if (i < 0) {
    branches.push(s);
    return;
  }
  const other = branches[i] as { [k: string]: unknown };
  if (kind === 'array') {
    const items: Schema[] = [];
    addBranch(items, other['items'] as Schema, path);
    addBranch(items, (s as { [k: string]: unknown })['items'] as Schema, path);
    branches[i] = { type: 'array', items: items.length === 1 ? items[0] : items };
    return;
  }
  throw new AvroSchemaError(
    `${path}: the items have different ${kind === 'record' ? 'shapes' : 'types'} (${JSON.stringify(other)} and ${text}); Avro cannot tell them apart in one array`,
  );
}

function kindOf(s: Schema): string {
  if (typeof s === 'string') return s;
  if (Array.isArray(s)) return 'union';
  const t = s['type'];
  return typeof t === 'string' ? t : 'union';
}
