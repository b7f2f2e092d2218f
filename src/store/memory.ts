/**
 * The in-memory store: volatile, for the quickstart and tests. It keeps the same
 * rules as the durable stores (batches are all-or-nothing, keys order by code
 * point, the format record is checked) so code tested against it behaves the
 * same against SQLite or PostgreSQL.
 */
import { STORE_FORMAT_KEY, STORE_FORMAT_VERSION, type Store, type WriteOp } from './store.js';
import { checkFormat, closedError, collapseOps, compareKeys, formatRecord, validateOps } from './ops.js';

/**
 * A store held in a `Map`.
 *
 * @example
 * ```ts
 * const data = new Map<string, string>();
 * const a = new MemoryStore(data);
 * await a.init();
 * await a.write([{ key: 'k', value: '1' }]);
 * await a.close();
 * // A second store over the same map sees the first one's writes, like a reopened file.
 * const b = new MemoryStore(data);
 * await b.init();
 * ```
 */
export class MemoryStore implements Store {
  readonly type = 'inmemory' as const;
  private closed = false;

  /**
   * @param data - the backing map; pass the same map to a later store to
   *   simulate an engine restart over the same state.
   */
  constructor(private readonly data: Map<string, string> = new Map()) {}

  async init(): Promise<void> {
    this.check();
    const stored = this.data.get(STORE_FORMAT_KEY);
    if (stored === undefined) this.data.set(STORE_FORMAT_KEY, formatRecord(STORE_FORMAT_VERSION));
    else checkFormat(stored, STORE_FORMAT_VERSION, 'memory');
  }

  async get(key: string): Promise<string | undefined> {
    this.check();
    return this.data.get(key);
  }

  async list(prefix: string): Promise<Array<[key: string, value: string]>> {
    this.check();
    const out: Array<[string, string]> = [];
    for (const [k, v] of this.data) if (k.startsWith(prefix)) out.push([k, v]);
    return out.sort((a, b) => compareKeys(a[0], b[0]));
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    this.check();
    // Validation throws before the first mutation, which is what makes the batch atomic here.
    validateOps(ops);
    const { upserts, deletes } = collapseOps(ops);
    for (const k of deletes) this.data.delete(k);
    for (const [k, v] of upserts) this.data.set(k, v);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw closedError(this.type);
  }
}
