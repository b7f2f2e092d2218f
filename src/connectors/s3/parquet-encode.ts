/**
 * A Parquet file writer for flat tables of optional columns, one row group, SNAPPY pages: the encoding
 * half of parquet.ts, with no knowledge of records.
 *
 * A column is written as it is added: its values go PLAIN (or as dictionary indexes) into a scratch buffer,
 * cut into data pages (v2) of about PAGE_BYTES, each page compressed and appended after its header; the
 * footer (schema, the row group's column chunks, the row count) is written by `finish`. The buffers are
 * module-level and reused from one file to the next: a batch allocates its output and little else.
 */
import { maxCompressedLength, snappyCompress } from './parquet-snappy.js';

/** A page is cut once its values take this many bytes (a value is never split). */
const PAGE_BYTES = 1 << 20;
/** Rows per page of dictionary indexes (at most 3 bytes each: a page stays small). */
const DICTIONARY_PAGE_ROWS = 1 << 18;
/** Scratch buffers grown beyond this are dropped after a file, not kept. */
const KEEP_BYTES = 16 << 20;

// The Thrift enums of parquet.thrift.
const TYPE = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const CONVERTED = { UTF8: 0, TIMESTAMP_MILLIS: 9, JSON: 19 } as const;
const OPTIONAL = 1;
const ENCODING = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;
const PAGE = { DICTIONARY: 2, DATA_V2: 3 } as const;
const SNAPPY = 1;

// The Thrift compact protocol's field types.
const T_TRUE = 1;
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
const T_STRUCT = 12;

export type PhysicalType = keyof typeof TYPE;
export type ConvertedType = keyof typeof CONVERTED;

/** A growable byte buffer. */
class Sink {
  buf: Buffer;
  off = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  reserve(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }

  /** Drops a buffer grown past KEEP_BYTES by one big file, and forgets the content. */
  reset(): void {
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafeSlow(1 << 16);
    this.off = 0;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** An unsigned varint of a non-negative integer below 2^53. */
  varint(v: number): void {
    this.reserve(8);
    const buf = this.buf;
    let n = v;
    while (n >= 0x80) {
      buf[this.off++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[this.off++] = n;
  }

  int32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.off);
    this.off += 4;
  }

  /** A string as Parquet's PLAIN BYTE_ARRAY: its UTF-8 length (4 bytes, little-endian), then its UTF-8. */
  plainString(s: string): void {
    this.reserve(4 + s.length * 3);
    const buf = this.buf;
    const at = this.off;
    const start = at + 4;
    let off = start;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        off = start + buf.write(s, start, 'utf8');
        break;
      }
      buf[off++] = c;
    }
    const n = off - start;
    buf[at] = n;
    buf[at + 1] = n >>> 8;
    buf[at + 2] = n >>> 16;
    buf[at + 3] = n >>> 24;
    this.off = off;
  }

  plainBytes(b: Uint8Array): void {
    this.reserve(4 + b.length);
    this.buf.writeUInt32LE(b.length, this.off);
    this.buf.set(b, this.off + 4);
    this.off += 4 + b.length;
  }
}

/** Thrift compact protocol, written into a sink: structs are opened and closed, fields written in order. */
class Thrift {
  private last = 0;
  private readonly stack: number[] = [];

  constructor(readonly out: Sink) {}

  private field(id: number, type: number): void {
    const delta = id - this.last;
    this.out.reserve(1);
    if (delta > 0 && delta <= 15) this.out.buf[this.out.off++] = (delta << 4) | type;
    else {
      this.out.buf[this.out.off++] = type;
      this.out.varint(zigzag(id));
    }
    this.last = id;
  }

  i32(id: number, v: number): void {
    this.field(id, T_I32);
    this.out.varint(zigzag(v));
  }

  i64(id: number, v: number): void {
    this.field(id, T_I64);
    this.out.varint(zigzag(v));
  }

  bool(id: number, v: boolean): void {
    this.field(id, v ? T_TRUE : T_TRUE + 1);
  }

  string(id: number, s: string): void {
    this.field(id, T_BINARY);
    const n = Buffer.byteLength(s);
    this.out.varint(n);
    this.out.reserve(n);
    this.out.off += this.out.buf.write(s, this.out.off, 'utf8');
  }

  /** Opens a struct as field `id` (or, with no id, as an element of a list of structs). */
  begin(id?: number): void {
    if (id !== undefined) this.field(id, T_STRUCT);
    this.stack.push(this.last);
    this.last = 0;
  }

  end(): void {
    this.out.reserve(1);
    this.out.buf[this.out.off++] = 0;
    this.last = this.stack.pop() as number;
  }

