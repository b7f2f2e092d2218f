/**
 * The stream inspector's taps: a sample of the records passing one point of a
 * pipeline (a source's output, a destination's input, a processor's input or
 * output), handed to the sessions watching it, without ever slowing the
 * pipeline.
 *
 * - One {@link Inspector} per engine. Taps are keyed by component and kind and
 *   outlive pipeline runs: a run resolves its taps once when it is built, a
 *   restarted run gets the same taps, so sessions survive restarts.
 * - The data path checks `tap.active` (a boolean) once per batch; with no
 *   session open that is all it costs.
 * - With sessions open, {@link Tap.send} copies (serializes to protojson) only
 *   as many records as the sessions have room for: a session's buffer is bounded
 *   in records and in bytes, and by a rate (records per second). What does not
 *   fit is dropped and counted; nothing is awaited.
 * - Each session drains its buffer to its sink (a WebSocket) from a macrotask,
 *   off the data path, and stops while the sink's own backlog is above a bound:
 *   a reader that does not read fills its buffer, then its records are dropped.
 */
import { recordProtoJson, streamMessage } from './protojson.js';
import type { OpenCDCRecord } from '../opencdc/record.js';

/** Where a tap sits. Sources are inspected on output, destinations on input (Conduit's rule). */
export type TapKind = 'connector' | 'processor-in' | 'processor-out';

export interface InspectorOptions {
  /** Records a session buffers at most (Conduit: 1000). */
  readonly bufferRecords: number;
  /** Bytes (of protojson text) a session buffers at most. */
  readonly bufferBytes: number;
  /** Records a session samples per second at most (burst: bufferRecords); 0 = no limit. */
  readonly recordsPerSecond: number;
  /** Bytes a sink may hold unsent before the session stops writing to it. */
  readonly sinkBacklogBytes: number;
  /**
   * How long buffered records wait before they are sent, in ms: one flush then sends what a
   * few batches left (fewer socket writes, each waking the reader) instead of a flush per batch.
   */
  readonly flushDelayMs: number;
}

export const DEFAULT_INSPECTOR_OPTIONS: InspectorOptions = {
  bufferRecords: 1000,
  bufferBytes: 4 * 1024 * 1024,
  recordsPerSecond: 1000,
  sinkBacklogBytes: 1024 * 1024,
  flushDelayMs: 20,
};

/** The two metric series the inspector keeps per component (src/metrics/conduit.ts). */
export interface InspectorMetrics {
  /** `conduit_inspector_sessions{component_id}` */
  sessions(componentId: string): { add(n: number): void };
  /** `conduit_inspector_dropped_records_total{component_id}` */
  dropped(componentId: string): { inc(n: number): void };
}

/** Where a session writes its messages: a WebSocket, or a test's array. */
export interface SessionSink {
  /** Sends one text message; `done` is called once it left the process (or failed). */
  send(message: string, done: () => void): void;
  /** Bytes handed to `send` and not yet written out. */
  readonly backlog: number;
}

/** One point of a pipeline that sessions can watch. */
export class Tap {
  /** True while at least one session watches: the data path's only check. */
  active = false;
  /** Replaced (never mutated) when a session opens or closes, so `send` can iterate it safely. */
  private sessions: readonly Session[] = [];

  constructor(
    readonly kind: TapKind,
    readonly componentId: string,
  ) {}

  /**
   * Offers a batch to every session. Never blocks, never throws: each session
   * takes what it has room for, the rest is dropped and counted. Records are
   * serialized here (a copy: later stages may change them), each at most once.
   */
  send(records: readonly OpenCDCRecord[]): void {
    const sessions = this.sessions;
    if (sessions.length === 0 || records.length === 0) return;
    const encoded: Array<string | null | undefined> = [];
    for (const s of sessions) s.offer(records, encoded);
  }

  /** Sessions open on this tap. */
  get sessionCount(): number {
    return this.sessions.length;
  }

  /** @internal */
  add(s: Session): void {
    this.sessions = [...this.sessions, s];
    this.active = true;
  }

  /** @internal */
  remove(s: Session): void {
    this.sessions = this.sessions.filter((x) => x !== s);
    this.active = this.sessions.length > 0;
  }
}

/** One client watching a tap: a bounded buffer of serialized records, drained to a sink. */
export class Session {
  /** Records dropped: buffer full, rate exceeded, or a value JSON cannot carry. */
  dropped = 0;
  /** Records handed to the sink. */
  sent = 0;
  private queue: string[] = [];
  private head = 0;
  private queuedBytes = 0;
  private tokens: number;
  private lastRefill = performance.now();
  private scheduled = false;
  private closed = false;
  private readonly onDropped: { inc(n: number): void };

