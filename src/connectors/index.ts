/** The built-in connector plugins, for the plugin registry. */
import type { ConnectorPlugin } from '../sdk/connector.js';
import { filePlugin } from './file/index.js';
import { generatorPlugin } from './generator/index.js';
import { kafkaPlugin } from './kafka/index.js';
import { logPlugin } from './log/index.js';
import { postgresPlugin } from './postgres/index.js';
import { s3Plugin } from './s3/index.js';

export { filePlugin, generatorPlugin, kafkaPlugin, logPlugin, postgresPlugin, s3Plugin };

/** Every built-in connector, sorted by name. */
export const BUILTIN_CONNECTORS: readonly ConnectorPlugin[] = [
  filePlugin,
  generatorPlugin,
  kafkaPlugin,
  logPlugin,
  postgresPlugin,
  s3Plugin,
];
