/**
 * `field.rename`: renames metadata keys and fields inside structured data,
 * keeping their values. The mapping is parsed once, at configure time.
 */
import { isRenamable, renameField, type FieldRef } from '../../opencdc/field-ref.js';
import type { ProcessedRecord, ProcessorContext, ProcessorPlugin } from '../../sdk/processor.js';
import { configError, fieldFailure, fieldParam } from '../util.js';

const NAME = 'field.rename';

/** The record's own parts, which Conduit refuses by name. */
const TOP_LEVEL = ['.Metadata', '.Payload', '.Payload.Before', '.Payload.After', '.Position', '.Key', '.Operation'];

const FORMAT = 'a comma-separated list of <field>:<new name> pairs, e.g. .Metadata.key:id,.Payload.After.foo:bar';

interface Rename {
  readonly ref: FieldRef;
  readonly name: string;
}

export const fieldRenamePlugin: ProcessorPlugin = {
  name: NAME,
  summary: 'Rename a group of fields.',
  description:
    'Renames a group of fields to new names; their values stay the same. It is not allowed to rename the ' +
    'top-level fields (`.Operation`, `.Position`, `.Key`, `.Metadata`, `.Payload.Before`, `.Payload.After`). ' +
    'This processor only runs on structured data: decode raw JSON data with `json.decode` first.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    mapping: {
      type: 'string',
      required: true,
      list: true,
      description:
        'Mapping is a comma separated list of keys and values for fields and their new names (keys and values ' +
        'are separated by colons ":"). For example: `.Metadata.key:id,.Payload.After.foo:bar`. ' +
        'For more information about the format, see Referencing fields.',
    },
  },
  create: () => {
    let renames: readonly Rename[] = [];
    let context: ProcessorContext | undefined;
    return {
      configure(config, ctx) {
        context = ctx;
        renames = config.list('mapping').map((pair) => parsePair(ctx, pair));
      },
      process(records) {
        const ctx = context as ProcessorContext;
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          let failed: ProcessedRecord | undefined;
          for (const { ref, name } of renames) {
            try {
              renameField(ref, r, name);
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

function parsePair(ctx: ProcessorContext, pair: string): Rename {
  const parts = pair.split(':');
  if (parts.length !== 2) {
    throw configError(ctx, 'mapping', `${JSON.stringify(pair)} is not <field>:<new name>`, `write ${FORMAT}`);
  }
  const field = (parts[0] as string).trim();
  const name = (parts[1] as string).trim();
  if (TOP_LEVEL.includes(field)) {
    throw configError(
      ctx,
      'mapping',
      `cannot rename the top-level field ${field}`,
      'rename a metadata key or a field inside structured data, e.g. .Payload.After.foo:bar',
    );
  }
  const ref = fieldParam(ctx, 'mapping', field);
  if (!isRenamable(ref)) {
    throw configError(
      ctx,
      'mapping',
      `cannot rename ${field}: only a metadata key or a field inside .Key or .Payload can be renamed`,
      'rename a metadata key or a field inside structured data, e.g. .Payload.After.foo:bar',
    );
  }
  if (name === '') {
    throw configError(ctx, 'mapping', `cannot rename ${field} to an empty name`, `write ${FORMAT}`);
  }
  if (name === ref.fields[ref.fields.length - 1]) {
    throw configError(ctx, 'mapping', `${field} is renamed to its own name`, 'remove this pair or change the name');
  }
  return { ref, name };
}
