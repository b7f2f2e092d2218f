/**
 * `avro.encode`: encodes structured data in a field into the Avro binary
 * format, framed in the Confluent wire format (magic byte 0, the 4-byte schema
 * ID, the value), with a schema from the engine's schema registry: one
 * registered beforehand (`preRegistered`) or one inferred from each record and
 * registered on the fly (`autoRegister`).
 */
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Config } from '../../sdk/params.js';
import type { ProcessedRecord, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { AvroValueError } from '../../schema/avro.js';
import { compile, schemaBySubjectVersion, type CompiledSchema } from '../../schema/cache.js';
import { inferSchema } from '../../schema/infer.js';
import { registryFromContext, type SchemaRegistry } from '../../schema/registry.js';
import { frame } from '../../schema/wire.js';
import { asBuffer, DATA_TARGETS, fieldFailure, fieldParam, kindOf } from '../util.js';

const NAME = 'avro.encode';

/** Inferred schemas remembered per processor; more distinct ones than this and it starts over. */
const MAX_INFERRED = 1000;

type Strategy =
  | { readonly kind: 'preRegistered'; readonly subject: string; readonly version: number }
  | { readonly kind: 'autoRegister'; readonly subject: string };

export const avroEncodePlugin: ProcessorPlugin = {
  name: NAME,
  summary: "Encodes a record's field into the Avro format.",
  description:
    'Encodes the structured data of a field into the Avro format, with a schema from the schema registry, and ' +
    'stores the result (the Confluent wire format: magic byte 0, the schema ID in 4 bytes, then the Avro value) ' +
    'in the same field. Two strategies find the schema. `preRegistered` (recommended) fetches a schema that is ' +
    'already registered under a subject and version, once, and caches it. `autoRegister` (for development) infers ' +
    'a schema from the data of each record and registers it under a subject: a field that is null cannot tell its ' +
    'type and becomes a nullable string, so two records of one shape may give different, even incompatible, ' +
    'schemas; the compatibility checks of a subject the processor creates are therefore turned off. ' +
    'Raw data in the field is read as JSON first. This processor is the counterpart to `avro.decode`.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      default: '.Payload.After',
      description: 'The field that will be encoded. For more information about the format, see Referencing fields.',
    },
    'schema.strategy': {
      type: 'string',
      required: true,
      inclusion: ['preRegistered', 'autoRegister'],
      description:
        'Strategy to use to determine the schema for the record: `preRegistered` (recommended) downloads an ' +
        'existing schema from the schema registry (configured with `schema.preRegistered.*`); `autoRegister` ' +
        '(for development) infers the schema from the record and registers it (configured with ' +
        '`schema.autoRegister.*`).',
    },
    'schema.preRegistered.subject': {
      type: 'string',
      description: 'The subject of the schema in the schema registry used to encode the record.',
    },
    'schema.preRegistered.version': {
      type: 'int',
      greaterThan: 0,
      description: 'The version of the schema in the schema registry used to encode the record.',
    },
    'schema.autoRegister.subject': {
      type: 'string',
      description: 'The subject name under which the inferred schema will be registered in the schema registry.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let context: ProcessorContext | undefined;
    let registry: SchemaRegistry | undefined;
    let strategy: Strategy | undefined;
    let pre: CompiledSchema | undefined;
    const inferred = new Map<string, CompiledSchema>();

    async function schemaFor(data: Record<string, unknown>): Promise<CompiledSchema> {
      const reg = registry as SchemaRegistry;
      const s = strategy as Strategy;
      if (s.kind === 'preRegistered') {
        pre ??= await schemaBySubjectVersion(reg, s.subject, s.version);
        return pre;
      }
      const text = inferSchema(data);
      const hit = inferred.get(text);
      if (hit !== undefined) return hit;
      const avro = compile(text, 'the inferred schema');
      const registered = await reg.create(s.subject, text, { compatibilityNone: true });
      const compiled: CompiledSchema = { id: registered.id, subject: s.subject, version: registered.version, avro };
      if (inferred.size >= MAX_INFERRED) inferred.clear();
      inferred.set(text, compiled);
      return compiled;
    }

    async function encode(field: FieldRef, r: OpenCDCRecord): Promise<void> {
      const v = field.get(r);
      // No data (a delete's payload, a record without a key): nothing to encode.
      if (v === null || v === undefined) return;
      const data = structured(v);
      const schema = await schemaFor(data);
      let bytes: Buffer;
      try {
        bytes = schema.avro.encode(data);
      } catch (e) {
        if (!(e instanceof AvroValueError)) throw e;
        const which =
          schema.subject === undefined
            ? `ID ${schema.id}`
            : `ID ${schema.id} (subject "${schema.subject}", version ${schema.version})`;
        throw new Error(`the data does not fit the schema with ${which}: ${e.message}`, { cause: e });
      }
      field.set(r, frame(schema.id, bytes));
    }

    return {
      configure(config, ctx) {
        context = ctx;
        ref = fieldParam(ctx, 'field', config.string('field'), {
          targets: [...DATA_TARGETS, 'dataField'],
          why: 'only .Key, .Payload.Before, .Payload.After or a field inside them can be encoded',
        });
        strategy = parseStrategy(config, ctx);
      },
      // The registry is looked up here, not in configure: offline validation configures without one.
      async open() {
        registry = registryFromContext(context as ProcessorContext, NAME);
      },
      async process(records) {
        const ctx = context as ProcessorContext;
        registry ??= registryFromContext(ctx, NAME);
        const field = ref as FieldRef;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          try {
            await encode(field, r);
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

function parseStrategy(config: Config, ctx: ProcessorContext): Strategy {
  const required = (key: string, why: string): never => {
    throw new ConduitError(Code.ParamRequired, `processor ${ctx.processorId}: ${key}: ${why}`, {
      configPath: key,
      suggestion: `set "${key}"`,
    });
  };
  if (config.string('schema.strategy') === 'preRegistered') {
    const subject = config.string('schema.preRegistered.subject');
    if (subject === '')
      required('schema.preRegistered.subject', "subject required for schema strategy 'preRegistered'");
    const version = config.has('schema.preRegistered.version') ? config.int('schema.preRegistered.version') : 0;
    if (version <= 0) {
      required('schema.preRegistered.version', `version needs to be positive: ${version}`);
    }
    return { kind: 'preRegistered', subject, version };
  }
  const subject = config.string('schema.autoRegister.subject');
  if (subject === '') required('schema.autoRegister.subject', "subject required for schema strategy 'autoRegister'");
  return { kind: 'autoRegister', subject };
}

/** The field's value as structured data: an object as it is, raw data or a string parsed as JSON. */
function structured(v: unknown): Record<string, unknown> {
  let text: string;
  if (v instanceof Uint8Array) text = asBuffer(v).toString('utf8');
  else if (typeof v === 'string') text = v;
  else if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)) {
    return v as Record<string, unknown>;
  } else throw new Error(`unexpected data type: ${kindOf(v)}, expected structured data`);
  if (text.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`failed unmarshalling JSON from raw data: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`the raw data is JSON ${kindOf(parsed)}, not an object`);
  }
  return parsed as Record<string, unknown>;
}
