/**
 * `unwrap.kafkaconnect`: replaces the payload of a record with the Kafka
 * Connect record (the `{schema, payload}` envelope of Kafka Connect's JSON
 * converter) held in one of its fields, and unwraps the key the same way.
 *
 * The helpers that read an envelope from a field and unwrap a Kafka Connect
 * key are exported for `unwrap.debezium`, whose events are Kafka Connect
 * records too.
 */
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { parseFieldRef, type FieldRef } from '../../opencdc/field-ref.js';
import type { Data, OpenCDCRecord, StructuredData } from '../../opencdc/record.js';
import type { ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { RecordError } from '../../sdk/processor.js';
import { formatGoValue } from '../../template/index.js';
import { eachRecord } from '../util.js';

const NAME = 'unwrap.kafkaconnect';

export const unwrapKafkaconnectPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Unwraps a Kafka Connect record from an OpenCDC record.',
  description:
    'Unwraps a Kafka Connect record (the `{"schema": …, "payload": …}` envelope written by the Kafka Connect JSON ' +
    'converter) from a field of the record. The envelope may be structured data, or raw data or a string holding ' +
    'its JSON. The record payload becomes `{before: null, after: <envelope payload>}` and the operation `create`. ' +
    'The key is unwrapped too when it is such an envelope. The position and metadata are kept.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      default: '.Payload.After',
      regex: '^.Payload',
      description:
        'Field is a reference to the field that contains the Kafka Connect record (under `.Payload`). ' +
        'For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let processorId = '';
    return {
      configure(config, ctx) {
        processorId = ctx.processorId;
        ref = parseUnwrapField(config.string('field'), ctx);
      },
      process(records) {
        const field = ref as FieldRef;
        return eachRecord(
          records,
          (r) => unwrapKafkaConnect(r, field),
          (e) => new RecordError(unwrapFailure(processorId, NAME, field.text, e)),
        );
      },
    };
  },
};

function unwrapKafkaConnect(record: OpenCDCRecord, ref: FieldRef): OpenCDCRecord {
  const envelope = readEnvelope(ref.get(record));
  const payload = envelope['payload'];
  if (!isPlainObject(payload)) {
    throw new UnwrapError(
      payload === undefined
        ? 'the Kafka Connect record has no "payload" field'
        : `the "payload" of the Kafka Connect record is ${describe(payload)}, not an object`,
    );
  }
  return {
    position: record.position,
    operation: 'create',
    metadata: record.metadata,
    key: unwrapKafkaConnectKey(record.key),
    payload: { before: null, after: payload as StructuredData },
  };
}

// ---------------------------------------------------------------------------
// Helpers shared with unwrap.debezium
// ---------------------------------------------------------------------------

/** A record that cannot be unwrapped; the message says why. */
export class UnwrapError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnwrapError';
  }
}

/**
 * Parses the `field` setting of an unwrap processor. Only parts of the payload
 * can hold a wrapped record: `.Payload` itself (before and after) cannot.
 *
 * @throws ConduitError naming the processor and the parameter.
 */
export function parseUnwrapField(field: string, ctx: ProcessorContext): FieldRef {
  let ref: FieldRef;
  try {
    ref = parseFieldRef(field);
  } catch (e) {
    throw fieldError(ctx, (e as Error).message);
  }
  if (ref.target !== 'payloadBefore' && ref.target !== 'payloadAfter' && ref.target !== 'dataField') {
    throw fieldError(ctx, `${field} cannot hold a wrapped record`);
  }
  if (ref.target === 'dataField' && !field.replace(/^\$/, '').startsWith('.Payload.')) {
    throw fieldError(ctx, `${field} is not under .Payload`);
  }
  return ref;
}

function fieldError(ctx: ProcessorContext, message: string): ConduitError {
  return new ConduitError(Code.ParamValidation, `processor ${ctx.processorId}: parameter "field": ${message}`, {
    configPath: '/field',
    suggestion: 'use .Payload.After, .Payload.Before or a field inside them such as .Payload.After.event',
  });
}

/**
 * The error a record fails with: it names the processor, the plugin, the
 * field and the cause, in the form the processor chain uses, so the chain
 * passes it on unchanged.
 */
export function unwrapFailure(processorId: string, plugin: string, field: string, cause: unknown): ConduitError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ConduitError(Code.ProcessorFailed, `processor ${processorId} (${plugin}) failed: field ${field}: ${why}`, {
    cause,
  });
}

/**
 * Reads the envelope in a field: structured data as it is, raw data or a
 * string as JSON text that must hold an object.
 *
 * @throws UnwrapError when the field is empty, not JSON, or not an object.
 */
export function readEnvelope(value: unknown): Record<string, unknown> {
  if (isPlainObject(value)) return value;
  if (value instanceof Uint8Array || typeof value === 'string') {
    const what = typeof value === 'string' ? 'string' : 'raw data';
    const text =
      typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.length).toString();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new UnwrapError(`the ${what} is not JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!isPlainObject(parsed)) throw new UnwrapError(`the ${what} holds ${describe(parsed)}, not a JSON object`);
    return parsed;
  }
  if (value === null || value === undefined) throw new UnwrapError('the field is empty');
  throw new UnwrapError(`the field holds ${describe(value)}, not structured data, raw data or a string`);
}

/**
 * Unwraps a Kafka Connect key as Conduit does: a key (structured, or raw JSON)
 * with a `payload` field becomes that payload, as structured data when it is
 * an object, otherwise as raw data holding its text as Go prints it (`27`).
 * Any other key is returned as it is.
 */
export function unwrapKafkaConnectKey(key: Data): Data {
  let envelope: Record<string, unknown>;
  if (key instanceof Uint8Array) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(key.buffer, key.byteOffset, key.length).toString());
    } catch {
      return key; // not JSON: not an envelope
    }
    if (!isPlainObject(parsed)) return key;
    envelope = parsed;
  } else if (key !== null) {
    envelope = key;
  } else {
    return key;
  }
  if (!Object.hasOwn(envelope, 'payload')) return key;
  const payload = envelope['payload'];
  if (isPlainObject(payload)) return payload as StructuredData;
  // Conduit prints a null payload as "<nil>"; no key says it better.
  if (payload === null || payload === undefined) return null;
  return Buffer.from(formatGoValue(payload), 'utf8');
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/** A value's kind for a message: "an array", "the number 3", "raw data". */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (v instanceof Uint8Array) return 'raw data';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `the ${typeof v === 'boolean' ? 'boolean' : 'number'} ${String(v)}`;
    case 'object':
      return 'an object';
    default:
      return `a ${typeof v}`;
  }
}
