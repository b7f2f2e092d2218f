/**
 * The postgres source's position: JSON, so that an operator can read it.
 *
 * Snapshot: `{"m":"s","done":["a"],"t":"b","cdc":{…},"k":["42"]}` — the tables
 * finished, the table being read with the primary-key values (as text) of the
 * last row, and the CDC position to resume from afterwards. For the initial
 * snapshot that is the slot's consistent point, a transaction boundary, and
 * the position says just its LSN: `{"m":"s","done":[],"t":"b","lsn":"0/1A2B3C",
 * "k":["42"]}` (every row has a position; this one is half as long).
 *
 * CDC: `{"m":"c","lsn":"0/1A2B3C","seq":7,"tables":[…]}` — the 7th change (from
 * 0) of the transaction whose commit record is at `lsn`, or with `"end"` the
 * whole transaction (its commit end LSN: what the slot may confirm). `tables`
 * are the collections captured when the position was written, so that a table
 * added to the setting later is recognised and snapshotted. The position that
 * completes a transaction also carries `cols`: each captured table's columns as
 * last seen (`[name, type OID]`, with the typmod when there is one), so that
 * columns changed while the pipeline was stopped are announced after a restart.
 * Change positions inside a transaction leave it out, to stay small.
 */
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';

export interface SnapshotPosition {
  readonly m: 's';
  readonly done: readonly string[];
  readonly t: string;
  readonly k: readonly string[];
  readonly cdc: CdcPosition;
}

export interface CdcPosition {
  readonly m: 'c';
  readonly lsn: string;
  readonly seq: number;
  /** Present on the position that completes a transaction. */
  readonly end?: string;
  readonly tables: readonly string[];
  /** On the position that completes a transaction: the columns of each table, by collection. */
  readonly cols?: Readonly<Record<string, readonly ColumnSig[]>>;
}

/** A column as a schema-change baseline: `[name, type OID]`, or `[name, type OID, typmod]` when it has a typmod. */
export type ColumnSig = readonly [string, number] | readonly [string, number, number];

export function columnSig(name: string, typeOid: number, typeMod: number): ColumnSig {
  return typeMod === -1 ? [name, typeOid] : [name, typeOid, typeMod];
}

/** The baseline columns of a stored position, keeping only well-formed entries (a hand-edited position may not be). */
export function storedColumns(p: CdcPosition): Map<string, ColumnSig[]> {
  const out = new Map<string, ColumnSig[]>();
  const cols: unknown = p.cols;
  if (typeof cols !== 'object' || cols === null) return out;
  for (const [table, list] of Object.entries(cols)) {
    if (!Array.isArray(list)) continue;
    const ok = list.every(
      (c: unknown) =>
        Array.isArray(c) &&
        (c.length === 2 || c.length === 3) &&
        typeof c[0] === 'string' &&
        c.slice(1).every((n: unknown) => typeof n === 'number'),
    );
    if (ok) out.set(table, list as ColumnSig[]);
  }
  return out;
}

export type Position = SnapshotPosition | CdcPosition;

export function encodePosition(p: Position): Buffer {
  return Buffer.from(JSON.stringify(p));
}

/**
 * The position of a snapshot row up to its key (`{"m":"s",…,"k":`; the key values as JSON and `}` follow):
 * with `"lsn"` alone when `cdc` is a consistent point (the whole transaction at `lsn` done, no column
 * baseline), which {@link decodePosition} turns back into that CDC position; else with `cdc` in full.
 */
export function snapshotPositionHead(done: readonly string[], table: string, cdc: CdcPosition): string {
  const atPoint = cdc.seq === 0 && cdc.end === cdc.lsn && cdc.cols === undefined;
  const head = atPoint ? { m: 's', done, t: table, lsn: cdc.lsn } : { m: 's', done, t: table, cdc };
  return `${JSON.stringify(head).slice(0, -1)},"k":`;
}

/**
 * The positions of one transaction's changes, `encodePosition({m: 'c', lsn, seq, tables})` byte for byte,
 * without serialising the constant part once per change.
 */
export function cdcPositions(lsn: string, tables: readonly string[]): (seq: number) => Buffer {
  const head = `{"m":"c","lsn":${JSON.stringify(lsn)},"seq":`;
  const tail = `,"tables":${JSON.stringify(tables)}}`;
  return (seq) => Buffer.from(head + String(seq) + tail, 'utf8');
}

/** The most column text a position carries as the schema-change baseline (see endPositions). */
export const MAX_COLS_BYTES = 2048;

/**
 * The positions that complete a transaction, `encodePosition({m: 'c', lsn, seq, end, tables, cols})` byte
 * for byte, with the tables and columns serialised once (they change rarely, transactions are many).
 */
export function endPositions(tables: readonly string[], cols: ReadonlyMap<string, readonly ColumnSig[]>): EndPositions {
  // Every transaction's last record carries this: past MAX_COLS_BYTES of columns (a wide schema, in
  // one-row transactions, would make positions larger than rows) the baseline is left out.
  const colsJson = cols.size === 0 ? '' : JSON.stringify(Object.fromEntries(cols));
  const tooWide = colsJson.length > MAX_COLS_BYTES;
  const tail = `,"tables":${JSON.stringify(tables)}` + (colsJson === '' || tooWide ? '}' : `,"cols":${colsJson}}`);
  const build = (lsn: string, seq: number, end: string): Buffer =>
    Buffer.from(`{"m":"c","lsn":${JSON.stringify(lsn)},"seq":${seq},"end":${JSON.stringify(end)}${tail}`, 'utf8');
  return Object.assign(build, { baselineLeftOut: tooWide });
}

/** Builds the position that completes a transaction; `baselineLeftOut` when the columns were too wide to carry. */
export type EndPositions = ((lsn: string, seq: number, end: string) => Buffer) & { readonly baselineLeftOut: boolean };

export function decodePosition(raw: Uint8Array): Position {
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw badPosition(raw);
  }
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    if (o.m === 's' && Array.isArray(o.done) && typeof o.t === 'string' && Array.isArray(o.k)) {
      if (isCdc(o.cdc)) return p as SnapshotPosition;
      if (o.cdc === undefined && typeof o.lsn === 'string') {
        // The CDC position this stands for; its tables are not needed to resume (the snapshot's end
        // writes the captured tables anew).
        const cdc: CdcPosition = { m: 'c', lsn: o.lsn, seq: 0, end: o.lsn, tables: [] };
        return { m: 's', done: o.done as string[], t: o.t, k: o.k as string[], cdc };
      }
    }
    if (isCdc(o)) return o;
  }
  throw badPosition(raw);
}

function isCdc(p: unknown): p is CdcPosition {
  if (typeof p !== 'object' || p === null) return false;
  const o = p as Record<string, unknown>;
  return o.m === 'c' && typeof o.lsn === 'string' && typeof o.seq === 'number' && Array.isArray(o.tables);
}

function badPosition(raw: Uint8Array): ConduitError {
  const text = Buffer.from(raw).toString('utf8').slice(0, 200);
  return new ConduitError(
    Code.ConnectorOpenFailed,
    `postgres: ${JSON.stringify(text)} is not a position of this connector`,
    {
      retryable: false,
      suggestion: 'reset the pipeline state, or give a position this connector wrote',
    },
  );
}
