/**
 * `base64.encode`: encodes a field as standard base64 (with padding). Bytes
 * and strings are encoded as they are, numbers and bools as Go prints them.
 * The result is raw data for `.Key` and the payload, a string elsewhere.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { formatGoValue } from '../../template/index.js';
import { asBuffer, configError, eachRecord, fieldFailure, fieldParam, isDataRef, kindOf } from '../util.js';

const NAME = 'base64.encode';

export const base64EncodePlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Encode a field to base64.',
  description:
    'Encodes the value of the target field to base64 and stores the result in the target field. ' +
    'It is not allowed to encode the `.Position` field.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      required: true,
      exclusion: ['.Position'],
      description:
        'Field is a reference to the target field. Note that it is not allowed to base64 encode the ' +
        '`.Position` field. For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let raw = false;
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        const field = config.string('field');
        ref = fieldParam(ctx, 'field', field);
        if (!ref.settable) {
          throw configError(
            ctx,
            'field',
            `${field} cannot be set`,
            'encode a field such as .Payload.After.data or .Key',
          );
        }
        raw = isDataRef(ref);
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const field = ref as FieldRef;
        return eachRecord(
          records,
          (r) => {
            const bytes = toBytes(field.get(r));
            if (bytes !== undefined) {
              const encoded = bytes.toString('base64');
              field.set(r, raw ? Buffer.from(encoded, 'latin1') : encoded);
            }
            return r;
          },
          (e) => fieldFailure(ctx, NAME, field.text, e),
        );
      },
    };
  },
};

/** What gets encoded: bytes, a string's UTF-8, or a number or bool as Go's %v prints it; undefined for null. */
function toBytes(v: unknown): Buffer | undefined {
  if (v instanceof Uint8Array) return asBuffer(v);
  switch (typeof v) {
    case 'string':
      return Buffer.from(v, 'utf8');
    case 'number':
      // Whole numbers print as Go ints (connectors' integers); others as Go floats (1.1, 1e+21).
      return Buffer.from(Number.isSafeInteger(v) ? String(v) : formatGoValue(v), 'latin1');
    case 'bigint':
    case 'boolean':
      return Buffer.from(String(v), 'latin1');
  }
  if (v === null || v === undefined) return undefined;
  throw new Error(`unexpected data type: ${kindOf(v)}`);
}