  constructor(
    readonly tap: Tap,
    private readonly sink: SessionSink,
    private readonly opts: InspectorOptions,
    metrics: InspectorMetrics | undefined,
    private readonly onClose: (s: Session) => void,
  ) {
    this.tokens = opts.bufferRecords;
    this.onDropped = metrics?.dropped(tap.componentId) ?? { inc: () => undefined };
  }

  /** Records buffered and not yet sent. */
  get buffered(): number {
    return this.queue.length - this.head;
  }

  /**
   * Takes what fits of a batch (serializing it), counts the rest as dropped.
   * `encoded` is shared by the sessions of one tap: a record is serialized once.
   * @internal
   */
  offer(records: readonly OpenCDCRecord[], encoded: Array<string | null | undefined>): void {
    if (this.closed) return;
    const o = this.opts;
    let room = o.bufferRecords - this.buffered;
    if (o.recordsPerSecond > 0) {
      const now = performance.now();
      this.tokens = Math.min(o.bufferRecords, this.tokens + ((now - this.lastRefill) * o.recordsPerSecond) / 1000);
      this.lastRefill = now;
      room = Math.min(room, Math.floor(this.tokens));
    }
    const n = Math.min(room, records.length);
    let taken = 0;
    for (let i = 0; i < n; i++) {
      let text = encoded[i];
      if (text === undefined) {
        try {
          text = recordProtoJson(records[i] as OpenCDCRecord);
        } catch {
          text = null; // NaN, a function…: not representable, dropped
        }
        encoded[i] = text;
      }
      if (text === null) continue;
      if (this.queuedBytes + text.length > o.bufferBytes) break;
      this.queue.push(text);
      this.queuedBytes += text.length;
      taken++;
    }
    if (o.recordsPerSecond > 0) this.tokens -= taken;
    const dropped = records.length - taken;
    if (dropped > 0) {
      this.dropped += dropped;
      this.onDropped.inc(dropped);
    }
    if (taken > 0) this.schedule();
  }

  /** Stops the session: nothing more is buffered or sent; the tap forgets it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.onClose(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    const flush = (): void => {
      this.scheduled = false;
      this.flush();
    };
    if (this.opts.flushDelayMs > 0) setTimeout(flush, this.opts.flushDelayMs).unref();
    else setImmediate(flush);
  }

  /** Moves buffered records to the sink while its backlog is under the bound. */
  private flush(): void {
    const limit = this.opts.sinkBacklogBytes;
    while (!this.closed && this.head < this.queue.length && this.sink.backlog < limit) {
      const text = this.queue[this.head] as string;
      this.queue[this.head] = '';
      this.head++;
      this.queuedBytes -= text.length;
      this.sent++;
      this.sink.send(streamMessage(text), this.written);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** A message left: if the sink had been too full, go on draining. */
  private readonly written = (): void => {
    if (this.buffered > 0) this.schedule();
  };
}

/** The engine's taps and their sessions, by component. */
export class Inspector {
  private readonly taps = new Map<string, Tap>();
  readonly opts: InspectorOptions;

  constructor(
    opts: Partial<InspectorOptions> = {},
    private readonly metrics?: InspectorMetrics,
  ) {
    this.opts = { ...DEFAULT_INSPECTOR_OPTIONS, ...opts };
  }

  /** The tap of a component (created on first use, then the same object for every run). */
  tap(kind: TapKind, componentId: string): Tap {
    const key = `${kind}\u0000${componentId}`;
    let t = this.taps.get(key);
    if (t === undefined) this.taps.set(key, (t = new Tap(kind, componentId)));
    return t;
  }

  /** The taps of a processor: the records going in, and those coming out. */
  processorTaps(processorId: string): { readonly in: Tap; readonly out: Tap } {
    return { in: this.tap('processor-in', processorId), out: this.tap('processor-out', processorId) };
  }

  /** Opens a session on a tap; close it with {@link Session.close}. */
  open(kind: TapKind, componentId: string, sink: SessionSink): Session {
    const tap = this.tap(kind, componentId);
    const gauge = this.metrics?.sessions(componentId);
    const s = new Session(tap, sink, this.opts, this.metrics, (x) => {
      tap.remove(x);
      gauge?.add(-1);
    });
    tap.add(s);
    gauge?.add(1);
    return s;
  }

  /** Sessions open on every tap. */
  get sessionCount(): number {
    let n = 0;
    for (const t of this.taps.values()) n += t.sessionCount;
    return n;
  }
}
