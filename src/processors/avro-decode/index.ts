/**
 * `avro.decode`: decodes raw data in the Confluent wire format (magic byte 0,
 * a 4-byte schema ID, the Avro binary value) into structured data, with the
 * schema fetched once from the engine's schema registry.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { ProcessedRecord, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { describeType } from '../../schema/avro.js';
import { cachedById, schemaById, type CompiledSchema } from '../../schema/cache.js';
import { registryFromContext, type SchemaRegistry } from '../../schema/registry.js';
import { unframe } from '../../schema/wire.js';
import { DATA_TARGETS, fieldFailure, fieldParam, isDataRef, kindOf } from '../util.js';

const NAME = 'avro.decode';

export const avroDecodePlugin: ProcessorPlugin = {
  name: NAME,
  summary: "Decodes a field's raw data in the Avro format.",
  description:
    'The processor takes raw data (bytes or a string) in the specified field and decodes it from the Avro format ' +
    'into structured data. It extracts the schema ID from the data, downloads the associated schema from the ' +
    'schema registry and decodes the payload. The schema is cached locally after it is first downloaded. ' +
    'If the processor encounters structured data or the data cannot be decoded it returns an error. ' +
    'This processor is the counterpart to `avro.encode`.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      default: '.Payload.After',
      description: 'The field that will be decoded. For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let context: ProcessorContext | undefined;
    let registry: SchemaRegistry | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        ref = fieldParam(ctx, 'field', config.string('field'), {
          targets: [...DATA_TARGETS, 'dataField'],
          why: 'only .Key, .Payload.Before, .Payload.After or a field inside them can hold Avro data',
        });
      },
      // The registry is looked up here, not in configure: offline validation configures without one.
      async open() {
        registry = registryFromContext(context as ProcessorContext, NAME);
      },
      async process(records) {
        const ctx = context as ProcessorContext;
        const field = ref as FieldRef;
        registry ??= registryFromContext(ctx, NAME);
        const reg = registry;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          try {
            await decode(reg, field, r);
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

async function decode(registry: SchemaRegistry, ref: FieldRef, r: OpenCDCRecord): Promise<void> {
  const v = ref.get(r);
  // No data (a delete's payload, a record without a key): nothing to decode.
  if (v === null || v === undefined) return;
  let bytes: Uint8Array;
  if (v instanceof Uint8Array) bytes = v;
  else if (typeof v === 'string') bytes = Buffer.from(v, 'utf8');
  else throw new Error(`unexpected data type: ${kindOf(v)}, expected raw data`);
  const { schemaId, payload } = unframe(bytes);
  const schema: CompiledSchema = cachedById(registry, schemaId) ?? (await schemaById(registry, schemaId));
  let value: unknown;
  try {
    value = schema.avro.decode(payload);
  } catch (e) {
    throw new Error(`failed to decode the data with the schema with ID ${schemaId}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (
    isDataRef(ref) &&
    (value === null ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      value instanceof Uint8Array ||
      value instanceof Date)
  ) {
    throw new Error(
      `the schema with ID ${schemaId} is ${describeType(schema.avro.type)}, not a record: ${ref.text} takes structured data`,
    );
  }
  ref.set(r, value);
}
