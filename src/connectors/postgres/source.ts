/**
 * The postgres source: a consistent snapshot, then change data capture by
 * logical replication (pgoutput), handing over at the replication slot's
 * consistent point.
 *
 *   open ─▶ publication and slot ─▶ snapshot (exported by the slot) ─▶ START_REPLICATION ─▶ …
 *                                                          ack(end of tx) ─▶ standby status: flush LSN
 *
 * Positions (see position.ts) name a snapshot row by table and key, and a change
 * by its transaction's commit LSN and its index in the transaction. After each
 * transaction a position-only record carries the commit's end LSN: when the
 * engine acks it (it is then persisted) the slot is told it may release the WAL
 * up to there. The slot therefore never runs ahead of the stored position, so on
 * open a slot that is missing, invalidated or ahead of the stored position means
 * changes were lost, and the source stops with `postgres.slot_lost`.
 */
import type pg from 'pg';
import { Code } from '../../errors/codes.js';
import { ConduitError, fatal } from '../../errors/conduit-error.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { MetadataKey } from '../../opencdc/metadata.js';
import { Operation, type OpenCDCRecord, type StructuredData, type StructuredValue } from '../../opencdc/record.js';
import {
  positionOnlyRecord,
  type ConnectorContext,
  type SnapshotProgress,
  type Source,
  type SourceProgress,
} from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, quoteIdent, resolveTables, type TableInfo } from './catalog.js';
import { PgOutputDecoder, TupleKind, formatLsn, parseLsn, type RelationMessage, type TupleData } from './pgoutput.js';
import { PgMetadata } from './metadata.js';
import {
  cdcPositions,
  columnSig,
  decodePosition,
  endPositions,
  type EndPositions,
  MAX_COLS_BYTES,
  storedColumns,
  type CdcPosition,
  type ColumnSig,
  type Position,
  snapshotPositionHead,
} from './position.js';
import { ReplicationConnection, type SlotInfo } from './replication.js';
import { SchemaAttacher } from './schemas.js';
import { SnapshotReader, type TableRecords } from './snapshot.js';
import { decodeText, loadTypeRegistry, type TypeRegistry } from './types.js';

const HEARTBEAT_PREFIX = 'conduit_heartbeat';
/** 2000-01-01 in microseconds since the Unix epoch. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;
/** User-defined types start here; lower OIDs are built in. */
const FIRST_USER_OID = 16384;

interface Settings {
  url: string;
  tables: string[];
  snapshot: boolean;
  fetchSize: number;
  slot: string;
  publication: string;
  autoCleanup: boolean;
  heartbeatMs: number;
  toastOmit: boolean;
  toastPlaceholder: string;
  stopOnSchemaChange: boolean;
}

interface Relation {
  readonly table: TableInfo;
  readonly message: RelationMessage;
  /** Index in the relation's columns of each primary-key column. */
  readonly keyIdx: number[];
  readonly sig: readonly ColumnSig[];
  /** Announced in the metadata of the next change of this table. */
  schemaChange: string | undefined;
  /** `logrepl.withAvroSchema`: the metadata naming the key and payload schemas of these columns. */
  readonly schemaMeta: Readonly<Record<string, string>> | undefined;
}

interface Tx {
  readonly finalLsn: bigint;
  readonly lsnText: string;
  readonly xid: string;
  readonly createdAt: string;
  seq: number;
  /** Changes with seq <= this were delivered before (resume inside this transaction). */
  readonly skipThrough: number;
  readonly position: (seq: number) => Buffer;
}

