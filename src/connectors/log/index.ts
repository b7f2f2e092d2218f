/** The `log` connector plugin: a destination that logs every record. */
import type { ConnectorPlugin } from '../../sdk/connector.js';
import { LogDestination } from './destination.js';
import { destinationParams } from './spec.js';

export const logPlugin: ConnectorPlugin = {
  name: 'log',
  summary: 'Logs records.',
  description:
    'A destination that logs every record, formatted by `sdk.record.format`, through the engine logger at the ' +
    'configured level, with an optional message.',
  version: 'v0.7.5',
  author: 'Conduit for TypeScript',
  destination: { params: destinationParams, create: () => new LogDestination() },
};

export default logPlugin;
