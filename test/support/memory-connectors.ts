/**
 * In-process test connectors for the engine's own tests: a source over an
 * array of records whose acks are recorded, and a destination whose writes can
 * be slowed, failed or made to reject single records. Positions are the
 * record index as a decimal string. Both sides record the lifecycle hooks the
 * engine calls (onCreated, onUpdated, onDeleted) in their world's `lifecycle`.
 */
import { ConduitError } from '../../src/errors/conduit-error.js';
import type { OpenCDCRecord } from '../../src/opencdc/record.js';
import {
  positionOnlyRecord,
  type ConnectorPlugin,
  type Destination,
  type Source,
  type WriteOutcome,
} from '../../src/sdk/connector.js';
import type { Config } from '../../src/sdk/params.js';
import type { Store } from '../../src/store/store.js';
import { StateKey, type StoredPosition } from '../../src/engine/state-keys.js';

/** One lifecycle hook call: the connector's own settings (`sdk.*` left out), and for onUpdated the old ones. */
export interface LifecycleEvent {
  readonly hook: 'created' | 'updated' | 'deleted';
  readonly settings: Record<string, string>;
  readonly before?: Record<string, string>;
}

export interface SourceWorld {
  /** Lifecycle hooks called for connectors of this world, in order. */
  readonly lifecycle: LifecycleEvent[];
  /** Records not yet produced; `push` adds more. */
  readonly backlog: string[];
  /** Positions acked, in the order the engine acked them. */
  readonly acked: string[];
  /** Positions opened at, one per run. */
  readonly openedAt: Array<string | null>;
  /** When set, every ack checks that the store already holds a position at least this far. */
  store?: Store;
  connectorId?: string;
  /** Violations of "persisted before acked" seen by ack. */
  readonly ackBeforePersist: string[];
  readFailures: number;
  /** Records handed to the engine so far (across runs). */
  readCount: number;
}

/** A backlog line that the source turns into a position-only record (see POSITION_ONLY_KEY). */
export const POSITION_ONLY_LINE = '@position-only';

export function sourceWorld(lines: string[] = []): SourceWorld {
  return {
    lifecycle: [],
    backlog: [...lines],
    acked: [],
    openedAt: [],
    ackBeforePersist: [],
    readFailures: 0,
    readCount: 0,
  };
}

export interface DestinationWorld {
  /** Lifecycle hooks called for connectors of this world, in order. */
  readonly lifecycle: LifecycleEvent[];
  readonly written: string[];
  /** The metadata of each written record, in the same order as `written`. */
  readonly metadata: Array<Record<string, string>>;
  /** Per-write delay in ms (0 = none). */
  delayMs: number;
  /** When set, writes never return (a hung destination); `writing` counts those started. */
  hang?: boolean;
  writing?: number;
  /** Fail this many write calls with a retryable error. */
  failWrites: number;
  /** Payloads that are rejected record by record. */
  readonly poison: Set<string>;
  /** Maximum records seen in one write. */
  maxBatch: number;
  /** Called at the start of every write. */
  onWrite?: () => void;
  /** What the destinations of this world answer as Destination.writesInFlight (unset: the engine's default). */
  writesInFlight?: number;
  /** When set, every write waits here, in call order, until the test settles it (an error makes it throw). */
  held?: Array<{ readonly records: string[]; settle(err?: Error): void }>;
}

export function destinationWorld(): DestinationWorld {
  return { lifecycle: [], written: [], metadata: [], delayMs: 0, failWrites: 0, poison: new Set(), maxBatch: 0 };
}

export function payload(r: OpenCDCRecord): string {
  const after = r.payload.after;
  return after instanceof Uint8Array ? Buffer.from(after).toString('utf8') : JSON.stringify(after);
}

/** The settings a lifecycle event records: the connector's own, without the `sdk.*` ones. */
function ownSettings(config: Config): Record<string, string> {
  return Object.fromEntries(Object.entries(config.settings).filter(([k]) => !k.startsWith('sdk.')));
}

function recordLifecycle(
  worlds: Record<string, { lifecycle: LifecycleEvent[] }>,
  hook: LifecycleEvent['hook'],
  config: Config,
  before?: Config,
): void {
  const w = worlds[config.string('world')];
  if (w === undefined) throw new Error(`no world ${config.string('world')}`);
  w.lifecycle.push(
    before === undefined
      ? { hook, settings: ownSettings(config) }
      : { hook, settings: ownSettings(config), before: ownSettings(before) },
  );
}

const PARAMS = {
  world: { type: 'string', required: true, description: 'world name' },
  tag: { type: 'string', description: 'free text: changes the settings without changing the world' },
} as const;

/**
 * A plugin named `mem` whose source reads world.backlog and whose destination writes to world.written.
 * Settings: `world` (required) and `tag` (free text, to change the settings without changing the world).
 */