  list(id: number, elementType: 'i32' | 'string' | 'struct', size: number): void {
    this.field(id, T_LIST);
    const t = elementType === 'i32' ? T_I32 : elementType === 'string' ? T_BINARY : T_STRUCT;
    this.out.reserve(1);
    if (size < 15) this.out.buf[this.out.off++] = (size << 4) | t;
    else {
      this.out.buf[this.out.off++] = 0xf0 | t;
      this.out.varint(size);
    }
  }

  /** A list element (no field header). */
  element(v: number | string): void {
    if (typeof v === 'number') this.out.varint(zigzag(v));
    else {
      const n = Buffer.byteLength(v);
      this.out.varint(n);
      this.out.reserve(n);
      this.out.off += this.out.buf.write(v, this.out.off, 'utf8');
    }
  }
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

interface Chunk {
  name: string;
  type: PhysicalType;
  converted: ConvertedType | undefined;
  encodings: number[];
  offset: number;
  dictionaryOffset: number | undefined;
  dataOffset: number;
  compressed: number;
  uncompressed: number;
  nulls: number;
}

// Reused from file to file (the writer is synchronous: one file at a time).
const out = new Sink(1 << 20);
const values = new Sink(1 << 20);
const levels = new Sink(1 << 12);
let packed = Buffer.allocUnsafeSlow(maxCompressedLength(1 << 20));
/** A BYTE_ARRAY value, PLAIN: a string as UTF-8, or bytes. */
function putByteArray(v: string | Uint8Array): void {
  if (typeof v === 'string') values.plainString(v);
  else values.plainBytes(v);
}

/** The open-addressing table of `strings` (dictionary ids; -1: free). */
let slots = new Int32Array(1 << 12);
/** The dictionary index of each value of a `strings` column. */
let indexScratch = new Int32Array(1 << 12);

/**
 * One Parquet file of `rows` rows, written column by column. Every column is OPTIONAL (null is a value of
 * any of them); a value array has one entry per row. `finish` returns the file.
 */
export class ParquetFile {
  private readonly chunks: Chunk[] = [];
  private chunk: Chunk | undefined;

  constructor(private readonly rows: number) {
    out.reset();
    values.reset();
    out.reserve(4);
    out.off += out.buf.write('PAR1', out.off, 'latin1');
  }