export class PostgresSource implements Source {
  private s!: Settings;
  /** The replication connection's application_name: tells a stale session of this connector from a stranger. */
  private appName = 'conduit';
  private logger: Logger = silentLogger;
  private client: pg.Client | undefined;
  private repl: ReplicationConnection | undefined;
  private tables: TableInfo[] = [];
  private collections: string[] = [];
  private byName = new Map<string, TableInfo>();
  private byOid = new Map<number, TableInfo>();
  private types: TypeRegistry | undefined;
  private snapshot: SnapshotReader | undefined;
  /** Where CDC resumes; changes at or before it are skipped. */
  private resume: CdcPosition | undefined;
  private slotConfirmed = 0n;
  private messages = false;
  private decoder = new PgOutputDecoder();
  private relations = new Map<number, Relation>();
  private tx: Tx | undefined;
  private pending: OpenCDCRecord[] = [];
  private pendingIdx = 0;
  /** Commit-marker positions and the end LSN each lets the slot confirm. */
  private commitEnds = new WeakMap<Uint8Array, bigint>();
  private heartbeat: NodeJS.Timeout | undefined;
  private heartbeatFailure: Error | undefined;
  /** WAL the slot holds back, in bytes, as of the last heartbeat (unknown without heartbeats). */
  private retainedWalBytes: number | undefined;
  /** The last snapshot's progress, kept once it is done. */
  private snapshotProgress: SnapshotProgress[] | undefined;
  /**
   * Each captured table's columns as last seen (by collection): what a relation message is compared
   * with when it is the table's first in this run. From the stored position, or from the catalog when
   * the slot is created now; written into every position that completes a transaction.
   */
  private baseline = new Map<string, readonly ColumnSig[]>();
  private warnedWideBaseline = false;
  /** Builds the positions that complete a transaction; rebuilt when the baseline changes. */
  private endPosition: EndPositions | undefined;
  /** Registers the key and payload schemas of each table (`logrepl.withAvroSchema` with a registry). */
  private schemas: SchemaAttacher | undefined;

  configure(config: Config, ctx: ConnectorContext): void {
    this.logger = ctx.logger;
    this.appName = `conduit:${ctx.connectorId}`;
    this.s = {
      url: config.string('url'),
      tables: config.list('tables'),
      snapshot: config.string('snapshotMode') === 'initial',
      fetchSize: config.int('snapshot.fetchSize'),
      slot: config.string('logrepl.slotName'),
      publication: config.string('logrepl.publicationName'),
      autoCleanup: config.bool('logrepl.autoCleanup'),
      heartbeatMs: config.duration('logrepl.heartbeat.interval'),
      toastOmit: config.string('logrepl.toast.unchanged') === 'omit',
      toastPlaceholder: config.string('logrepl.toast.placeholder'),
      stopOnSchemaChange: config.string('schemaChange') === 'stop',
    };
    if (config.bool('logrepl.withAvroSchema')) {
      if (ctx.schemaRegistry !== undefined) this.schemas = new SchemaAttacher(ctx.schemaRegistry, this.logger);
      else this.logger.debug('postgres: no schema registry in this engine; records carry no schema subjects');
    }
  }

