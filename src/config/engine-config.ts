/**
 * Engine settings: declared once as a parameter spec (names and defaults are
 * Conduit's), resolved with the precedence flags > CONDUIT_* environment
 * variables > conduit.yaml > defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { LineCounter, isNode, parseDocument } from 'yaml';
import { Code } from '../errors/codes.js';
import { ConduitError, ValidationErrors } from '../errors/conduit-error.js';
import { registerSecret } from '../log/redact.js';
import { SCHEMA_REGISTRY_PARAMS } from '../schema/index.js';
import { Config, closest, validateSettings, type ParamSpecs } from '../sdk/params.js';
import type { RecoveryConfig } from '../engine/types.js';
import type { Level, LogFormat } from '../log/logger.js';

export const ENGINE_PARAMS: ParamSpecs = {
  'config.path': { type: 'string', default: './conduit.yaml', description: 'The engine configuration file.' },
  'db.type': {
    type: 'string',
    default: 'sqlite',
    inclusion: ['sqlite', 'badger', 'postgres', 'inmemory'],
    description: 'The state store: sqlite (embedded, default), postgres or inmemory. badger is read as sqlite.',
  },
  'db.sqlite.path': { type: 'string', default: './conduit.db', description: 'The SQLite file of the embedded store.' },
  'db.sqlite.table': { type: 'string', default: 'conduit_kv_store', description: 'The SQLite table name.' },
  'db.badger.path': {
    type: 'string',
    default: '',
    description: 'Accepted for Conduit compatibility; used as the SQLite path when db.type is badger.',
  },
  'db.postgres.connection-string': {
    type: 'string',
    default: '',
    secret: true,
    description: 'The PostgreSQL connection string, required when db.type is postgres.',
  },
  'db.postgres.table': { type: 'string', default: 'conduit_kv_store', description: 'The PostgreSQL table name.' },
  'pipelines.path': { type: 'string', default: './pipelines', description: 'A pipeline file or a folder of them.' },
  'pipelines.exit-on-degraded': {
    type: 'bool',
    default: 'false',
    description: 'Exit the process when a pipeline degrades.',
  },
  'pipelines.error-recovery.min-delay': {
    type: 'duration',
    default: '1s',
    description: 'The first delay before a failed pipeline restarts.',
  },
  'pipelines.error-recovery.max-delay': {
    type: 'duration',
    default: '10m',
    description: 'The longest delay between restarts.',
  },
  'pipelines.error-recovery.backoff-factor': {
    type: 'float',
    default: '2',
    greaterThan: 0,
    description: 'The factor the delay grows by after each failure.',
  },
  'pipelines.error-recovery.max-retries': {
    type: 'int',
    default: '-1',
    greaterThan: -2,
    description: 'Restarts allowed within the window: -1 means no limit, 0 disables recovery.',
  },
  'pipelines.error-recovery.max-retries-window': {
    type: 'duration',
    default: '5m',
    description: 'The window in which max-retries counts restarts.',
  },
  'pipelines.drain-timeout': {
    type: 'duration',
    default: '30s',
    description: 'How long a stop waits for pipelines to drain and checkpoint before stopping them by force.',
  },
  'log.level': {
    type: 'string',
    default: 'info',
    inclusion: ['trace', 'debug', 'info', 'warn', 'error'],
    description: 'The log level.',
  },
  'log.format': { type: 'string', default: 'cli', inclusion: ['cli', 'json'], description: 'The log format.' },
  'api.enabled': {
    type: 'bool',
    default: 'true',
    description:
      'Serve the HTTP API. Without a token only /healthz and /readyz (and /metrics if public) answer; every other route is refused.',
  },
  'api.http.address': {
    type: 'string',
    default: ':8080',
    description: 'The address of the HTTP API: host:port, e.g. :8080 (every interface) or 127.0.0.1:8080.',
  },
  'api.http.auth.token': {
    type: 'string',
    default: '',
    secret: true,
    description:
      'The bearer token every API request must send (except /healthz, /readyz). Set it with CONDUIT_API_HTTP_AUTH_TOKEN, not a flag.',
  },
  'api.http.auth.token-file': {
    type: 'string',
    default: '',
    description: 'A file holding the API bearer token (surrounding whitespace ignored).',
  },
  'api.http.auth.metrics-public': {
    type: 'bool',
    default: 'false',
    description: 'Serve /metrics without the token.',
  },
  'api.http.cors.allowed-origins': {
    type: 'string',
    list: true,
    default: '',
    description: 'Origins allowed to call the HTTP API from a browser (exact, comma-separated); * only on loopback.',
  },
  'api.http.max-body-bytes': {
    type: 'int',
    default: '1048576',
    greaterThan: 0,
    description: 'The largest request body the HTTP API takes.',
  },
  'api.allow-live-restart-apply': {
    type: 'bool',
    default: 'false',
    description:
      'Let POST /v1/pipelines/apply change a running pipeline whose plan needs a restart: it is drained, changed and started again (its sources resume from their checkpoints).',
  },
  'api.grpc.address': { type: 'string', default: ':8084', description: 'Accepted for Conduit compatibility.' },
  'connectors.path': {
    type: 'string',
    default: './connectors',
    description: 'Accepted for Conduit compatibility (standalone connectors are not loaded yet).',
  },
  'processors.path': { type: 'string', default: './processors', description: 'Accepted for Conduit compatibility.' },
  ...SCHEMA_REGISTRY_PARAMS,
};

export interface EngineConfig {
  readonly store:
    | { readonly type: 'sqlite'; readonly path: string; readonly table: string }
    | { readonly type: 'postgres'; readonly connectionString: string; readonly table: string }
    | { readonly type: 'inmemory' };
  readonly pipelinesPath: string;
  readonly pipelinesPathIsDefault: boolean;
  /** api.http.address was set nowhere (flag, environment, conduit.yaml): the default :8080. */
  readonly apiAddressIsDefault: boolean;
  readonly exitOnDegraded: boolean;
  readonly recovery: RecoveryConfig;
  readonly drainTimeoutMs: number;
  readonly log: { readonly level: Level; readonly format: LogFormat };
  readonly warnings: readonly string[];
  /** The resolved settings, secrets included: never print without redaction. */
  readonly settings: Readonly<Record<string, string>>;
}