  /** BOOLEAN, PLAIN (bit-packed, least significant bit first). */
  booleans(name: string, data: readonly (boolean | null)[]): void {
    this.open(name, 'BOOLEAN', undefined);
    let first = 0;
    let bits = 0;
    let acc = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === null || v === undefined) continue;
      if (v) acc |= 1 << bits;
      if (++bits === 8) {
        values.reserve(1);
        values.buf[values.off++] = acc;
        acc = 0;
        bits = 0;
        if (values.off >= PAGE_BYTES) {
          this.page(data, first, i + 1, ENCODING.PLAIN, 0, values.off);
          first = i + 1;
        }
      }
    }
    if (bits > 0) {
      values.reserve(1);
      values.buf[values.off++] = acc;
    }
    this.page(data, first, data.length, ENCODING.PLAIN, 0, values.off);
    this.close();
  }

  /** INT64, PLAIN: numbers (safe integers; milliseconds for TIMESTAMP_MILLIS) or bigints within range. */
  int64s(name: string, data: readonly (number | bigint | null)[], converted?: 'TIMESTAMP_MILLIS'): void {
    this.open(name, 'INT64', converted);
    this.plainValues(data, (v) => {
      values.reserve(8);
      if (typeof v === 'number') {
        if (!Number.isSafeInteger(v)) throw new RangeError(`parquet: column ${name}: ${v} is not an integer`);
        values.buf.writeInt32LE(v | 0, values.off);
        values.buf.writeInt32LE(Math.floor(v / 4294967296), values.off + 4);
      } else {
        if (v < -(2n ** 63n) || v >= 2n ** 63n) {
          throw new RangeError(`parquet: column ${name}: ${v} is out of the INT64 range`);
        }
        values.buf.writeBigInt64LE(v, values.off);
      }
      values.off += 8;
    });
    this.close();
  }

  /** DOUBLE, PLAIN. */
  doubles(name: string, data: readonly (number | null)[]): void {
    this.open(name, 'DOUBLE', undefined);
    this.plainValues(data, (v) => {
      values.reserve(8);
      values.buf.writeDoubleLE(v, values.off);
      values.off += 8;
    });
    this.close();
  }

  /** BYTE_ARRAY, PLAIN: strings as UTF-8 (for UTF8 and JSON columns), or bytes. */
  byteArrays(name: string, data: readonly (string | Uint8Array | null)[], converted?: 'UTF8' | 'JSON'): void {
    this.open(name, 'BYTE_ARRAY', converted);
    this.plainValues(data, putByteArray);
    this.close();
  }

  /** The non-null values of a column, PLAIN, each written by `put`, in pages of about PAGE_BYTES. */
  private plainValues<T>(data: readonly (T | null)[], put: (v: T) => void): void {
    let first = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === null || v === undefined) continue;
      put(v);
      if (values.off >= PAGE_BYTES) {
        this.page(data, first, i + 1, ENCODING.PLAIN, 0, values.off);
        first = i + 1;
      }
    }
    this.page(data, first, data.length, ENCODING.PLAIN, 0, values.off);
  }

  /**
   * BYTE_ARRAY strings (UTF8), dictionary-encoded when that makes the column smaller (sizes estimated from
   * string lengths, a string counting its length plus 4): the distinct strings plus their indexes against
   * every string, as parquet-mr decides. A dictionary column is a dictionary page of the distinct strings
   * (PLAIN), then pages of indexes into it (RLE_DICTIONARY, bit-packed); otherwise the strings are PLAIN.
   * The dictionary is built first (see dictionaryOf), given up early when it cannot pay; the PLAIN values
   * are written only when it is not used.
   */
  strings(name: string, data: readonly (string | null)[]): void {
    this.open(name, 'BYTE_ARRAY', 'UTF8');
    let plainBytes = 0;
    let count = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === null || v === undefined) continue;
      count++;
      plainBytes += v.length + 4;
    }
    const distinct: string[] = [];
    if (indexScratch.length < data.length) indexScratch = new Int32Array(data.length);
    const indexes = indexScratch;
    const dictionaryBytes = dictionaryOf(data, count, plainBytes, distinct, indexes);
    const open = dictionaryBytes >= 0;
    let width = 1;
    while (width < 24 && 2 ** width < distinct.length) width++;
    const indexBytes = Math.ceil((count * Math.ceil(Math.log2(Math.max(2, distinct.length)))) / 8);
    if (!open || dictionaryBytes + indexBytes >= plainBytes || 2 ** width < distinct.length) {
      this.plainValues(data, putByteArray);
      this.close();
      return;
    }
    const chunk = this.chunk as Chunk;
    values.off = 0;
    for (const v of distinct) values.plainString(v);
    chunk.dictionaryOffset = out.off;
    chunk.encodings.push(ENCODING.PLAIN, ENCODING.RLE_DICTIONARY);
    this.dictionaryPage(distinct.length);
    chunk.dataOffset = out.off;
    for (let first = 0; first < data.length || first === 0; first += DICTIONARY_PAGE_ROWS) {
      const end = Math.min(data.length, first + DICTIONARY_PAGE_ROWS);
      bitPackIndexes(data, indexes, first, end, width);
      this.page(data, first, end, ENCODING.RLE_DICTIONARY, 0, values.off);
    }
    this.close();
  }

  /** The file: the footer written after the column chunks. */
  finish(createdBy: string): Uint8Array {
    const t = new Thrift(out);
    const start = out.off;
    t.begin();
    t.i32(1, 2); // version
    t.list(2, 'struct', this.chunks.length + 1);
    t.begin();
    t.string(4, 'root');
    t.i32(5, this.chunks.length);
    t.end();
    for (const c of this.chunks) {
      t.begin();
      t.i32(1, TYPE[c.type]);
      t.i32(3, OPTIONAL);
      t.string(4, c.name);
      if (c.converted !== undefined) {
        t.i32(6, CONVERTED[c.converted]);
        // The same type as a LogicalType (field 10), as current writers give both.
        t.begin(10);
        if (c.converted === 'UTF8') {
          t.begin(1);
          t.end();
        } else if (c.converted === 'JSON') {
          t.begin(12);
          t.end();
        } else {
          t.begin(8); // TIMESTAMP
          t.bool(1, true); // isAdjustedToUTC
          t.begin(2); // unit
          t.begin(1); // MILLIS
          t.end();
          t.end();
          t.end();
        }
        t.end();
      }
      t.end();
    }
    t.i64(3, this.rows);
    t.list(4, 'struct', 1);
    t.begin(); // the row group
    t.list(1, 'struct', this.chunks.length);
    let compressed = 0;
    let uncompressed = 0;
    for (const c of this.chunks) {
      compressed += c.compressed;
      uncompressed += c.uncompressed;
      t.begin();
      t.i64(2, c.offset);
      t.begin(3);
      t.i32(1, TYPE[c.type]);
      t.list(2, 'i32', c.encodings.length);
      for (const e of c.encodings) t.element(e);
      t.list(3, 'string', 1);
      t.element(c.name);
      t.i32(4, SNAPPY);
      t.i64(5, this.rows);
      t.i64(6, c.uncompressed);
      t.i64(7, c.compressed);
      t.i64(9, c.dataOffset);
      if (c.dictionaryOffset !== undefined) t.i64(11, c.dictionaryOffset);
      t.begin(12); // statistics: the null count only
      t.i64(3, c.nulls);
      t.end();
      t.end();
      t.end();
    }
    t.i64(2, uncompressed);
    t.i64(3, this.rows);
    t.i64(5, this.chunks[0]?.offset ?? 4);
    t.i64(6, compressed);
    t.end();
    t.string(6, createdBy);
    t.list(7, 'struct', this.chunks.length); // column orders: TypeDefinedOrder for every column
    for (let i = 0; i < this.chunks.length; i++) {
      t.begin();
      t.begin(1);
      t.end();
      t.end();
    }
    t.end();
    out.int32(out.off - start);
    out.reserve(4);
    out.off += out.buf.write('PAR1', out.off, 'latin1');
    const file = Buffer.allocUnsafeSlow(out.off);
    out.buf.copy(file, 0, 0, out.off);
    out.reset();
    values.reset();
    if (indexScratch.length > KEEP_BYTES / 4) indexScratch = new Int32Array(1 << 12);
    if (slots.length > KEEP_BYTES / 4) slots = new Int32Array(1 << 12);
    return file;
  }

  private open(name: string, type: PhysicalType, converted: ConvertedType | undefined): void {
    values.off = 0;
    this.chunk = {
      name,
      type,
      converted,
      encodings: [ENCODING.RLE],
      offset: out.off,
      dictionaryOffset: undefined,
      dataOffset: out.off,
      compressed: 0,
      uncompressed: 0,
      nulls: 0,
    };
  }

  private close(): void {
    const chunk = this.chunk as Chunk;
    if (!chunk.encodings.includes(ENCODING.RLE_DICTIONARY)) chunk.encodings.push(ENCODING.PLAIN);
    chunk.compressed = out.off - chunk.offset;
    this.chunks.push(chunk);
    this.chunk = undefined;
  }

  /** The dictionary page: the values in the scratch buffer are its PLAIN values. */
  private dictionaryPage(count: number): void {
    const size = values.off;
    const data = compress(values.buf, 0, size);
    const headerStart = out.off;
    const t = new Thrift(out);
    t.begin();
    t.i32(1, PAGE.DICTIONARY);
    t.i32(2, size);
    t.i32(3, data.length);
    t.begin(7);
    t.i32(1, count);
    t.i32(2, ENCODING.PLAIN);
    t.end();
    t.end();
    (this.chunk as Chunk).uncompressed += out.off - headerStart + size;
    out.bytes(data);
    values.off = 0;
  }

  /**
   * A data page (v2) of rows [first, end): levels from `data`'s nulls, values the bytes [from, to) of the
   * scratch buffer.
   */
  private page(data: readonly unknown[], first: number, end: number, encoding: number, from: number, to: number): void {
    const chunk = this.chunk as Chunk;
    const nulls = definitionLevels(data, first, end);
    chunk.nulls += nulls;
    const size = to - from;
    const body = compress(values.buf, from, to);
    const headerStart = out.off;
    const t = new Thrift(out);
    t.begin();
    t.i32(1, PAGE.DATA_V2);
    t.i32(2, levels.off + size);
    t.i32(3, levels.off + body.length);
    t.begin(8);
    t.i32(1, end - first); // values, nulls included
    t.i32(2, nulls);
    t.i32(3, end - first); // rows
    t.i32(4, encoding);
    t.i32(5, levels.off);
    t.i32(6, 0);
    t.end();
    t.end();
    chunk.uncompressed += out.off - headerStart + levels.off + size;
    out.reserve(levels.off);
    levels.buf.copy(out.buf, out.off, 0, levels.off);
    out.off += levels.off;
    out.bytes(body);
    values.off = 0;
  }
}

