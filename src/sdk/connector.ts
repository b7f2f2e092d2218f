/**
 * The connector contract. A connector plugin declares its parameters once and
 * creates sources and/or destinations. The engine calls them in this order:
 *
 *   source:      configure → lifecycle hook → open(position) → read/ack … → teardown
 *   destination: configure → lifecycle hook → open → write … → teardown
 *
 * Sources produce batches; the engine hands acknowledgements back in the order
 * the records were produced, and only after every destination (or the
 * dead-letter queue) has durably taken them and the position is persisted.
 */
import type { Logger } from '../log/logger.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { Operation } from '../opencdc/record.js';
import type { Config, ParamSpecs } from './params.js';
import type { SchemaRegistry } from '../schema/registry.js';

export interface PluginInfo {
  /** The plugin name used in pipeline files, e.g. `file`. */
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly version: string;
  readonly author: string;
}

export interface ConnectorPlugin extends PluginInfo {
  readonly source?: {
    /** Parameters of the source, without the `sdk.*` ones the SDK adds. */
    readonly params: ParamSpecs;
    create(): Source;
  };
  readonly destination?: {
    readonly params: ParamSpecs;
    create(): Destination;
  };
}

export interface ConnectorContext {
  /** `<pipelineID>:<connectorID>`. */
  readonly connectorId: string;
  readonly pipelineId: string;
  readonly logger: Logger;
  /**
   * The engine's schema registry (`schema-registry.*` settings), given to sources: one that attaches
   * schemas to its records registers them here (`opencdc.key.schema.*`, `opencdc.payload.schema.*`).
   */
  readonly schemaRegistry?: SchemaRegistry;
}

export interface DestinationContext extends ConnectorContext {
  /** Turns a record into bytes as `sdk.record.format` says. */
  readonly format: RecordFormatter;
}

/**
 * One record as the destination should write it, without a trailing newline.
 * JSON formats return strings, so that a destination can join a batch into one
 * buffer; binary formats return bytes.
 */
export type RecordFormatter = (record: OpenCDCRecord) => string | Uint8Array;

/** Lifecycle hooks, called before open. The config passed is the validated one. */
export interface LifecycleHooks {
  /** The connector was created and runs for the first time. */
  onCreated?(config: Config): Promise<void>;
  /** The settings changed since the connector last ran. */
  onUpdated?(before: Config, after: Config): Promise<void>;
  /** The connector was deleted (not called for DLQ connectors). */
  onDeleted?(config: Config): Promise<void>;
}

export interface Source extends LifecycleHooks {
  /** Takes the validated configuration. Throw a ConduitError naming the parameter on a bad value. */
  configure(config: Config, ctx: ConnectorContext): Promise<void> | void;
  /** Opens at a position (null: from the beginning). */
  open(position: Uint8Array | null): Promise<void>;
  /**
   * Returns the next records: at least one, at most `max`, as soon as any are
   * available. When `signal` aborts (the pipeline is stopping) it returns
   * promptly, with an empty array if nothing was read.
   */
  read(max: number, signal: AbortSignal): Promise<OpenCDCRecord[]>;
  /**
   * The records with these positions are delivered and their positions
   * persisted. Called in production order, never twice for a position.
   */
  ack(positions: readonly Uint8Array[]): Promise<void>;
  /** Releases everything. Called once, also after a failure; unacked records count as not delivered. */
  teardown(): Promise<void>;
  /** Where the source stands, for metrics, logs and the CLI; cheap (no I/O), callable at any time after open. */
  progress?(): SourceProgress;
}

/** What a source reports about its progress. Every part is optional. */
export interface SourceProgress {
  /** Bytes upstream keeps for this source that it has not confirmed yet (a replication slot's retained WAL). */
  readonly lagBytes?: number;
  /** Records upstream holds that this source has not read yet (a consumer group's lag). */
  readonly lagRecords?: number;
  /** The snapshot, per collection, in the order they are read; absent when there is none. */
  readonly snapshot?: readonly SnapshotProgress[];
}

export interface SnapshotProgress {
  readonly collection: string;
  readonly rows: number;
  /** The upstream's estimate of the collection's rows (0 when unknown). */
  readonly estimatedRows: number;
  readonly done: boolean;
}

/** One outcome per record: undefined means written; an Error means that record failed. */
export type WriteOutcome = ReadonlyArray<Error | undefined>;

export interface Destination extends LifecycleHooks {
  configure(config: Config, ctx: DestinationContext): Promise<void> | void;
  open(): Promise<void>;
  /**
   * Writes a batch durably. Resolves with nothing when every record is written,
   * or with one outcome per record when some failed (those are nacked: they go
   * to the dead-letter queue or stop the pipeline). Throwing means the
   * destination itself failed; the pipeline then restarts with backoff.
   */
  write(records: readonly OpenCDCRecord[]): Promise<WriteOutcome | undefined>;
  /**
   * How many `write` calls the engine may leave outstanding at once (read after `open`; default 1: each
   * waits for the one before). With more, the destination gets the next batch while the last one is still
   * being stored, so preparing it overlaps the store's round trip. Such a destination must still make its
   * batches visible in the order it was given them; the engine acks them in that order whatever order
   * their writes resolve in, and fails the run on the first that throws.
   */
  readonly writesInFlight?: number;
  teardown(): Promise<void>;
}

/**
 * Metadata key of a record that carries only a position. A source returns one
 * when its upstream moved on without data for the pipeline (a database
 * transaction on other tables, a heartbeat): the engine checkpoints the position
 * in order with the others and acks it, but no processor or destination sees it.
 * A source that confirms progress upstream on ack (a replication slot) thereby
 * never confirms past what is persisted.
 */
export const POSITION_ONLY_KEY = 'conduit.position.only';

/** A record that only carries `position` (see POSITION_ONLY_KEY). */
export function positionOnlyRecord(position: Uint8Array): OpenCDCRecord {
  return {
    position,
    operation: Operation.Create,
    metadata: { [POSITION_ONLY_KEY]: 'true' },
    key: null,
    payload: { before: null, after: null },
  };
}
