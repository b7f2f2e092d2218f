/**
 * A decoder of the pgoutput logical replication protocol (version 1, and the
 * streaming messages of version 2), and of the replication protocol's CopyData
 * envelope around it. Pure functions from bytes to values, no I/O.
 *
 * Layers, outermost first:
 * - CopyData from the walsender: {@link decodeCopyData} gives XLogData ('w',
 *   whose `data` is one pgoutput message) or a primary keepalive ('k');
 *   {@link encodeStandbyStatus} builds our reply ('r').
 * - pgoutput: {@link PgOutputDecoder} (or {@link decodePgOutput}) turns one
 *   message into a {@link PgOutputMessage}.
 * - Column values stay Postgres' text; `types.ts`'s `decodeText` maps them
 *   with the Relation message's column type OIDs.
 *
 * Tuples ({@link TupleData}) hold one entry per column of the relation, in
 * the Relation message's column order, as two parallel arrays: `kinds[i]` is
 * the protocol's byte for column i ({@link TupleKind}) and `values[i]` its
 * value:
 * - `TupleKind.Text` ('t'): the value in text format, a `string`;
 * - `TupleKind.Null` ('n'): SQL NULL, `null`;
 * - `TupleKind.Unchanged` ('u'): a TOASTed value the change did not touch,
 *   which pgoutput does not send (only in an update's new tuple), `null`;
 * - `TupleKind.Binary` ('b'): the value in binary format (only with the
 *   `binary 'true'` option), a `Buffer` (a copy, safe to keep).
 *
 * LSNs and WAL positions are bigint; times are bigint microseconds since
 * 2000-01-01 00:00 UTC (see {@link pgTimeToDate}).
 *
 * Protocol reference: https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
 */

/** What a tuple's column holds: the protocol's byte for it. */
export const TupleKind = {
  /** 't': text format; the value is a string. */
  Text: 0x74,
  /** 'n': SQL NULL; the value is null. */
  Null: 0x6e,
  /** 'u': an unchanged TOASTed value that was not sent; the value is null. */
  Unchanged: 0x75,
  /** 'b': binary format; the value is a Buffer. */
  Binary: 0x62,
} as const;
export type TupleKind = (typeof TupleKind)[keyof typeof TupleKind];

/** A row: for column i (in the Relation message's order) its kind and its value. */
export interface TupleData {
  /** One {@link TupleKind} per column. */
  kinds: Uint8Array;
  /** One value per column: string for Text, Buffer for Binary, null for Null and Unchanged. */
  values: (string | Buffer | null)[];
}

/** Relation column flag: the column is part of the replica identity (the key). */
export const COLUMN_FLAG_KEY = 1;
/** Truncate option flags. */
export const TRUNCATE_CASCADE = 1;
export const TRUNCATE_RESTART_IDENTITY = 2;

/** `d` default (primary key), `n` nothing, `f` full (every column), `i` index. */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

export interface BeginMessage {
  type: 'begin';
  /** The LSN of the commit record. */
  finalLsn: bigint;
  commitTime: bigint;
  xid: number;
}

export interface CommitMessage {
  type: 'commit';
  flags: number;
  /** The LSN of the commit record. */
  commitLsn: bigint;
  /** The end of the commit record: where to resume after this transaction. */
  endLsn: bigint;
  commitTime: bigint;
}

/** The transaction came from another node through replication origin `name`. */
export interface OriginMessage {
  type: 'origin';
  /** The commit LSN on the origin server. */
  originLsn: bigint;
  name: string;
}

export interface TypeMessage {
  type: 'type';
  /** Set inside a stream block (protocol 2), else undefined. */
  xid?: number;
  typeOid: number;
  /** The schema; `pg_catalog` (which pgoutput sends as the empty string). */
  namespace: string;
  name: string;
}

export interface RelationColumn {
  /** {@link COLUMN_FLAG_KEY} when the column is part of the key. */
  flags: number;
  name: string;
  typeOid: number;
  /** `atttypmod`: -1 when the type has none. */
  typeMod: number;
}

