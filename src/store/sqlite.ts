/**
 * The embedded default store: one SQLite file (plus its `-wal` and `-shm`
 * companions while open) through better-sqlite3.
 *
 * Durability: WAL journal with `synchronous=FULL`, so a write that resolved has
 * been fsync'd to the WAL and survives kill -9 and power loss; a batch is one
 * `BEGIN IMMEDIATE` transaction, so a crash leaves all of it or none of it.
 *
 * better-sqlite3 is synchronous, and a transaction's fsync takes a millisecond
 * or more: writes are therefore applied by a thread of their own (SqliteWriter,
 * its own connection to the file), one after the other in call order, and the
 * event loop goes on meanwhile. Reads and `init` use the main connection; a read
 * after a write resolved sees it (a WAL reader sees every committed transaction).
 */
import { once } from 'node:events';
import { mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ConduitError } from '../errors/conduit-error.js';
import { Code } from '../errors/codes.js';
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

/** Conduit's table name, kept so a store is recognisable to people who know Conduit. */
export const DEFAULT_TABLE = 'conduit_kv_store';

/** How long a statement waits for another connection's lock before failing with SQLITE_BUSY. */
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface SqliteStoreOptions {
  /** The database file; its directory is created if missing. */
  path: string;
  /** Table name; `conduit_kv_store` by default. */
  table?: string;
  /** Milliseconds to wait for a lock held by another connection. */
  busyTimeoutMs?: number;
}

interface Statements {
  get: Database.Statement<[string], string>;
  listAll: Database.Statement<[string], [string, string]>;
  listRange: Database.Statement<[string, string], [string, string]>;
  insertIfAbsent: Database.Statement<[string, string]>;
}

/**
 * A store in a SQLite file.
 *
 * @example
 * ```ts
 * const store = new SqliteStore({ path: './conduit.db' });
 * await store.init(); // throws store.unreachable or store.format_unsupported
 * await store.write([{ key: 'connector:instance:a', value: '{"position":"..."}' }]);
 * ```
 */
export class SqliteStore implements Store {
  readonly type = 'sqlite' as const;
  /** Absolute path of the database file. */
  readonly path: string;
  readonly table: string;
  private readonly ident: string;
  private readonly busyTimeoutMs: number;
  private db: Database.Database | undefined;
  private stmts: Statements | undefined;
  /** The writer thread, started by the first write. */
  private writer: SqliteWriter | undefined;
  private closed = false;

  constructor(opts: SqliteStoreOptions) {
    this.path = resolve(opts.path);
    this.table = opts.table ?? DEFAULT_TABLE;
    this.ident = quoteIdent(checkTableName(this.table, '/db/sqlite/table', false));
    this.busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  }

