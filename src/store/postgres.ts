/**
 * The PostgreSQL store (`db.type: postgres`): one table of key TEXT, value TEXT,
 * created if missing.
 *
 * A write batch is one transaction (a delete of the removed keys and one
 * multi-row upsert) committed with `synchronous_commit=on`, so a resolved write
 * is on the server's disk. Writes are queued and committed in call order, so
 * two checkpoints issued back to back can never land in the wrong order; reads
 * run in parallel on a small pool.
 *
 * Keys are compared in the "C" collation (byte order of UTF-8, which is what the
 * other stores use) whatever the database's locale is, so prefix listing is a
 * range scan on the primary key and `%` and `_` in keys mean nothing special.
 */
import pg from 'pg';
import { ConduitError } from '../errors/conduit-error.js';
import { Code } from '../errors/codes.js';
import { redactText, redactUrl, registerSecret } from '../log/redact.js';
import { STORE_FORMAT_KEY, STORE_FORMAT_VERSION, type Store, type WriteOp } from './store.js';
import {
  checkFormat,
  checkTableName,
  closedError,
  collapseOps,
  formatRecord,
  prefixSuccessor,
  quoteIdent,
  validateOps,
} from './ops.js';
import { DEFAULT_TABLE } from './sqlite.js';

export interface PostgresStoreOptions {
  /** `db.postgres.connection-string`, e.g. `postgres://user:pw@host:5432/db`. */
  connectionString: string;
  /** Table name, optionally `schema.table`; `conduit_kv_store` by default. */
  table?: string;
  /** Most connections the store opens; 4 by default. */
  poolSize?: number;
  /** How long to wait for a connection before failing with store.unreachable; 10 s by default. */
  connectTimeoutMs?: number;
}

/**
 * Masks the password in a PostgreSQL connection string, in URL form
 * (`postgres://u:pw@h/db`, `?password=pw`) and key/value form (`password=pw`).
 */
export function redactConnectionString(cs: string): string {
  return redactUrl(cs).replace(/(password=)('(?:[^'\\]|\\.)*'|[^&\s]*)/gi, '$1***');
}

/** Registers the password of a connection string as a secret, so no log line shows it. */
function registerPassword(cs: string): void {
  try {
    const url = new URL(cs);
    if (url.password !== '') registerSecret(decodeURIComponent(url.password));
    const q = url.searchParams.get('password');
    if (q !== null) registerSecret(q);
  } catch {
    const m = /password=('(?:[^'\\]|\\.)*'|\S*)/i.exec(cs);
    if (m?.[1] !== undefined) registerSecret(m[1].replace(/^'|'$/g, ''));
  }
}

/**
 * A store in a PostgreSQL table.
 *
 * @example
 * ```ts
 * const store = new PostgresStore({ connectionString: process.env.DB_URL! });
 * await store.init(); // creates conduit_kv_store if missing
 * ```
 */
