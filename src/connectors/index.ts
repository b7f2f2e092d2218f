/** The built-in connector plugins, for the plugin registry. */
import type { ConnectorPlugin } from '../sdk/connector.js';
import { filePlugin } from './file/index.js';
import { generatorPlugin } from './generator/index.js';
import { logPlugin } from './log/index.js';
import { postgresPlugin } from './postgres/index.js';

export { filePlugin, generatorPlugin, logPlugin, postgresPlugin };

/** Every built-in connector, sorted by name. */
export const BUILTIN_CONNECTORS: readonly ConnectorPlugin[] = [filePlugin, generatorPlugin, logPlugin, postgresPlugin];
