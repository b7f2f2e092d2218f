/**
 * Helpers every store shares: checking a write batch before any of it is
 * applied, folding it to one operation per key, and the key order and prefix
 * range all stores agree on.
 *
 * Key order is Unicode code point order, which is the byte order of UTF-8: the
 * order SQLite's BINARY collation and PostgreSQL's "C" collation give. JavaScript's
 * default string order (UTF-16 code units) differs for characters above U+FFFF,
 * so the memory store must not use it.
 */
import { ConduitError } from '../errors/conduit-error.js';
import { Code } from '../errors/codes.js';
import type { WriteOp } from './store.js';

/**
 * Throws before anything is applied when an operation is malformed, so a bad
 * batch can never be half-written. Callers are TypeScript, but values reach the
 * store from JSON and plugins, so the types are checked at run time too.
 */
export function validateOps(ops: readonly WriteOp[]): void {
  if (!Array.isArray(ops)) throw new ConduitError(Code.Internal, 'store write: ops must be an array');
  ops.forEach((op, i) => {
    if (typeof op !== 'object' || op === null) {
      throw new ConduitError(Code.Internal, `store write: op ${i} is not an object`);
    }
    if (typeof op.key !== 'string' || op.key === '') {
      throw new ConduitError(Code.Internal, `store write: op ${i} has no key (a non-empty string is required)`);
    }
    if (op.key.includes('\u0000')) {
      // PostgreSQL text cannot hold NUL; refusing it everywhere keeps the stores interchangeable.
      throw new ConduitError(Code.Internal, `store write: op ${i} key contains a NUL character`);
    }
    if (op.value !== null && typeof op.value !== 'string') {
      throw new ConduitError(
        Code.Internal,
        `store write: op ${i} (key ${JSON.stringify(op.key)}) has a value of type ${typeof op.value}; a string or null is required`,
      );
    }
  });
}

/**
 * Folds a batch to its net effect: the last operation on a key wins. Lets a store
 * apply upserts and deletes as two set operations without caring about order
 * (and PostgreSQL refuses an upsert that touches one row twice).
 */
export function collapseOps(ops: readonly WriteOp[]): { upserts: Map<string, string>; deletes: Set<string> } {
  const upserts = new Map<string, string>();
  const deletes = new Set<string>();
  for (const op of ops) {
    if (op.value === null) {
      upserts.delete(op.key);
      deletes.add(op.key);
    } else {
      deletes.delete(op.key);
      upserts.set(op.key, op.value);
    }
  }
  return { upserts, deletes };
}

/** Compares two strings by Unicode code point (= UTF-8 byte order). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/**
 * Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, so they must sort
 * after U+E000..U+FFFF: move the surrogates to the top and those down below them.
 */
function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

const MAX_CODE_POINT = 0x10ffff;

/**
 * The smallest string greater than every string that starts with `prefix`, or
 * undefined when there is none (an empty prefix, or one made only of U+10FFFF).
 * A prefix query is then `key >= prefix AND key < successor`, which uses the
 * primary key index and, unlike LIKE, treats `%` and `_` as plain characters.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const cps = Array.from(prefix, (c) => c.codePointAt(0) ?? 0);
  while (cps.length > 0 && cps[cps.length - 1] === MAX_CODE_POINT) cps.pop();
  const last = cps.pop();
  if (last === undefined) return undefined;
  let next = last + 1;
  // Surrogate code points cannot be encoded in UTF-8, and no stored key holds one.
  if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
  return String.fromCodePoint(...cps, next);
}

/** The format record written under STORE_FORMAT_KEY. */
export function formatRecord(version: number): string {
  return JSON.stringify({ version });
}

/**
 * Reads a stored format record. Returns the version, or throws
 * store.format_unsupported when the record is not one this build understands.
 */
export function checkFormat(stored: string, supported: number, where: string): number {
  let version: unknown;
  try {
    version = (JSON.parse(stored) as { version?: unknown }).version;
  } catch {
    version = undefined;
  }
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new ConduitError(Code.StoreFormatUnsupported, `the state store at ${where} has an unreadable format record`, {
      suggestion: 'The store was not written by Conduit for TypeScript; point the engine at a new store location.',
    });
  }
  if (version > supported) {
    throw new ConduitError(
      Code.StoreFormatUnsupported,
      `the state store at ${where} has format version ${version}; this build reads up to version ${supported}`,
      {
        suggestion:
          'A newer Conduit wrote this store. Run that version, or point the engine at a new store location (its pipelines then start from scratch).',
      },
    );
  }
  return version;
}

/** Identifier check for table names, which are spliced into SQL and cannot be bound. */
export function checkTableName(table: string, configPath: string, allowSchema: boolean): string[] {
  const parts = allowSchema ? table.split('.') : [table];
  const ok =
    parts.length >= 1 && parts.length <= 2 && parts.every((p) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) && p.length <= 63);
  if (!ok) {
    throw new ConduitError(Code.EngineConfigInvalid, `invalid table name ${JSON.stringify(table)}`, {
      configPath,
      suggestion: `Use letters, digits and underscores, starting with a letter or underscore${allowSchema ? ' (optionally schema.table)' : ''}.`,
    });
  }
  return parts;
}

/** Quotes an identifier already checked by checkTableName. */
export function quoteIdent(parts: readonly string[]): string {
  return parts.map((p) => `"${p}"`).join('.');
}

/** The error every operation on a closed store throws. */
export function closedError(type: string): ConduitError {
  return new ConduitError(Code.Internal, `the ${type} state store is closed`);
}
