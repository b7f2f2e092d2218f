/**
 * `unwrap.debezium`: replaces a record with the Debezium change event held in
 * one of its fields. Only the position of the wrapping record is kept; its
 * metadata is merged with the event's, the event's winning.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { Data, Metadata, OpenCDCRecord, Operation, StructuredData } from '../../opencdc/record.js';
import { RecordError, type ProcessorPlugin } from '../../sdk/processor.js';
import { formatGoValue } from '../../template/index.js';
import {
  describe,
  isPlainObject,
  parseUnwrapField,
  readEnvelope,
  unwrapFailure,
  unwrapKafkaConnectKey,
  UnwrapError,
} from '../unwrap-kafkaconnect/index.js';
import { eachRecord } from '../util.js';

const NAME = 'unwrap.debezium';

/** Debezium's `op` codes; `$unset` is MongoDB's partial update. */
const OPERATIONS: Readonly<Record<string, Operation>> = {
  c: 'create',
  u: 'update',
  d: 'delete',
  r: 'snapshot',
  $unset: 'update',
};

export const unwrapDebeziumPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Unwraps a Debezium record from the input OpenCDC record.',
  description:
    'The wrapped Debezium change event replaces the record being processed completely, except for the position. ' +
    "The Debezium metadata and the record's metadata are merged, the Debezium metadata winning. " +
    'Useful when Conduit sits between a Debezium source and a Debezium destination: the Debezium event arrives ' +
    "as the record's payload and needs to be unwrapped for further use.",
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      default: '.Payload.After',
      regex: '^.Payload',
      description:
        'Field is a reference to the field that contains the Debezium record (under `.Payload`). ' +
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
          (r) => unwrapDebezium(r, field),
          (e) => new RecordError(unwrapFailure(processorId, NAME, field.text, e)),
        );
      },
    };
  },
};

function unwrapDebezium(record: OpenCDCRecord, ref: FieldRef): OpenCDCRecord {
  const event = envelopeOf(readEnvelope(ref.get(record)));
  const missing = ['after', 'source', 'op'].filter((f) => !Object.hasOwn(event, f));
  if (missing.length > 0) {
    throw new UnwrapError(`not a Debezium event: ${missing.map((f) => `"${f}"`).join(', ')} missing from the payload`);
  }
  const before = toData(event['before'], 'before');
  const after = toData(event['after'], 'after');
  const op = event['op'];
  if (typeof op !== 'string') throw new UnwrapError(`"op" is ${describe(op)}, not a string`);
  const operation = Object.hasOwn(OPERATIONS, op) ? OPERATIONS[op] : undefined;
  if (operation === undefined) {
    throw new UnwrapError(`"op" ${JSON.stringify(op)} is not a Debezium operation (c, u, d, r or $unset)`);
  }
  return {
    position: record.position,
    operation,
    metadata: mergeMetadata(record.metadata, event),
    key: unwrapKafkaConnectKey(record.key),
    payload: { before, after },
  };
}

/**
 * The change event: the `payload` of the Kafka Connect envelope
 * (`{schema, payload}`), or the object itself when it is a bare event (the
 * JSON converter with `schemas.enable=false`), recognised by its `op` field.
 */
function envelopeOf(data: Record<string, unknown>): Record<string, unknown> {
  const payload = data['payload'];
  if (isPlainObject(payload)) return payload;
  if (payload === undefined && Object.hasOwn(data, 'op')) return data;
  throw new UnwrapError(
    payload === undefined
      ? `the data to be unwrapped has no "payload" field (nor "op": it is not a Debezium event)`
      : `the "payload" of the data to be unwrapped is ${describe(payload)}, not an object`,
  );
}

function toData(v: unknown, field: string): Data {
  if (v === null || v === undefined) return null;
  if (isPlainObject(v)) return v as StructuredData;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return v;
  throw new UnwrapError(`"${field}" is ${describe(v)}; expected an object, a string or null`);
}

/**
 * The wrapping record's metadata with the event's on top: `ts_ms` becomes
 * `opencdc.readAt` (nanoseconds), every other field except before, after and
 * op is flattened under `debezium.` (`debezium.transaction.id`), and the
 * fields of `source` are flattened without a prefix and applied last, so they
 * win (Debezium connectors written with Conduit's SDK keep the OpenCDC
 * metadata there).
 */
function mergeMetadata(base: Metadata, event: Record<string, unknown>): Metadata {
  const md: Metadata = { ...base };
  let source: Metadata = {};
  for (const [field, value] of Object.entries(event)) {
    switch (field) {
      case 'before':
      case 'after':
      case 'op':
        break;
      case 'ts_ms':
        // Conduit rejects a null ts_ms; Debezium never writes one, so treat it as absent.
        if (value === null) break;
        md['opencdc.readAt'] = readAtFromMillis(value);
        break;
      case 'source':
        source = flatten('', value);
        break;
      default:
        Object.assign(md, flatten(`debezium.${field}`, value));
    }
  }
  return Object.assign(md, source);
}

function readAtFromMillis(v: unknown): string {
  if (typeof v === 'bigint') return (v * 1_000_000n).toString();
  if (typeof v === 'number' && Number.isFinite(v)) return (BigInt(Math.trunc(v)) * 1_000_000n).toString();
  throw new UnwrapError(`"ts_ms" is ${describe(v)}, not a number`);
}

/** Nested objects become dotted keys; values print as Go prints them (`27`, `true`, `1.5e+12`); nulls are left out. */
function flatten(key: string, value: unknown): Metadata {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string') return { [key]: value };
  if (!isPlainObject(value)) return { [key]: formatGoValue(value) };
  const prefix = key === '' ? '' : `${key}.`;
  const out: Metadata = {};
  for (const [k, v] of Object.entries(value)) Object.assign(out, flatten(prefix + k, v));
  return out;
}