/** SNAPPY of the bytes [from, to) of `buf`, as a view valid until the next call. */
function compress(buf: Buffer, from: number, to: number): Uint8Array {
  const bound = maxCompressedLength(to - from);
  if (packed.length < bound) packed = Buffer.allocUnsafeSlow(bound);
  const n = snappyCompress(buf, from, to, packed, 0);
  const view = packed.subarray(0, n);
  if (packed.length > KEEP_BYTES) packed = Buffer.allocUnsafeSlow(maxCompressedLength(1 << 20));
  return view;
}

/**
 * The dictionary of a column of `count` strings taking `plainBytes` PLAIN: its distinct strings into
 * `distinct`, each value's index into `indexes`; returns the dictionary's PLAIN size, or -1 when it was given
 * up (it cannot pay: as big as PLAIN, or over 15 in 16 values distinct in the first quarter). The strings are
 * found by the FNV-1a hash of their UTF-16 code units in an open-addressing table (equal strings hash alike
 * whether or not they are the same object; measured cheaper than a Map on strings made per record).
 */
function dictionaryOf(
  data: readonly (string | null)[],
  count: number,
  plainBytes: number,
  distinct: string[],
  indexes: Int32Array,
): number {
  let mask = 15;
  while (mask < 2 * count) mask = mask * 2 + 1;
  if (slots.length <= mask) slots = new Int32Array(mask + 1);
  const table = slots;
  table.fill(-1, 0, mask + 1);
  const probe = count >>> 2; // values seen when the distinct share is checked
  let bytes = 0;
  let seen = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === null || v === undefined) continue;
    let h = 0x811c9dc5;
    for (let k = 0; k < v.length; k++) h = Math.imul(h ^ v.charCodeAt(k), 0x01000193);
    let slot = h & mask;
    let id = table[slot] as number;
    while (id !== -1 && distinct[id] !== v) {
      slot = (slot + 1) & mask;
      id = table[slot] as number;
    }
    if (id === -1) {
      id = distinct.length;
      table[slot] = id;
      distinct.push(v);
      bytes += v.length + 4;
      if (bytes >= plainBytes) return -1;
    }
    indexes[i] = id;
    if (++seen === probe && probe >= 64 && distinct.length * 16 > probe * 15) return -1;
  }
  return count === 0 ? -1 : bytes;
}

