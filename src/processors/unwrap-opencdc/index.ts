/**
 * `unwrap.opencdc`: replaces a record with the OpenCDC record stored in one of
 * its fields, keeping only the position (the wrapping record's position is
 * the one its source can acknowledge).
 */
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { parseFieldRef, type FieldRef } from '../../opencdc/field-ref.js';
import { decodeBase64, decodeRecord } from '../../opencdc/json.js';
import {
  OPERATIONS,
  type Data,
  type Metadata,
  type OpenCDCRecord,
  type Operation,
  type StructuredData,
} from '../../opencdc/record.js';
import { RecordError, type ProcessedRecord, type ProcessorPlugin } from '../../sdk/processor.js';
import { formatGoValue } from '../../template/index.js';

const NAME = 'unwrap.opencdc';

export const unwrapOpencdcPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Unwraps an OpenCDC record saved in one of the record fields.',
  description:
    'Useful when a record goes through intermediate systems before it is written to its final destination: ' +
    'the original OpenCDC record is part of the payload read from the intermediate system and needs to be ' +
    'unwrapped before it is written. The wrapped record replaces the record, except for the position. ' +
    'A wrapped record that is not structured data (raw data or a string) is decoded as OpenCDC JSON.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      default: '.Payload.After',
      description:
        'Field is a reference to the field that contains the OpenCDC record. ' +
        'For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let processorId = '';
    return {
      configure(config, ctx) {
        processorId = ctx.processorId;
        const field = config.string('field');
        let parsed: FieldRef;
        try {
          parsed = parseFieldRef(field);
        } catch (e) {
          throw fieldError(processorId, (e as Error).message);
        }
        // These hold a record's own parts, never a serialized record.
        if (['record', 'position', 'operation', 'metadata', 'payload'].includes(parsed.target)) {
          throw fieldError(processorId, `${field} cannot hold a wrapped record`);
        }
        ref = parsed;
      },
      process(records) {
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          const field = (ref as FieldRef).text;
          try {
            const unwrapped = unwrap((ref as FieldRef).get(r));
            unwrapped.position = r.position;
            out.push(unwrapped);
          } catch (e) {
            const why = e instanceof Error ? e.message : String(e);
            out.push(
              new RecordError(
                new ConduitError(
                  Code.ProcessorFailed,
                  `processor ${processorId} (${NAME}) failed: field ${field}: ${why}`,
                  {
                    cause: e,
                  },
                ),
              ),
            );
          }
        }
        return out;
      },
    };
  },
};

function fieldError(processorId: string, message: string): ConduitError {
  return new ConduitError(Code.ParamValidation, `processor ${processorId}: parameter "field": ${message}`, {
    configPath: '/field',
    suggestion: 'use a reference to data, such as .Payload.After, .Payload.After.record or .Metadata["wrapped"]',
  });
}

/** The wrapped record; its position is the caller's to set. */
function unwrap(value: unknown): OpenCDCRecord {
  // Text and bytes are OpenCDC JSON, read by the same codec as `opencdc/json`.
  if (value instanceof Uint8Array || typeof value === 'string') return decodeRecord(value);
  if (isPlainObject(value)) return fromStructured(value);
  if (value === null || value === undefined) throw new Error('the field is empty: there is no record to unwrap');
  throw new Error(`the field holds ${kind(value)}, not a record (structured data, or OpenCDC JSON as raw data)`);
}

/**
 * A record held as structured data (for instance after `json.decode`), read
 * with Conduit's rules: operation, metadata and payload must be there; the key
 * may be absent; data is an object (structured), a base64 string or bytes
 * (raw), or null; metadata values that are not strings are printed as Go does.
 */
function fromStructured(o: Record<string, unknown>): OpenCDCRecord {
  if (!Object.hasOwn(o, 'operation')) throw new Error('not a record: no operation');
  if (!Object.hasOwn(o, 'metadata')) throw new Error('not a record: no metadata');
  if (!Object.hasOwn(o, 'payload')) throw new Error('not a record: no payload');
  const payload = o['payload'];
  if (!isPlainObject(payload)) throw new Error(`payload: expected {before, after}, got ${kind(payload)}`);
  return {
    position: Buffer.alloc(0),
    operation: operationOf(o['operation']),
    metadata: metadataOf(o['metadata']),
    key: dataOf(o['key'], 'key'),
    payload: { before: dataOf(payload['before'], 'payload.before'), after: dataOf(payload['after'], 'payload.after') },
  };
}

const OPERATION_NUMBERS: readonly Operation[] = ['create', 'update', 'delete', 'snapshot'];

function operationOf(v: unknown): Operation {
  if (typeof v === 'string' && (OPERATIONS as readonly string[]).includes(v)) return v as Operation;
  // Go's opencdc.Operation is an int (1–4) when the record was never serialized.
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4) return OPERATION_NUMBERS[v - 1] as Operation;
  throw new Error(
    `operation: ${typeof v === 'string' ? `unknown operation ${JSON.stringify(v)}` : `got ${kind(v)}`} ` +
      `(expected ${OPERATIONS.join(', ')})`,
  );
}

function metadataOf(v: unknown): Metadata {
  if (!isPlainObject(v)) throw new Error(`metadata: expected an object, got ${kind(v)}`);
  const md: Metadata = {};
  for (const [k, x] of Object.entries(v)) md[k] = typeof x === 'string' ? x : formatGoValue(x);
  return md;
}

function dataOf(v: unknown, field: string): Data {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (isPlainObject(v)) return v as StructuredData;
  if (typeof v === 'string') return decodeBase64(v, field);
  throw new Error(`${field}: expected an object (structured data), a base64 string (raw data) or null, got ${kind(v)}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  return `a ${typeof v}`;
}
