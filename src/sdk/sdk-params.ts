/**
 * The `sdk.*` parameters every connector gets, with Conduit's names and defaults
 * (connector-sdk default middleware). The engine applies them around the
 * connector: batching and rate limits around read/write, the record format
 * around the destination.
 */
import type { ParamSpecs } from './params.js';

const batch: ParamSpecs = {
  'sdk.batch.size': {
    type: 'int',
    default: '0',
    greaterThan: -1,
    description:
      'Maximum number of records in a batch. 0 lets the engine size batches by what is available (up to its byte budget).',
  },
  'sdk.batch.delay': {
    type: 'duration',
    default: '0',
    greaterThan: -1,
    description: 'Maximum time to wait for a batch to fill up before it is passed on. 0 means do not wait.',
  },
};

const schema: ParamSpecs = {
  'sdk.schema.extract.type': {
    type: 'string',
    default: 'avro',
    inclusion: ['avro'],
    description: 'The type of the schema extracted from records.',
  },
  'sdk.schema.extract.payload.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to extract and register the payload schema.',
  },
  'sdk.schema.extract.payload.subject': {
    type: 'string',
    default: 'payload',
    description: 'The subject of the payload schema.',
  },
  'sdk.schema.extract.key.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to extract and register the key schema.',
  },
  'sdk.schema.extract.key.subject': {
    type: 'string',
    default: 'key',
    description: 'The subject of the key schema.',
  },
  'sdk.schema.context.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to prefix schema subjects with a context name.',
  },
  'sdk.schema.context.name': {
    type: 'string',
    default: '',
    description: 'The schema context name; empty means the connector ID.',
  },
};

export const SOURCE_SDK_PARAMS: ParamSpecs = { ...batch, ...schema };

export const DESTINATION_SDK_PARAMS: ParamSpecs = {
  ...batch,
  'sdk.rate.perSecond': {
    type: 'float',
    default: '0',
    greaterThan: -1,
    description: 'Maximum records written per second. 0 means no limit.',
  },
  'sdk.rate.burst': {
    type: 'int',
    default: '0',
    greaterThan: -1,
    description:
      'Maximum records written at once when rate limiting. 0 means no limit; below sdk.batch.size it caps the batch.',
  },
  'sdk.record.format': {
    type: 'string',
    default: 'opencdc/json',
    description:
      'How a destination turns a record into bytes: opencdc/json, debezium/json, or template (a Go template given in sdk.record.format.options).',
  },
  'sdk.record.format.options': {
    type: 'string',
    default: '',
    description:
      'Options of the record format: for debezium/json "debezium.schema.name=…,debezium.rawData.key=…"; for template the template itself.',
  },
  'sdk.schema.extract.key.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to decode the key with its registered schema before writing.',
  },
  'sdk.schema.extract.payload.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to decode the payload with its registered schema before writing.',
  },
};

/**
 * Every built-in processor also takes these (Conduit decodes the Avro key and
 * payload before processing and encodes them after). Accepted here so Conduit
 * pipeline files validate; schema support is tracked with the schema registry.
 */
export const PROCESSOR_SDK_PARAMS: ParamSpecs = {
  'sdk.schema.decode.key.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to decode the record key using its corresponding schema from the schema registry.',
  },
  'sdk.schema.decode.payload.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to decode the record payload using its corresponding schema from the schema registry.',
  },
  'sdk.schema.encode.key.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to encode the record key using its corresponding schema from the schema registry.',
  },
  'sdk.schema.encode.payload.enabled': {
    type: 'bool',
    default: 'true',
    description: 'Whether to encode the record payload using its corresponding schema from the schema registry.',
  },
};

/** The full spec of a processor: its parameters plus the SDK's. */
export function processorSpecs(params: ParamSpecs): ParamSpecs {
  return { ...PROCESSOR_SDK_PARAMS, ...params };
}

/** The full spec of a source: the connector's parameters plus the SDK's. */
export function sourceSpecs(params: ParamSpecs): ParamSpecs {
  return { ...SOURCE_SDK_PARAMS, ...params };
}

export function destinationSpecs(params: ParamSpecs): ParamSpecs {
  return { ...DESTINATION_SDK_PARAMS, ...params };
}
