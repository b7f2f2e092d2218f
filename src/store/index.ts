/**
 * The state store's public face: `openStore` picks an implementation from the
 * engine's `db.*` settings and returns it initialised.
 *
 * Invariants every store keeps: a write batch is applied all-or-nothing and is
 * durable when its promise resolves (except `inmemory`); writes apply in call
 * order; keys order by Unicode code point; `list(prefix)` treats every
 * character literally; the format record under STORE_FORMAT_KEY is checked on
 * init and a newer one is refused with store.format_unsupported.
 */
import { ConduitError } from '../errors/conduit-error.js';
import { Code } from '../errors/codes.js';
import { MemoryStore } from './memory.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export { MemoryStore } from './memory.js';
export { PostgresStore, redactConnectionString, type PostgresStoreOptions } from './postgres.js';
export { SqliteStore, DEFAULT_TABLE, type SqliteStoreOptions } from './sqlite.js';
export { STORE_FORMAT_KEY, STORE_FORMAT_VERSION, type Store, type StoreType, type WriteOp } from './store.js';

/** Conduit's default `db.sqlite.path` / `db.badger.path`. */
export const DEFAULT_SQLITE_PATH = './conduit.db';

export interface StoreConfig {
  /** `db.type`. `badger` (Conduit's default) is accepted and stored in SQLite. */
  type: 'sqlite' | 'postgres' | 'inmemory' | 'badger';
  /** `db.sqlite.path` (or `db.badger.path` for type badger); `./conduit.db` by default. */
  sqlitePath?: string;
  /** `db.sqlite.table`; `conduit_kv_store` by default. */
  sqliteTable?: string;
  /** `db.postgres.connection-string`; required for type postgres. */
  postgresConnectionString?: string;
  /** `db.postgres.table`; `conduit_kv_store` by default. */
  postgresTable?: string;
}

export interface OpenedStore {
  store: Store;
  /** Things the user should hear about (print them as warnings at start-up). */
  warnings: string[];
}

/**
 * Opens and initialises the configured store.
 *
 * @throws ConduitError engine.config_invalid (bad settings), store.unreachable
 *   (cannot open or connect) or store.format_unsupported (written by a newer version).
 *
 * @example
 * ```ts
 * const { store, warnings } = await openStore({ type: 'sqlite', sqlitePath: './conduit.db' });
 * for (const w of warnings) logger.warn(w);
 * ```
 */
export async function openStore(cfg: StoreConfig): Promise<OpenedStore> {
  const warnings: string[] = [];
  let store: Store;
  switch (cfg.type) {
    case 'inmemory':
      store = new MemoryStore();
      break;
    case 'badger':
    case 'sqlite': {
      const path = cfg.sqlitePath ?? DEFAULT_SQLITE_PATH;
      if (cfg.type === 'badger') {
        warnings.push(
          `db.type "badger" is not available in Conduit for TypeScript; state is stored in a SQLite file at ${path} instead. Set db.type to "sqlite" to silence this warning.`,
        );
      }
      store = new SqliteStore({ path, ...(cfg.sqliteTable === undefined ? {} : { table: cfg.sqliteTable }) });
      break;
    }
    case 'postgres': {
      const cs = cfg.postgresConnectionString;
      if (cs === undefined || cs.trim() === '') {
        throw new ConduitError(
          Code.EngineConfigInvalid,
          'db.postgres.connection-string is required when db.type is postgres',
          {
            configPath: '/db/postgres/connection-string',
            suggestion: 'Set it, e.g. --db.postgres.connection-string=postgres://user:password@localhost:5432/conduit',
          },
        );
      }
      store = new PostgresStore({
        connectionString: cs,
        ...(cfg.postgresTable === undefined ? {} : { table: cfg.postgresTable }),
      });
      break;
    }
    default: {
      const t: unknown = (cfg as { type: unknown }).type;
      throw new ConduitError(Code.EngineConfigInvalid, `unknown db.type ${JSON.stringify(t)}`, {
        configPath: '/db/type',
        suggestion: 'Use one of badger, sqlite, postgres, inmemory.',
      });
    }
  }
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return { store, warnings };
}
