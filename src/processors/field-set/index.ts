/**
 * `field.set`: sets a field of the record to the output of a Go template
 * evaluated against the record. Fields that do not exist are created.
 */
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { parseFieldRef, type FieldRef } from '../../opencdc/field-ref.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { RecordError, type ProcessedRecord, type ProcessorPlugin } from '../../sdk/processor.js';
import { compileTemplate } from '../../template/index.js';

export const fieldSetPlugin: ProcessorPlugin = {
  name: 'field.set',
  summary: 'Set the value of a certain field.',
  description:
    'Sets the value of a certain field to a processed value: the output of the Go template in `value`, ' +
    'evaluated against the record. If the field does not exist it is created. ' +
    'The field cannot be `.Position`.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    field: {
      type: 'string',
      required: true,
      exclusion: ['.Position'],
      description:
        'Field is the target field that will be set. Note that it is not allowed to set the `.Position` field. ' +
        'For more information about the format, see Referencing fields.',
    },
    value: {
      type: 'string',
      required: true,
      description:
        'Value is a Go template expression which will be evaluated and stored in `field` (e.g. `{{ .Payload.After }}`).',
    },
  },
  create: () => {
    let ref: FieldRef | undefined;
    let render: ((r: OpenCDCRecord) => string) | undefined;
    return {
      configure(config, ctx) {
        const field = config.string('field');
        try {
          ref = parseFieldRef(field);
        } catch (e) {
          throw new ConduitError(Code.ParamValidation, `processor ${ctx.processorId}: field: ${(e as Error).message}`, {
            configPath: 'field',
            suggestion: 'use a reference such as .Payload.After.name or .Metadata["key"]',
          });
        }
        // The spec's exclusion catches ".Position" as written; "$.Position" and "." cannot be set either.
        if (!ref.settable) {
          throw new ConduitError(Code.ParamValidation, `processor ${ctx.processorId}: field: ${field} cannot be set`, {
            configPath: 'field',
            suggestion: 'set a part of the record, such as .Payload.After.name, .Metadata["key"] or .Operation',
          });
        }
        let tpl;
        try {
          tpl = compileTemplate(config.string('value'), { name: `${ctx.processorId}.value` });
        } catch (e) {
          if (!(e instanceof ConduitError)) throw e;
          throw new ConduitError(e.code, `processor ${ctx.processorId}: value: ${e.message}`, {
            configPath: 'value',
            line: e.line,
            column: e.column,
            suggestion: e.suggestion,
            cause: e,
          });
        }
        const compiled = tpl;
        render = (r) => compiled.execute(r);
      },
      process(records) {
        const out: ProcessedRecord[] = [];
        for (const r of records) {
          try {
            ref?.set(r, render?.(r) ?? '');
            out.push(r);
          } catch (e) {
            out.push(new RecordError(e instanceof Error ? e : new Error(String(e))));
          }
        }
        return out;
      },
    };
  },
};
