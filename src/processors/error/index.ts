/**
 * `error`: fails every record it receives, with a message that may be a Go
 * template over the record. Combine it with a `condition`.
 */
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { RecordError, type ProcessorPlugin } from '../../sdk/processor.js';
import { compileTemplate } from '../../template/index.js';

const DEFAULT_MESSAGE = 'error processor triggered';

export const errorPlugin: ProcessorPlugin = {
  name: 'error',
  summary: 'Returns an error for all records that get passed to the processor.',
  description:
    'Any time a record is passed to this processor it returns an error, which results in the record being sent ' +
    'to the DLQ if it is configured, or the pipeline stopping. Make sure to add a condition to this processor, ' +
    'otherwise all records will trigger an error.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    message: {
      type: 'string',
      default: DEFAULT_MESSAGE,
      description:
        'Error message to be returned. This can be a Go template executed on each record being processed ' +
        '(e.g. `failed: {{ .Metadata.reason }}`).',
    },
  },
  create: () => {
    let message: (r: OpenCDCRecord) => string = () => DEFAULT_MESSAGE;
    return {
      configure(config, ctx) {
        const source = config.string('message');
        // As in Conduit, only a message with an action is a template: "50% {done" stays as written.
        if (!source.includes('{{')) {
          message = () => source;
          return;
        }
        let tpl;
        try {
          tpl = compileTemplate(source, { name: `${ctx.processorId}.message` });
        } catch (e) {
          if (!(e instanceof ConduitError)) throw e;
          throw new ConduitError(e.code, `processor ${ctx.processorId}: message: ${e.message}`, {
            configPath: 'message',
            line: e.line,
            column: e.column,
            suggestion: e.suggestion,
            cause: e,
          });
        }
        const compiled = tpl;
        message = (r) => {
          try {
            return compiled.execute(r);
          } catch (e) {
            // Conduit then reports the template's own error as the message.
            return e instanceof Error ? e.message : String(e);
          }
        };
      },
      process: (records) => records.map((r) => new RecordError(new Error(message(r)))),
    };
  },
};
