/**
 * The state store: a small transactional key-value interface over SQLite (the
 * embedded default), PostgreSQL or memory. Values are JSON text. Every write
 * is a batch applied atomically: either all of it is durable or none of it.
 */

export interface WriteOp {
  readonly key: string;
  /** The new value, or null to delete the key. */
  readonly value: string | null;
}

export type StoreType = 'sqlite' | 'postgres' | 'inmemory';

export interface Store {
  readonly type: StoreType;
  /** Creates the table if needed and checks the stored format version. */
  init(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** Every key starting with the prefix, with its value, ordered by key. */
  list(prefix: string): Promise<Array<[key: string, value: string]>>;
  /** Applies every operation in one transaction, durably, before resolving. */
  write(ops: readonly WriteOp[]): Promise<void>;
  close(): Promise<void>;
}

/** The version of the stored format this build writes and reads. */
export const STORE_FORMAT_VERSION = 1;
/** The key under which the format version is kept. */
export const STORE_FORMAT_KEY = 'conduit:format';
