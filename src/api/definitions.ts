/**
 * The messages of the HTTP API, with Conduit's names and fields (package
 * `api.v1`, as grpc-gateway writes them in Swagger): the one declaration from
 * which request bodies are checked and the OpenAPI document is generated.
 * A test compares every definition here with Conduit's Swagger file.
 */
import { ref, type Definitions, type Schema } from './schema.js';

const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const time: Schema = { type: 'string', format: 'date-time' };
const stringMap = (description?: string): Schema => ({
  type: 'object',
  additionalProperties: { type: 'string' },
  ...(description ? { description } : {}),
});
const readOnlyIds: Schema = { type: 'array', items: { type: 'string' }, readOnly: true };
const empty: Schema = { type: 'object' };

const VALIDATION_TYPES = [
  'TYPE_UNSPECIFIED',
  'TYPE_REQUIRED',
  'TYPE_GREATER_THAN',
  'TYPE_LESS_THAN',
  'TYPE_INCLUSION',
  'TYPE_EXCLUSION',
  'TYPE_REGEX',
] as const;
const PARAMETER_TYPES = [
  'TYPE_UNSPECIFIED',
  'TYPE_STRING',
  'TYPE_INT',
  'TYPE_FLOAT',
  'TYPE_BOOL',
  'TYPE_FILE',
  'TYPE_DURATION',
] as const;

export const PIPELINE_STATUS = [
  'STATUS_UNSPECIFIED',
  'STATUS_RUNNING',
  'STATUS_STOPPED',
  'STATUS_DEGRADED',
  'STATUS_RECOVERING',
] as const;
export const STOPPED_REASON = ['STOPPED_REASON_UNSPECIFIED', 'STOPPED_REASON_USER', 'STOPPED_REASON_SYSTEM'] as const;
export const CONNECTOR_TYPE = ['TYPE_UNSPECIFIED', 'TYPE_SOURCE', 'TYPE_DESTINATION'] as const;
export const PARENT_TYPE = ['TYPE_UNSPECIFIED', 'TYPE_CONNECTOR', 'TYPE_PIPELINE'] as const;