export class PostgresStore implements Store {
  readonly type = 'postgres' as const;
  readonly table: string;
  /** The connection string with its password masked: safe to print. */
  readonly where: string;
  private readonly ident: string;
  private readonly pool: pg.Pool;
  private initialised = false;
  private closed = false;
  /** The last queued write: each write starts when the one before it settles. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(opts: PostgresStoreOptions) {
    registerPassword(opts.connectionString);
    this.where = redactConnectionString(opts.connectionString);
    this.table = opts.table ?? DEFAULT_TABLE;
    this.ident = quoteIdent(checkTableName(this.table, '/db/postgres/table', true));
    this.pool = new pg.Pool({
      connectionString: opts.connectionString,
      max: opts.poolSize ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: 'conduit-ts',
      // The engine closes the store on shutdown; this only stops a forgotten pool from keeping a process alive.
      allowExitOnIdle: true,
    });
    // An idle connection that dies emits here; without a listener Node would crash the
    // process. The next query gets a fresh connection or reports store.unreachable.
    this.pool.on('error', () => {});
  }

  async init(): Promise<void> {
    if (this.closed) throw closedError(this.type);
    if (this.initialised) return;
    await this.transaction(async (c) => {
      // Serialise concurrent first starts: CREATE TABLE IF NOT EXISTS can race on the catalog.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`conduit-ts store ${this.table}`]);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.ident} (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL)`);
      await this.checkLayout(c);
      await c.query(`INSERT INTO ${this.ident} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [
        STORE_FORMAT_KEY,
        formatRecord(STORE_FORMAT_VERSION),
      ]);
      const r = await c.query<{ value: string }>(`SELECT value FROM ${this.ident} WHERE key = $1`, [STORE_FORMAT_KEY]);
      checkFormat(r.rows[0]?.value ?? '', STORE_FORMAT_VERSION, `${this.where} table ${this.table}`);
    });
    this.initialised = true;
  }

  async get(key: string): Promise<string | undefined> {
    this.ready();
    const r = await this.query<{ value: string }>(`SELECT value FROM ${this.ident} WHERE key = $1`, [key]);
    return r.rows[0]?.value;
  }

  async list(prefix: string): Promise<Array<[key: string, value: string]>> {
    this.ready();
    const upper = prefixSuccessor(prefix);
    const text =
      upper === undefined
        ? `SELECT key, value FROM ${this.ident} WHERE key COLLATE "C" >= $1 ORDER BY key COLLATE "C"`
        : `SELECT key, value FROM ${this.ident} WHERE key COLLATE "C" >= $1 AND key COLLATE "C" < $2 ORDER BY key COLLATE "C"`;
    const r = await this.query<{ key: string; value: string }>(text, upper === undefined ? [prefix] : [prefix, upper]);
    return r.rows.map((row) => [row.key, row.value]);
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    this.ready();
    validateOps(ops);
    if (ops.length === 0) return;
    const { upserts, deletes } = collapseOps(ops);
    const run = this.tail.then(() =>
      this.transaction(async (c) => {
        if (deletes.size > 0) {
          await c.query(`DELETE FROM ${this.ident} WHERE key = ANY($1::text[])`, [[...deletes]]);
        }
        if (upserts.size > 0) {
          // unnest keeps it one statement with two parameters however large the batch.
          await c.query(
            `INSERT INTO ${this.ident} (key, value) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
            [[...upserts.keys()], [...upserts.values()]],
          );
        }
      }),
    );
    this.tail = run.catch(() => {});
    return run;
  }

  /** Waits for queued writes, then closes the pool; a second call does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.pool.end();
  }

  private ready(): void {
    if (this.closed) throw closedError(this.type);
    if (!this.initialised) throw new ConduitError(Code.Internal, 'the postgres state store is not initialised');
  }

  /** Refuses a table of the same name with another layout (Conduit (Go) keeps values as BYTEA). */
  private async checkLayout(c: pg.PoolClient): Promise<void> {
    const r = await c.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [this.ident],
    );
    const textual = (name: string) => {
      const t = r.rows.find((row) => row.name === name)?.type;
      return t === 'text' || t?.startsWith('character varying') === true;
    };
    if (!textual('key') || !textual('value')) {
      throw new ConduitError(
        Code.StoreFormatUnsupported,
        `table ${this.table} at ${this.where} has columns ${r.rows.map((c) => `${c.name} ${c.type}`).join(', ')}; expected key text, value text`,
        { configPath: '/db/postgres/table', suggestion: 'Choose another db.postgres.table.' },
      );
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const c = await this.connect();
    let broken: Error | undefined;
    try {
      return await c.query<R>(text, values);
    } catch (err) {
      if (!isDatabaseError(err)) broken = err as Error;
      throw this.failed(err);
    } finally {
      c.release(broken);
    }
  }

  private async transaction(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.connect();
    let broken: Error | undefined;
    try {
      // SET LOCAL: a server or role configured with synchronous_commit=off must not weaken our writes.
      await c.query('BEGIN; SET LOCAL synchronous_commit TO on');
      await fn(c);
      await c.query('COMMIT');
    } catch (err) {
      try {
        await c.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error; // the connection is gone; do not return it to the pool
      }
      if (!isDatabaseError(err) && !(err instanceof ConduitError)) broken ??= err as Error;
      throw err instanceof ConduitError ? err : this.failed(err);
    } finally {
      c.release(broken);
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.failed(err);
    }
  }

  private failed(err: unknown): ConduitError {
    const reason = redactText(err instanceof Error ? err.message : String(err));
    const sqlstate = isDatabaseError(err) ? err.code : undefined;
    // Only server errors are attached as the cause: a client-side error (a URL that does
    // not parse, say) may carry the raw connection string in its properties.
    const cause = sqlstate === undefined ? undefined : err;
    if (sqlstate === undefined || /^(08|53|57P)/.test(sqlstate)) {
      return new ConduitError(
        Code.StoreUnreachable,
        `cannot reach the PostgreSQL state store at ${this.where}: ${reason}`,
        {
          cause,
          configPath: '/db/postgres/connection-string',
          suggestion: 'Check that the server is running and reachable from this host, and the connection string.',
        },
      );
    }
    if (/^(28|3D)/.test(sqlstate)) {
      // A wrong password or a missing database will not fix itself: do not retry.
      return new ConduitError(
        Code.StoreUnreachable,
        `cannot use the PostgreSQL state store at ${this.where}: ${reason}`,
        {
          cause,
          retryable: false,
          configPath: '/db/postgres/connection-string',
          suggestion: 'Check the user, password and database name in db.postgres.connection-string.',
        },
      );
    }
    return new ConduitError(
      Code.Internal,
      `PostgreSQL state store at ${this.where}: ${reason} (SQLSTATE ${sqlstate})`,
      {
        cause,
      },
    );
  }
}

function isDatabaseError(err: unknown): err is pg.DatabaseError {
  return (
    err instanceof pg.DatabaseError ||
    (err instanceof Error && typeof (err as { severity?: unknown }).severity === 'string')
  );
}
