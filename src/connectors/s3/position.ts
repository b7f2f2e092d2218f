/**
 * Source positions: JSON, so that they stay readable in the state store.
 *
 *   snapshot  {"m":"s","s":<snapshot start, ms>,"t":<LastModified, ms>,"k":<key>,"i":<chunk>,"n":<chunks>,"e":<etag>}
 *   cdc       {"m":"c","t":<LastModified, ms>,"k":<key>,"v":<version id>,"i":<chunk>,"n":<chunks>,"e":<etag>}
 *
 * A snapshot lists keys in order, so its position is the last key read. CDC emits changes in the order
 * of (LastModified, key, version id), so its position is that triple. `i` of `n` is the last chunk read
 * of a chunked object (1-based; both 1 for a whole object); inside a chunked object `o` is the offset of
 * the next chunk and `z` the object's size, so a position there resumes at the next chunk.
 */
import { Code } from '../../errors/codes.js';
import type { Operation } from '../../opencdc/record.js';
import { ConduitError } from '../../errors/conduit-error.js';

export interface SnapshotPosition {
  readonly m: 's';
  /** Snapshot start (server time, ms): the snapshot takes objects last modified before it, CDC the rest. */
  readonly s: number;
  /** The object's LastModified (ms). */
  readonly t: number;
  readonly k: string;
  readonly i: number;
  readonly n: number;
  readonly e: string;
  readonly o?: number;
  readonly z?: number;
  /** The operation of a chunked object's records. */
  readonly op?: Operation;
}

export interface CdcPosition {
  readonly m: 'c';
  readonly t: number;
  readonly k: string;
  readonly v: string;
  readonly i: number;
  readonly n: number;
  readonly e: string;
  readonly o?: number;
  readonly z?: number;
  /** The operation of a chunked object's records. */
  readonly op?: Operation;
}

export type Position = SnapshotPosition | CdcPosition;

export function encodePosition(p: Position): Buffer {
  return Buffer.from(JSON.stringify(p));
}

export function decodePosition(bytes: Uint8Array): Position {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    p = undefined;
  }
  if (isPosition(p)) return p;
  throw new ConduitError(
    Code.ConnectorOpenFailed,
    `s3: position ${JSON.stringify(text.slice(0, 200))} is not one this connector wrote`,
    {
      retryable: false,
      suggestion: 'reset the connector state, or give a position this connector wrote',
    },
  );
}

function isPosition(p: unknown): p is Position {
  if (p === null || typeof p !== 'object') return false;
  const o = p as Record<string, unknown>;
  const common =
    typeof o['k'] === 'string' &&
    Number.isInteger(o['i']) &&
    Number.isInteger(o['n']) &&
    (o['i'] as number) >= 1 &&
    (o['i'] as number) <= (o['n'] as number) &&
    typeof o['e'] === 'string' &&
    (o['i'] === o['n'] ||
      (Number.isInteger(o['o']) && Number.isInteger(o['z']) && (o['o'] as number) < (o['z'] as number)));
  if (o['m'] === 's') return common && Number.isFinite(o['s']) && Number.isFinite(o['t']);
  if (o['m'] === 'c') return common && Number.isFinite(o['t']) && typeof o['v'] === 'string';
  return false;
}

/** Orders CDC changes: LastModified, then key, then version id. */
export function compareChange(
  a: { readonly t: number; readonly k: string; readonly v: string },
  b: { readonly t: number; readonly k: string; readonly v: string },
): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  if (a.k !== b.k) return a.k < b.k ? -1 : 1;
  if (a.v !== b.v) return a.v < b.v ? -1 : 1;
  return 0;
}
