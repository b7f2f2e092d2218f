/**
 * The postgres source's position: JSON, so that an operator can read it.
 *
 * Snapshot: `{"m":"s","done":["a"],"t":"b","k":["42"],"cdc":{…}}` — the tables
 * finished, the table being read with the primary-key values (as text) of the
 * last row, and the CDC position to resume from afterwards (for the initial
 * snapshot: the slot's consistent point, a transaction boundary).
 *
 * CDC: `{"m":"c","lsn":"0/1A2B3C","seq":7,"tables":[…]}` — the 7th change (from
 * 0) of the transaction whose commit record is at `lsn`, or with `"end"` the
 * whole transaction (its commit end LSN: what the slot may confirm). `tables`
 * are the collections captured when the position was written, so that a table
 * added to the setting later is recognised and snapshotted.
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
}

export type Position = SnapshotPosition | CdcPosition;

export function encodePosition(p: Position): Buffer {
  return Buffer.from(JSON.stringify(p));
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

export function decodePosition(raw: Uint8Array): Position {
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw badPosition(raw);
  }
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    if (o.m === 's' && isCdc(o.cdc) && Array.isArray(o.done) && typeof o.t === 'string' && Array.isArray(o.k)) {
      return p as SnapshotPosition;
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