/** Conduit's messages: each must match its Swagger definition (openapi.test.ts). */
const CONDUIT_DEFINITIONS: Definitions = {
  // ---- pipelines
  v1PipelineStatus: {
    type: 'string',
    enum: PIPELINE_STATUS,
    default: 'STATUS_UNSPECIFIED',
    description: 'The pipeline status. STATUS_DEGRADED: stopped with an error (see state.error).',
  },
  StateStoppedReason: {
    type: 'string',
    enum: STOPPED_REASON,
    default: 'STOPPED_REASON_UNSPECIFIED',
    description: 'Why a STATUS_STOPPED pipeline stopped: a user (or never started), or Conduit itself.',
  },
  PipelineState: {
    type: 'object',
    properties: {
      status: ref('v1PipelineStatus'),
      error: str('Error message when pipeline status is STATUS_DEGRADED.'),
      stoppedReason: ref('StateStoppedReason'),
    },
  },
  v1PipelineConfig: { type: 'object', properties: { name: str(), description: str() } },
  v1Pipeline: {
    type: 'object',
    properties: {
      id: { type: 'string', readOnly: true },
      state: ref('PipelineState'),
      config: ref('v1PipelineConfig'),
      connectorIds: readOnlyIds,
      processorIds: readOnlyIds,
      createdAt: time,
      updatedAt: time,
      sourceProgress: {
        type: 'array',
        items: ref('v1SourceProgress'),
        readOnly: true,
        'x-extension': true,
        description:
          'Extension (not in Conduit): where each source of the running pipeline stands, for the sources that ' +
          'report it (a snapshot per collection, the lag); empty when the pipeline is not running.',
      },
    },
  },
  v1PipelineDLQ: {
    type: 'object',
    properties: {
      plugin: str('The connector plugin that stores failed records; default builtin:log, logging with level WARN.'),
      settings: stringMap('The plugin settings; secret values are shown as ***.'),
      windowSize: {
        type: 'string',
        format: 'uint64',
        description: 'How many of the last acks/nacks are watched (0 disables the window); default 1.',
      },
      windowNackThreshold: {
        type: 'string',
        format: 'uint64',
        description: 'Nacks tolerated in the window; crossing it stops the pipeline. Default 0.',
      },
    },
  },
  v1CreatePipelineRequest: {
    type: 'object',
    properties: { config: ref('v1PipelineConfig') },
    required: ['config'],
  },
  PipelineServiceUpdatePipelineBody: {
    type: 'object',
    properties: { config: ref('v1PipelineConfig') },
    required: ['config'],
  },
  PipelineServiceStopPipelineBody: { type: 'object', properties: { force: { type: 'boolean' } } },
  v1StartPipelineResponse: empty,
  v1StopPipelineResponse: empty,
  v1DeletePipelineResponse: empty,

  // whole-pipeline documents (plan, apply, and export/import's extension field)
  v1PipelineDocumentProcessor: {
    type: 'object',
    properties: {
      id: str(),
      plugin: str(),
      settings: stringMap(),
      workers: { type: 'integer', format: 'int32' },
      condition: str(),
    },
  },
  v1PipelineDocumentConnector: {
    type: 'object',
    properties: {
      id: str(),
      type: str('source or destination'),
      plugin: str(),
      name: str(),
      settings: stringMap(),
      processors: { type: 'array', items: ref('v1PipelineDocumentProcessor') },
    },
  },
  v1PipelineDocumentDLQ: {
    type: 'object',
    properties: {
      plugin: str(),
      settings: stringMap(),
      windowSize: { type: 'string', format: 'uint64' },
      windowNackThreshold: { type: 'string', format: 'uint64' },
    },
  },
  v1PipelineDocument: {
    type: 'object',
    properties: {
      id: str(),
      status: str('running or stopped'),
      name: str(),
      description: str(),
      connectors: { type: 'array', items: ref('v1PipelineDocumentConnector') },
      processors: { type: 'array', items: ref('v1PipelineDocumentProcessor') },
      dlq: ref('v1PipelineDocumentDLQ'),
    },
  },
  v1PlanPipelineRequest: { type: 'object', properties: { config: ref('v1PipelineDocument') } },
  v1ApplyPipelineRequest: { type: 'object', properties: { config: ref('v1PipelineDocument'), hash: str() } },
  v1DiffChange: {
    type: 'object',
    properties: {
      resource: str(),
      id: str(),
      action: str(),
      effect: str(),
      configPaths: { type: 'array', items: { type: 'string' } },
      code: str(),
    },
  },
  v1Diff: {
    type: 'object',
    properties: {
      pipelineId: str(),
      changes: { type: 'array', items: ref('v1DiffChange') },
      hash: str(),
    },
  },

  // ---- connectors
  v1ConnectorType: { type: 'string', enum: CONNECTOR_TYPE, default: 'TYPE_UNSPECIFIED' },
  v1ConnectorConfig: {
    type: 'object',
    properties: { name: str(), settings: stringMap('Secret values are shown as ***.') },
  },
  ConnectorSourceState: { type: 'object', properties: { position: { type: 'string', format: 'byte' } } },
  ConnectorDestinationState: {
    type: 'object',
    properties: { positions: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } } },
  },
  apiv1Connector: {
    type: 'object',
    properties: {
      id: { type: 'string', readOnly: true },
      destinationState: ref('ConnectorDestinationState'),
      sourceState: ref('ConnectorSourceState'),
      config: ref('v1ConnectorConfig'),
      type: ref('v1ConnectorType'),
      plugin: str(),
      pipelineId: str(),
      processorIds: readOnlyIds,
      createdAt: time,
      updatedAt: time,
    },
  },
  v1CreateConnectorRequest: {
    type: 'object',
    properties: {
      type: ref('v1ConnectorType'),
      plugin: str('[PLUGIN-TYPE:]PLUGIN-NAME[@VERSION], e.g. builtin:file.'),
      pipelineId: str('ID of the pipeline to which the connector will get attached.'),
      config: ref('v1ConnectorConfig'),
    },
    required: ['type', 'plugin', 'pipelineId'],
  },
  ConnectorServiceUpdateConnectorBody: {
    type: 'object',
    properties: { config: ref('v1ConnectorConfig'), plugin: str() },
    required: ['config'],
  },
  v1ValidateConnectorRequest: {
    type: 'object',
    properties: {
      type: ref('v1ConnectorType'),
      plugin: str('The plugin reference, e.g. builtin:file.'),
      config: ref('v1ConnectorConfig'),
    },
    required: ['type', 'plugin'],
  },
  v1ValidateConnectorResponse: empty,
  v1DeleteConnectorResponse: empty,

  // ---- processors
  ProcessorParentType: { type: 'string', enum: PARENT_TYPE, default: 'TYPE_UNSPECIFIED' },
  ProcessorParent: { type: 'object', properties: { type: ref('ProcessorParentType'), id: str() } },
  v1ProcessorConfig: {
    type: 'object',
    properties: {
      settings: stringMap('Secret values are shown as ***.'),
      workers: { type: 'integer', format: 'int32' },
    },
  },
  apiv1Processor: {
    type: 'object',
    properties: {
      id: { type: 'string', readOnly: true },
      config: ref('v1ProcessorConfig'),
      condition: str('A Go template that prints true or false: the processor runs on a record only when true.'),
      plugin: str(),
      parent: ref('ProcessorParent'),
      createdAt: time,
      updatedAt: time,
    },
  },
  v1CreateProcessorRequest: {
    type: 'object',
    properties: {
      type: str('Deprecated: use plugin.'),
      parent: ref('ProcessorParent'),
      config: ref('v1ProcessorConfig'),
      condition: str(),
      plugin: str(),
    },
    required: ['parent'],
  },
  ProcessorServiceUpdateProcessorBody: {
    type: 'object',
    properties: { config: ref('v1ProcessorConfig'), plugin: str() },
    required: ['config'],
  },
  v1DeleteProcessorResponse: empty,

  // ---- plugins
  configv1ParameterType: { type: 'string', enum: PARAMETER_TYPES, default: 'TYPE_UNSPECIFIED' },
  configv1ValidationType: { type: 'string', enum: VALIDATION_TYPES, default: 'TYPE_UNSPECIFIED' },
  configv1Validation: {
    type: 'object',
    properties: {
      type: ref('configv1ValidationType'),
      value: str('The value compared with the parameter, or a comma-separated list for inclusion and exclusion.'),
    },
  },
  configv1Parameter: {
    type: 'object',
    properties: {
      default: str('The default value; empty when there is none.'),
      description: str(),
      type: ref('configv1ParameterType'),
      validations: { type: 'array', items: ref('configv1Validation') },
    },
  },
  v1ConnectorPluginSpecifications: {
    type: 'object',
    properties: {
      name: str(),
      summary: str(),
      description: str(),
      version: str(),
      author: str(),
      destinationParams: { type: 'object', additionalProperties: ref('configv1Parameter') },
      sourceParams: { type: 'object', additionalProperties: ref('configv1Parameter') },
    },
  },
  v1ProcessorPluginSpecifications: {
    type: 'object',
    properties: {
      name: str(),
      summary: str(),
      description: str(),
      version: str(),
      author: str(),
      parameters: { type: 'object', additionalProperties: ref('configv1Parameter') },
    },
  },
  PluginSpecificationsParameterValidationType: {
    type: 'string',
    enum: VALIDATION_TYPES,
    default: 'TYPE_UNSPECIFIED',
  },
  PluginSpecificationsParameterValidation: {
    type: 'object',
    properties: { type: ref('PluginSpecificationsParameterValidationType'), value: str() },
  },
  v1PluginSpecificationsParameterType: { type: 'string', enum: PARAMETER_TYPES, default: 'TYPE_UNSPECIFIED' },
  v1PluginSpecificationsParameter: {
    type: 'object',
    properties: {
      description: str(),
      default: str(),
      type: ref('v1PluginSpecificationsParameterType'),
      validations: { type: 'array', items: ref('PluginSpecificationsParameterValidation') },
    },
  },
  v1PluginSpecifications: {
    type: 'object',
    description: 'Deprecated: use ConnectorPluginSpecifications instead.',
    properties: {
      name: str(),
      summary: str(),
      description: str(),
      version: str(),
      author: str(),
      destinationParams: { type: 'object', additionalProperties: ref('v1PluginSpecificationsParameter') },
      sourceParams: { type: 'object', additionalProperties: ref('v1PluginSpecificationsParameter') },
    },
  },

  // ---- records (the stream inspector's messages, protojson of opencdc.v1.Record)
  v1Record: {
    type: 'object',
    properties: {
      position: { type: 'string', format: 'byte' },
      operation: ref('opencdcv1Operation'),
      metadata: stringMap(),
      key: ref('v1Data'),
      payload: ref('opencdcv1Change'),
    },
    description: 'A record, as the stream inspector sends it: {"result": <v1Record>}.',
  },
  v1Data: {
    type: 'object',
    properties: { rawData: { type: 'string', format: 'byte' }, structuredData: { type: 'object' } },
    description: 'Either rawData (base64) or structuredData (an object).',
  },
  opencdcv1Change: { type: 'object', properties: { before: ref('v1Data'), after: ref('v1Data') } },
  opencdcv1Operation: {
    type: 'string',
    enum: ['OPERATION_UNSPECIFIED', 'OPERATION_CREATE', 'OPERATION_UPDATE', 'OPERATION_DELETE', 'OPERATION_SNAPSHOT'],
    default: 'OPERATION_UNSPECIFIED',
  },

  // ---- information and errors
  apiv1Info: { type: 'object', properties: { version: str(), os: str(), arch: str() } },
  protobufAny: {
    type: 'object',
    properties: { '@type': str() },
    additionalProperties: true,
  },
  googlerpcStatus: {
    type: 'object',
    properties: {
      code: { type: 'integer', format: 'int32' },
      message: str(),
      details: { type: 'array', items: ref('protobufAny') },
    },
    description:
      'An error. details holds a google.rpc.ErrorInfo: reason (the stable code), domain "conduit", ' +
      'metadata {configPath, suggestion}.',
  },
};