/** A table's shape; sent before the first change to it in a session, and again after it changes. */
export interface RelationMessage {
  type: 'relation';
  xid?: number;
  relationId: number;
  namespace: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

export interface InsertMessage {
  type: 'insert';
  xid?: number;
  relationId: number;
  newTuple: TupleData;
}

export interface UpdateMessage {
  type: 'update';
  xid?: number;
  relationId: number;
  /** The old key columns ('K'; the others null), when the key changed and the replica identity is default or index. */
  keyTuple?: TupleData;
  /** The whole old row ('O'), with REPLICA IDENTITY FULL. */
  oldTuple?: TupleData;
  newTuple: TupleData;
}

export interface DeleteMessage {
  type: 'delete';
  xid?: number;
  relationId: number;
  /** The key columns ('K'; the others null), with replica identity default or index. */
  keyTuple?: TupleData;
  /** The whole old row ('O'), with REPLICA IDENTITY FULL. */
  oldTuple?: TupleData;
}

export interface TruncateMessage {
  type: 'truncate';
  xid?: number;
  /** {@link TRUNCATE_CASCADE} | {@link TRUNCATE_RESTART_IDENTITY}. */
  options: number;
  relationIds: number[];
}

/** A `pg_logical_emit_message` (needs the `messages 'true'` option). */
export interface LogicalMessage {
  type: 'message';
  xid?: number;
  transactional: boolean;
  lsn: bigint;
  prefix: string;
  /** A copy, safe to keep. */
  content: Buffer;
}

/** Protocol 2: the changes that follow, until stream stop, belong to the in-progress transaction `xid`. */
export interface StreamStartMessage {
  type: 'stream-start';
  xid: number;
  /** The first block of this transaction. */
  first: boolean;
}

export interface StreamStopMessage {
  type: 'stream-stop';
}

export interface StreamCommitMessage {
  type: 'stream-commit';
  xid: number;
  flags: number;
  commitLsn: bigint;
  endLsn: bigint;
  commitTime: bigint;
}

/** Protocol 2: the streamed (sub)transaction aborted; drop what was streamed for `subXid` (all of `xid` when equal). */
export interface StreamAbortMessage {
  type: 'stream-abort';
  xid: number;
  subXid: number;
  /** Protocol 4 (Postgres 16+, parallel streaming) only. */
  abortLsn?: bigint;
  abortTime?: bigint;
}

export type PgOutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | TypeMessage
  | RelationMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage
  | StreamStartMessage
  | StreamStopMessage
  | StreamCommitMessage
  | StreamAbortMessage;

/**
 * A pgoutput decoder that knows whether it is inside a stream block (between
 * stream start and stream stop), where protocol 2 puts a transaction id in
 * front of changes. One per replication stream.
 *
 * @example
 * const decoder = new PgOutputDecoder();
 * const m = decoder.decode(xlog.data);
 * if (m.type === 'insert' && m.newTuple.kinds[0] === TupleKind.Text) {
 *   decodeText(relation.columns[0].typeOid, m.newTuple.values[0] as string, types);
 * }
 */
export class PgOutputDecoder {
  #inStream = false;

  /** Inside a stream block. */
  get inStream(): boolean {
    return this.#inStream;
  }

