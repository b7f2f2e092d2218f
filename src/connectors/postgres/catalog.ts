/**
 * Connections and catalog lookups shared by the postgres source: sessions with
 * fixed output settings (`SESSION_OPTIONS`, applied to the walsender connection
 * too, so that snapshot rows and replicated rows print values the same way),
 * identifier quoting, and the captured tables with their primary keys.
 */
import pg from 'pg';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { SESSION_OPTIONS } from './types.js';

/** Every value as the text Postgres printed: decoding is `types.ts`'s job, for snapshot and CDC alike. */
const TEXT_TYPES = { getTypeParser: () => (v: string) => v };

export interface ConnectOptions {
  readonly applicationName: string;
  /** A walsender connection (`replication=database`) for slot commands and streaming. */
  readonly replication?: boolean;
}

export async function connect(url: string, opts: ConnectOptions): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: opts.applicationName,
    options: SESSION_OPTIONS,
    types: TEXT_TYPES,
    ...(opts.replication === true ? { replication: 'database' } : {}),
  });
  // An error event without a listener would crash the process; failures surface through queries.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw connectionError(err);
  }
  return client;
}

/** A connection failure, without the URL (it holds the password). */
export function connectionError(err: unknown): ConduitError {
  const message = err instanceof Error ? err.message : String(err);
  return new ConduitError(Code.ConnectorOpenFailed, `postgres: cannot connect: ${message}`, {
    cause: err,
    suggestion: 'check that the server runs and that `url` names the right host, port, database, user and password',
  });
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export interface Column {
  readonly name: string;
  readonly typeOid: number;
  /** The SQL type, e.g. `numeric(10,2)`, `character varying(20)`. */
  readonly typeName: string;
  /** `atttypmod` (-1 when the type has none), as pgoutput's relation messages carry it. */
  readonly typeMod: number;
  /** A generated column: pgoutput leaves it out of relation messages and tuples. */
  readonly generated: boolean;
}

export interface TableInfo {
  /** pg_class OID: the relation id pgoutput names the table by. */
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  /** `"schema"."name"`, for SQL. */
  readonly sql: string;
  /** What records carry as `opencdc.collection`: the bare name in `public`, else `schema.name`. */
  readonly collection: string;
  readonly columns: readonly Column[];
  /** The primary key's columns, in key order. */
  readonly key: readonly string[];
}

/** Splits `schema.table` (either part may be quoted); a bare name is in the current schema. */
function splitName(name: string): { schema: string | undefined; table: string } {
  const m = /^(?:("(?:[^"]|"")+"|[^."]+)\.)?("(?:[^"]|"")+"|[^."]+)$/.exec(name.trim());
  if (m === null) return { schema: undefined, table: name.trim() };
  const unq = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replaceAll('""', '"') : s);
  return { schema: m[1] === undefined ? undefined : unq(m[1]), table: unq(m[2] as string) };
}

/**
 * Resolves the `tables` setting: names (optionally schema-qualified) or `*` for
 * every ordinary table of the current schema. Each must exist and have a primary key.
 */
export async function resolveTables(client: pg.Client, names: readonly string[]): Promise<TableInfo[]> {
  let wanted: Array<{ schema: string | undefined; table: string; given: string }>;
  if (names.length === 1 && names[0] === '*') {
    const r = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r','p') AND NOT c.relispartition ORDER BY c.relname`,
    );
    wanted = r.rows.map((row) => ({ schema: undefined, table: row.relname, given: row.relname }));
  } else {
    wanted = names.map((given) => ({ ...splitName(given), given }));
  }
  const out: TableInfo[] = [];
  for (const w of wanted) {
    const r = await client.query<{ oid: string; nspname: string; relname: string }>(
      `SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = $1 AND n.nspname = COALESCE($2, current_schema()) AND c.relkind IN ('r','p')`,
      [w.table, w.schema ?? null],
    );
    const row = r.rows[0];
    if (row === undefined) {
      throw new ConduitError(Code.PostgresTableNotFound, `postgres: table "${w.given}" does not exist`, {
        configPath: '/tables',
        retryable: false,
        suggestion:
          'create the table, or fix its name in `tables` (schema-qualify it when it is not in the search path)',
      });
    }
    out.push(await describeTable(client, row.oid, row.nspname, row.relname));
  }
  return out;
}

async function describeTable(client: pg.Client, oid: string, schema: string, name: string): Promise<TableInfo> {
  const cols = await client.query<{
    attname: string;
    atttypid: string;
    typename: string;
    atttypmod: string;
    generated: string;
  }>(
    `SELECT attname, atttypid, format_type(atttypid, atttypmod) AS typename, atttypmod, (attgenerated <> '')::text AS generated
       FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [oid],
  );
  const pk = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`,
    [oid],
  );
  const sql = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const collection = schema === 'public' ? name : `${schema}.${name}`;
  if (pk.rows.length === 0) {
    throw new ConduitError(Code.PostgresNoPrimaryKey, `postgres: table ${collection} has no primary key`, {
      configPath: '/tables',
      retryable: false,
      suggestion: `add one (ALTER TABLE ${sql} ADD PRIMARY KEY (…)): it is the record key and the snapshot order`,
    });
  }
  return {
    oid: Number(oid),
    schema,
    name,
    sql,
    collection,
    columns: cols.rows.map((c) => ({
      name: c.attname,
      typeOid: Number(c.atttypid),
      typeName: c.typename,
      typeMod: Number(c.atttypmod),
      generated: c.generated === 'true',
    })),
    key: pk.rows.map((k) => k.attname),
  };
}