export function memoryPlugin(worlds: {
  sources: Record<string, SourceWorld>;
  destinations: Record<string, DestinationWorld>;
}): ConnectorPlugin {
  return {
    name: 'mem',
    summary: 'test connector',
    description: 'test connector',
    version: 'v0.0.0',
    author: 'tests',
    source: {
      params: PARAMS,
      create: () => new MemSource(worlds.sources),
    },
    destination: {
      params: PARAMS,
      create: () => new MemDestination(worlds.destinations),
    },
  };
}

class MemSource implements Source {
  private world!: SourceWorld;
  private next = 0;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly worlds: Record<string, SourceWorld>) {}

  configure(config: { string(k: string): string }): void {
    const w = this.worlds[config.string('world')];
    if (w === undefined) throw new Error(`no source world ${config.string('world')}`);
    this.world = w;
  }
  async onCreated(config: Config): Promise<void> {
    recordLifecycle(this.worlds, 'created', config);
  }
  async onUpdated(before: Config, after: Config): Promise<void> {
    recordLifecycle(this.worlds, 'updated', after, before);
  }
  async onDeleted(config: Config): Promise<void> {
    recordLifecycle(this.worlds, 'deleted', config);
  }
  async open(position: Uint8Array | null): Promise<void> {
    const p = position === null ? null : Buffer.from(position).toString('utf8');
    this.world.openedAt.push(p);
    this.next = p === null ? 0 : Number(p) + 1;
    // New records are checked for on a short timer, like a connector polling its system.
    this.timer = setInterval(() => this.wake?.(), 2).unref();
  }
  async read(max: number, signal: AbortSignal): Promise<OpenCDCRecord[]> {
    while (this.next >= this.world.backlog.length && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    if (this.world.readFailures > 0) {
      this.world.readFailures--;
      throw new Error('injected read failure');
    }
    const out: OpenCDCRecord[] = [];
    while (out.length < max && this.next < this.world.backlog.length) {
      const i = this.next++;
      this.world.readCount++;
      if (this.world.backlog[i] === POSITION_ONLY_LINE) {
        out.push(positionOnlyRecord(Buffer.from(String(i))));
        continue;
      }
      out.push({
        position: Buffer.from(String(i)),
        operation: 'create',
        metadata: {},
        key: Buffer.from(String(i)),
        payload: { before: null, after: Buffer.from(this.world.backlog[i] ?? '') },
      });
    }
    return out;
  }
  async ack(positions: readonly Uint8Array[]): Promise<void> {
    const w = this.world;
    if (w.store !== undefined && w.connectorId !== undefined) {
      const raw = await w.store.get(StateKey.position(w.connectorId));
      const stored =
        raw === undefined ? -1 : Number(Buffer.from((JSON.parse(raw) as StoredPosition).position, 'base64').toString());
      const last = Number(Buffer.from(positions[positions.length - 1] ?? new Uint8Array()).toString());
      if (stored < last) w.ackBeforePersist.push(`${last} acked while the store held ${stored}`);
    }
    for (const p of positions) w.acked.push(Buffer.from(p).toString('utf8'));
  }
  async teardown(): Promise<void> {
    clearInterval(this.timer);
  }
}

class MemDestination implements Destination {
  private world!: DestinationWorld;
  constructor(private readonly worlds: Record<string, DestinationWorld>) {}
  get writesInFlight(): number | undefined {
    return this.world.writesInFlight;
  }
  configure(config: { string(k: string): string }): void {
    const w = this.worlds[config.string('world')];
    if (w === undefined) throw new Error(`no destination world ${config.string('world')}`);
    this.world = w;
  }
  async onCreated(config: Config): Promise<void> {
    recordLifecycle(this.worlds, 'created', config);
  }
  async onUpdated(before: Config, after: Config): Promise<void> {
    recordLifecycle(this.worlds, 'updated', after, before);
  }
  async onDeleted(config: Config): Promise<void> {
    recordLifecycle(this.worlds, 'deleted', config);
  }
  async open(): Promise<void> {}
  async write(records: readonly OpenCDCRecord[]): Promise<WriteOutcome | undefined> {
    const w = this.world;
    w.maxBatch = Math.max(w.maxBatch, records.length);
    w.onWrite?.();
    if (w.hang === true) {
      w.writing = (w.writing ?? 0) + 1;
      await new Promise(() => undefined);
    }
    const held = w.held;
    if (held !== undefined) {
      await new Promise<void>((resolve, reject) =>
        held.push({ records: records.map(payload), settle: (err) => (err === undefined ? resolve() : reject(err)) }),
      );
    }
    if (w.delayMs > 0) await new Promise((r) => setTimeout(r, w.delayMs));
    if (w.failWrites > 0) {
      w.failWrites--;
      throw new ConduitError('connector.write_failed', 'injected write failure');
    }
    let outcomes: Array<Error | undefined> | undefined;
    records.forEach((r, i) => {
      const p = payload(r);
      if (w.poison.has(p)) {
        (outcomes ??= new Array<Error | undefined>(records.length))[i] = new Error(`poison record ${p}`);
      } else {
        w.written.push(p);
        w.metadata.push({ ...r.metadata });
      }
    });
    return outcomes;
  }
  async teardown(): Promise<void> {}
}
