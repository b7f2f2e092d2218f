/**
 * The snapshot reader: every captured table in primary-key order, each by one
 * `COPY (SELECT … ORDER BY key) TO STDOUT` (text format), inside one
 * REPEATABLE READ transaction. For the initial snapshot that transaction
 * adopts the snapshot the replication slot exported, so the rows are exactly
 * the database at the slot's consistent point and CDC continues from there:
 * no gap, no duplicate.
 *
 * The rows stream: each is decoded as it arrives (see {@link RowDecoder}) and
 * queued; while the queue holds about QUEUE_BYTES of row text (or
 * `snapshot.fetchSize` rows) the socket is paused, so the server waits and
 * the heap stays small, and reading resumes once half of it was handed out.
 * The server's work overlaps ours without a round trip per chunk.
 *
 * A resumed snapshot (after a crash) cannot get that snapshot back: it reads
 * the rest of the table (keys after the last one stored) under a new snapshot,
 * and CDC then replays changes from the consistent point. Rows changed in
 * between may arrive twice, older after newer, and converge when CDC catches
 * up: at-least-once, never a gap.
 */
import type pg from 'pg';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../log/logger.js';
import type { SnapshotProgress } from '../../sdk/connector.js';
import { Operation, type OpenCDCRecord, type StructuredData, type StructuredValue } from '../../opencdc/record.js';
import { quoteIdent, type TableInfo } from './catalog.js';
import { decodeText, type TypeRegistry } from './types.js';

/**
 * What every record of a table shares, from the source when the table starts: `positionHead`, the position
 * up to the key (`{"m":"s",…,"k":`; the key values as Postgres printed them, as JSON, and `}` follow), and
 * the metadata (each record gets its own copy).
 */
export interface TableRecords {
  readonly positionHead: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Row text queued before the socket is paused (it is a few times that in the heap). The rows wait for the
 * engine in the young generation and are mostly gone before they could be promoted.
 */
const QUEUE_BYTES = 512 << 10;

interface TableProgress {
  readonly table: TableInfo;
  /** Resume after these key values (text), or from the start. */
  readonly after: readonly string[] | undefined;
}

/** {@link TableRecords} of a table; `finished`: the tables done before it. */
export type TableStart = (table: TableInfo, finished: readonly string[]) => Promise<TableRecords>;

export class SnapshotReader {
  private idx = 0;
  private copy: CopyOut | undefined;
  private done = 0;
  private estimate = 0;
  private lastReport = 0;

  /** Per table: rows read (by this reader: a resumed table counts from where it resumed), the estimate, done. */
  private readonly stats: Array<{ collection: string; rows: number; estimatedRows: number; done: boolean }>;

