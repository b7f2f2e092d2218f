/**
 * Counts the changes in a pg_recvlogical output file of the pgoutput plugin
 * (protocol 1): every message is written as its raw bytes followed by "\n".
 * The bytes are binary, so lines cannot be counted; this walks the messages by
 * their framing instead and checks the "\n" after each one.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface PgOutputCounts {
  begins: number;
  commits: number;
  inserts: number;
  updates: number;
  deletes: number;
  other: number;
  bytes: number;
}

export function countPgOutput(path: string): PgOutputCounts {
  const counts: PgOutputCounts = { begins: 0, commits: 0, inserts: 0, updates: 0, deletes: 0, other: 0, bytes: 0 };
  const fd = openSync(path, 'r');
  const CHUNK = 16 << 20;
  let buf = Buffer.alloc(0);
  let filePos = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const n = readSync(fd, chunk, 0, CHUNK, filePos);
      filePos += n;
      buf = buf.length === 0 ? chunk.subarray(0, n) : Buffer.concat([buf, chunk.subarray(0, n)]);
      let off = 0;
      for (;;) {
        const len = messageLength(buf, off);
        if (len < 0 || off + len + 1 > buf.length) break;
        if (buf[off + len] !== 10) throw new Error(`pgoutput: no newline after the message at byte ${counts.bytes}`);
        tally(counts, buf[off] as number);
        off += len + 1;
        counts.bytes += len + 1;
      }
      buf = buf.subarray(off);
      if (n === 0) break;
    }
    if (buf.length > 0) throw new Error(`pgoutput: ${buf.length} trailing bytes do not form a message`);
  } finally {
    closeSync(fd);
  }
  return counts;
}

function tally(c: PgOutputCounts, type: number): void {
  switch (String.fromCharCode(type)) {
    case 'B':
      c.begins++;
      break;
    case 'C':
      c.commits++;
      break;
    case 'I':
      c.inserts++;
      break;
    case 'U':
      c.updates++;
      break;
    case 'D':
      c.deletes++;
      break;
    default:
      c.other++;
  }
}

/** The message's length at `off`, or -1 when the buffer does not hold all of it yet. */
export function messageLength(b: Buffer, off: number): number {
  if (off >= b.length) return -1;
  const type = String.fromCharCode(b[off] as number);
  let p = off + 1;
  const need = (n: number): boolean => p + n <= b.length;
  const cstring = (): boolean => {
    const z = b.indexOf(0, p);
    if (z < 0) return false;
    p = z + 1;
    return true;
  };
  const tuple = (): boolean => {
    if (!need(2)) return false;
    const cols = b.readUInt16BE(p);
    p += 2;
    for (let i = 0; i < cols; i++) {
      if (!need(1)) return false;
      const kind = String.fromCharCode(b[p] as number);
      p += 1;
      if (kind === 't' || kind === 'b') {
        if (!need(4)) return false;
        const len = b.readUInt32BE(p);
        p += 4 + len;
        if (p > b.length) return false;
      }
    }
    return true;
  };
  switch (type) {
    case 'B':
      return need(20) ? 21 : -1;
    case 'C':
      return need(25) ? 26 : -1;
    case 'O':
      if (!need(8)) return -1;
      p += 8;
      return cstring() ? p - off : -1;
    case 'Y':
      if (!need(4)) return -1;
      p += 4;
      return cstring() && cstring() ? p - off : -1;
    case 'R': {
      if (!need(4)) return -1;
      p += 4;
      if (!cstring() || !cstring() || !need(3)) return -1;
      p += 1;
      const cols = b.readUInt16BE(p);
      p += 2;
      for (let i = 0; i < cols; i++) {
        if (!need(1)) return -1;
        p += 1;
        if (!cstring() || !need(8)) return -1;
        p += 8;
      }
      return p - off;
    }
    case 'I':
      if (!need(5)) return -1;
      p += 5; // relation id, 'N'
      return tuple() ? p - off : -1;
    case 'U': {
      if (!need(5)) return -1;
      p += 4;
      const t = String.fromCharCode(b[p] as number);
      p += 1;
      if (t === 'K' || t === 'O') {
        if (!tuple() || !need(1)) return -1;
        p += 1; // 'N'
      }
      return tuple() ? p - off : -1;
    }
    case 'D':
      if (!need(5)) return -1;
      p += 5; // relation id, 'K' or 'O'
      return tuple() ? p - off : -1;
    case 'T': {
      if (!need(9)) return -1;
      const n = b.readUInt32BE(p);
      p += 5 + 4 * n;
      return p <= b.length ? p - off : -1;
    }
    case 'M':
      if (!need(9)) return -1;
      p += 9;
      if (!cstring() || !need(4)) return -1;
      p += 4 + b.readUInt32BE(p);
      return p <= b.length ? p - off : -1;
    default:
      throw new Error(`pgoutput: unknown message type ${JSON.stringify(type)} at byte ${off}`);
  }
}
