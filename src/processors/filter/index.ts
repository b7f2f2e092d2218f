/**
 * `filter`: drops every record it receives; the source is still acknowledged.
 * Combine it with a `condition` to drop only some records.
 */
import { FILTERED, type ProcessorPlugin } from '../../sdk/processor.js';

export const filterPlugin: ProcessorPlugin = {
  name: 'filter',
  summary: 'Acknowledges all records that get passed to the filter.',
  description:
    'Acknowledges all records that get passed to the filter, so they are dropped and count as delivered. ' +
    'Use it with a condition to filter out only the records that match it, e.g. ' +
    '`{{ eq .Metadata.kind "noise" }}`.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {},
  create: () => ({
    configure: () => undefined,
    process: (records) => records.map(() => FILTERED),
  }),
};