  async onDeleted(config: Config): Promise<void> {
    if (!config.bool('logrepl.autoCleanup')) return;
    const client = await connect(config.string('url'), { applicationName: 'conduit-source-cleanup' });
    try {
      const slot = config.string('logrepl.slotName');
      await client.query(
        `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active`,
        [slot],
      );
      await client.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, [
        slot,
      ]);
      await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(config.string('logrepl.publicationName'))}`);
      this.logger.info('postgres: dropped the replication slot and the publication', { slot });
    } finally {
      await client.end().catch(() => {});
    }
  }

  async open(position: Uint8Array | null): Promise<void> {
    const s = this.s;
    const client = await connect(s.url, { applicationName: 'conduit-source' });
    this.client = client;
    await checkLogical(client);
    this.tables = await resolveTables(client, s.tables);
    this.collections = this.tables.map((t) => t.collection);
    this.byName = new Map(this.tables.map((t) => [`${t.schema}.${t.name}`, t]));
    this.byOid = new Map(this.tables.map((t) => [t.oid, t]));
    await this.loadTypes(this.tables.flatMap((t) => t.columns.map((c) => c.typeOid)));
    await ensurePublication(client, s.publication, this.tables, this.logger);

    const repl = await ReplicationConnection.open(s.url, this.appName);
    this.repl = repl;
    this.messages = (await repl.serverVersion()) >= 140000;
    let slot = await repl.slot(s.slot);
    if (slot?.active === true) slot = await this.takeOver(repl, slot);
    const stored: Position | undefined =
      position === null || position.length === 0 ? undefined : decodePosition(position);
    this.endPosition = undefined;
    this.baseline = new Map();

    if (stored === undefined) {
      let start: bigint;
      let exported: string | null = null;
      if (slot === undefined) {
        const created = await repl.createSlot(s.slot, s.snapshot);
        start = created.consistentPoint;
        exported = created.snapshotName;
        this.logger.info('postgres: created the replication slot', { slot: s.slot, lsn: formatLsn(start) });
        // The slot starts now, so the catalog is the schema of everything it will stream.
        for (const t of this.tables) {
          const cols = t.columns.filter((c) => !c.generated).map((c) => columnSig(c.name, c.typeOid, c.typeMod));
          this.baseline.set(t.collection, cols);
        }
      } else {
        checkSlotUsable(slot);
        start = slot.confirmedFlush ?? 0n;
        if (s.snapshot) {
          this.logger.warn(
            'postgres: the replication slot already exists, so the snapshot cannot be aligned with it; ' +
              'changes made while it runs may arrive twice (at-least-once)',
            { slot: s.slot },
          );
        }
      }
      this.slotConfirmed = start;
      const cdc: CdcPosition = {
        m: 'c',
        lsn: formatLsn(start),
        seq: 0,
        end: formatLsn(start),
        tables: this.collections,
      };
      if (s.snapshot)
        await this.startSnapshot(
          this.tables.map((table) => ({ table, after: undefined })),
          cdc,
          exported,
        );
      else this.startCdc(cdc);
      return;
    }

    const cdc = stored.m === 's' ? stored.cdc : stored;
    this.slotConfirmed = checkSlotAgainst(slot, s.slot, cdc);
    const captured = new Set(this.collections);
    for (const [table, cols] of storedColumns(cdc)) if (captured.has(table)) this.baseline.set(table, cols);
    if (stored.m === 's') {
      const done = new Set(stored.done);
      const rest = this.tables
        .filter((t) => !done.has(t.collection))
        .map((table) => ({ table, after: table.collection === stored.t ? stored.k : undefined }));
      await this.startSnapshot(rest, cdc, null);
      return;
    }
    const known = new Set(stored.tables);
    const added = this.tables.filter((t) => !known.has(t.collection));
    if (added.length > 0) {
      this.logger.info('postgres: tables were added to the setting; snapshotting them before streaming on', {
        tables: added.map((t) => t.collection),
      });
      await this.startSnapshot(
        added.map((table) => ({ table, after: undefined })),
        { ...stored, tables: [...stored.tables] },
        null,
      );
      return;
    }
    this.startCdc(stored);
  }

  async read(max: number, signal: AbortSignal): Promise<OpenCDCRecord[]> {
    for (;;) {
      if (this.heartbeatFailure !== undefined) throw this.heartbeatFailure;
      if (this.snapshot !== undefined) {
        const records = await this.readSnapshot(max);
        if (records.length > 0) return records;
        continue;
      }
      if (this.pendingIdx < this.pending.length) return this.takePending(max);
      const repl = this.repl;
      if (repl === undefined || signal.aborted) return [];
      const messages = await repl.take(max, signal);
      if (messages.length === 0) return [];
      for (const m of messages) await this.handle(m.data);
    }
  }

  async ack(positions: readonly Uint8Array[]): Promise<void> {
    let end: bigint | undefined;
    for (let i = positions.length - 1; i >= 0 && end === undefined; i--) {
      end = this.commitEnds.get(positions[i] as Uint8Array);
    }
    if (end !== undefined) this.repl?.confirm(end);
  }

  async teardown(): Promise<void> {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const repl = this.repl;
    const client = this.client;
    this.repl = undefined;
    this.client = undefined;
    this.snapshot = undefined;
    this.pending = [];
    this.pendingIdx = 0;
    await repl?.close();
    await client?.end().catch(() => {});
  }

  // ── snapshot ────────────────────────────────────────────────────────────────

  private snapshotCdc: CdcPosition | undefined;

  private async startSnapshot(
    tables: Array<{ table: TableInfo; after: readonly string[] | undefined }>,
    cdc: CdcPosition,
    exported: string | null,
  ): Promise<void> {
    // Everything in a record but its key and values is the same for every row of a table.
    const tableStart = async (table: TableInfo, done: readonly string[]): Promise<TableRecords> => {
      const schemaMeta = await this.schemas?.metadata(table.collection, table.columns, table.key, this.types);
      return {
        positionHead: snapshotPositionHead(done, table.collection, cdc),
        metadata: { [MetadataKey.Collection]: table.collection, ...schemaMeta },
      };
    };
    const reader = new SnapshotReader(
      this.client as pg.Client,
      tables,
      this.s.fetchSize,
      this.types,
      this.logger,
      tableStart,
    );
    await reader.begin(exported);
    this.snapshot = reader;
    this.snapshotCdc = cdc;
  }

  private async readSnapshot(max: number): Promise<OpenCDCRecord[]> {
    const reader = this.snapshot as SnapshotReader;
    const rows = await reader.next(max);
    if (rows.length === 0) {
      await reader.end();
      this.snapshotProgress = reader.progress();
      this.snapshot = undefined;
      this.logger.info('postgres: snapshot done; streaming changes');
      this.startCdc({ ...(this.snapshotCdc as CdcPosition), tables: this.collections });
      return [];
    }
    return rows;
  }

  // ── CDC ─────────────────────────────────────────────────────────────────────

  private startCdc(from: CdcPosition): void {
    this.resume = from;
    (this.repl as ReplicationConnection).start(this.s.slot, this.s.publication, {
      messages: this.messages,
      confirmed: this.slotConfirmed,
    });
    if (this.s.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => void this.beat(), this.s.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  private takePending(max: number): OpenCDCRecord[] {
    const end = Math.min(this.pending.length, this.pendingIdx + max);
    const out = this.pending.slice(this.pendingIdx, end);
    this.pendingIdx = end;
    if (end === this.pending.length) {
      this.pending = [];
      this.pendingIdx = 0;
    }
    return out;
  }

  private async handle(data: Buffer): Promise<void> {
    const m = this.decoder.decode(data);
    switch (m.type) {
      case 'begin': {
        const finalLsn = m.finalLsn;
        const r = this.resume;
        let skipThrough = -1;
        if (r !== undefined) {
          const at = parseLsn(r.lsn);
          if (finalLsn < at || (finalLsn === at && r.end !== undefined)) skipThrough = Number.MAX_SAFE_INTEGER;
          else if (finalLsn === at) skipThrough = r.seq;
          else this.resume = undefined;
        }
        const lsnText = formatLsn(finalLsn);
        this.tx = {
          finalLsn,
          lsnText,
          xid: String(m.xid),
          createdAt: ((m.commitTime + PG_EPOCH_MICROS) * 1000n).toString(),
          seq: 0,
          skipThrough,
          position: cdcPositions(lsnText, this.collections),
        };
        return;
      }
      case 'commit': {
        const tx = this.tx;
        this.tx = undefined;
        if (tx === undefined || tx.skipThrough === Number.MAX_SAFE_INTEGER) return;
        if (this.endPosition === undefined) {
          this.endPosition = endPositions(this.collections, this.baseline);
          if (!this.warnedWideBaseline && this.endPosition.baselineLeftOut) {
            this.warnedWideBaseline = true;
            this.logger.warn(
              'postgres: the captured tables have too many columns to keep them in the position; column changes ' +
                'made while the pipeline is stopped will not be announced (changes seen while running still are)',
              { maxBytes: MAX_COLS_BYTES },
            );
          }
        }
        const position = this.endPosition(tx.lsnText, tx.seq, formatLsn(m.endLsn));
        this.commitEnds.set(position, m.endLsn);
        this.pending.push(positionOnlyRecord(position));
        return;
      }
      case 'relation':
        await this.onRelation(m);
        return;
      case 'insert':
        this.change(m.relationId, Operation.Create, undefined, m.newTuple, false);
        return;
      case 'update':
        this.change(m.relationId, Operation.Update, m.oldTuple ?? m.keyTuple, m.newTuple, m.oldTuple !== undefined);
        return;
      case 'delete':
        this.change(m.relationId, Operation.Delete, m.oldTuple ?? m.keyTuple, undefined, m.oldTuple !== undefined);
        return;
      case 'truncate':
        this.logger.warn('postgres: a captured table was truncated; OpenCDC has no truncate operation, so no record', {
          relations: m.relationIds.map((id) => this.relations.get(id)?.table.collection ?? String(id)),
        });
        return;
      default:
        // type, origin, message (heartbeats): nothing to deliver; the commit marker carries the progress.
        return;
    }
  }

  private async onRelation(m: RelationMessage): Promise<void> {
    // By OID first: a captured table renamed while streaming is still the same table.
    const table = this.byOid.get(m.relationId) ?? this.byName.get(`${m.namespace}.${m.name}`);
    if (table === undefined) return; // a table of a shared publication that this source does not capture
    const unknown = m.columns
      .map((c) => c.typeOid)
      .filter((oid) => oid >= FIRST_USER_OID && this.types?.get(oid) === undefined);
    if (unknown.length > 0) await this.loadTypes(unknown);
    const prev = this.relations.get(m.relationId);
    const sig = m.columns.map((c) => columnSig(c.name, c.typeOid, c.typeMod));
    // The first message of a table in this run is compared with the baseline (the columns when the stored
    // position was written), so a change made while the pipeline was stopped is announced too. A transaction
    // delivered before (replayed up to the stored position) only brings the relation up to date.
    const before = prev?.sig ?? this.baseline.get(table.collection);
    const replayed = this.tx !== undefined && this.tx.skipThrough === Number.MAX_SAFE_INTEGER;
    const change = before === undefined || replayed ? undefined : schemaChange(before, sig);
    if (change !== undefined) {
      const text = JSON.stringify(change);
      if (this.s.stopOnSchemaChange) {
        throw fatal(Code.PostgresSchemaChanged, `postgres: the columns of ${table.collection} changed: ${text}`, {
          configPath: '/schemaChange',
          suggestion:
            'adapt the destination to the new columns, then set schemaChange to continue (or restart with it) to go on',
        });
      }
      this.logger.info('postgres: the columns of a captured table changed', { table: table.collection, change: text });
    }
    const byName = new Map(m.columns.map((c, i) => [c.name, i]));
    const keyIdx = table.key.map((k) => byName.get(k)).filter((i): i is number => i !== undefined);
    if (JSON.stringify(this.baseline.get(table.collection)) !== JSON.stringify(sig)) {
      this.baseline.set(table.collection, sig);
      this.endPosition = undefined;
    }
    const schemaMeta = await this.schemas?.metadata(table.collection, m.columns, table.key, this.types);
    this.relations.set(m.relationId, {
      table,
      message: m,
      keyIdx,
      sig,
      schemaMeta,
      schemaChange: change === undefined ? prev?.schemaChange : JSON.stringify({ table: table.collection, ...change }),
    });
  }

  /** `fullBefore`: the before image is the whole old row (replica identity FULL), not only its key. */
  private change(
    relationId: number,
    op: Operation,
    before: TupleData | undefined,
    after: TupleData | undefined,
    fullBefore: boolean,
  ): void {
    const tx = this.tx;
    const rel = this.relations.get(relationId);
    if (tx === undefined || rel === undefined) return;
    const seq = tx.seq++;
    if (seq <= tx.skipThrough) return;
    // A key tuple (replica identity DEFAULT or INDEX) holds only the key columns; the rest are not nulls but unknown.
    const beforeData =
      before === undefined
        ? null
        : fullBefore
          ? this.tupleData(rel, before, undefined, undefined)
          : this.keyData(rel, before);
    let unchanged: string[] | undefined;
    const afterData =
      after === undefined
        ? null
        : this.tupleData(rel, after, fullBefore ? (beforeData ?? undefined) : undefined, (name) =>
            (unchanged ??= []).push(name),
          );
    const keySource = afterData ?? beforeData ?? {};
    const key: StructuredData = {};
    const cols = rel.message.columns;
    for (const i of rel.keyIdx) {
      const name = (cols[i] as { name: string }).name;
      key[name] = keySource[name] ?? null;
    }
    const metadata: Record<string, string> = {
      [MetadataKey.Collection]: rel.table.collection,
      [MetadataKey.CreatedAt]: tx.createdAt,
      [PgMetadata.TxId]: tx.xid,
      [PgMetadata.TxLsn]: tx.lsnText,
      [PgMetadata.TxSeq]: String(seq),
    };
    if (unchanged !== undefined) metadata[PgMetadata.ToastUnchanged] = unchanged.join(',');
    if (rel.schemaMeta !== undefined) Object.assign(metadata, rel.schemaMeta);
    if (rel.schemaChange !== undefined) {
      metadata[PgMetadata.SchemaChange] = rel.schemaChange;
      rel.schemaChange = undefined;
    }
    this.pending.push({
      position: tx.position(seq),
      operation: op,
      metadata,
      key,
      // A delete keeps what the replica identity gave: the key, or the whole old row.
      payload: { before: beforeData, after: afterData },
    });
  }

  private keyData(rel: Relation, tuple: TupleData): StructuredData {
    const out: StructuredData = {};
    const cols = rel.message.columns;
    for (const i of rel.keyIdx) {
      const col = cols[i] as RelationMessage['columns'][number];
      const text = tuple.kinds[i] === TupleKind.Text ? tuple.values[i] : null;
      out[col.name] = typeof text === 'string' ? decodeText(col.typeOid, text, this.types) : null;
    }
    return out;
  }

  /**
   * A tuple as structured data. An unchanged TOAST value (not sent) is taken
   * from `old` when the replica identity gave it, else follows the policy.
   */
  private tupleData(
    rel: Relation,
    tuple: TupleData,
    old: StructuredData | undefined,
    onUnchanged: ((name: string) => void) | undefined,
  ): StructuredData {
    const out: StructuredData = {};
    const cols = rel.message.columns;
    const n = Math.min(cols.length, tuple.kinds.length);
    for (let i = 0; i < n; i++) {
      const col = cols[i] as RelationMessage['columns'][number];
      const kind = tuple.kinds[i];
      if (kind === TupleKind.Text) {
        out[col.name] = decodeText(col.typeOid, tuple.values[i] as string, this.types);
      } else if (kind === TupleKind.Null) {
        out[col.name] = null;
      } else if (kind === TupleKind.Unchanged) {
        if (old !== undefined && Object.hasOwn(old, col.name)) {
          out[col.name] = old[col.name] as StructuredValue;
        } else {
          onUnchanged?.(col.name);
          if (!this.s.toastOmit) out[col.name] = this.s.toastPlaceholder;
        }
      } else {
        out[col.name] = tuple.values[i] ?? null;
      }
    }
    return out;
  }

  progress(): SourceProgress {
    const snapshot = this.snapshot?.progress() ?? this.snapshotProgress;
    return {
      ...(this.retainedWalBytes !== undefined && { lagBytes: this.retainedWalBytes }),
      ...(snapshot !== undefined && { snapshot }),
    };
  }

  private async beat(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    try {
      if (this.messages) {
        await client.query(`SELECT pg_logical_emit_message(true, $1, $2)`, [HEARTBEAT_PREFIX, this.s.slot]);
      }
      const r = await client.query<{ retained: string | null; wal_status: string | null }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS retained, wal_status
           FROM pg_replication_slots WHERE slot_name = $1`,
        [this.s.slot],
      );
      const row = r.rows[0];
      if (row === undefined || row.wal_status === 'lost') {
        this.heartbeatFailure = slotLost(
          this.s.slot,
          row === undefined ? 'was dropped while the pipeline ran' : 'was invalidated (wal_status = lost)',
          formatLsn(this.repl?.confirmed ?? 0n),
        );
        return;
      }
      this.retainedWalBytes = Number(row.retained ?? 0);
      this.logger.debug('postgres: heartbeat', { slot: this.s.slot, retainedWalBytes: this.retainedWalBytes });
    } catch (err) {
      this.logger.warn('postgres: heartbeat failed', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /**
   * A slot held by a session of this same connector (a run that died without
   * closing it, or a connection the server has not yet noticed is gone) is
   * taken over; one held by anybody else is an error.
   */
  private async takeOver(repl: ReplicationConnection, slot: SlotInfo): Promise<SlotInfo | undefined> {
    const client = this.client as pg.Client;
    const r = await client.query<{ application_name: string }>(
      'SELECT application_name FROM pg_stat_activity WHERE pid = $1',
      [slot.activePid],
    );
    if (r.rows[0]?.application_name !== this.appName) return slot; // checkSlotUsable reports it
    this.logger.warn('postgres: an earlier session of this connector still holds the slot; ending it', {
      slot: slot.name,
      pid: slot.activePid,
    });
    await client.query('SELECT pg_terminate_backend($1)', [slot.activePid]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await repl.slot(slot.name);
      if (now?.active !== true || Date.now() > deadline) return now;
      await sleep(50);
    }
  }

  private async loadTypes(oids: number[]): Promise<void> {
    const user = [...new Set(oids.filter((o) => o >= FIRST_USER_OID))];
    if (user.length === 0 || this.client === undefined) return;
    const loaded = await loadTypeRegistry(this.client, user);
    const prev = this.types;
    this.types = prev === undefined ? loaded : { get: (oid: number) => loaded.get(oid) ?? prev.get(oid) };
  }
}

async function checkLogical(client: pg.Client): Promise<void> {
  const r = await client.query<{ wal_level: string }>('SHOW wal_level');
  const level = r.rows[0]?.wal_level;
  if (level !== 'logical') {
    throw new ConduitError(Code.PostgresNotLogical, `postgres: the server runs with wal_level=${level ?? '?'}`, {
      retryable: false,
      suggestion: 'set wal_level = logical in postgresql.conf and restart the server (CDC needs logical decoding)',
    });
  }
}

async function ensurePublication(
  client: pg.Client,
  name: string,
  tables: readonly TableInfo[],
  logger: Logger,
): Promise<void> {
  const pub = await client.query<{ puballtables: boolean }>(
    'SELECT puballtables FROM pg_publication WHERE pubname = $1',
    [name],
  );
  const list = tables.map((t) => t.sql).join(', ');
  if (pub.rows.length === 0) {
    await client.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${list}`);
    logger.info('postgres: created the publication', { publication: name });
    return;
  }
  if (pub.rows[0]?.puballtables === true) return;
  const have = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [name],
  );
  const present = new Set(have.rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const missing = tables.filter((t) => !present.has(`${t.schema}.${t.name}`));
  if (missing.length > 0) {
    await client.query(`ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ${missing.map((t) => t.sql).join(', ')}`);
    logger.info('postgres: added tables to the publication', {
      publication: name,
      tables: missing.map((t) => t.collection),
    });
  }
}

function checkSlotUsable(slot: SlotInfo): void {
  if (slot.plugin !== 'pgoutput') {
    throw fatal(
      Code.ConnectorOpenFailed,
      `postgres: replication slot ${slot.name} uses plugin ${slot.plugin ?? '(physical)'}`,
      {
        configPath: '/logrepl.slotName',
        suggestion: 'name another slot in logrepl.slotName; this connector needs a pgoutput slot',
      },
    );
  }
  if (slot.active) {
    throw new ConduitError(
      Code.ConnectorOpenFailed,
      `postgres: replication slot ${slot.name} is in use by another connection (pid ${slot.activePid ?? '?'})`,
      { suggestion: 'each source needs its own slot: set a distinct logrepl.slotName per pipeline' },
    );
  }
}

/**
 * Checks that a slot can resume at a stored position; returns its confirmed
 * flush LSN. The slot confirms only what was stored, so a slot that is missing,
 * lost, or ahead of the position means a gap.
 */
export function checkSlotAgainst(slot: SlotInfo | undefined, name: string, at: CdcPosition): bigint {
  const stored = at.end ?? at.lsn;
  if (slot === undefined) throw slotLost(name, 'no longer exists', stored);
  checkSlotUsable(slot);
  if (slot.walStatus === 'lost') {
    throw slotLost(name, 'was invalidated: the server removed WAL it still needed (max_slot_wal_keep_size)', stored);
  }
  const confirmed = slot.confirmedFlush ?? 0n;
  if (confirmed > parseLsn(stored)) {
    throw slotLost(
      name,
      `has moved past the stored position (it confirmed ${formatLsn(confirmed)}): it was advanced or re-created by someone else`,
      stored,
    );
  }
  return confirmed;
}

function slotLost(name: string, what: string, storedLsn: string): ConduitError {
  return fatal(
    Code.PostgresSlotLost,
    `postgres: replication slot ${name} ${what}; changes after LSN ${storedLsn} cannot be read`,
    {
      configPath: '/logrepl.slotName',
      suggestion:
        'the changes in between are lost to this pipeline. To start over with a fresh snapshot, reset the ' +
        "connector's position (delete and re-create the pipeline); raise max_slot_wal_keep_size so that a slot " +
        'is not invalidated again',
    },
  );
}

interface SchemaChange {
  added?: Array<{ name: string; typeOid: number }>;
  dropped?: string[];
  retyped?: Array<{ name: string; from: number; to: number }>;
}

function schemaChange(prev: readonly ColumnSig[], next: readonly ColumnSig[]): SchemaChange | undefined {
  const before = new Map(prev.map((c) => [c[0], c]));
  const after = new Set(next.map((c) => c[0]));
  const change: SchemaChange = {};
  for (const c of next) {
    const [name, typeOid, typeMod = -1] = c;
    const old = before.get(name);
    if (old === undefined) (change.added ??= []).push({ name, typeOid });
    else if (old[1] !== typeOid || (old[2] ?? -1) !== typeMod) {
      (change.retyped ??= []).push({ name, from: old[1], to: typeOid });
    }
  }
  for (const c of prev) if (!after.has(c[0])) (change.dropped ??= []).push(c[0]);
  return Object.keys(change).length === 0 ? undefined : change;
}
