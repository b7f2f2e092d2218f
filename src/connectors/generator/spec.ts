/** The generator's parameters, with Conduit's names: the single source for validation, defaults and docs. */
import type { ParamSpecs } from '../../sdk/params.js';

export const FORMAT_TYPES = ['raw', 'structured', 'file'] as const;
export type FormatType = (typeof FORMAT_TYPES)[number];
export const FIELD_TYPES = ['int', 'string', 'time', 'bool', 'duration'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
const OPERATION_NAMES = ['create', 'update', 'delete', 'snapshot'];

const fieldsDescription =
  'A field of the generated payload for the `raw` and `structured` format types: the key is the field name, ' +
  'the value its type, one of `int`, `string`, `time`, `bool`, `duration`.';

export const sourceParams: ParamSpecs = {
  rate: {
    type: 'float',
    default: '0',
    greaterThan: -1,
    description: 'The maximum rate in records per second at which records are generated (0 means no limit).',
  },
  recordCount: {
    type: 'int',
    default: '0',
    greaterThan: -1,
    description:
      'Number of records to generate (0 means infinite). Counted across restarts: the position is the record number.',
  },
  'burst.generateTime': {
    type: 'duration',
    default: '1s',
    greaterThan: 0,
    description: 'How long the generator generates records in a burst. Has an effect only if `burst.sleepTime` is set.',
  },
  'burst.sleepTime': {
    type: 'duration',
    default: '0s',
    greaterThan: -1,
    description: 'How long the generator sleeps between bursts (0 means no bursts). A run starts with a sleep.',
  },
  'format.type': {
    type: 'string',
    inclusion: FORMAT_TYPES,
    description:
      'The format of the generated payload: `structured` (an object), `raw` (the JSON of that object, as bytes) ' +
      'or `file` (the content of `format.options.path`). Required unless collections are configured.',
  },
  'format.options.*': {
    type: 'string',
    inclusion: FIELD_TYPES,
    description: fieldsDescription,
  },
  'format.options.path': {
    type: 'string',
    description: 'Path to the file whose content is every payload (only for the `file` format type).',
  },
  operations: {
    type: 'string',
    default: 'create',
    list: true,
    inclusion: OPERATION_NAMES,
    description:
      'Comma-separated list of operations to generate, from create, update, delete and snapshot; each record ' +
      'gets one chosen at random.',
  },
  'collections.*.format.type': {
    type: 'string',
    inclusion: FORMAT_TYPES,
    description:
      'The format of the payload for this collection (raw, structured, file); defaults to `format.type`. ' +
      'With collections, records rotate over them and carry `opencdc.collection`.',
  },
  'collections.*.format.options.*': {
    type: 'string',
    description: `${fieldsDescription} For this collection; defaults to \`format.options.*\`.`,
  },
  'collections.*.format.options.path': {
    type: 'string',
    description: 'Path to the payload file for this collection (only for the `file` format type).',
  },
  'collections.*.operations': {
    type: 'string',
    list: true,
    inclusion: OPERATION_NAMES,
    description: 'Comma-separated list of operations to generate for this collection; defaults to `operations`.',
  },
  readTime: {
    type: 'duration',
    default: '0s',
    greaterThan: -1,
    deprecated: 'use rate',
    description: "The time it takes to 'read' a record (deprecated: use `rate`; used only when `rate` is 0).",
  },
};
