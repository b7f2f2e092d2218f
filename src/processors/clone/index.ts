/**
 * `clone`: emits each record `count + 1` times, the copies told apart by the
 * metadata key `clone.index` (0 for the original). Every copy keeps the
 * original position; the source is acknowledged once all of them are.
 */
import { cloneRecord, type OpenCDCRecord } from '../../opencdc/record.js';
import { MultiRecord, type ProcessorPlugin } from '../../sdk/processor.js';

export const CLONE_INDEX = 'clone.index';

export const clonePlugin: ProcessorPlugin = {
  name: 'clone',
  summary: 'Clone records.',
  description:
    'Clones all records N times. For each input record the processor outputs the original record plus N clones ' +
    '(N+1 records in all). Each clone is identical to the original, except that the metadata field `clone.index` ' +
    'is set to the clone index (0 for the original, 1 to N for the clones). Add a condition to clone only some ' +
    'records.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    count: {
      type: 'int',
      required: true,
      greaterThan: 0,
      description:
        'The number of times to clone each record (e.g. if count is 2, the processor will output 3 records for ' +
        'every input record).',
    },
  },
  create: () => {
    let count = 1;
    let indexes: readonly string[] = [];
    return {
      configure(config) {
        count = config.int('count');
        indexes = Array.from({ length: count + 1 }, (_, i) => String(i));
      },
      process: (records) =>
        records.map((r) => {
          const out: OpenCDCRecord[] = new Array<OpenCDCRecord>(count + 1);
          // Copies first, then the original itself becomes copy 0: one deep copy fewer.
          for (let i = 1; i <= count; i++) out[i] = cloneRecord(r);
          out[0] = r;
          for (let i = 0; i <= count; i++) (out[i] as OpenCDCRecord).metadata[CLONE_INDEX] = indexes[i] as string;
          return new MultiRecord(out);
        }),
    };
  },
};