  constructor(
    private readonly client: pg.Client,
    private readonly tables: readonly TableProgress[],
    private readonly fetchSize: number,
    private readonly types: TypeRegistry | undefined,
    private readonly logger: Logger,
    private readonly tableStart: TableStart,
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
    // A table is one COPY, as long as the pipeline takes to read it: a statement_timeout set for the role
    // or the database would cancel it.
    await this.client.query('SET LOCAL statement_timeout = 0');
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
  async next(max: number): Promise<OpenCDCRecord[]> {
    for (;;) {
      const progress = this.tables[this.idx];
      if (progress === undefined) return [];
      const copy = this.copy ?? (await this.openCopy(progress));
      const rows = await copy.take(max);
      if (rows.length > 0) {
        this.done += rows.length;
        this.stat().rows = this.done;
        this.report(progress.table);
        return rows;
      }
      this.copy = undefined;
      this.logger.info('postgres: snapshot of a table done', { table: progress.table.collection, rows: this.done });
      this.stat().done = true;
      this.idx++;
    }
  }

  async end(): Promise<void> {
    await this.client.query('COMMIT');
  }

  private async openCopy(progress: TableProgress): Promise<CopyOut> {
    const t = progress.table;
    const cols = t.columns.map((c) => quoteIdent(c.name)).join(', ');
    const key = t.key.map(quoteIdent).join(', ');
    const byName = new Map(t.columns.map((c, i) => [c.name, i]));
    let where = '';
    if (progress.after !== undefined) {
      // Compare as the key's own types: each text value is cast to its column's type. COPY takes no
      // parameters, so the values are literals (escapeLiteral copes with any text).
      const casts = t.key.map((k, i) => {
        const type = t.columns[byName.get(k) as number]?.typeName ?? 'text';
        return `CAST(${this.client.escapeLiteral(progress.after?.[i] as string)} AS ${type})`;
      });
      where = ` WHERE (${key}) > (${casts.join(', ')})`;
    }
    this.done = 0;
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
    const decoder = new RowDecoder(t, this.types, await this.tableStart(t, this.finished()));
    const copy = new CopyOut(
      `COPY (SELECT ${cols} FROM ${t.sql}${where} ORDER BY ${key}) TO STDOUT`,
      decoder,
      this.fetchSize,
    );
    // Errors surface through take().
    this.client.query(copy);
    this.copy = copy;
    return copy;
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

/**
 * A `COPY … TO STDOUT` run as a pg "submittable": pg hands each CopyData message (one row of text format)
 * to {@link handleCopyData}, which decodes it at once (the bytes are pg's buffer, reused later). Rows
 * queue until taken; a full queue pauses the socket.
 */
class CopyOut implements pg.Submittable {
  private queue: OpenCDCRecord[] = [];
  private queuedBytes = 0;
  private paused = false;
  private finished = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private socket: Duplex | undefined;

  constructor(
    private readonly text: string,
    private readonly decoder: RowDecoder,
    private readonly maxRows: number,
  ) {}

  // ── pg's submittable interface ──
  submit(connection: pg.Connection): void {
    this.socket = connection.stream;
    connection.query(this.text);
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.error !== undefined) return;
    const b = msg.chunk;
    try {
      this.queue.push(this.decoder.decode(b));
    } catch (err) {
      // Thrown here it would escape through the socket's data event: take() throws it instead, after the
      // rows before it. The rest of the COPY is dropped; the source is torn down and retried.
      this.error = err instanceof Error ? err : new Error(String(err));
      this.resume();
    }
    this.queuedBytes += b.length;
    if (!this.paused && (this.queuedBytes >= QUEUE_BYTES || this.queue.length >= this.maxRows)) {
      this.paused = true;
      this.socket?.pause();
    }
    const wake = this.wake;
    if (wake !== undefined) {
      this.wake = undefined;
      wake();
    }
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.finish(undefined);
  }

  handleError(err: Error): void {
    this.finish(err);
  }

  handleEmptyQuery(): void {}

  handleRowDescription(): void {}

  handleDataRow(): void {}

  private finish(err: Error | undefined): void {
    this.finished = true;
    this.error ??= err;
    this.resume();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket?.resume();
  }

  /** Up to `max` rows; none once the COPY is complete. Throws the COPY's error. */
  async take(max: number): Promise<OpenCDCRecord[]> {
    while (this.queue.length === 0) {
      if (this.error !== undefined) throw this.error;
      if (this.finished) return [];
      this.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const queue = this.queue;
    let out: OpenCDCRecord[];
    if (max >= queue.length) {
      out = queue;
      this.queue = [];
      this.queuedBytes = 0;
    } else {
      // The rest moves to a new array: the old one would keep every row handed out alive.
      out = queue.slice(0, max);
      this.queue = queue.slice(max);
      this.queuedBytes = Math.round((this.queuedBytes * this.queue.length) / queue.length);
    }
    if (this.paused && this.queuedBytes < QUEUE_BYTES / 2 && this.queue.length < this.maxRows / 2) this.resume();
    return out;
  }
}

// Column kinds with a decoder of their own; everything else goes through decodeText.
const K_OTHER = 0;
const K_TEXT = 1;
const K_INT = 2;
const K_INT8 = 3;
const K_BOOL = 4;
const K_TIMESTAMPTZ = 5;
const K_TIMESTAMP = 6;

/** Type OIDs whose decodeText is the text itself. */
const AS_TEXT = new Set([25, 1043, 1042, 19, 18, 2950, 114, 3802, 1700, 1082, 1083, 1266, 1186]);
/** int2, int4, oid, xid, cid: always within a number's exact range. */
const AS_INT = new Set([21, 23, 26, 28, 29]);

const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: (this: Buffer, start: number, end: number) => string })
  .utf8Slice;

/** Where a resumed table's escaped fields are unescaped (grows with the longest). */
let scratch = Buffer.allocUnsafe(4096);

/** A slab the positions are cut from (each a view: no allocation per row). */
const SLAB_BYTES = 64 << 10;

/**
 * Decodes a row of COPY text format (fields split by tabs, `\N` for NULL, backslash escapes) into record
 * values, exactly as {@link decodeText} decodes the same values printed in a query's text result, and
 * builds the row's position. Integers, booleans and text are decoded straight from the bytes; a decoder
 * kind per column is chosen once per table.
 */
export class RowDecoder {
  private readonly names: string[];
  private readonly kinds: Uint8Array;
  private readonly oids: number[];
  /** Index in the columns of each primary-key column. */
  private readonly keyIdx: number[];
  private readonly head: Buffer;
  /** A copy of the table's metadata: one object literal. */
  private readonly makeMetadata: () => Record<string, string>;
  private slab: Buffer = Buffer.alloc(0);
  private slabOff = 0;
  /** The decoded values of the row at hand, by column. */
  private readonly vals: StructuredValue[];
  /** Build a row's payload and key from its values: objects of one shape, each built by one literal. */
  private readonly makeRow: (vals: readonly StructuredValue[]) => StructuredData;
  private readonly makeKey: (vals: readonly StructuredValue[]) => StructuredData;
  /** Per column: its index in the primary key, or -1. */
  private readonly keyOf: Int8Array;
  /** Each key column's field: start and end in the row. */
  private readonly keyStart: Int32Array;
  private readonly keyEnd: Int32Array;

