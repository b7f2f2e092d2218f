/**
 * `field.convert`: converts a field inside structured data to a string, an
 * integer, a float, a bool or a time, the way Conduit does: the value is
 * printed as text (bools as 1/0 for numbers), then parsed as the new type.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { ProcessedRecord, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { formatGoValue } from '../../template/index.js';
import { asBuffer, fieldFailure, fieldParam, PAYLOAD_OR_KEY } from '../util.js';
import { atoi, ConvertError, formatFloatF, fromUnixNanos, parseBool64, parseFloat64, parseRFC3339 } from './strconv.js';

const NAME = 'field.convert';

const TYPES = ['string', 'int', 'float', 'bool', 'time'] as const;
type Target = (typeof TYPES)[number];

export const fieldConvertPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Convert the type of a field.',
  description:
    'Converts a field of one type into another type (e.g. a string to an integer). The types are string, int, ' +
    'float, bool and time, in any combination. Booleans convert to the numbers 1 (true) and 0 (false). Only fields ' +
    'in structured data under `.Key`, `.Payload.Before` and `.Payload.After` can be converted; decode raw JSON ' +
    'data with `json.decode` first.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      required: true,
      regex: PAYLOAD_OR_KEY,
      description:
        'Field is the target field that should be converted. Note that you can only convert fields in structured ' +
        'data under `.Key` and `.Payload`. For more information about the format, see Referencing fields.',
    },
    type: {
      type: 'string',
      required: true,
      inclusion: TYPES,
      description:
        'Type is the target field type after conversion, available options are: `string`, `int`, `float`, ' +
        '`bool`, `time`.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let target: Target = 'string';
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        ref = fieldParam(ctx, 'field', config.string('field'), {
          targets: ['dataField'],
          why: 'only a field inside .Key, .Payload.Before or .Payload.After can be converted',
        });
        target = config.string('type') as Target;
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const field = ref as FieldRef;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          try {
            const value = field.get(r);
            if (value === undefined) throw new ConvertError('the field does not exist');
            field.set(r, convert(value, target));
            out.push(r);
          } catch (e) {
            out.push(fieldFailure(ctx, NAME, field.text, e));
          }
        }
        return out;
      },
    };
  },
};

/** Converts one value; throws ConvertError with Go's message when the text does not parse. */
export function convert(value: unknown, target: Target): unknown {
  if (value === null) throw new ConvertError('the value is null');
  const text = toText(value, target);
  switch (target) {
    case 'string':
      return text;
    case 'int':
      return atoi(text);
    case 'float':
      return parseFloat64(text);
    case 'bool':
      return parseBool64(text);
    case 'time': {
      let nanos: number | bigint | undefined;
      try {
        nanos = atoi(text);
      } catch {
        // not a whole number: an RFC 3339 text
      }
      return nanos === undefined ? parseRFC3339(text) : fromUnixNanos(nanos);
    }
  }
}

/** The value as Conduit prints it before parsing: floats in full (`123.345`), bools as 1/0 for numbers. */
function toText(value: unknown, target: Target): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatFloatF(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') {
    if (target === 'int' || target === 'float') return value ? '1' : '0';
    return value ? 'true' : 'false';
  }
  if (value instanceof Uint8Array) return asBuffer(value).toString('utf8');
  // Times, maps and lists print as Go's %v: `2024-01-02 12:34:56 +0000 UTC`, `map[a:1]`, `[1 2]`.
  return formatGoValue(value);
}
