/**
 * The processor contract. A processor gets a batch and returns one result per
 * input record: the record (changed or not), FILTERED (drop it and count it as
 * delivered), a RecordError (nack it), or a MultiRecord (split it).
 */
import type { Logger } from '../log/logger.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import type { Config, ParamSpecs } from './params.js';
import type { PluginInfo } from './connector.js';
import type { SchemaRegistry } from '../schema/registry.js';

export const FILTERED: unique symbol = Symbol.for('conduit-ts.filtered');
export type Filtered = typeof FILTERED;

export class RecordError {
  constructor(readonly error: Error) {}
}

export class MultiRecord {
  constructor(readonly records: OpenCDCRecord[]) {}
}

export type ProcessedRecord = OpenCDCRecord | Filtered | RecordError | MultiRecord;

export interface ProcessorContext {
  /** The processor's full ID, `<parentID>:<id>`. */
  readonly processorId: string;
  readonly pipelineId: string;
  readonly logger: Logger;
  /**
   * Aborted when the run fails or is stopped by force (not by a graceful stop, which lets in-flight records
   * finish): a processor waiting on I/O gives up then, and its records count as not delivered.
   */
  readonly signal?: AbortSignal;
  /** The engine's schema registry (`schema-registry.*` settings), for avro.encode and avro.decode. */
  readonly schemaRegistry?: SchemaRegistry;
}

export interface Processor {
  configure(config: Config, ctx: ProcessorContext): Promise<void> | void;
  open?(): Promise<void>;
  /** One result per input, in input order. May change the input records in place. */
  process(records: OpenCDCRecord[]): Promise<ProcessedRecord[]> | ProcessedRecord[];
  teardown?(): Promise<void>;
}

export interface ProcessorPlugin extends PluginInfo {
  readonly params: ParamSpecs;
  create(): Processor;
}
