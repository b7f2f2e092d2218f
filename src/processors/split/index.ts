/**
 * `split`: turns a record whose field holds an array into one record per
 * element, the field replaced by the element and the metadata key
 * `split.index` set to its index. Every record keeps the original position;
 * the source is acknowledged once all of them are. An empty array drops the
 * record (it counts as delivered).
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import { cloneRecord, type OpenCDCRecord } from '../../opencdc/record.js';
import { MultiRecord, type ProcessedRecord, type ProcessorContext, type ProcessorPlugin } from '../../sdk/processor.js';
import { fieldFailure, fieldParam, kindOf, PAYLOAD_OR_KEY } from '../util.js';

const NAME = 'split';

export const SPLIT_INDEX = 'split.index';

export const splitPlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Split records.',
  description:
    'Splits records into multiple records based on the field in the configuration. If the field is an array, ' +
    'each element of the array becomes a separate record: it holds the same data as the original record, except ' +
    'that the field is replaced by the element, and the index of the element is stored in the metadata under ' +
    '`split.index`. Only fields in structured data under `.Key`, `.Payload.Before` and `.Payload.After` can be ' +
    'split; decode raw JSON data with `json.decode` first.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      required: true,
      regex: PAYLOAD_OR_KEY,
      description:
        'Field is the target field that should be split. Note that the target field has to contain an array so ' +
        'it can be split, otherwise the processor returns an error. This also means you can only split on fields ' +
        'in structured data under `.Key` and `.Payload`. For more information about the format, see Referencing ' +
        'fields.',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        ref = fieldParam(ctx, 'field', config.string('field'), {
          targets: ['dataField'],
          why: 'only a field inside .Key, .Payload.Before or .Payload.After can hold an array to split',
        });
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const field = ref as FieldRef;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          try {
            out.push(new MultiRecord(split(field, r)));
          } catch (e) {
            out.push(fieldFailure(ctx, NAME, field.text, e));
          }
        }
        return out;
      },
    };
  },
};

function split(ref: FieldRef, r: OpenCDCRecord): OpenCDCRecord[] {
  const items = ref.get(r);
  if (!Array.isArray(items)) {
    throw new Error(`the field is not an array (it is ${items === undefined ? 'missing' : kindOf(items)})`);
  }
  // Copy the record without the array, so that each copy does not copy the whole array again.
  ref.set(r, null);
  try {
    const out: OpenCDCRecord[] = new Array<OpenCDCRecord>(items.length);
    for (let i = 0; i < items.length; i++) {
      const copy = cloneRecord(r);
      ref.set(copy, items[i]);
      copy.metadata[SPLIT_INDEX] = String(i);
      out[i] = copy;
    }
    return out;
  } finally {
    ref.set(r, items);
  }
}
