/**
 * Record formats: how a destination turns a record into bytes
 * (`sdk.record.format` and `sdk.record.format.options`, connector-sdk's
 * record serializers).
 *
 * - `template`: the options are a Go template executed against the record.
 * - `<converter>/<encoder>`: a converter reshapes the record (`opencdc`
 *   keeps it, `debezium` wraps it in a Kafka Connect envelope), an encoder
 *   writes it (`json`). The options are `k=v` pairs separated by commas, split
 *   exactly as the SDK does (no trimming of the pairs), and unknown keys are
 *   ignored.
 *
 * Options of the converters:
 * - `opencdc`: `position.excluded` (bool, default false) writes a null position.
 * - `debezium`: `debezium.schema.name` (the envelope schema's name) and
 *   `debezium.rawData.key` (default `opencdc.rawData`), the field that raw
 *   data is put in when it is not a JSON object.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { compareGo, encodeRecord, encodeRecordInto, encodeValue, GoStruct, type ByteSink } from '../opencdc/json.js';
import { MetadataKey } from '../opencdc/metadata.js';
import type { Data, OpenCDCRecord, Operation } from '../opencdc/record.js';
import { compileTemplate } from '../template/index.js';
import type { RecordFormatter } from './connector.js';
import { parseBool } from './params.js';

const FORMAT_PATH = 'sdk.record.format';
const OPTIONS_PATH = 'sdk.record.format.options';
export const DEFAULT_RECORD_FORMAT = 'opencdc/json';
const TEMPLATE_FORMAT = 'template';

type Options = ReadonlyMap<string, string>;

/** Changes the structure of a record; the result is handed to an encoder. */
interface Converter {
  readonly name: string;
  /** @throws Error for a bad option (the caller adds the context). */
  configure(options: Options): (record: OpenCDCRecord) => unknown;
}

/** Writes what a converter produced. */
interface Encoder {
  readonly name: string;
  configure(options: Options): (value: unknown) => string | Uint8Array;
}

/** What the `opencdc` converter produces: the record itself, for the JSON encoder's fast path. */
class OpenCDCValue {
  constructor(
    readonly record: OpenCDCRecord,
    readonly excludePosition: boolean,
  ) {}
}

const opencdcConverter: Converter = {
  name: 'opencdc',
  configure(options) {
    const excludePosition = positionExcluded(options);
    return (record) => new OpenCDCValue(record, excludePosition);
  },
};

function positionExcluded(options: Options): boolean {
  const v = options.get('position.excluded');
  return v === undefined ? false : parseGoBool(v, 'position.excluded');
}

const DEBEZIUM_DEFAULT_RAW_DATA_KEY = 'opencdc.rawData';

const DEBEZIUM_OPS: Readonly<Record<Operation, string>> = {
  create: 'c',
  update: 'u',
  delete: 'd',
  snapshot: 'r',
};

const debeziumConverter: Converter = {
  name: 'debezium',
  configure(options) {
    const schemaName = options.get('debezium.schema.name') ?? '';
    const rawDataKey = options.get('debezium.rawData.key') || DEBEZIUM_DEFAULT_RAW_DATA_KEY;
    return (record) => debeziumEnvelope(record, schemaName, rawDataKey);
  },
};

const jsonEncoder: Encoder = {
  name: 'json',
  configure() {
    return (value) =>
      value instanceof OpenCDCValue
        ? encodeRecord(value.record, value.excludePosition ? { excludePosition: true } : undefined)
        : encodeValue(value);
  },
};

const CONVERTERS: readonly Converter[] = [opencdcConverter, debeziumConverter];
const ENCODERS: readonly Encoder[] = [jsonEncoder];

/** Every format name, sorted as the SDK lists them. */
export const RECORD_FORMATS: readonly string[] = [
  TEMPLATE_FORMAT,
  ...CONVERTERS.flatMap((c) => ENCODERS.map((e) => `${c.name}/${e.name}`)),
].sort();

const SUGGESTION =
  `Set ${FORMAT_PATH} to one of ${RECORD_FORMATS.join(', ')} (default ${DEFAULT_RECORD_FORMAT}). ` +
  `For template, put a Go template in ${OPTIONS_PATH}, e.g. {{ printf "%s" .Payload.After }}.`;

/**
 * Creates the formatter for `sdk.record.format` and `sdk.record.format.options`.
 * An empty format means the default, `opencdc/json`.
 *
 * @example
 * const format = createFormatter('debezium/json', 'debezium.schema.name=users');
 * format(record); // '{"schema":{…},"payload":{…}}'
 *
 * @throws ConduitError `param.validation_failed` for an unknown format or bad options.
 */
