/**
 * The snapshot reader: every captured table in primary-key order, in chunks of
 * `snapshot.fetchSize` rows from a cursor, inside one REPEATABLE READ
 * transaction. For the initial snapshot that transaction adopts the snapshot
 * the replication slot exported, so the rows are exactly the database at the
 * slot's consistent point and CDC continues from there: no gap, no duplicate.
 *
 * Each chunk is at most `snapshot.fetchSize` rows and about CHUNK_BYTES of
 * text (judged from the rows already read), so wide rows do not grow the heap;
 * the next chunk is fetched while the current one is handed out, so the
 * server's work overlaps ours. At most two chunks are held.
 *
 * A resumed snapshot (after a crash) cannot get that snapshot back: it reads
 * the rest of the table (keys after the last one stored) under a new snapshot,
 * and CDC then replays changes from the consistent point. Rows changed in
 * between may arrive twice, older after newer, and converge when CDC catches
 * up: at-least-once, never a gap.
 */
import type pg from 'pg';
import type { Logger } from '../../log/logger.js';
import type { SnapshotProgress } from '../../sdk/connector.js';
import type { StructuredData } from '../../opencdc/record.js';
import { quoteIdent, type TableInfo } from './catalog.js';
import { decodeText, type TypeRegistry } from './types.js';

export interface SnapshotRow {
  readonly table: TableInfo;
  readonly key: StructuredData;
  readonly after: StructuredData;
  /** The primary-key values as Postgres printed them: where a resumed snapshot continues. */
  readonly keyText: string[];
}

/**
 * About how much row text one chunk holds (it is several times that in the heap). A chunk lives
 * until its last row is handed out, and the next one is fetched meanwhile: both outlive a young-
 * generation collection and are promoted. 256 KiB (about 1,300 rows of 200 B) rather than 2 MiB
 * took 40 MB off the snapshot's peak RSS; the FETCH round trips still overlap the work.
 */
const CHUNK_BYTES = 256 << 10;
/** Rows in the first chunk of a table, before its row width is known. */
const FIRST_CHUNK_ROWS = 1000;

interface TableProgress {
  readonly table: TableInfo;
  /** Resume after these key values (text), or from the start. */
  readonly after: readonly string[] | undefined;
}

export class SnapshotReader {
  private idx = 0;
  private cursorOpen = false;
  private rows: string[][] = [];
  private rowIdx = 0;
  private done = 0;
  private estimate = 0;
  private lastReport = 0;
  private keyIdx: number[] = [];
  /** The chunk being fetched while the current one is handed out. */
  private ahead: Promise<string[][]> | undefined;
  private chunkRows = FIRST_CHUNK_ROWS;
  /** Rows the last FETCH asked for: a chunk shorter than that was the table's last. */
  private lastAsked = 0;
  private decoders: Array<(t: string) => unknown> = [];

  /** Per table: rows read (by this reader: a resumed table counts from where it resumed), the estimate, done. */
  private readonly stats: Array<{ collection: string; rows: number; estimatedRows: number; done: boolean }>;

  constructor(
    private readonly client: pg.Client,
    private readonly tables: readonly TableProgress[],
    private readonly fetchSize: number,
    private readonly types: TypeRegistry | undefined,
    private readonly logger: Logger,
  ) {
    this.stats = tables.map((t) => ({ collection: t.table.collection, rows: 0, estimatedRows: 0, done: false }));
  }

  progress(): SnapshotProgress[] {
    return this.stats.map((s) => ({ ...s }));
  }

  private stat(): (typeof this.stats)[number] {
    return this.stats[this.idx] as (typeof this.stats)[number];
  }

  /** Opens the transaction, under an exported snapshot when given. */
  async begin(snapshotName: string | null): Promise<void> {
    await this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (snapshotName !== null) await this.client.query(`SET TRANSACTION SNAPSHOT '${snapshotName}'`);
  }

  /** The table being read (undefined when finished). */
  get current(): TableInfo | undefined {
    return this.tables[this.idx]?.table;
  }

  /** Tables finished before the current one, by collection. */
  finished(): string[] {
    return this.tables.slice(0, this.idx).map((t) => t.table.collection);
  }

  /** Up to `max` next rows; an empty array means the snapshot is complete. */
  async next(max: number): Promise<SnapshotRow[]> {
    for (;;) {
      const progress = this.tables[this.idx];
      if (progress === undefined) return [];
      if (!this.cursorOpen) await this.openCursor(progress);
      if (this.rowIdx >= this.rows.length) {
        const rows = await (this.ahead ?? this.fetch());
        this.ahead = undefined;
        this.rows = rows;
        this.rowIdx = 0;
        if (rows.length > 0) this.fitChunk(rows);
        // A short chunk ends the table: no need to ask again.
        if (rows.length > 0 && rows.length >= this.lastAsked) this.ahead = this.fetch();
        if (this.rows.length === 0) {
          await this.client.query('CLOSE conduit_snapshot');
          this.cursorOpen = false;
          this.logger.info('postgres: snapshot of a table done', {
            table: progress.table.collection,
            rows: this.done,
          });
          this.stat().done = true;
          this.idx++;
          continue;
        }
      }
      return this.take(progress.table, max);
    }
  }

