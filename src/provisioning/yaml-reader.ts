/**
 * Reads YAML nodes into the raw model, with a JSON pointer and a line and
 * column for everything. String scalars are interpolated from the environment
 * as they are read. Problems go to a sink instead of being thrown, so that a
 * whole file is checked in one pass.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { closest } from '../sdk/params.js';
import { expandEnv, type EnvLookup } from './env.js';
import type { Field, Pos, SettingsField, UnsetVar } from './raw.js';

/** Where problems found while reading go. */
export interface Sink {
  readonly errors: ConduitError[];
  readonly unsetVars: UnsetVar[];
}

/** A key of a mapping with its value node (null when the value is empty). */
export interface Entry {
  readonly key: string;
  readonly keyPos: Pos;
  readonly node: unknown;
  /** Where the value is; the key's place when the value is empty. */
  readonly pos: Pos;
  readonly path: string;
}

/** One item of a sequence. */
export interface Item {
  readonly node: unknown;
  readonly pos: Pos;
  readonly path: string;
}

/** Escapes a JSON pointer segment (RFC 6901). */
export function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Appends a segment to a JSON pointer. */
export function pointer(base: string, segment: string | number): string {
  return `${base}/${escapePointer(String(segment))}`;
}

/** The YAML type of a node, for messages. */
function kindOf(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'empty' : `a ${typeof node.value}`;
  return 'empty';
}

/** A scalar's text as written (numbers and booleans keep their spelling, e.g. `1.10`). */
function rawText(node: { value: unknown; source?: string }): string {
  const v = node.value;
  if (typeof v === 'string') return v;
  if (node.source !== undefined) return node.source;
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : '';
}

export class NodeReader {
  constructor(
    readonly file: string,
    private readonly lc: LineCounter,
    private readonly doc: Document,
    private readonly env: EnvLookup,
    readonly warnings: ConduitError[],
  ) {}

  /** Line and column of a node's start. */
  pos(node: unknown, fallback: Pos = { line: 1, column: 1 }): Pos {
    const range = (node as { range?: readonly number[] } | null)?.range;
    const offset = range?.[0];
    if (offset === undefined) return fallback;
    const lp = this.lc.linePos(offset);
    return { line: lp.line, column: lp.col };
  }

