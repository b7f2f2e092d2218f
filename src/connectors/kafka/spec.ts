/**
 * The kafka connector's parameters, with Conduit's names and defaults: the
 * single source for validation, defaults, docs and secret redaction.
 */
import type { ParamSpecs } from '../../sdk/params.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export const ACKS = ['none', 'one', 'all'] as const;
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** Connection settings both sides share. */
export const commonParams: ParamSpecs = {
  servers: {
    type: 'string',
    required: true,
    list: true,
    description: 'The bootstrap brokers, as a comma-separated list of `host:port`.',
  },
  clientID: {
    type: 'string',
    default: 'conduit-connector-kafka',
    description: 'The client ID sent to the brokers (it shows in their logs and quotas).',
  },
  'tls.enabled': {
    type: 'bool',
    default: 'false',
    description: 'Connect with TLS. Setting `caCert` or `clientCert` also turns TLS on.',
  },
  caCert: {
    type: 'string',
    description:
      "The CA certificate(s) that sign the brokers' certificates: PEM text, or the path of a PEM file. " +
      "Default: the system's CAs.",
  },
  clientCert: {
    type: 'string',
    description: 'The client certificate for mutual TLS: PEM text, or the path of a PEM file. Needs `clientKey`.',
  },
  clientKey: {
    type: 'string',
    secret: true,
    description: 'The private key of `clientCert`: PEM text, or the path of a PEM file.',
  },
  insecureSkipVerify: {
    type: 'bool',
    default: 'false',
    description: "Accept any broker certificate and host name. For tests only: it gives up TLS's protection.",
  },
  saslMechanism: {
    type: 'string',
    inclusion: SASL_MECHANISMS,
    description: 'The SASL mechanism: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`. Empty: no SASL.',
  },
  saslUsername: {
    type: 'string',
    description: 'The SASL user name (needed with `saslMechanism`).',
  },
  saslPassword: {
    type: 'string',
    secret: true,
    description: 'The SASL password (needed with `saslMechanism`).',
  },
};

export const sourceParams: ParamSpecs = {
  ...commonParams,
  topics: {
    type: 'string',
    required: true,
    list: true,
    description: 'The topics to read, as a comma-separated list.',
  },
  groupID: {
    type: 'string',
    description:
      'The consumer group. With a group, the partitions are shared with the other members and the offsets of ' +
      'acknowledged records are committed to it; on a restart the committed offsets win. Empty: the source reads ' +
      "every partition itself and resumes from the pipeline's own position alone (nothing is committed to Kafka).",
  },
  readFromBeginning: {
    type: 'bool',
    default: 'false',
    description:
      'Where a partition without a committed offset or stored position starts: at its first message (true) or ' +
      'at the messages produced from now on (false).',
  },
  commitOffsetsDelay: {
    type: 'duration',
    default: '5s',
    greaterThan: -1,
    description:
      'With a group: how long acknowledged offsets may wait before they are committed. 0 commits on every ack.',
  },
  commitOffsetsSize: {
    type: 'int',
    default: '1000',
    greaterThan: 0,
    description: 'With a group: commit as soon as this many acknowledged records wait to be committed.',
  },
  retryGroupJoinErrors: {
    type: 'bool',
    default: 'true',
    description:
      'With a group: keep trying to join the group after an error (true), or fail the source at once (false).',
  },
};

export const destinationParams: ParamSpecs = {
  ...commonParams,
  topic: {
    type: 'string',
    default: '{{ index .Metadata "opencdc.collection" }}',
    description:
      'The topic to write to: a name, or a Go template evaluated per record. The default is the collection the ' +
      'record came from (a table, a topic).',
  },
  acks: {
    type: 'string',
    default: 'all',
    inclusion: ACKS,
    description:
      'Which acknowledgement a write waits for: `all` in-sync replicas (durable; the producer is idempotent), ' +
      'the leader only (`one`), or nothing (`none`: records can be lost).',
  },
  compression: {
    type: 'string',
    default: 'snappy',
    inclusion: COMPRESSIONS,
    description: 'The compression of message batches. `zstd` needs Node.js 22.15 or later.',
  },
  batchBytes: {
    type: 'int',
    default: '1000012',
    greaterThan: 0,
    description:
      "The most bytes sent in one produce request. A single record larger than this fails (the broker's " +
      '`message.max.bytes` is the matching limit).',
  },
  deliveryTimeout: {
    type: 'duration',
    default: '0s',
    greaterThan: -1,
    description:
      'How long a write keeps retrying while the brokers are unreachable before it fails. 0: until it succeeds ' +
      'or the pipeline stops.',
  },
  'headers.metadata': {
    type: 'bool',
    default: 'false',
    description: "Send the record's metadata as message headers (one header per key).",
  },
};