/** The environment variable of a setting: CONDUIT_ + upper case, with . and - as _. */
export function envName(key: string): string {
  return `CONDUIT_${key.toUpperCase().replace(/[.-]/g, '_')}`;
}

/**
 * Resolves the engine configuration. `flags` are the command-line settings
 * (already split into key → value). Throws a ConduitError listing every problem.
 */
export function resolveEngineConfig(
  flags: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): EngineConfig {
  const fromEnv: Record<string, string> = {};
  for (const key of Object.keys(ENGINE_PARAMS)) {
    const v = env[envName(key)];
    if (v !== undefined) fromEnv[key] = v;
  }
  const configPath = flags['config.path'] ?? fromEnv['config.path'] ?? './conduit.yaml';
  const file = readConfigFile(configPath, flags['config.path'] !== undefined || fromEnv['config.path'] !== undefined);
  const warnings: string[] = [...file.warnings];
  const merged = { ...file.settings, ...fromEnv, ...flags };
  for (const [key, spec] of Object.entries(ENGINE_PARAMS)) {
    const value = merged[key];
    if (spec.secret === true && value !== undefined && value !== '') registerSecret(value);
  }
  const { settings, errors } = validateSettings(ENGINE_PARAMS, merged, { pathPrefix: '' });
  if (errors.length > 0) {
    // One problem per setting, each saying where its value came from.
    const problems = errors.map((e) => {
      const key = unescapePointer((e.configPath ?? '').slice(1));
      const from =
        flags[key] !== undefined
          ? { what: `flag --${key}` }
          : fromEnv[key] !== undefined
            ? { what: `environment variable ${envName(key)}` }
            : { what: configPath, file: configPath, ...file.locate(key) };
      const message = `${e.message.replace(/^(parameter|required parameter) /, 'setting ').replace(/^"([^"]*)" is not a parameter$/, 'unknown setting "$1"')} (from ${from.what})`;
      return new ConduitError(Code.EngineConfigInvalid, message, {
        configPath: `/${key.split('.').map(escapePointer).join('/')}`,
        ...('file' in from ? { file: from.file, line: from.line, column: from.column } : {}),
        suggestion: e.suggestion ?? 'see "conduit --help" for the settings',
      });
    });
    throw problems.length === 1 ? (problems[0] as ConduitError) : new ValidationErrors(problems);
  }
  const c = new Config(ENGINE_PARAMS, settings);
  let store: EngineConfig['store'];
  switch (c.string('db.type')) {
    case 'postgres': {
      const cs = c.string('db.postgres.connection-string');
      if (cs === '') {
        throw new ConduitError(
          Code.EngineConfigInvalid,
          'db.type is postgres but db.postgres.connection-string is empty',
          {
            configPath: '/db/postgres/connection-string',
            suggestion: `set --db.postgres.connection-string or ${envName('db.postgres.connection-string')}`,
          },
        );
      }
      store = { type: 'postgres', connectionString: cs, table: c.string('db.postgres.table') };
      break;
    }
    case 'inmemory':
      store = { type: 'inmemory' };
      break;
    case 'badger':
      warnings.push('db.type badger is stored in SQLite here (same single-file embedded store)');
      store = {
        type: 'sqlite',
        path: c.string('db.badger.path') || c.string('db.sqlite.path'),
        table: c.string('db.sqlite.table'),
      };
      break;
    default:
      store = { type: 'sqlite', path: c.string('db.sqlite.path'), table: c.string('db.sqlite.table') };
  }
  return {
    store,
    pipelinesPath: c.string('pipelines.path'),
    pipelinesPathIsDefault: merged['pipelines.path'] === undefined,
    apiAddressIsDefault: merged['api.http.address'] === undefined,
    exitOnDegraded: c.bool('pipelines.exit-on-degraded'),
    recovery: {
      minDelay: c.duration('pipelines.error-recovery.min-delay'),
      maxDelay: c.duration('pipelines.error-recovery.max-delay'),
      backoffFactor: c.float('pipelines.error-recovery.backoff-factor'),
      maxRetries: c.int('pipelines.error-recovery.max-retries'),
      maxRetriesWindow: c.duration('pipelines.error-recovery.max-retries-window'),
    },
    drainTimeoutMs: c.duration('pipelines.drain-timeout'),
    log: { level: c.string('log.level') as Level, format: c.string('log.format') as LogFormat },
    warnings,
    settings,
  };
}