  constructor(
    table: TableInfo,
    private readonly types: TypeRegistry | undefined,
    shared: TableRecords,
  ) {
    const cols = table.columns;
    this.names = cols.map((c) => c.name);
    this.oids = cols.map((c) => c.typeOid);
    this.kinds = Uint8Array.from(cols, (c) =>
      AS_TEXT.has(c.typeOid)
        ? K_TEXT
        : AS_INT.has(c.typeOid)
          ? K_INT
          : c.typeOid === 20 || c.typeOid === 5069
            ? K_INT8
            : c.typeOid === 16
              ? K_BOOL
              : c.typeOid === 1184
                ? K_TIMESTAMPTZ
                : c.typeOid === 1114
                  ? K_TIMESTAMP
                  : K_OTHER,
    );
    const byName = new Map(this.names.map((n, i) => [n, i]));
    this.keyIdx = table.key.map((k) => byName.get(k) as number);
    this.keyStart = new Int32Array(this.keyIdx.length);
    this.keyEnd = new Int32Array(this.keyIdx.length);
    this.vals = new Array<StructuredValue>(cols.length).fill(null);
    this.makeRow = objectMaker(this.names.map((n, i) => [n, i]));
    this.makeKey = objectMaker(this.keyIdx.map((i) => [this.names[i] as string, i]));
    this.keyOf = new Int8Array(cols.length).fill(-1);
    this.keyIdx.forEach((c, j) => (this.keyOf[c] = j));
    this.head = Buffer.from(shared.positionHead, 'utf8');
    this.makeMetadata = constantObjectMaker(shared.metadata);
  }

