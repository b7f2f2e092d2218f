/**
 * The s3 connector's parameters: Conduit's names and defaults (conduit-connector-s3 v0.9.3), plus
 * `aws.url` and `aws.forcePathStyle` for S3-compatible stores and the chunking threshold.
 */
import type { ParamSpecs } from '../../sdk/params.js';

const aws: ParamSpecs = {
  'aws.accessKeyId': { type: 'string', required: true, description: 'AWS access key ID.' },
  'aws.secretAccessKey': { type: 'string', required: true, secret: true, description: 'AWS secret access key.' },
  'aws.region': { type: 'string', required: true, description: 'The region of the bucket, e.g. us-east-1.' },
  'aws.bucket': { type: 'string', required: true, description: 'The bucket to read from or write to.' },
  'aws.url': {
    type: 'string',
    default: '',
    regex: '^(https?://\\S+)?$',
    description:
      'Endpoint of an S3-compatible store (MinIO, moto, …), e.g. http://127.0.0.1:9000. Empty means AWS, ' +
      'with the endpoint the SDK derives from the region.',
  },
  'aws.forcePathStyle': {
    type: 'bool',
    default: 'false',
    description:
      'Address buckets as <endpoint>/<bucket> instead of <bucket>.<endpoint>. Most S3-compatible stores need true.',
  },
};

export const sourceParams: ParamSpecs = {
  ...aws,
  prefix: {
    type: 'string',
    default: '',
    description:
      'Only objects whose keys start with this prefix are read (S3 prefix semantics: end it with / for a folder).',
  },
  pollingPeriod: {
    type: 'duration',
    default: '1s',
    greaterThan: 0,
    description: 'How often the bucket is listed for changes once the snapshot is done.',
  },
  fileChunkSize: {
    type: 'int',
    default: '1048576',
    greaterThan: 0,
    description:
      'Objects larger than this many bytes are read in chunks of this size, one record per chunk ' +
      '(metadata opencdc.file.chunked, opencdc.file.chunk.index, opencdc.file.chunk.count), never whole in memory.',
  },
};

export const destinationParams: ParamSpecs = {
  ...aws,
  format: {
    type: 'string',
    required: true,
    inclusion: ['json', 'parquet'],
    description:
      'json: each batch is one object of newline-delimited records formatted by sdk.record.format; ' +
      'parquet: each batch is one Parquet file with a column per payload field.',
  },
  prefix: {
    type: 'string',
    default: '',
    description: 'Prepended to every object name written (end it with / for a folder).',
  },
};
