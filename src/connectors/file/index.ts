/** The `file` connector plugin: follows a file line by line, and appends records to a file. */
import type { ConnectorPlugin } from '../../sdk/connector.js';
import { FileDestination } from './destination.js';
import { FileSource } from './source.js';
import { destinationParams, sourceParams } from './spec.js';

export const filePlugin: ConnectorPlugin = {
  name: 'file',
  summary: 'Follows a file line by line; appends records to a file.',
  description:
    'The source follows a file like `tail -F`, one record per line, from a byte-offset position; it waits for a ' +
    'file that does not exist yet. The destination appends each record formatted by `sdk.record.format` plus a ' +
    'newline, durably (fdatasync) before the write is acknowledged.',
  version: 'v0.10.8',
  author: 'Conduit for TypeScript',
  source: { params: sourceParams, create: () => new FileSource() },
  destination: { params: destinationParams, create: () => new FileDestination() },
};

export default filePlugin;