export function createFormatter(format: string, options: string): RecordFormatter {
  const name = format.trim() === '' ? DEFAULT_RECORD_FORMAT : format.trim();

  if (name === TEMPLATE_FORMAT) {
    let tmpl: { execute(data: unknown): string };
    try {
      tmpl = compileTemplate(options);
    } catch (err) {
      throw optionsError(name, `invalid template: ${(err as Error).message}`, err);
    }
    return (record) => tmpl.execute(record);
  }

  const slash = name.indexOf('/');
  const converter = slash < 0 ? undefined : CONVERTERS.find((c) => c.name === name.slice(0, slash));
  const encoder = slash < 0 ? undefined : ENCODERS.find((e) => e.name === name.slice(slash + 1));
  if (converter === undefined || encoder === undefined) {
    throw new ConduitError(
      Code.ParamValidation,
      `invalid ${FORMAT_PATH}: ${JSON.stringify(name)} not found in [${RECORD_FORMATS.join(' ')}]`,
      { configPath: FORMAT_PATH, suggestion: SUGGESTION },
    );
  }

  const opts = parseFormatOptions(options);
  let convert: (record: OpenCDCRecord) => unknown;
  let encode: (value: unknown) => string | Uint8Array;
  try {
    convert = converter.configure(opts);
  } catch (err) {
    throw optionsError(name, `failed to configure converter: ${(err as Error).message}`, err);
  }
  try {
    encode = encoder.configure(opts);
  } catch (err) {
    throw optionsError(name, `failed to configure encoder: ${(err as Error).message}`, err);
  }
  if (converter === opencdcConverter && encoder === jsonEncoder) {
    // The default format, on every record: skip the intermediate value.
    const encOpts = positionExcluded(opts) ? { excludePosition: true } : undefined;
    const formatter: RecordFormatter = (record) => encodeRecord(record, encOpts);
    byteWriters.set(formatter, (record, sink) => encodeRecordInto(record, sink, encOpts));
    return formatter;
  }
  return (record) => encode(convert(record));
}

/** Writes a record's formatted bytes into a sink (see {@link byteWriterOf}). */
export type RecordByteWriter = (record: OpenCDCRecord, sink: ByteSink) => void;

const byteWriters = new WeakMap<RecordFormatter, RecordByteWriter>();

/**
 * For a formatter made by {@link createFormatter}, a function that writes the
 * same bytes the formatter's result has as UTF-8 straight into a buffer, when
 * the format has one (`opencdc/json`). A destination that appends records to a
 * buffer uses it to skip building (and flattening) a string per record. On a
 * throw the sink's `off` is unchanged.
 */
export function byteWriterOf(format: RecordFormatter): RecordByteWriter | undefined {
  return byteWriters.get(format);
}

/**
 * Checks a format and its options at configuration time.
 * @returns the error `createFormatter` would throw, or undefined.
 */
export function validateFormat(format: string, options: string): ConduitError | undefined {
  try {
    createFormatter(format, options);
    return undefined;
  } catch (err) {
    if (err instanceof ConduitError) return err;
    return optionsError(format.trim(), (err as Error).message, err);
  }
}

function optionsError(format: string, message: string, cause: unknown): ConduitError {
  return new ConduitError(Code.ParamValidation, `invalid ${OPTIONS_PATH} for ${JSON.stringify(format)}: ${message}`, {
    configPath: OPTIONS_PATH,
    suggestion:
      format === TEMPLATE_FORMAT
        ? 'Fix the Go template in sdk.record.format.options.'
        : 'Options are key=value pairs separated by commas, e.g. debezium.schema.name=users,debezium.rawData.key=raw.',
    cause,
  });
}

