/** The standard metadata keys of OpenCDC (conduit-commons/opencdc/metadata.go). */
export const MetadataKey = {
  Version: 'opencdc.version',
  CreatedAt: 'opencdc.createdAt',
  ReadAt: 'opencdc.readAt',
  Collection: 'opencdc.collection',
  KeySchemaSubject: 'opencdc.key.schema.subject',
  KeySchemaVersion: 'opencdc.key.schema.version',
  PayloadSchemaSubject: 'opencdc.payload.schema.subject',
  PayloadSchemaVersion: 'opencdc.payload.schema.version',
  FileName: 'opencdc.file.name',
  FileSize: 'opencdc.file.size',
  FileHash: 'opencdc.file.hash',
  FileChunked: 'opencdc.file.chunked',
  FileChunkIndex: 'opencdc.file.chunk.index',
  FileChunkCount: 'opencdc.file.chunk.count',
  SourcePluginName: 'conduit.source.plugin.name',
  SourcePluginVersion: 'conduit.source.plugin.version',
  DestinationPluginName: 'conduit.destination.plugin.name',
  DestinationPluginVersion: 'conduit.destination.plugin.version',
  SourceConnectorId: 'conduit.source.connector.id',
  DlqNackError: 'conduit.dlq.nack.error',
  DlqNackNodeId: 'conduit.dlq.nack.node.id',
} as const;

export const OPENCDC_VERSION = 'v1';

/** Unix time in nanoseconds, as a decimal string (the form OpenCDC metadata uses). */
export function nowNanos(): string {
  return unixNanos(Date.now());
}

export function unixNanos(ms: number): string {
  return `${ms}000000`;
}
