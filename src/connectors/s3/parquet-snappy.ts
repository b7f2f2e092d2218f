/**
 * A Snappy compressor (the raw format Parquet's SNAPPY codec uses: the uncompressed length as a varint, then
 * literals and back-references), following the reference implementation's fast path: the input is cut into
 * 64 KiB blocks, each compressed on its own with a hash table of 4-byte sequences, and a search that skips
 * ahead faster the longer it finds no match (incompressible data costs little). It aims at speed, not ratio.
 */

const BLOCK = 1 << 16;
const MAX_TABLE_BITS = 14;
/** The reference's margin: the search stops this far before a block's end (a match needs 4 readable bytes). */
const INPUT_MARGIN = 15;
const table = new Uint16Array(1 << MAX_TABLE_BITS);
/** A view of the input's bytes for 4-byte loads (one load instead of four; kept while the input is the same). */
let view: DataView<ArrayBufferLike> = new DataView(table.buffer);

/** The most bytes `compress` can write for `n` input bytes (the reference's bound). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/**
 * Compresses `input[start, end)` into `out` at `at` (which must have `maxCompressedLength(end - start)` bytes
 * free), returning the offset after the last byte written.
 */
export function snappyCompress(input: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  if (view.buffer !== input.buffer || view.byteOffset !== input.byteOffset || view.byteLength !== input.byteLength) {
    view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }
  const dv = view; // passed down as an argument: measured 40% faster than loads through the module variable
  let op = at;
  let n = end - start;
  while (n >= 0x80) {
    out[op++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[op++] = n;
  for (let block = start; block < end; block += BLOCK) {
    op = compressBlock(input, dv, block, Math.min(end, block + BLOCK), out, op);
  }
  return op;
}

function compressBlock(
  input: Uint8Array,
  dv: DataView<ArrayBufferLike>,
  base: number,
  end: number,
  out: Uint8Array,
  at: number,
): number {
  const n = end - base;
  let bits = 8;
  while (bits < MAX_TABLE_BITS && 1 << bits < n) bits++;
  const shift = 32 - bits;
  const tab = table;
  tab.fill(0, 0, 1 << bits);
  let op = at;
  let nextEmit = base;
  if (n >= INPUT_MARGIN) {
    const ipLimit = end - INPUT_MARGIN;
    let ip = base + 1;
    let nextWord = dv.getInt32(ip, true);
    search: for (;;) {
      let skip = 32;
      let nextIp = ip;
      let candidate = 0;
      let word: number;
      do {
        ip = nextIp;
        word = nextWord;
        const hash = Math.imul(word, 0x1e35a7bd) >>> shift;
        nextIp = ip + (skip >>> 5);
        skip++;
        if (nextIp > ipLimit) break search;
        nextWord = dv.getInt32(nextIp, true);
        candidate = base + (tab[hash] as number);
        tab[hash] = ip - base;
      } while (word !== dv.getInt32(candidate, true));

      op = literal(input, nextEmit, ip - nextEmit, out, op);
      for (;;) {
        // A match of at least 4 bytes at `candidate`: extend it, emit it, and try the position after it.
        let matched = 4;
        for (;;) {
          if (ip + matched + 4 > end) {
            while (ip + matched < end && input[ip + matched] === input[candidate + matched]) matched++;
            break;
          }
          const diff = dv.getInt32(ip + matched, true) ^ dv.getInt32(candidate + matched, true);
          if (diff !== 0) {
            // The equal low bytes of the first differing word (little-endian: its trailing zero bytes).
            matched += (31 - Math.clz32(diff & -diff)) >>> 3;
            break;
          }
          matched += 4;
        }
        op = copy(ip - candidate, matched, out, op);
        ip += matched;
        nextEmit = ip;
        if (ip >= ipLimit) break search;
        tab[Math.imul(dv.getInt32(ip - 1, true), 0x1e35a7bd) >>> shift] = ip - 1 - base;
        word = dv.getInt32(ip, true);
        const hash = Math.imul(word, 0x1e35a7bd) >>> shift;
        candidate = base + (tab[hash] as number);
        tab[hash] = ip - base;
        if (word !== dv.getInt32(candidate, true)) break;
      }
      ip++;
      nextWord = dv.getInt32(ip, true);
    }
  }
  if (nextEmit < end) op = literal(input, nextEmit, end - nextEmit, out, op);
  return op;
}

function literal(input: Uint8Array, from: number, len: number, out: Uint8Array, at: number): number {
  let op = at;
  const n = len - 1;
  if (n < 60) out[op++] = n << 2;
  else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else {
    // A block is at most 64 KiB: two length bytes always suffice.
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  }
  if (len < 32) {
    for (let i = 0; i < len; i++) out[op + i] = input[from + i] as number;
  } else out.set(input.subarray(from, from + len), op);
  return op + len;
}

function copy(offset: number, length: number, out: Uint8Array, at: number): number {
  let op = at;
  let len = length;
  while (len >= 68) {
    op = copyAtMost64(offset, 64, out, op);
    len -= 64;
  }
  if (len > 64) {
    op = copyAtMost64(offset, 60, out, op);
    len -= 60;
  }
  return copyAtMost64(offset, len, out, op);
}

function copyAtMost64(offset: number, len: number, out: Uint8Array, at: number): number {
  let op = at;
  if (len < 12 && offset < 2048) {
    out[op++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
  } else {
    out[op++] = 2 | ((len - 1) << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
  }
  return op;
}