/**
 * The definition levels (1: a value, 0: null) of rows [first, end) into `levels`, in the RLE/bit-packed
 * hybrid encoding of width 1 (no length prefix: a v2 page gives it in its header). Returns the null count.
 */
function definitionLevels(data: readonly unknown[], first: number, end: number): number {
  levels.off = 0;
  const n = end - first;
  let nulls = 0;
  for (let i = first; i < end; i++) if (data[i] === null || data[i] === undefined) nulls++;
  if (n === 0) return 0;
  if (nulls === 0 || nulls === n) {
    // One RLE run.
    levels.varint(n * 2);
    levels.reserve(1);
    levels.buf[levels.off++] = nulls === 0 ? 1 : 0;
    return nulls;
  }
  // One bit-packed run of ceil(n / 8) groups of 8 (the last one padded with zeros).
  const groups = Math.ceil(n / 8);
  levels.varint(groups * 2 + 1);
  levels.reserve(groups);
  const buf = levels.buf;
  buf.fill(0, levels.off, levels.off + groups);
  const at = levels.off;
  for (let i = 0; i < n; i++) {
    const v = data[first + i];
    if (v !== null && v !== undefined) buf[at + (i >>> 3)] = (buf[at + (i >>> 3)] as number) | (1 << (i & 7));
  }
  levels.off += groups;
  return nulls;
}

/**
 * The indexes of the non-null values of rows [first, end) into `values`: the bit width (1 byte), then one
 * bit-packed run (groups of 8, least significant bit first, the last group padded with zeros).
 */
function bitPackIndexes(
  data: readonly unknown[],
  indexes: Int32Array,
  first: number,
  end: number,
  width: number,
): void {
  let count = 0;
  for (let i = first; i < end; i++) if (data[i] !== null && data[i] !== undefined) count++;
  const groups = Math.ceil(count / 8);
  values.off = 0;
  values.reserve(1);
  values.buf[values.off++] = width;
  if (groups === 0) return;
  values.varint(groups * 2 + 1);
  values.reserve(groups * width);
  const buf = values.buf;
  let off = values.off;
  let acc = 0;
  let bits = 0;
  const dense = count === end - first; // no nulls: no check per value
  for (let i = first; i < end; i++) {
    if (!dense && (data[i] === null || data[i] === undefined)) continue;
    acc |= (indexes[i] as number) << bits;
    bits += width;
    while (bits >= 8) {
      buf[off++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  // Pad to whole groups of 8 values.
  for (let pad = groups * 8 - count; pad > 0; pad--) {
    bits += width;
    while (bits >= 8) {
      buf[off++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  values.off = off;
}