  /** One row: the CopyData message's bytes (the row's text and its newline). */
  decode(b: Buffer): OpenCDCRecord {
    const names = this.names;
    const kinds = this.kinds;
    const keyOf = this.keyOf;
    const ncols = names.length;
    const end = b.length - 1; // the newline
    // A row without a backslash has no escape and no NULL (\N): every field is its bytes.
    const plain = b.indexOf(92) === -1;
    const vals = this.vals;
    let s = 0;
    for (let c = 0; c < ncols; c++) {
      if (s > end) throw new Error(`postgres: a COPY row has fewer fields than the ${ncols} columns`);
      const kind = kinds[c];
      let e: number;
      let v: StructuredValue;
      if (plain && (kind === K_INT || kind === K_INT8)) {
        // Scan and parse at once: an optional minus, digits, up to the tab.
        e = s;
        const neg = b[e] === 45;
        if (neg) e++;
        let n = 0;
        for (; e < end; e++) {
          const x = b[e] as number;
          if (x === 9) break;
          n = n * 10 + (x - 48);
        }
        // int8: up to 15 characters (sign included) is a safe integer; longer ones as decodeText has them.
        v = e - s < 16 ? (neg ? -n : n) : decodeText(this.oids[c] as number, utf8Slice.call(b, s, e));
      } else if (plain) {
        e = b.indexOf(9, s);
        if (e === -1 || e > end) e = end;
        v =
          kind === K_TEXT
            ? utf8Slice.call(b, s, e)
            : kind === K_BOOL
              ? b[s] === 116
              : ((kind === K_TIMESTAMPTZ || kind === K_TIMESTAMP) && rfc3339(b, s, e, kind === K_TIMESTAMPTZ)) ||
                decodeText(this.oids[c] as number, utf8Slice.call(b, s, e), this.types);
      } else {
        e = s;
        let escaped = false;
        for (; e < end; e++) {
          const x = b[e] as number;
          if (x === 9) break;
          if (x === 92) escaped = true;
        }
        v = e - s === 2 && b[s] === 92 && b[s + 1] === 78 ? null : this.decodeField(c, b, s, e, escaped);
      }
      vals[c] = v;
      const j = keyOf[c] as number;
      if (j >= 0) {
        this.keyStart[j] = s;
        this.keyEnd[j] = e;
      }
      s = e + 1;
    }
    return {
      position: this.position(b),
      operation: Operation.Snapshot,
      metadata: this.makeMetadata(),
      key: this.makeKey(vals),
      payload: { before: null, after: this.makeRow(vals) },
    };
  }

  /** A field of a row with a backslash somewhere (the slow path): `escaped` when this field has one. */
  private decodeField(c: number, b: Buffer, s: number, e: number, escaped: boolean): StructuredValue {
    const text = escaped ? unescape(b, s, e) : utf8Slice.call(b, s, e);
    switch (this.kinds[c]) {
      case K_TEXT:
        return text;
      case K_BOOL:
        return text === 't';
      default:
        return decodeText(this.oids[c] as number, text, this.types);
    }
  }

  /**
   * `head` + the key values as a JSON array of strings + `}`: what `Buffer.from(head + JSON.stringify(keyText)
   * + '}')` gives. Key bytes that JSON writes as they are (no quote, backslash, control character) are
   * copied; otherwise the text goes through JSON.stringify.
   */
  private position(b: Buffer): Buffer {
    const nkeys = this.keyIdx.length;
    let plain = true;
    let n = this.head.length + 3;
    for (let j = 0; j < nkeys && plain; j++) {
      const s = this.keyStart[j] as number;
      const e = this.keyEnd[j] as number;
      for (let i = s; i < e && plain; i++) {
        const x = b[i] as number;
        if (x < 0x20 || x === 0x22 || x === 0x5c) plain = false;
      }
      n += e - s + 3;
    }
    if (!plain) {
      const texts: string[] = [];
      for (let j = 0; j < nkeys; j++) texts.push(unescape(b, this.keyStart[j] as number, this.keyEnd[j] as number));
      const tail = Buffer.from(`${JSON.stringify(texts)}}`, 'utf8');
      return Buffer.concat([this.head, tail]);
    }
    if (this.slab.length - this.slabOff < n) {
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, n));
      this.slabOff = 0;
    }
    const out = this.slab;
    const start = this.slabOff;
    let o = start + this.head.copy(out, start);
    out[o++] = 0x5b; // [
    for (let j = 0; j < nkeys; j++) {
      if (j > 0) out[o++] = 0x2c; // ,
      out[o++] = 0x22;
      const s = this.keyStart[j] as number;
      const e = this.keyEnd[j] as number;
      for (let i = s; i < e; i++) out[o++] = b[i] as number;
      out[o++] = 0x22;
    }
    out[o++] = 0x5d; // ]
    out[o++] = 0x7d; // }
    this.slabOff = (o + 7) & ~7;
    return out.subarray(start, o);
  }
}

const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice: (this: Buffer, start: number, end: number) => string }
).latin1Slice;
const stamp = Buffer.allocUnsafe(64);