  /** Follows an alias to the node it names. */
  resolve(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /** A ConduitError at a place in this file. */
  problem(code: string, message: string, path: string, pos: Pos, suggestion?: string): ConduitError {
    return new ConduitError(code, message, { configPath: path, file: this.file, ...pos, suggestion });
  }

  warn(code: string, message: string, path: string, pos: Pos, suggestion?: string): void {
    this.warnings.push(this.problem(code, message, path, pos, suggestion));
  }

  /** True when the node is absent or an empty scalar (`key:` or `key: ~`). */
  isEmpty(node: unknown): boolean {
    const n = this.resolve(node);
    return n === null || n === undefined || (isScalar(n) && n.value === null);
  }

  /**
   * The entries of a mapping. Reports a node that is not a mapping and keys
   * given twice, unless `allowDuplicates` (v1 maps keyed by ID, whose
   * duplicates validation reports as `config.id_duplicate`); returns undefined
   * when the node is not a mapping.
   */
  entries(
    node: unknown,
    path: string,
    at: Pos,
    sink: Sink,
    what: string,
    allowDuplicates = false,
  ): Entry[] | undefined {
    const n = this.resolve(node);
    if (this.isEmpty(n)) return [];
    if (!isMap(n)) {
      sink.errors.push(
        this.problem(
          Code.ConfigFieldInvalid,
          `${what} must be a mapping, not ${kindOf(n)}`,
          path,
          this.pos(node, at),
          'write it as indented "key: value" lines',
        ),
      );
      return undefined;
    }
    const out: Entry[] = [];
    const seen = new Set<string>();
    for (const pair of n.items) {
      const keyNode = this.resolve(pair.key);
      const keyPos = this.pos(pair.key, at);
      if (!isScalar(keyNode) || keyNode.value === null) {
        sink.errors.push(
          this.problem(
            Code.ConfigFieldInvalid,
            `${what} has a key that is not a name`,
            path,
            keyPos,
            'use a plain name',
          ),
        );
        continue;
      }
      const key = this.scalarText(keyNode, pointer(path, rawText(keyNode)), keyPos, sink);
      const entryPath = pointer(path, key);
      if (seen.has(key) && !allowDuplicates) {
        sink.errors.push(
          this.problem(
            Code.ConfigParseError,
            `key "${key}" is given twice in ${what}`,
            entryPath,
            keyPos,
            'remove one of them',
          ),
        );
        continue;
      }
      seen.add(key);
      out.push({
        key,
        keyPos,
        node: pair.value,
        pos: pair.value === null ? keyPos : this.pos(pair.value, keyPos),
        path: entryPath,
      });
    }
    return out;
  }

  /**
   * The fields of an object node by name. Unknown fields are warnings
   * (`config.field_unknown`), as in Conduit.
   */
  fields(
    node: unknown,
    path: string,
    at: Pos,
    known: readonly string[],
    sink: Sink,
    what: string,
  ): Map<string, Entry> | undefined {
    const entries = this.entries(node, path, at, sink, what);
    if (entries === undefined) return undefined;
    const out = new Map<string, Entry>();
    for (const e of entries) {
      if (known.includes(e.key)) {
        out.set(e.key, e);
        continue;
      }
      const near = closest(e.key, known);
      this.warn(
        Code.ConfigFieldUnknown,
        `field "${e.key}" is not part of ${what} and is ignored`,
        e.path,
        e.keyPos,
        near === undefined ? `remove it; the fields are: ${known.join(', ')}` : `did you mean "${near}"?`,
      );
    }
    return out;
  }

  /** The items of a list; reports a node that is not a list. */
  items(entry: Entry, sink: Sink, what: string): Item[] | undefined {
    const n = this.resolve(entry.node);
    if (this.isEmpty(n)) return [];
    if (!isSeq(n)) {
      sink.errors.push(
        this.problem(
          Code.ConfigFieldInvalid,
          `${what} must be a list, not ${kindOf(n)}`,
          entry.path,
          entry.pos,
          'write each item on its own line, starting with "- "',
        ),
      );
      return undefined;
    }
    return n.items.map((item, i) => ({ node: item, pos: this.pos(item, entry.pos), path: pointer(entry.path, i) }));
  }

  /** A scalar field as a string (Conduit decodes every scalar into a string field as written). */
  string(entry: Entry | undefined, sink: Sink): Field<string> | undefined {
    if (entry === undefined) return undefined;
    const n = this.resolve(entry.node);
    if (n !== null && n !== undefined && !isScalar(n)) {
      sink.errors.push(
        this.problem(
          Code.ConfigFieldInvalid,
          `"${entry.key}" must be a single value, not ${kindOf(n)}`,
          entry.path,
          entry.pos,
          'quote the value; settings are flat, so write nested keys with dots, e.g. "a.b: value"',
        ),
      );
      return undefined;
    }
    const value = isScalar(n) ? this.scalarText(n, entry.path, entry.pos, sink) : '';
    return { value, path: entry.path, keyPos: entry.keyPos, pos: entry.pos };
  }

  /** A `settings` map: every value a scalar, read as a string. */
  settings(entry: Entry | undefined, sink: Sink): SettingsField | undefined {
    if (entry === undefined) return undefined;
    const entries = this.entries(entry.node, entry.path, entry.pos, sink, '"settings"');
    if (entries === undefined) return undefined;
    const value: Record<string, string> = {};
    const keys = new Map<string, Pos>();
    for (const e of entries) {
      const field = this.string(e, sink);
      if (field === undefined) continue;
      value[e.key] = field.value;
      keys.set(e.key.trim(), e.keyPos);
    }
    return { value, keys, path: entry.path, keyPos: entry.keyPos, pos: entry.pos };
  }

  /**
   * The text of a scalar: a string is interpolated from the environment;
   * anything else (a number, a boolean) is taken as written, so `1.10` stays
   * `1.10`; an empty value is `""`.
   */
  private scalarText(node: { value: unknown; source?: string }, path: string, pos: Pos, sink: Sink): string {
    if (node.value === null || node.value === undefined) return '';
    if (typeof node.value !== 'string') return rawText(node);
    const { value, unset } = expandEnv(node.value, this.env);
    for (const name of unset) sink.unsetVars.push({ name, path, pos });
    return value;
  }
}
