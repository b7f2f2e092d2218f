/**
 * `field.exclude`: removes fields from the record (a whole subtree for a
 * nested field). The references are parsed once, at configure time.
 */
import type { FieldRef } from '../../opencdc/field-ref.js';
import type { ProcessedRecord, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { configError, fieldFailure, fieldParam } from '../util.js';

const NAME = 'field.exclude';

export const fieldExcludePlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Remove a subset of fields from the record.',
  description:
    'Removes a subset of fields from the record; all the other fields are left untouched. If a field that ' +
    'contains nested data is excluded, the whole tree is removed. It is not allowed to exclude `.Position` or ' +
    '`.Operation`. This processor only runs on structured data: decode raw JSON data with `json.decode` first.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    fields: {
      type: 'string',
      required: true,
      list: true,
      exclusion: ['.Position', '.Operation'],
      description:
        'Fields is a comma separated list of target fields which should be excluded. ' +
        'For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let refs: readonly FieldRef[] = [];
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        refs = config.list('fields').map((field) => {
          const ref = fieldParam(ctx, 'fields', field);
          // The spec's exclusion catches `.Position` and `.Operation` as written; `$.Position` and `.` neither.
          if (!ref.deletable) {
            throw configError(
              ctx,
              'fields',
              `${field} cannot be excluded`,
              'exclude .Metadata, .Key, .Payload or fields inside them, e.g. .Payload.After.password',
            );
          }
          return ref;
        });
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          let failed: ProcessedRecord | undefined;
          for (const ref of refs) {
            try {
              ref.delete(r);
            } catch (e) {
              failed = fieldFailure(ctx, NAME, ref.text, e);
              break;
            }
          }
          out.push(failed ?? r);
        }
        return out;
      },
    };
  },
};