  /** Decodes one pgoutput message (the data of one XLogData). Throws on an unknown or truncated message. */
  decode(msg: Buffer): PgOutputMessage {
    const m = decodePgOutput(msg, this.#inStream);
    if (m.type === 'stream-start') this.#inStream = true;
    else if (m.type === 'stream-stop') this.#inStream = false;
    return m;
  }
}

// The message being decoded and the read position in it. Decoding is
// synchronous and never re-entered, so module state saves passing them around.
const EMPTY = Buffer.alloc(0);
let b: Buffer = EMPTY;
let p = 0;

/**
 * Decodes one pgoutput message. `inStream` says whether it sits between a
 * stream start and a stream stop (see {@link PgOutputDecoder}, which tracks
 * it). Throws on an unknown message type or a truncated message.
 */
export function decodePgOutput(msg: Buffer, inStream = false): PgOutputMessage {
  if (msg.length === 0) throw new Error('pgoutput: empty message');
  b = msg;
  p = 1;
  const tag = msg[0]!;
  let m: PgOutputMessage;
  switch (tag) {
    case 0x49 /* I */: {
      const xid = inStream ? u32() : undefined;
      const relationId = u32();
      expect(0x4e /* N */);
      m = { type: 'insert', xid, relationId, newTuple: tuple() };
      break;
    }
    case 0x55 /* U */: {
      const xid = inStream ? u32() : undefined;
      const relationId = u32();
      let keyTuple: TupleData | undefined;
      let oldTuple: TupleData | undefined;
      const k = u8();
      if (k === 0x4b /* K */) keyTuple = tuple();
      else if (k === 0x4f /* O */) oldTuple = tuple();
      else p--;
      expect(0x4e /* N */);
      m = { type: 'update', xid, relationId, keyTuple, oldTuple, newTuple: tuple() };
      break;
    }
    case 0x44 /* D */: {
      const xid = inStream ? u32() : undefined;
      const relationId = u32();
      const k = u8();
      if (k !== 0x4b && k !== 0x4f) fail(`delete: expected 'K' or 'O', got ${byteName(k)}`);
      const t = tuple();
      m = {
        type: 'delete',
        xid,
        relationId,
        keyTuple: k === 0x4b ? t : undefined,
        oldTuple: k === 0x4f ? t : undefined,
      };
      break;
    }
    case 0x42 /* B */:
      m = { type: 'begin', finalLsn: lsn(), commitTime: i64(), xid: u32() };
      break;
    case 0x43 /* C */:
      m = { type: 'commit', flags: u8(), commitLsn: lsn(), endLsn: lsn(), commitTime: i64() };
      break;
    case 0x52 /* R */: {
      const xid = inStream ? u32() : undefined;
      const relationId = u32();
      const namespace = cstring() || 'pg_catalog';
      const name = cstring();
      const ri = u8();
      if (ri !== 0x64 && ri !== 0x6e && ri !== 0x66 && ri !== 0x69) fail(`relation: replica identity ${byteName(ri)}`);
      const n = u16();
      const columns: RelationColumn[] = new Array<RelationColumn>(n);
      for (let i = 0; i < n; i++) {
        columns[i] = { flags: u8(), name: cstring(), typeOid: u32(), typeMod: i32() };
      }
      m = {
        type: 'relation',
        xid,
        relationId,
        namespace,
        name,
        replicaIdentity: String.fromCharCode(ri) as ReplicaIdentity,
        columns,
      };
      break;
    }
    case 0x59 /* Y */: {
      const xid = inStream ? u32() : undefined;
      m = { type: 'type', xid, typeOid: u32(), namespace: cstring() || 'pg_catalog', name: cstring() };
      break;
    }
    case 0x4f /* O */:
      m = { type: 'origin', originLsn: lsn(), name: cstring() };
      break;
    case 0x54 /* T */: {
      const xid = inStream ? u32() : undefined;
      const n = u32();
      const options = u8();
      need(n * 4);
      const relationIds = new Array<number>(n);
      for (let i = 0; i < n; i++) relationIds[i] = u32();
      m = { type: 'truncate', xid, options, relationIds };
      break;
    }
    case 0x4d /* M */: {
      const xid = inStream ? u32() : undefined;
      const flags = u8();
      const at = lsn();
      const prefix = cstring();
      const len = u32();
      need(len);
      const content = Buffer.from(b.subarray(p, p + len));
      p += len;
      m = { type: 'message', xid, transactional: (flags & 1) !== 0, lsn: at, prefix, content };
      break;
    }
    case 0x53 /* S */:
      m = { type: 'stream-start', xid: u32(), first: u8() === 1 };
      break;
    case 0x45 /* E */:
      m = { type: 'stream-stop' };
      break;
    case 0x63 /* c */:
      m = { type: 'stream-commit', xid: u32(), flags: u8(), commitLsn: lsn(), endLsn: lsn(), commitTime: i64() };
      break;
    case 0x41 /* A */: {
      const xid = u32();
      const subXid = u32();
      if (b.length - p >= 16) m = { type: 'stream-abort', xid, subXid, abortLsn: lsn(), abortTime: i64() };
      else m = { type: 'stream-abort', xid, subXid };
      break;
    }
    default:
      throw new Error(`pgoutput: unknown message type ${byteName(tag)}`);
  }
  if (p !== b.length) fail(`${m.type}: ${b.length - p} bytes left over`);
  b = EMPTY; // hold no socket buffer between messages
  return m;
}

// Buffer#toString without its argument checks: this runs once per column value.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: (this: Buffer, start: number, end: number) => string })
  .utf8Slice;

function tuple(): TupleData {
  const n = u16();
  const kinds = new Uint8Array(n);
  const values = new Array<string | Buffer | null>(n);
  for (let i = 0; i < n; i++) {
    const kind = b[p++];
    if (kind === 0x74 /* t */) {
      const len = u32();
      const end = p + len;
      if (end > b.length) truncated();
      values[i] = utf8Slice.call(b, p, end);
      p = end;
    } else if (kind === 0x6e /* n */ || kind === 0x75 /* u */) values[i] = null;
    else if (kind === 0x62 /* b */) {
      const len = u32();
      need(len);
      values[i] = Buffer.from(b.subarray(p, p + len));
      p += len;
    } else if (kind === undefined) truncated();
    else fail(`tuple: unknown column kind ${byteName(kind)}`);
    kinds[i] = kind;
  }
  return { kinds, values };
}

function need(n: number): void {
  if (p + n > b.length) truncated();
}

function u8(): number {
  if (p >= b.length) truncated();
  return b[p++]!;
}

function u16(): number {
  need(2);
  const v = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  return v;
}

function u32(): number {
  need(4);
  const v = b.readUInt32BE(p);
  p += 4;
  return v;
}

function i32(): number {
  need(4);
  const v = b.readInt32BE(p);
  p += 4;
  return v;
}

function lsn(): bigint {
  need(8);
  const v = b.readBigUInt64BE(p);
  p += 8;
  return v;
}

function i64(): bigint {
  need(8);
  const v = b.readBigInt64BE(p);
  p += 8;
  return v;
}

/** A NUL-terminated UTF-8 string. */
function cstring(): string {
  const end = b.indexOf(0, p);
  if (end < 0) truncated();
  const s = utf8Slice.call(b, p, end);
  p = end + 1;
  return s;
}

function expect(tag: number): void {
  const got = u8();
  if (got !== tag) fail(`expected ${byteName(tag)}, got ${byteName(got)}`);
}

function byteName(c: number): string {
  const hex = `0x${c.toString(16).padStart(2, '0')}`;
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}' (${hex})` : hex;
}

function fail(why: string): never {
  throw new Error(`pgoutput: malformed ${byteName(b[0] ?? 0)} message at byte ${p}: ${why}`);
}

function truncated(): never {
  fail(`truncated (${b.length} bytes)`);
}

// ---------------------------------------------------------------------------
// The replication protocol's CopyData messages.

/** 'w': WAL data; `data` is one pgoutput message. */
export interface XLogData {
  type: 'xlog';
  /** The WAL position of the record this message comes from. */
  walStart: bigint;
  /** The end of WAL on the server. */
  walEnd: bigint;
  serverTime: bigint;
  /** A view into the input buffer, not a copy: copy it to keep it past the input's lifetime. */
  data: Buffer;
}

/** 'k': the server is alive; answer at once with a status update when `replyRequested`. */
export interface PrimaryKeepalive {
  type: 'keepalive';
  walEnd: bigint;
  serverTime: bigint;
  replyRequested: boolean;
}

export type CopyDataMessage = XLogData | PrimaryKeepalive;

/** Decodes one CopyData message of START_REPLICATION. Throws on other kinds. */
export function decodeCopyData(buf: Buffer): CopyDataMessage {
  const kind = buf[0];
  if (kind === 0x77 /* w */) {
    if (buf.length < 25) throw new Error(`replication: XLogData of ${buf.length} bytes is truncated`);
    return {
      type: 'xlog',
      walStart: buf.readBigUInt64BE(1),
      walEnd: buf.readBigUInt64BE(9),
      serverTime: buf.readBigInt64BE(17),
      data: buf.subarray(25),
    };
  }
  if (kind === 0x6b /* k */) {
    if (buf.length < 18) throw new Error(`replication: keepalive of ${buf.length} bytes is truncated`);
    return {
      type: 'keepalive',
      walEnd: buf.readBigUInt64BE(1),
      serverTime: buf.readBigInt64BE(9),
      replyRequested: buf[17] === 1,
    };
  }
  throw new Error(`replication: unknown CopyData message ${kind === undefined ? '(empty)' : byteName(kind)}`);
}

export interface StandbyStatus {
  /** Received and written (the last WAL position received). */
  write: bigint;
  /** Flushed: what the slot may release (its confirmed_flush_lsn). */
  flush: bigint;
  /** Applied. */
  apply: bigint;
  /** Our clock, microseconds since 2000-01-01; now when omitted. */
  clock?: bigint;
  /** Ask the server to answer at once. */
  replyRequested?: boolean;
}

/** Encodes a standby status update ('r', 34 bytes) to send as CopyData. */
export function encodeStandbyStatus(s: StandbyStatus): Buffer {
  const out = Buffer.allocUnsafe(34);
  out[0] = 0x72; // r
  out.writeBigUInt64BE(s.write, 1);
  out.writeBigUInt64BE(s.flush, 9);
  out.writeBigUInt64BE(s.apply, 17);
  out.writeBigInt64BE(s.clock ?? pgTimeNow(), 25);
  out[33] = s.replyRequested === true ? 1 : 0;
  return out;
}

// ---------------------------------------------------------------------------
// Times and LSNs.

/** 2000-01-01T00:00:00Z in Unix milliseconds: the Postgres epoch. */
export const PG_EPOCH_MS = 946_684_800_000;

/** Now, in microseconds since the Postgres epoch. */
export function pgTimeNow(): bigint {
  return BigInt(Date.now() - PG_EPOCH_MS) * 1000n;
}

/** A Postgres time (microseconds since 2000-01-01 UTC) as a Date (millisecond precision). */
export function pgTimeToDate(us: bigint): Date {
  return new Date(PG_EPOCH_MS + Number(us / 1000n));
}

const LSN_MAX = (1n << 64n) - 1n;

/** Formats an LSN the way Postgres prints it: `16/B374D848` (%X/%X). */
export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn > LSN_MAX) throw new RangeError(`LSN out of range: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** Parses an LSN as Postgres prints and accepts it (`16/B374D848`); throws on anything else. */
export function parseLsn(text: string): bigint {
  const m = LSN_TEXT.exec(text);
  if (m === null) throw new Error(`invalid LSN ${JSON.stringify(text)}: expected two hex numbers like 16/B374D848`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}
