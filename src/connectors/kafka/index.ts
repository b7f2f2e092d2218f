/** The `kafka` connector plugin: reads topics (alone or in a consumer group); produces records to topics. */
import type { ConnectorPlugin } from '../../sdk/connector.js';
import { lazyDestination, lazySource } from '../util.js';
import { destinationParams, sourceParams } from './spec.js';

// The source and destination load their client library when a pipeline configures them.
export const kafkaPlugin: ConnectorPlugin = {
  name: 'kafka',
  summary: 'Reads messages from Kafka topics; produces records to Kafka topics.',
  description:
    'The source reads one or more topics, either in a consumer group (partitions shared with the other members, ' +
    'offsets of acknowledged records committed) or alone (every partition, resumed from the pipeline position). ' +
    'Key and value are raw; `opencdc.collection` is the topic, `opencdc.createdAt` the message timestamp, headers ' +
    'become `kafka.header.<name>`. The destination produces one message per record (key = record key, value = the ' +
    'record formatted by `sdk.record.format`) to the topic its template names, and acknowledges a record only ' +
    'after the brokers did.',
  version: 'v0.12.5',
  author: 'Conduit for TypeScript',
  source: {
    params: sourceParams,
    create: () => lazySource(async () => new (await import('./source.js')).KafkaSource()),
  },
  destination: {
    params: destinationParams,
    create: () => lazyDestination(async () => new (await import('./destination.js')).KafkaDestination()),
  },
};

export default kafkaPlugin;