interface ConfigFile {
  /** Flat dotted keys. */
  readonly settings: Record<string, string>;
  /** Where a dotted key is written in the file. */
  readonly locate: (key: string) => { line?: number; column?: number };
  readonly warnings: string[];
}

const NO_FILE: ConfigFile = { settings: {}, locate: () => ({}), warnings: [] };

/** Reads conduit.yaml (nested keys) into flat dotted keys. A missing default file is fine. */
function readConfigFile(path: string, explicit: boolean): ConfigFile {
  if (!existsSync(path)) {
    if (explicit) {
      throw new ConduitError(Code.EngineConfigInvalid, `the configuration file ${path} does not exist`, {
        configPath: '/config/path',
        suggestion: 'create it with "conduit init", or point --config.path at an existing file',
      });
    }
    return NO_FILE;
  }
  const lc = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: lc, prettyErrors: false });
  const bad = doc.errors[0];
  if (bad !== undefined) {
    const at = bad.linePos?.[0];
    throw new ConduitError(Code.EngineConfigInvalid, `${path} is not valid YAML: ${bad.message.split('\n')[0]}`, {
      file: path,
      ...(at === undefined ? {} : { line: at.line, column: at.col }),
      suggestion: 'fix the YAML syntax',
    });
  }
  const value: unknown = doc.toJS();
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ConduitError(
      Code.EngineConfigInvalid,
      `${path} must be a mapping of settings, e.g. "db: {type: sqlite}"`,
      {
        file: path,
        line: 1,
        column: 1,
        suggestion: 'create a valid one with "conduit init"',
      },
    );
  }
  const settings: Record<string, string> = {};
  flatten(value, '', settings);
  const warnings: string[] = [];
  for (const key of Object.keys(settings)) {
    // Conduit's own conduit.yaml may hold settings this engine does not use (preview.*,
    // dev.*): they are ignored with a warning. A near miss of a known setting stays an error (a typo).
    if (ENGINE_PARAMS[key] === undefined && closest(key, Object.keys(ENGINE_PARAMS)) === undefined) {
      warnings.push(`${path}: setting "${key}" is not used by Conduit for TypeScript; it is ignored`);
      delete settings[key];
    }
  }
  const locate = (key: string): { line?: number; column?: number } => {
    const node = doc.getIn(key.split('.'), true) ?? doc.get(key, true);
    const offset = isNode(node) ? node.range?.[0] : undefined;
    if (offset === undefined) return {};
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  return { settings, locate, warnings };
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function flatten(v: unknown, prefix: string, out: Record<string, string>): void {
  if (v === null || v === undefined) return;
  if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      flatten(x, prefix === '' ? k : `${prefix}.${k}`, out);
    return;
  }
  out[prefix] = Array.isArray(v)
    ? v.join(',')
    : typeof v === 'string'
      ? v
      : v instanceof Date
        ? v.toISOString()
        : JSON.stringify(v);
}