/**
 * Messages of routes beyond Conduit's API (`RouteDef.extension`). Their names are not
 * Conduit's (openapi.test.ts checks), so a Conduit client never meets a changed message.
 */
export const EXTENSION_DEFINITIONS: Definitions = {
  v1SourceProgress: {
    type: 'object',
    description: "A source's progress, as the connector reports it; every part is optional.",
    properties: {
      connectorId: str('The source connector.'),
      plugin: str('Its plugin, e.g. postgres.'),
      lagBytes: {
        type: 'string',
        format: 'uint64',
        description: 'Bytes upstream keeps for the source and it has not confirmed (a replication slot).',
      },
      lagRecords: {
        type: 'string',
        format: 'uint64',
        description: 'Records upstream holds that the source has not read (a consumer group).',
      },
      snapshot: {
        type: 'array',
        items: ref('v1SnapshotProgress'),
        description: 'The snapshot, per collection in reading order; absent when the source takes none.',
      },
    },
  },
  v1SnapshotProgress: {
    type: 'object',
    properties: {
      collection: str('The table, topic or prefix.'),
      rows: { type: 'string', format: 'uint64', description: 'Rows read so far.' },
      estimatedRows: {
        type: 'string',
        format: 'uint64',
        description: "The upstream's estimate of the collection's rows (0 when unknown).",
      },
      done: { type: 'boolean', description: 'The collection is read whole.' },
    },
  },
  v1PipelineExport: {
    type: 'object',
    description:
      "Conduit's v1Pipeline (every field as GetPipeline answers it) and, as an extension, the whole pipeline in `document` " +
      '(connectors, processors and DLQ inline, secrets as ***): ExportPipeline answers it, ImportPipeline takes it back ' +
      '(only `document` is read), PlanPipeline and ApplyPipeline take its `document` as their `config`.',
    properties: {
      id: { type: 'string', readOnly: true },
      state: ref('PipelineState'),
      config: ref('v1PipelineConfig'),
      connectorIds: readOnlyIds,
      processorIds: readOnlyIds,
      createdAt: time,
      updatedAt: time,
      sourceProgress: { type: 'array', items: ref('v1SourceProgress'), readOnly: true },
      document: ref('v1PipelineDocument'),
    },
  },
  DeadLetterRecordOutcome: {
    type: 'string',
    enum: ['OUTCOME_UNSPECIFIED', 'OUTCOME_DLQ', 'OUTCOME_STOPPED'],
    default: 'OUTCOME_UNSPECIFIED',
    description: 'OUTCOME_DLQ: the dead-letter queue took the record; OUTCOME_STOPPED: it stopped the pipeline.',
  },
  v1DeadLetterRecordError: {
    type: 'object',
    properties: {
      code: str('The stable error code, e.g. processor.failed.'),
      message: str('The error message (secrets redacted).'),
    },
  },
  v1DeadLetterRecord: {
    type: 'object',
    properties: {
      sequence: {
        type: 'string',
        format: 'uint64',
        description: "The failure's number in its pipeline since the engine started, from 1.",
      },
      record: {
        type: 'object',
        additionalProperties: true,
        description: 'The failed record as OpenCDC JSON (position, key and raw data in base64).',
      },
      recordTruncated: {
        type: 'boolean',
        description: 'True when the record was too large to keep whole: its key and payload are null.',
      },
      error: ref('v1DeadLetterRecordError'),
      nodeId: str('The processor or destination connector that failed the record.'),
      outcome: ref('DeadLetterRecordOutcome'),
      failedAt: time,
    },
  },
  v1ListDeadLetterRecordsResponse: {
    type: 'object',
    properties: {
      records: { type: 'array', items: ref('v1DeadLetterRecord') },
      total: {
        type: 'string',
        format: 'uint64',
        description: 'Records the pipeline failed since the engine started.',
      },
      kept: {
        type: 'string',
        format: 'uint64',
        description: 'Records kept in memory now (the last 100, within 1 MiB).',
      },
    },
  },
};

/** Every message the API declares: Conduit's, and those of its extensions. */
export const DEFINITIONS: Definitions = { ...CONDUIT_DEFINITIONS, ...EXTENSION_DEFINITIONS };