  async init(): Promise<void> {
    if (this.closed) throw closedError(this.type);
    if (this.db !== undefined) return;
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      db = new Database(this.path, { timeout: this.busyTimeoutMs });
      // The first statement is where a file that is not a database fails (SQLITE_NOTADB).
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`the file system does not support WAL (journal_mode is ${String(mode)})`);
      db.pragma('synchronous = FULL');
      db.exec(`CREATE TABLE IF NOT EXISTS ${this.ident} (key TEXT PRIMARY KEY, value TEXT)`);
    } catch (err) {
      db?.close();
      throw this.unreachable(err);
    }
    try {
      this.checkLayout(db);
      this.prepare(db);
      const s = this.stmts!;
      // Insert-if-absent then read: two engines racing to create the store agree on one record.
      s.insertIfAbsent.run(STORE_FORMAT_KEY, formatRecord(STORE_FORMAT_VERSION));
      const stored = s.get.get(STORE_FORMAT_KEY);
      checkFormat(stored ?? '', STORE_FORMAT_VERSION, this.path);
    } catch (err) {
      this.stmts = undefined;
      db.close();
      throw err instanceof ConduitError ? err : this.unreachable(err);
    }
    this.db = db;
  }

  async get(key: string): Promise<string | undefined> {
    const s = this.ready();
    try {
      return s.get.get(key);
    } catch (err) {
      throw this.failed('read', err);
    }
  }

  async list(prefix: string): Promise<Array<[key: string, value: string]>> {
    const s = this.ready();
    const upper = prefixSuccessor(prefix);
    try {
      return upper === undefined ? s.listAll.all(prefix) : s.listRange.all(prefix, upper);
    } catch (err) {
      throw this.failed('read', err);
    }
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    this.ready();
    validateOps(ops);
    if (ops.length === 0) return;
    const { upserts, deletes } = collapseOps(ops);
    this.writer ??= new SqliteWriter(this.path, this.busyTimeoutMs, this.ident);
    try {
      await this.writer.apply([...deletes], [...upserts]);
    } catch (err) {
      throw this.failed('write', err);
    }
  }

  /** Closes the file; a second call does nothing. Closing checkpoints the WAL into the file. */
  async close(): Promise<void> {
    this.closed = true;
    const db = this.db;
    const writer = this.writer;
    this.db = undefined;
    this.stmts = undefined;
    this.writer = undefined;
    // The writer first (after the writes already sent): the last connection to close checkpoints the WAL.
    await writer?.close();
    db?.close();
  }

  private ready(): Statements {
    if (this.closed) throw closedError(this.type);
    if (this.stmts === undefined) throw new ConduitError(Code.Internal, 'the sqlite state store is not initialised');
    return this.stmts;
  }

  /** Refuses a table of the same name with another layout (Conduit (Go) keeps values as BLOB). */
  private checkLayout(db: Database.Database): void {
    const cols = db.prepare(`PRAGMA table_info(${this.ident})`).all() as Array<{ name: string; type: string }>;
    const type = (name: string) => cols.find((c) => c.name === name)?.type.toUpperCase();
    if (type('key') !== 'TEXT' || type('value') !== 'TEXT') {
      throw new ConduitError(
        Code.StoreFormatUnsupported,
        `table ${this.table} in ${this.path} has columns ${cols.map((c) => `${c.name} ${c.type}`).join(', ')}; expected key TEXT, value TEXT`,
        { configPath: '/db/sqlite/table', suggestion: 'Choose another db.sqlite.table or another db.sqlite.path.' },
      );
    }
  }

  private prepare(db: Database.Database): void {
    const t = this.ident;
    const stmts: Statements = {
      get: db.prepare<[string], string>(`SELECT value FROM ${t} WHERE key = ?`).pluck(),
      listAll: db.prepare<[string], [string, string]>(`SELECT key, value FROM ${t} WHERE key >= ? ORDER BY key`).raw(),
      listRange: db
        .prepare<[string, string], [string, string]>(
          `SELECT key, value FROM ${t} WHERE key >= ? AND key < ? ORDER BY key`,
        )
        .raw(),
      insertIfAbsent: db.prepare<[string, string]>(
        `INSERT INTO ${t} (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
      ),
    };
    this.stmts = stmts;
  }

  private unreachable(err: unknown): ConduitError {
    const reason = err instanceof Error ? err.message : String(err);
    return new ConduitError(Code.StoreUnreachable, `cannot open the SQLite state store at ${this.path}: ${reason}`, {
      cause: err,
      configPath: '/db/sqlite/path',
      suggestion: this.openSuggestion(),
    });
  }

  private openSuggestion(): string {
    try {
      if (statSync(this.path).isDirectory()) {
        return `${this.path} is a directory (a Badger store from Conduit (Go) is one); set db.sqlite.path to a file path.`;
      }
    } catch {
      // Missing is the normal case for a first start; fall through to the general advice.
    }
    return 'Check that db.sqlite.path names a file in a writable directory, and that the file is a SQLite database written by Conduit (or does not exist yet).';
  }

  private failed(what: 'read' | 'write', err: unknown): ConduitError {
    const code = (err as { code?: unknown }).code;
    const reason = err instanceof Error ? err.message : String(err);
    const message = `${what} on the SQLite state store at ${this.path} failed: ${reason}`;
    // Constraint failures (a trigger, a check) are the data's fault; everything else
    // (busy, full disk, I/O, a read-only file) is the environment's and may pass.
    if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) {
      return new ConduitError(Code.Internal, message, { cause: err });
    }
    return new ConduitError(Code.StoreUnreachable, message, {
      cause: err,
      suggestion: 'Check the disk has space and the file is writable, and that no other process holds it locked.',
    });
  }
}

/**
 * The writer thread's program (CommonJS, run with `eval`): its own connection to the file, and one
 * `BEGIN IMMEDIATE` transaction per batch it is sent, in the order sent. IMMEDIATE takes the write lock up
 * front, so another connection waits on busy_timeout instead of failing when a read lock would have to be
 * upgraded. better-sqlite3 is loaded from the path the main thread resolved.
 */
const WRITER_PROGRAM = `
const { parentPort, workerData: w } = require('node:worker_threads');
let apply, db, openError;
try {
  const Database = require(w.module);
  db = new Database(w.path, { timeout: w.timeout });
  db.pragma('synchronous = FULL');
  const del = db.prepare(w.del);
  const upsert = db.prepare(w.upsert);
  apply = db.transaction((deletes, upserts) => {
    for (const k of deletes) del.run(k);
    for (const kv of upserts) upsert.run(kv[0], kv[1]);
  }).immediate;
} catch (e) {
  openError = e;
}
parentPort.on('message', (m) => {
  if (m === 'close') {
    if (db !== undefined) db.close();
    parentPort.close();
    return;
  }
  try {
    if (openError !== undefined) throw openError;
    apply(m.deletes, m.upserts);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, message: String((e && e.message) || e), code: e && e.code });
  }
});
`;

/** The main thread's side of the writer thread: a batch in, a promise of its commit out. */
class SqliteWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private last: Promise<void> = Promise.resolve();
  private gone: Error | undefined;

  constructor(path: string, timeout: number, ident: string) {
    this.worker = new Worker(WRITER_PROGRAM, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        timeout,
        del: `DELETE FROM ${ident} WHERE key = ?`,
        upsert: `INSERT INTO ${ident} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      },
    });
    // The thread keeps the process alive only while a write is outstanding.
    this.worker.unref();
    this.worker.on('message', (m: { id: number; message?: string; code?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.message === undefined) p?.resolve();
      else p?.reject(Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code }));
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', () => this.fail(new Error('the SQLite writer thread exited')));
  }

  apply(deletes: string[], upserts: [string, string][]): Promise<void> {
    if (this.gone !== undefined) return Promise.reject(this.gone);
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    const applied = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, deletes, upserts });
    });
    this.last = applied.catch(() => undefined);
    return applied;
  }

  /** Closes the connection once the writes sent before are applied, and ends the thread. */
  async close(): Promise<void> {
    await this.last; // answers come in the order sent: the last one settles after the others
    if (this.gone !== undefined) return;
    const exited = once(this.worker, 'exit').catch(() => undefined);
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }

  private fail(e: Error): void {
    this.gone ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
