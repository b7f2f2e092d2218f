/**
 * A Zstandard frame writer (RFC 8878) that stores its input in raw blocks,
 * with the content checksum. Any zstd decoder reads it back. For short input
 * (up to 1 KiB) the bytes are those Conduit's encoder (klauspost/compress)
 * writes, since it stores incompressible short input the same way; longer
 * input is stored, not entropy-coded, so it is larger than Conduit's output
 * but decodes to the same bytes. Node 20 has no zstd in `zlib`; this keeps
 * the processors free of a native or WASM dependency.
 */

const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Frame header descriptor: no content size, not single-segment, content checksum, no dictionary. */
const FHD_CHECKSUM = 0x04;
const MAX_BLOCK = 128 * 1024;

/** The data as one zstd frame of raw blocks, with the xxHash64 content checksum. */
export function zstdStored(data: Uint8Array): Buffer {
  // The window must hold a block: 2^windowLog ≥ the largest block (1 KiB at least, 128 KiB at most).
  let windowLog = 10;
  while (windowLog < 17 && 1 << windowLog < data.length) windowLog++;
  const blockMax = Math.min(MAX_BLOCK, 1 << windowLog);
  const parts: Buffer[] = [MAGIC, Buffer.from([FHD_CHECKSUM, (windowLog - 10) << 3])];
  let offset = 0;
  do {
    const size = Math.min(blockMax, data.length - offset);
    const last = offset + size >= data.length ? 1 : 0;
    const header = (size << 3) | last; // block type 0: raw
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]));
    parts.push(Buffer.from(data.buffer, data.byteOffset + offset, size));
    offset += size;
  } while (offset < data.length);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32LE(Number(xxhash64(data) & 0xffffffffn));
  parts.push(checksum);
  return Buffer.concat(parts);
}

const M64 = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

function round(acc: bigint, lane: bigint): bigint {
  acc = (acc + lane * P2) & M64;
  return (rotl(acc, 31n) * P1) & M64;
}

function merge(acc: bigint, v: bigint): bigint {
  acc ^= round(0n, v);
  return (acc * P1 + P4) & M64;
}

/** xxHash64 of the data (the hash zstd's content checksum takes its low 32 bits from). */
export function xxhash64(data: Uint8Array, seed = 0n): bigint {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const len = buf.length;
  let i = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M64;
    let v2 = (seed + P2) & M64;
    let v3 = seed & M64;
    let v4 = (seed - P1) & M64;
    for (; i + 32 <= len; i += 32) {
      v1 = round(v1, buf.readBigUInt64LE(i));
      v2 = round(v2, buf.readBigUInt64LE(i + 8));
      v3 = round(v3, buf.readBigUInt64LE(i + 16));
      v4 = round(v4, buf.readBigUInt64LE(i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = (seed + P5) & M64;
  }
  h = (h + BigInt(len)) & M64;
  for (; i + 8 <= len; i += 8) {
    h ^= round(0n, buf.readBigUInt64LE(i));
    h = (rotl(h, 27n) * P1 + P4) & M64;
  }
  if (i + 4 <= len) {
    h ^= (BigInt(buf.readUInt32LE(i)) * P1) & M64;
    h = (rotl(h, 23n) * P2 + P3) & M64;
    i += 4;
  }
  for (; i < len; i++) {
    h ^= (BigInt(buf[i] ?? 0) * P5) & M64;
    h = (rotl(h, 11n) * P1) & M64;
  }
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  h ^= h >> 32n;
  return h;
}