  async end(): Promise<void> {
    await this.client.query('COMMIT');
  }

  private fetch(): Promise<string[][]> {
    const n = Math.min(this.fetchSize, this.chunkRows);
    this.lastAsked = n;
    const p = this.client
      .query<string[]>({ text: `FETCH FORWARD ${n} FROM conduit_snapshot`, rowMode: 'array' })
      .then((r) => r.rows);
    // Read by next(); until then a failure must not count as unhandled.
    p.catch(() => undefined);
    return p;
  }

  /** Sizes the next chunks from the width of a few rows of this one. */
  private fitChunk(rows: string[][]): void {
    const sample = Math.min(rows.length, 16);
    let bytes = 0;
    for (let i = 0; i < sample; i++) {
      for (const v of rows[i] as string[]) bytes += v === null ? 1 : v.length + 8;
    }
    const perRow = Math.max(1, bytes / sample);
    this.chunkRows = Math.max(16, Math.floor(CHUNK_BYTES / perRow));
  }

  private take(table: TableInfo, max: number): SnapshotRow[] {
    const end = Math.min(this.rows.length, this.rowIdx + max);
    const out = new Array<SnapshotRow>(end - this.rowIdx);
    const cols = table.columns;
    const decoders = this.decoders;
    const keyIdx = this.keyIdx;
    for (let i = this.rowIdx, o = 0; i < end; i++, o++) {
      const row = this.rows[i] as string[];
      const after: StructuredData = {};
      for (let c = 0; c < cols.length; c++) {
        const v = row[c];
        after[(cols[c] as { name: string }).name] =
          v === null || v === undefined ? null : (decoders[c] as (t: string) => never)(v);
      }
      const key: StructuredData = {};
      const keyText = new Array<string>(keyIdx.length);
      for (let k = 0; k < keyIdx.length; k++) {
        const c = keyIdx[k] as number;
        const name = (cols[c] as { name: string }).name;
        key[name] = after[name] ?? null;
        keyText[k] = row[c] as string;
      }
      out[o] = { table, key, after, keyText };
    }
    this.rowIdx = end;
    this.done += out.length;
    this.stat().rows = this.done;
    this.report(table);
    return out;
  }

  private async openCursor(progress: TableProgress): Promise<void> {
    const t = progress.table;
    const cols = t.columns.map((c) => quoteIdent(c.name)).join(', ');
    const key = t.key.map(quoteIdent).join(', ');
    const byName = new Map(t.columns.map((c, i) => [c.name, i]));
    this.keyIdx = t.key.map((k) => byName.get(k) as number);
    this.decoders = t.columns.map((c) => {
      const oid = c.typeOid;
      return (text: string) => decodeText(oid, text, this.types);
    });
    let where = '';
    const params: string[] = [];
    if (progress.after !== undefined) {
      // Compare as the key's own types: each text value is cast to its column's type.
      const casts = t.key.map((k, i) => {
        params.push(progress.after?.[i] as string);
        return `CAST($${i + 1} AS ${t.columns[byName.get(k) as number]?.typeName ?? 'text'})`;
      });
      where = ` WHERE (${key}) > (${casts.join(', ')})`;
    }
    await this.client.query(
      `DECLARE conduit_snapshot NO SCROLL CURSOR FOR SELECT ${cols} FROM ${t.sql}${where} ORDER BY ${key}`,
      params,
    );
    this.cursorOpen = true;
    this.done = 0;
    this.chunkRows = FIRST_CHUNK_ROWS;
    const est = await this.client.query<{ n: string }>(
      `SELECT GREATEST(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = '${t.sql.replaceAll("'", "''")}'::regclass`,
    );
    this.estimate = Number(est.rows[0]?.n ?? 0);
    this.stat().estimatedRows = this.estimate;
    this.logger.info('postgres: snapshot of a table starts', {
      table: t.collection,
      estimatedRows: this.estimate,
      resumed: progress.after !== undefined,
    });
  }

  private report(table: TableInfo): void {
    const now = Date.now();
    if (now - this.lastReport < 5000) return;
    this.lastReport = now;
    this.logger.info('postgres: snapshot progress', {
      table: table.collection,
      rows: this.done,
      estimatedRows: this.estimate,
    });
  }
}
