/**
 * The schema registry's public face: the engine settings that choose it
 * (Conduit's `schema-registry.*` names) and `openSchemaRegistry`, which builds
 * the one the engine hands to processors through their context.
 */
import { ConduitError } from '../errors/conduit-error.js';
import { Code } from '../errors/codes.js';
import type { ParamSpecs } from '../sdk/params.js';
import type { Store } from '../store/store.js';
import { BuiltinRegistry } from './builtin.js';
import { ConfluentRegistry, type ConfluentAuth } from './confluent.js';
import type { SchemaRegistry } from './registry.js';

export { BuiltinRegistry, SchemaKey } from './builtin.js';
export { ConfluentRegistry, type ConfluentAuth, type ConfluentOptions } from './confluent.js';
export {
  SchemaCode,
  type CreateOptions,
  type SchemaProcessorContext,
  type SchemaRegistry,
  type SubjectSchema,
} from './registry.js';

/** The engine settings of the schema registry, to merge into the engine's parameter specs. */
export const SCHEMA_REGISTRY_PARAMS: ParamSpecs = {
  'schema-registry.type': {
    type: 'string',
    default: 'builtin',
    inclusion: ['builtin', 'confluent'],
    description:
      'The schema registry: builtin (schemas kept in the state store) or confluent (a Confluent-compatible server).',
  },
  'schema-registry.confluent.connection-string': {
    type: 'string',
    default: '',
    description: 'The URL of the Confluent schema registry, e.g. http://localhost:8081; required for type confluent.',
  },
  'schema-registry.confluent.auth.type': {
    type: 'string',
    default: 'none',
    inclusion: ['none', 'basic', 'bearer'],
    description: 'How to authenticate to the Confluent schema registry: none, basic or bearer.',
  },
  'schema-registry.confluent.auth.basic.username': {
    type: 'string',
    default: '',
    description: 'The user name, for auth type basic.',
  },
  'schema-registry.confluent.auth.basic.password': {
    type: 'string',
    default: '',
    secret: true,
    description: 'The password, for auth type basic.',
  },
  'schema-registry.confluent.auth.bearer.token': {
    type: 'string',
    default: '',
    secret: true,
    description: 'The token, for auth type bearer.',
  },
};

/**
 * Builds the configured registry. The built-in one shares the engine's store
 * (one instance per store, please); the Confluent one is a client and opens
 * no connection until first used.
 *
 * @param settings - the validated engine settings (`schema-registry.*`; missing keys take their defaults).
 * @throws ConduitError `engine.config_invalid` naming the setting, for a
 *   missing connection string or credentials, or a bad URL.
 */
export function openSchemaRegistry(settings: Readonly<Record<string, string>>, store: Store): SchemaRegistry {
  const get = (k: string): string => settings[k] ?? SCHEMA_REGISTRY_PARAMS[k]?.default ?? '';
  const type = get('schema-registry.type');
  if (type === 'builtin') return new BuiltinRegistry(store);
  if (type !== 'confluent') {
    throw configError(
      'schema-registry.type',
      `unknown schema-registry.type ${JSON.stringify(type)}`,
      'use builtin or confluent',
    );
  }
  const url = get('schema-registry.confluent.connection-string');
  if (url === '') {
    throw configError(
      'schema-registry.confluent.connection-string',
      'schema-registry.type is confluent but schema-registry.confluent.connection-string is empty',
      'set it to the registry URL, e.g. --schema-registry.confluent.connection-string http://localhost:8081',
    );
  }
  let auth: ConfluentAuth;
  switch (get('schema-registry.confluent.auth.type')) {
    case 'basic': {
      const username = get('schema-registry.confluent.auth.basic.username');
      const password = get('schema-registry.confluent.auth.basic.password');
      if (username === '' || password === '') {
        const missing = username === '' ? 'username' : 'password';
        throw configError(
          `schema-registry.confluent.auth.basic.${missing}`,
          `schema-registry.confluent.auth.type is basic but schema-registry.confluent.auth.basic.${missing} is empty`,
          'set both the user name and the password',
        );
      }
      auth = { type: 'basic', username, password };
      break;
    }
    case 'bearer': {
      const token = get('schema-registry.confluent.auth.bearer.token');
      if (token === '') {
        throw configError(
          'schema-registry.confluent.auth.bearer.token',
          'schema-registry.confluent.auth.type is bearer but schema-registry.confluent.auth.bearer.token is empty',
          'set the token',
        );
      }
      auth = { type: 'bearer', token };
      break;
    }
    default:
      auth = { type: 'none' };
  }
  try {
    return new ConfluentRegistry({ url, auth });
  } catch (e) {
    if (!(e instanceof ConduitError)) throw e;
    throw configError('schema-registry.confluent.connection-string', e.message, e.suggestion);
  }
}

function configError(key: string, message: string, suggestion?: string): ConduitError {
  return new ConduitError(Code.EngineConfigInvalid, message, {
    configPath: `/${key.split('.').join('/')}`,
    ...(suggestion === undefined ? {} : { suggestion }),
  });
}
