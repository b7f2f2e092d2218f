/**
 * Every error the engine reports to a user has a stable dotted code, registered
 * here once. The code decides the CLI exit code, the HTTP status and whether the
 * recovery loop may retry. Registering a code twice throws at start-up.
 */

export const ExitCode = {
  Ok: 0,
  Internal: 1,
  InvalidInput: 2,
  Environment: 3,
  SigInt: 130,
  SigTerm: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorClass = 'input' | 'environment' | 'internal' | 'runtime';

export interface ErrorCodeInfo {
  readonly code: string;
  /** What kind of failure: decides the exit code and HTTP status. */
  readonly kind: ErrorClass;
  /** May the pipeline recovery loop retry a pipeline that failed with this code? */
  readonly retryable: boolean;
  readonly description: string;
}

const registry = new Map<string, ErrorCodeInfo>();

function define(code: string, kind: ErrorClass, retryable: boolean, description: string): string {
  if (registry.has(code)) throw new Error(`error code ${code} registered twice`);
  registry.set(code, { code, kind, retryable, description });
  return code;
}

export const Code = {
  // Pipeline configuration files.
  ConfigParseError: define('config.parse_error', 'input', false, 'A pipeline file is not valid YAML.'),
  ConfigFieldRequired: define('config.field_required', 'input', false, 'A required field is missing.'),
  ConfigFieldInvalid: define('config.field_invalid', 'input', false, 'A field has a value that is not allowed.'),
  ConfigFieldTooLong: define('config.field_too_long', 'input', false, 'A field is longer than allowed.'),
  ConfigFieldUnknown: define(
    'config.field_unknown',
    'input',
    false,
    'A field is not part of the pipeline file schema.',
  ),
  ConfigFieldRenamed: define('config.field_renamed', 'input', false, 'A field was renamed in a newer version.'),
  ConfigIdDuplicate: define('config.id_duplicate', 'input', false, 'Two entities share an ID.'),
  ConfigVersionUnsupported: define(
    'config.version_unsupported',
    'input',
    false,
    'The pipeline file version is not supported.',
  ),
  ConfigPathNotFound: define('config.path_not_found', 'input', false, 'The pipelines path does not exist.'),
  ConfigEnvUnset: define('config.env_unset', 'input', false, 'A ${VAR} in a pipeline file names an unset variable.'),
  // Engine configuration (flags, environment, conduit.yaml).
  EngineConfigInvalid: define('engine.config_invalid', 'input', false, 'An engine setting is invalid.'),
  // Plugins and their parameters.
  PluginNotFound: define('connector.plugin_not_found', 'input', false, 'No connector plugin has that name.'),
  ProcessorPluginNotFound: define('processor.plugin_not_found', 'input', false, 'No processor plugin has that name.'),
  PluginTypeUnsupported: define(
    'connector.type_unsupported',
    'input',
    false,
    'The plugin cannot act as that connector type.',
  ),
  ParamUnknown: define('param.unrecognized', 'input', false, 'A setting is not a parameter of the plugin.'),
  ParamRequired: define('param.required', 'input', false, 'A required parameter is not set.'),
  ParamInvalidType: define('param.invalid_type', 'input', false, 'A parameter value is not of the parameter type.'),
  ParamValidation: define('param.validation_failed', 'input', false, 'A parameter value fails a validation.'),
  // Pipelines at run time.
  PipelineNotFound: define('pipeline.not_found', 'input', false, 'No pipeline has that ID.'),
  PipelineRunning: define('pipeline.running', 'input', false, 'The pipeline is already running.'),
  PipelineNotRunning: define('pipeline.not_running', 'input', false, 'The pipeline is not running.'),
  PipelineInvalid: define('pipeline.invalid', 'input', false, 'The pipeline cannot run as configured.'),
  PipelineRecoveryExhausted: define(
    'pipeline.recovery_exhausted',
    'runtime',
    false,
    'The pipeline failed more often than recovery allows.',
  ),
  PipelineForceStopped: define('pipeline.force_stopped', 'runtime', false, 'The pipeline was stopped by force.'),
  // Editing pipelines, connectors and processors (the HTTP API).
  PipelineProvisionedByConfig: define(
    'pipeline.provisioned_by_config',
    'input',
    false,
    'A pipeline from a pipeline file cannot be changed through the API; edit the file.',
  ),
  PipelineNameExists: define('pipeline.name_exists', 'input', false, 'Another pipeline has that name.'),
  PipelineHasConnectors: define(
    'pipeline.has_connectors',
    'input',
    false,
    'Delete the connectors of the pipeline first.',
  ),
  PipelineHasProcessors: define(
    'pipeline.has_processors',
    'input',
    false,
    'Delete the processors of the pipeline first.',
  ),
  ConnectorNotFound: define('connector.not_found', 'input', false, 'No connector has that ID.'),
  ConnectorHasProcessors: define(
    'connector.has_processors',
    'input',
    false,
    'Delete the processors of the connector first.',
  ),
  ProcessorNotFound: define('processor.not_found', 'input', false, 'No processor has that ID.'),
  // The schema registry (avro.encode, avro.decode).
  SchemaNotFound: define('schema.not_found', 'input', false, 'No schema with that ID, or no such subject or version.'),
  SchemaInvalid: define(
    'schema.invalid',
    'input',
    false,
    'The schema is not a valid Avro schema, or the registry refused it.',
  ),
  SchemaRegistryUnreachable: define(
    'schema.registry_unreachable',
    'environment',
    true,
    'The schema registry cannot be reached or answered with a server error.',
  ),
  SchemaRegistryUnauthorized: define(
    'schema.registry_unauthorized',
    'input',
    false,
    'The schema registry refused the credentials.',
  ),
  // The HTTP API.
  ApiUnauthenticated: define('api.unauthenticated', 'input', false, 'No bearer token, or a wrong one.'),
  ApiBodyMalformed: define('api.body_malformed', 'input', false, 'The request body is not JSON.'),
  ApiBodyTooLarge: define(
    'api.body_too_large',
    'input',
    false,
    'The request body is larger than api.http.max-body-bytes.',
  ),
  ApiRouteNotFound: define('api.route_not_found', 'input', false, 'No route has that path.'),
  ApiMethodNotAllowed: define('api.method_not_allowed', 'input', false, 'The path exists, not with that method.'),
  ApiNotImplemented: define(
    'api.not_implemented',
    'input',
    false,
    "A route of Conduit's API this engine does not serve yet.",
  ),
  ApiRedactedSetting: define(
    'api.redacted_setting',
    'input',
    false,
    'A setting sent as *** has no stored value to keep.',
  ),
  ApiUnreachable: define(
    'api.unreachable',
    'environment',
    true,
    'The Conduit API cannot be reached, or did not answer in time (CLI client commands).',
  ),
  ApiBadAnswer: define('api.bad_answer', 'environment', false, 'The address answers, but not as the Conduit API.'),
  ApiOriginNotAllowed: define('api.origin_not_allowed', 'input', false, 'A CORS request from an origin not allowed.'),
  ProvisioningPlanStale: define(
    'provisioning.plan_stale',
    'input',
    false,
    'The plan hash sent to apply is not the current plan of the pipeline (it changed since, or the engine restarted).',
  ),
  ProvisioningRestartNotAllowed: define(
    'provisioning.restart_not_allowed',
    'input',
    false,
    'A change that needs a restart, applied to a running pipeline without `api.allow-live-restart-apply`.',
  ),
  ApiWebSocketRequired: define(
    'api.websocket_required',
    'input',
    false,
    'A plain GET on a stream inspector route: it needs a WebSocket upgrade.',
  ),
  InspectorTimeout: define(
    'inspector.timeout',
    'environment',
    false,
    'The records asked for did not arrive in time (`conduit pipelines inspect --records`).',
  ),
  // Connectors at run time.
  ConnectorOpenFailed: define('connector.open_failed', 'runtime', true, 'A connector failed to open.'),
  ConnectorReadFailed: define('connector.read_failed', 'runtime', true, 'A source failed to read.'),
  ConnectorWriteFailed: define('connector.write_failed', 'runtime', true, 'A destination failed to write.'),
  ConnectorAckFailed: define('connector.ack_failed', 'runtime', true, 'A source failed to take an acknowledgement.'),
  ConnectorFatal: define('connector.fatal', 'runtime', false, 'A connector reported an error it cannot recover from.'),
  // The postgres connector.
  PostgresSlotLost: define(
    'postgres.slot_lost',
    'runtime',
    false,
    'The replication slot a source resumes from was dropped, invalidated, or moved past the stored position.',
  ),
  PostgresNoPrimaryKey: define('postgres.no_primary_key', 'input', false, 'A captured table has no primary key.'),
  PostgresTableNotFound: define('postgres.table_not_found', 'input', false, 'A configured table does not exist.'),
  PostgresSchemaChanged: define(
    'postgres.schema_changed',
    'runtime',
    false,
    'A captured table changed its columns and the schemaChange policy is stop.',
  ),
  PostgresNotLogical: define(
    'postgres.wal_level',
    'environment',
    false,
    'The server does not have wal_level=logical, or the user may not replicate.',
  ),
  // Records.
  RecordNacked: define('record.nacked', 'runtime', false, 'A record failed and no dead-letter queue took it.'),
  ProcessorFailed: define('processor.failed', 'runtime', false, 'A processor failed on a record.'),
  DlqThresholdExceeded: define(
    'dlq.threshold_exceeded',
    'runtime',
    false,
    'Too many records failed within the DLQ window.',
  ),
  DlqWriteFailed: define('dlq.write_failed', 'runtime', false, 'The dead-letter queue could not take a failed record.'),
  // State store.
  StoreUnreachable: define('store.unreachable', 'environment', true, 'The state store cannot be opened or reached.'),
  StoreFormatUnsupported: define(
    'store.format_unsupported',
    'environment',
    false,
    'The state store was written by an unknown version.',
  ),
  // Process environment.
  PortInUse: define('environment.port_in_use', 'environment', false, 'A port the engine needs is taken.'),
  Internal: define('internal', 'internal', false, 'An unexpected internal error.'),
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export function codeInfo(code: string): ErrorCodeInfo {
  return registry.get(code) ?? { code, kind: 'internal', retryable: false, description: '' };
}

export function allCodes(): readonly ErrorCodeInfo[] {
  return [...registry.values()];
}

export function exitCodeFor(code: string): ExitCode {
  switch (codeInfo(code).kind) {
    case 'input':
      return ExitCode.InvalidInput;
    case 'environment':
      return ExitCode.Environment;
    default:
      return ExitCode.Internal;
  }
}
