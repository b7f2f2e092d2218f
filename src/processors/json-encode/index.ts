/**
 * `json.encode`: replaces the value of a field with its JSON text, written as
 * Go writes it (sorted keys, bytes as base64, times in RFC 3339). Whole data
 * (`.Key`, `.Payload.After`) becomes raw data.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import { encodeValue, encodeValueBytes } from '../../opencdc/json.js';
import type { ProcessedRecord, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { DATA_TARGETS, fieldFailure, fieldParam, isDataRef, PAYLOAD_OR_KEY } from '../util.js';

const NAME = 'json.encode';

export const jsonEncodePlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Encodes a specific field from structured data to JSON raw data (string).',
  description:
    'Takes data from the target field, encodes it into a JSON value and stores the encoded value in the target ' +
    'field. Only fields under `.Key`, `.Payload.Before` and `.Payload.After` can be encoded, as they can contain ' +
    'structured data.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      required: true,
      regex: PAYLOAD_OR_KEY,
      exclusion: ['.Payload'],
      description:
        'Field is a reference to the target field. Only fields that are under `.Key` and `.Payload` can be ' +
        'encoded. For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let raw = false;
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        ref = fieldParam(ctx, 'field', config.string('field'), {
          targets: [...DATA_TARGETS, 'dataField'],
          why: 'only .Key, .Payload.Before, .Payload.After or a field inside them can be encoded',
        });
        raw = isDataRef(ref);
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const field = ref as FieldRef;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          try {
            const v = field.get(r);
            if (v !== null && v !== undefined) {
              // Whole data becomes raw data: its bytes, written without building the text.
              field.set(r, raw ? encodeValueBytes(v) : encodeValue(v));
            }
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
