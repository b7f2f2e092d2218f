/** The `s3` connector plugin: snapshot + polling CDC of a bucket; batches written as objects. */
import type { ConnectorPlugin } from '../../sdk/connector.js';
import { lazyDestination, lazySource } from '../util.js';
import { destinationParams, sourceParams } from './spec.js';

// The source and destination load their client library when a pipeline configures them.
export const s3Plugin: ConnectorPlugin = {
  name: 's3',
  summary: 'Reads the objects of an S3 bucket and their changes; writes batches of records as objects.',
  description:
    'The source takes a snapshot of the objects under a prefix (ListObjectsV2), then captures creates, ' +
    'updates and deletes by listing object versions every pollingPeriod (deletes and updates need bucket ' +
    'versioning). Large objects are read in chunks. The destination writes each batch as one object of ' +
    'newline-delimited records or one Parquet file, and acknowledges it only once stored. Works with AWS ' +
    'and S3-compatible stores (aws.url, aws.forcePathStyle).',
  version: 'v0.9.3',
  author: 'Conduit for TypeScript',
  source: { params: sourceParams, create: () => lazySource(async () => new (await import('./source.js')).S3Source()) },
  destination: {
    params: destinationParams,
    create: () => lazyDestination(async () => new (await import('./destination.js')).S3Destination()),
  },
};

export default s3Plugin;
