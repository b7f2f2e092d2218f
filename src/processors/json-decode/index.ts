/**
 * `json.decode`: parses the JSON text in a field (raw data or a string) into
 * structured data, or into whatever JSON value it holds for a nested field.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { ProcessedRecord, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { asBuffer, DATA_TARGETS, fieldFailure, fieldParam, kindOf, PAYLOAD_OR_KEY } from '../util.js';

const NAME = 'json.decode';

export const jsonDecodePlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Decodes a specific field from JSON raw data (string) to structured data.',
  description:
    'Takes JSON raw data (a string or bytes) from the target field, parses it as JSON and stores the decoded ' +
    'structured data in the target field. Only fields under `.Key`, `.Payload.Before` and `.Payload.After` can ' +
    'be decoded, as they can contain structured data.',
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
        'decoded. For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        ref = fieldParam(ctx, 'field', config.string('field'), {
          targets: [...DATA_TARGETS, 'dataField'],
          why: 'only .Key, .Payload.Before, .Payload.After or a field inside them can be decoded',
        });
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const field = ref as FieldRef;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          try {
            decode(field, r);
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

function decode(ref: FieldRef, r: OpenCDCRecord): void {
  const v = ref.get(r);
  // Nothing to decode, or already structured: left as it is.
  if (v === null || v === undefined || isStructured(v)) return;
  let text: string;
  if (v instanceof Uint8Array) text = asBuffer(v).toString('utf8');
  else if (typeof v === 'string') text = v;
  else throw new Error(`unexpected data type: ${kindOf(v)}`);
  if (text.length === 0) {
    ref.set(r, null);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`failed to unmarshal raw data as JSON: ${(e as Error).message}`);
  }
  ref.set(r, parsed);
}

function isStructured(v: unknown): boolean {
  return typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}