/** `k=v,k2=v2` as the SDK splits it: on every comma, then on the first `=`; a key without `=` gets "". */
export function parseFormatOptions(options: string): Map<string, string> {
  const out = new Map<string, string>();
  const s = options.trim();
  if (s === '') return out;
  for (const pair of s.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) out.set(pair, '');
    else out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** Go's strconv.ParseBool, with the SDK's message on failure. */
function parseGoBool(s: string, name: string): boolean {
  const b = parseBool(s);
  if (b === undefined) {
    throw new Error(`failed to parse ${name}: strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
  }
  return b;
}

// ---------------------------------------------------------------------------
// Debezium
// ---------------------------------------------------------------------------

/** A Kafka Connect schema (conduit-connector-sdk `kafkaconnect.Schema`). */
interface Schema {
  type: 'boolean' | 'int8' | 'int16' | 'int32' | 'int64' | 'float' | 'double' | 'bytes' | 'string' | 'array' | 'struct';
  optional: boolean;
  name?: string;
  items?: Schema;
  fields?: Schema[];
  field?: string;
}

/** Structured data for the envelope, and whether it came from parsing raw JSON (numbers are then float64). */
interface Structured {
  data: Record<string, unknown> | null;
  parsed: boolean;
}

function debeziumEnvelope(record: OpenCDCRecord, schemaName: string, rawDataKey: string): GoStruct {
  const before = toStructured(record.payload.before, rawDataKey);
  const after = toStructured(record.payload.after, rawDataKey);
  const tsMs = readAtMillis(record.metadata);

  // The schema of before comes from after when before is missing (an insert),
  // and the other way round (a delete).
  const beforeSchema = mapSchema(before.data ?? after.data ?? {}, before.data !== null ? before.parsed : after.parsed);
  beforeSchema.field = 'before';
  const afterSchema = mapSchema(after.data ?? before.data ?? {}, after.data !== null ? after.parsed : before.parsed);
  afterSchema.field = 'after';
  const sourceSchema: Schema = {
    type: 'struct',
    optional: true,
    fields: sortedKeys(record.metadata).map((k) => ({ type: 'string', optional: false, field: k })),
    field: 'source',
  };
  const schema: Schema = {
    type: 'struct',
    optional: false,
    ...(schemaName === '' ? {} : { name: schemaName }),
    fields: [
      beforeSchema,
      afterSchema,
      sourceSchema,
      { type: 'string', optional: false, field: 'op' },
      { type: 'int64', optional: true, field: 'ts_ms' },
      {
        type: 'struct',
        optional: true,
        fields: [
          { type: 'string', optional: false, field: 'id' },
          { type: 'int64', optional: false, field: 'total_order' },
          { type: 'int64', optional: false, field: 'data_collection_order' },
        ],
        field: 'transaction',
      },
    ],
  };
  const payload = new GoStruct([
    ['before', before.data],
    ['after', after.data],
    ['source', record.metadata],
    ['op', DEBEZIUM_OPS[record.operation] ?? ''],
    ['ts_ms', tsMs === 0 ? undefined : tsMs], // omitempty
    ['transaction', null],
  ]);
  return new GoStruct([
    ['schema', schemaStruct(schema)],
    ['payload', payload],
  ]);
}

/** Raw data that holds a JSON object is parsed; other raw data is put under `rawDataKey` as bytes. */
function toStructured(d: Data, rawDataKey: string): Structured {
  if (d === null) return { data: null, parsed: false };
  if (!(d instanceof Uint8Array)) return { data: d, parsed: false };
  if (d.length === 0) return { data: null, parsed: false };
  try {
    const v: unknown = JSON.parse(Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('utf8'));
    if (v === null) return { data: null, parsed: true }; // Go unmarshals null into a nil map
    if (typeof v === 'object' && !Array.isArray(v)) return { data: v as Record<string, unknown>, parsed: true };
  } catch {
    // not JSON: fall through
  }
  return { data: { [rawDataKey]: d }, parsed: false };
}

/** `opencdc.readAt` (Unix ns) in ms, or 0 when missing or not an int64. */
function readAtMillis(md: Readonly<Record<string, string>>): number {
  const s = md[MetadataKey.ReadAt];
  if (s === undefined || !/^[+-]?[0-9]+$/.test(s)) return 0;
  const ns = BigInt(s);
  if (ns > 9223372036854775807n || ns < -9223372036854775808n) return 0;
  // time.Unix(0, ns).UnixMilli() rounds towards minus infinity.
  let ms = ns / 1_000_000n;
  if (ns < 0n && ms * 1_000_000n !== ns) ms -= 1n;
  return Number(ms);
}

function mapSchema(o: Readonly<Record<string, unknown>>, parsed: boolean): Schema {
  const fields: Schema[] = [];
  for (const k of sortedKeys(o)) {
    const v = o[k];
    if (v === undefined) continue;
    fields.push({ ...(reflect(v, parsed) ?? { type: 'string', optional: true }), field: k });
  }
  return { type: 'struct', optional: true, fields };
}

/**
 * The schema of a value (kafkaconnect.Reflect). Numbers parsed from JSON are
 * float64 in Go (`double`); in structured data an integer is taken for an
 * int64. A Date is written as a string and gets a string schema.
 */
function reflect(v: unknown, parsed: boolean): Schema | undefined {
  switch (typeof v) {
    case 'boolean':
      return { type: 'boolean', optional: false };
    case 'number':
      return { type: !parsed && Number.isInteger(v) ? 'int64' : 'double', optional: false };
    case 'bigint':
      return { type: 'int64', optional: false };
    case 'string':
      return { type: 'string', optional: false };
    case 'object': {
      if (v === null) return undefined;
      if (v instanceof Uint8Array) return { type: 'bytes', optional: true };
      if (v instanceof Date) return { type: 'string', optional: false };
      if (Array.isArray(v)) {
        const items = (v.length > 0 ? reflect(v[0], parsed) : undefined) ?? { type: 'string', optional: true };
        return { type: 'array', optional: true, items };
      }
      return mapSchema(v as Record<string, unknown>, parsed);
    }
    default:
      return undefined;
  }
}

/** A schema in the field order of the Go struct, leaving out empty optional fields. */
function schemaStruct(s: Schema): GoStruct {
  return new GoStruct([
    ['type', s.type],
    ['optional', s.optional],
    ['name', s.name === '' ? undefined : s.name],
    ['items', s.items === undefined ? undefined : schemaStruct(s.items)],
    ['fields', s.fields === undefined || s.fields.length === 0 ? undefined : s.fields.map(schemaStruct)],
    ['field', s.field === '' ? undefined : s.field],
  ]);
}

/** Keys in Go's map order (the order the encoder writes them, so schema and payload agree). */
function sortedKeys(o: object): string[] {
  return Object.keys(o).sort(compareGo);
}