/**
 * What decodeText makes of a timestamptz in UTC (`2024-01-02 03:04:05.5+00` → `2024-01-02T03:04:05.5Z`) or
 * of a timestamp (`2024-01-02 03:04:05.5` → `2024-01-02T03:04:05.5`), straight from the bytes into one flat
 * string; '' for anything else (another offset, infinity, BC), which decodeText handles.
 */
function rfc3339(b: Buffer, s: number, e: number, utc: boolean): string {
  const n = e - s;
  if (n < 19 || n > stamp.length) return '';
  const first = b[s] as number;
  if (first < 48 || first > 57) return ''; // infinity, -infinity
  let m = n;
  if (utc) {
    if (b[e - 3] !== 43 || b[e - 2] !== 48 || b[e - 1] !== 48) return ''; // +00 (BC ends in C)
    m = n - 3;
  } else if (b[e - 1] === 67) return ''; // BC
  let sp = -1;
  for (let i = 0; i < m; i++) {
    const x = b[s + i] as number;
    if (x === 32 && sp < 0) {
      sp = i;
      stamp[i] = 84; // T
    } else stamp[i] = x;
  }
  if (sp < 0) return '';
  if (!utc) return latin1Slice.call(stamp, 0, m);
  stamp[m] = 90; // Z
  return latin1Slice.call(stamp, 0, m + 1);
}

/**
 * A function that builds `{name: vals[i], …}` for these fields with one object literal (a row's columns are
 * known once per table): much cheaper than adding the properties one by one under names that vary.
 */
function objectMaker(
  fields: ReadonlyArray<readonly [string, number]>,
): (vals: readonly StructuredValue[]) => StructuredData {
  // A computed key defines an own property even for `__proto__` (a literal one would set the prototype).
  const props = fields.map(([name, i]) => `${name === '__proto__' ? '["__proto__"]' : JSON.stringify(name)}: v[${i}]`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('v', `return {${props.join(', ')}};`) as (vals: readonly StructuredValue[]) => StructuredData;
}

/**
 * A function that returns a new copy of `o` (string values) with one object literal. The engine adds its
 * own keys to each record's metadata: a copy built by a literal takes them quickly, where a spread copy
 * (`{...o}`) has a map without transitions and each key added costs microseconds.
 */
function constantObjectMaker(o: Readonly<Record<string, string>>): () => Record<string, string> {
  const props = Object.entries(o).map(
    ([k, v]) => `${k === '__proto__' ? '["__proto__"]' : JSON.stringify(k)}: ${JSON.stringify(v)}`,
  );
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`return {${props.join(', ')}};`) as () => Record<string, string>;
}

/**
 * A field of COPY text format as its text: `\b \f \n \r \t \v`, `\` + 1–3 octal digits, `\x` + 1–2 hex
 * digits, and `\` before any other character stands for that character.
 */
function unescape(b: Buffer, s: number, e: number): string {
  if (scratch.length < e - s) scratch = Buffer.allocUnsafe(Math.max(e - s, scratch.length * 2));
  const out = scratch;
  let o = 0;
  for (let i = s; i < e; i++) {
    const x = b[i] as number;
    if (x !== 92 || i + 1 >= e) {
      out[o++] = x;
      continue;
    }
    const y = b[++i] as number;
    switch (y) {
      case 98: // b
        out[o++] = 8;
        break;
      case 102: // f
        out[o++] = 12;
        break;
      case 110: // n
        out[o++] = 10;
        break;
      case 114: // r
        out[o++] = 13;
        break;
      case 116: // t
        out[o++] = 9;
        break;
      case 118: // v
        out[o++] = 11;
        break;
      case 120: {
        // x: hex
        let v = 0;
        let d = 0;
        for (; d < 2 && i + 1 < e && hexValue(b[i + 1] as number) >= 0; d++) v = v * 16 + hexValue(b[++i] as number);
        out[o++] = d === 0 ? 120 : v;
        break;
      }
      default:
        if (y >= 48 && y <= 55) {
          let v = y - 48;
          for (let d = 1; d < 3 && i + 1 < e && (b[i + 1] as number) >= 48 && (b[i + 1] as number) <= 55; d++) {
            v = v * 8 + ((b[++i] as number) - 48);
          }
          out[o++] = v & 0xff;
        } else {
          out[o++] = y;
        }
    }
  }
  return utf8Slice.call(out, 0, o);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
