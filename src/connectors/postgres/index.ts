/** The `postgres` connector plugin: snapshot and logical-replication CDC; upserts by key. */
import type { ConnectorPlugin } from '../../sdk/connector.js';
import { PostgresDestination } from './destination.js';
import { PostgresSource } from './source.js';
import { destinationParams, sourceParams } from './spec.js';

export const postgresPlugin: ConnectorPlugin = {
  name: 'postgres',
  summary: 'Reads a consistent snapshot and then every change by logical replication; upserts records by key.',
  description:
    "The source snapshots the tables under the replication slot's exported snapshot and then streams changes " +
    'with pgoutput from exactly that point. The slot is confirmed only up to what the engine has persisted. ' +
    'The destination writes each batch in one transaction: upserts by key, deletes by key, inserts without a key.',
  version: 'v0.14.2',
  author: 'Conduit for TypeScript',
  source: { params: sourceParams, create: () => new PostgresSource() },
  destination: { params: destinationParams, create: () => new PostgresDestination() },
};

export default postgresPlugin;
