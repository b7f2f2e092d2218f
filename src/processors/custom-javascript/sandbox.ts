/**
 * A script's sandbox: one `node:vm` context per processor, with the bridge
 * (bridge.ts) installed before the script runs.
 *
 * - Isolation: the context's global is an ordinary object of its own realm
 *   (`vm.constants.DONT_CONTEXTIFY`; on older Node a contextified
 *   null-prototype object), so `this` does not lead to the host's `Object`;
 *   code generation from strings and WebAssembly are off (so the script
 *   cannot build an `import()` we did not see), and no host object is ever
 *   handed to the script (see bridge.ts).
 *   Nothing of Node (`require`, `process`, `fetch`, timers) exists unless
 *   the operator allows it.
 * - Time: every entry into the context runs under the watchdog of
 *   `vm.Script#runInContext({ timeout })`. Starting the watchdog costs about
 *   200 µs, so records are not run one call each: one call runs as many
 *   records as it can. When the watchdog fires, the record in flight fails
 *   only if it had the whole budget to itself (it was the first of the
 *   call); otherwise the loop starts again at that record with a fresh
 *   budget. So each record gets at least the full budget, and a script that
 *   loops forever costs one budget per record it is given.
 * - Host code never reads an object the script could have shaped (a getter,
 *   a proxy): results come back as primitives the bridge writes into a host
 *   array (the wire; structured data as JSON text), and bytes created by the
 *   bridge. Records go in as primitives and bytes the host laid out (see
 *   layout and flattenMetadata), which the bridge copies into its own realm.
 */
import { createRequire } from 'node:module';
import { types } from 'node:util';
import vm from 'node:vm';
import type { Level, Logger } from '../../log/logger.js';
import type { OpenCDCRecord, Operation, StructuredData } from '../../opencdc/record.js';
import { FILTERED, MultiRecord, type ProcessedRecord } from '../../sdk/processor.js';
import { BRIDGE_SOURCE } from './bridge.js';
import { isVmTimeout } from '../../template/js.js';

export interface SandboxOptions {
  /** The JavaScript to run (already stripped of types, modules turned into CommonJS). */
  readonly code: string;
  /** The name in stack traces and error messages, e.g. `script.js`. */
  readonly filename: string;
  /** The most one entry into the script may run, in milliseconds. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Node built-in modules the script may `require`, plus `fetch` and `process` for those globals. */
  readonly allow: readonly string[];
}

/** A problem with the script found before any record: it does not compile, throws at load, or has no entry. */
export class ScriptError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** A record the script failed on: the message, and the record field it is about (`.Payload.After.x`) if any. */
export class ScriptRecordError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'ScriptRecordError';
  }
}

/** The mailbox between host and bridge: a host object with no prototype, never visible to the script. */
interface Box {
  input: readonly OpenCDCRecord[] | null;
  end: number;
  next: number;
  /** Per input record: "F" (filtered), failure JSON text, or where its records start in the wire. */
  out: Array<string | number | undefined>;
  /** The wire: primitives only, written by the bridge (see resultOut in bridge.ts). */
  wire: Wire;
  bytes: Record<number, Uint8Array | undefined>;
  nbytes: number;
  /** The batch's metadata, flat: key, value, key, value … (strings), record i's from metaAt[i] to metaAt[i + 1]. */
  meta: string[];
  metaAt: Int32Array;
  /** The batch's raw bytes (see layout), as 32-bit words too, and where each field's part is. */
  pristine: Uint8Array;
  pristineW: Int32Array;
  partAt: Int32Array;
  partLen: Int32Array;
  mode: 'record' | 'batch' | 'none';
  thrown: unknown;
  described: string;
}

// Host intrinsics to read byte arrays made in the context without running anything the script could change.
const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
// eslint-disable-next-line @typescript-eslint/unbound-method -- an intrinsic getter, only called through Reflect.apply
const typedArrayLength = Object.getOwnPropertyDescriptor(TypedArrayProto, 'length')?.get as () => number;
const typedArraySet = Object.getOwnPropertyDescriptor(TypedArrayProto, 'set')?.value as (
  this: Uint8Array,
  src: ArrayLike<number>,
) => void;

const TAG_BYTES = '\u0000b';
const TAG_BIGINT = '\u0000n';
const TAG_DATE = '\u0000d';
const TAG_FLOAT = '\u0000f';

const LEVELS: readonly Level[] = ['trace', 'debug', 'info', 'warn', 'error'];

/**
 * Node >= 20.18: a context whose global is an ordinary object of its own realm, with none of the interceptors
 * that make a contextified global look a host object up first. A script's global lookups (`String`, `JSON`,
 * `Math` …) then cost a few ns instead of ~250 ns each. Older Node: a contextified null-prototype object.
 */
const DONT_CONTEXTIFY = (vm.constants as { DONT_CONTEXTIFY?: typeof vm.constants.DONT_CONTEXTIFY } | undefined)
  ?.DONT_CONTEXTIFY;

const RUN = new vm.Script('__conduit_run__()', { filename: 'conduit:run' });
const BIND = new vm.Script('__conduit_bind__()', { filename: 'conduit:bind' });
const DESCRIBE = new vm.Script('__conduit_describe__()', { filename: 'conduit:describe' });

export class Sandbox {
  private constructor(
    private readonly context: vm.Context,
    private readonly box: Box,
    private readonly timeoutMs: number,
  ) {}

  /** `record` for process(record), `batch` for processBatch(records). */
  get mode(): 'record' | 'batch' {
    return this.box.mode === 'batch' ? 'batch' : 'record';
  }

  /**
   * Compiles the script, installs the bridge, runs the script's top level and
   * finds its entry point.
   *
   * @throws ScriptError when the script does not compile, throws or runs past
   *   the budget at load, or defines neither `process` nor `processBatch`.
   */
  static create(opts: SandboxOptions): Sandbox {
    let script: vm.Script;
    try {
      script = new vm.Script(opts.code, { filename: opts.filename });
    } catch (e) {
      throw syntaxError(e, opts.filename);
    }
    const context = vm.createContext(DONT_CONTEXTIFY ?? (Object.create(null) as object), {
      name: opts.filename,
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: 'afterEvaluate',
    });
    // No prototype (nothing of the host's Object reachable through it), but built as a literal so that it
    // stays a fast object: Object.create(null) makes a dictionary, and the bridge reads it for every record.
    const box: Box = {
      input: null,
      end: 0,
      next: 0,
      out: [],
      wire: [],
      bytes: Object.create(null) as Box['bytes'],
      nbytes: 0,
      meta: [],
      metaAt: NO_WORDS,
      pristine: NO_BYTES,
      pristineW: NO_WORDS,
      partAt: NO_WORDS,
      partLen: NO_WORDS,
      mode: 'none',
      thrown: null,
      described: '',
    };
    Object.setPrototypeOf(box, null);
    const install = vm.runInContext(BRIDGE_SOURCE, context, { filename: 'conduit:bridge' }) as (
      host: object,
      box: Box,
    ) => void;
    install(hostApi(opts), box);
    const sandbox = new Sandbox(context, box, opts.timeoutMs);
    const load = sandbox.enter(script);
    if (load !== undefined)
      throw new ScriptError(`the script failed while loading: ${load}`, ...location(load, opts.filename));
    const bind = sandbox.enter(BIND);
    if (bind !== undefined) throw new ScriptError(`the script failed while loading: ${bind}`);
    if (box.mode === 'none') {
      throw new ScriptError(
        'the script defines no entry point: it needs function process(record) (or processBatch(records)), ' +
          'as a global function or an export',
      );
    }
    return sandbox;
  }

  /**
   * Runs the script over a batch: one result per record, in order. A record
   * the script throws on, returns something that is not a record, or runs
   * past the budget on, becomes a ScriptRecordError; the others go on.
   */
  run(records: readonly OpenCDCRecord[]): Array<ProcessedRecord | ScriptRecordError> {
    const n = records.length;
    const box = this.box;
    box.input = records;
    box.end = n;
    box.next = 0;
    box.out = new Array<string | number | undefined>(n);
    box.wire = this.wire;
    box.bytes = Object.create(null) as Box['bytes'];
    box.nbytes = 0;
    flattenMetadata(records, box);
    layout(records, box);
    const timedOut = new Set<number>();
    let broken: string | undefined;
    try {
      while (box.next < n) {
        const start = box.next;
        const problem = this.enter(RUN);
        if (problem === undefined) continue;
        if (problem !== TIMEOUT) {
          broken = problem; // the bridge catches what the script throws: this is the engine's own failure
          break;
        }
        if (this.box.mode === 'batch') {
          for (let i = 0; i < n; i++) timedOut.add(i);
          break;
        }
        const cur = box.next;
        if (box.out[cur] !== undefined)
          box.next = cur + 1; // it finished as the watchdog fired
        else if (cur === start) {
          timedOut.add(cur);
          box.next = cur + 1;
        } // else: it started late in the call; run it again with a budget of its own
      }
      const out: Array<ProcessedRecord | ScriptRecordError> = new Array<ProcessedRecord | ScriptRecordError>(n);
      for (let i = 0; i < n; i++) {
        if (timedOut.has(i)) {
          out[i] = new ScriptRecordError(
            `the script ran past its time budget of ${this.timeoutMs} ms (script.timeout) and was stopped`,
            '',
          );
          continue;
        }
        const result = box.out[i];
        out[i] =
          result === undefined
            ? new ScriptRecordError(`the script did not finish: ${broken ?? 'no result'}`, '')
            : this.result(result, records[i] as OpenCDCRecord);
      }
      return out;
    } finally {
      box.input = null;
      box.out = [];
      box.bytes = Object.create(null) as Box['bytes'];
      box.pristine = NO_BYTES;
      box.pristineW = NO_WORDS;
    }
  }

  /** Runs a script in the context under the budget; undefined when it went well, else what went wrong. */
  private enter(script: vm.Script): string | undefined {
    try {
      script.runInContext(this.context, { timeout: this.timeoutMs, breakOnSigint: false });
      return undefined;
    } catch (e) {
      if (isVmTimeout(e)) return TIMEOUT;
      if (isHostError(e)) return e.message;
      if (typeof e !== 'object' && typeof e !== 'function') return `threw ${primitiveText(e as Primitive)}`;
      // Something of the script's realm: let the bridge describe it, under the budget.
      this.box.thrown = e;
      this.box.described = 'threw a value that cannot be shown';
      try {
        DESCRIBE.runInContext(this.context, { timeout: this.timeoutMs });
      } catch {
        // described stays as set
      }
      this.box.thrown = null;
      return this.box.described;
    }
  }

  /** A result of the script for the input record `input`. */
  private result(result: string | number, input: OpenCDCRecord): ProcessedRecord | ScriptRecordError {
    if (typeof result === 'number') {
      const wire = this.box.wire;
      const n = wire[result] as number;
      this.at = result + 1;
      if (n === 1) return this.record(wire, input, false);
      const records = new Array<OpenCDCRecord>(n);
      for (let j = 0; j < n; j++) records[j] = this.record(wire, input, true);
      return new MultiRecord(records);
    }
    if (result === 'F') return FILTERED;
    const v = JSON.parse(result) as { e?: string; f?: string };
    return new ScriptRecordError(v.e ?? 'failed', v.f ?? '');
  }

  /** Where the next record is read from in the wire. */
  private at = 0;

  /**
   * The wire, kept from batch to batch so that it does not grow again each time (what lies past this
   * batch's results is never read).
   */
  private readonly wire: Wire = [];

  /**
   * The record at `this.at` in the wire (see recordOut in bridge.ts), moving past it. `split`: one of several
   * records made from the input, which must not share its metadata object.
   */
  private record(wire: Wire, input: OpenCDCRecord, split: boolean): OpenCDCRecord {
    let at = this.at;
    const pos = wire[at++] as number;
    const operation = wire[at++] as Operation;
    const delta = wire[at++] === 0;
    const count = wire[at++] as number;
    // A delta: the script only added or changed keys of the input's metadata (the input is ours to change).
    const given = input.metadata as OpenCDCRecord['metadata'] | null | undefined;
    const metadata =
      delta && given !== null && given !== undefined ? (split ? { ...given } : given) : ({} as Record<string, string>);
    for (let j = 0; j < count; j++, at += 2) setKey(metadata, wire[at] as string, wire[at + 1] as string);
    const key = wire[at] as WireData;
    const before = wire[at + 1] as WireData;
    const after = wire[at + 2] as WireData;
    const tagged = wire[at + 3] as number;
    this.at = at + 4;
    // The bridge says -1 when the script handed back the input's position unchanged: keep it, no copy.
    const position = pos === REUSE_POSITION ? input.position : this.bytes(pos);
    const k = this.data(key, tagged, input);
    const b = this.data(before, tagged, input);
    const a = this.data(after, tagged, input);
    if (split) return { position, operation, metadata, key: k, payload: { before: b, after: a } };
    // The only record made from the input: the input itself becomes it (no new objects per record).
    input.position = position;
    input.operation = operation;
    input.metadata = metadata;
    input.key = k;
    input.payload.before = b;
    input.payload.after = a;
    return input;
  }

  private data(d: WireData, tagged: number, input: OpenCDCRecord): OpenCDCRecord['key'] {
    if (d === null) return null;
    if (typeof d === 'number') {
      // Raw data the script did not change (the bridge compared it with the input's): the input's own bytes.
      if (d === REUSE_KEY) return input.key;
      if (d === REUSE_BEFORE) return input.payload.before;
      if (d === REUSE_AFTER) return input.payload.after;
      return this.bytes(d);
    }
    const v = JSON.parse(d) as StructuredData;
    return tagged === 1 ? (untag(v, this) as StructuredData) : v;
  }

  /** A host Buffer with the bytes of a bridge-made array, read with host intrinsics only. */
  bytes(index: number): Buffer {
    const u8 = this.box.bytes[index];
    if (u8 === undefined) return Buffer.alloc(0);
    const len = Reflect.apply(typedArrayLength, u8, []);
    const out = Buffer.allocUnsafe(len);
    Reflect.apply(typedArraySet, out, [u8]);
    return out;
  }
}

/** Raw data (a bytes index or a REUSE_ code), structured data as JSON text, or null. */
type WireData = null | number | string;
type Wire = Array<string | number | null>;

const NO_BYTES = new Uint8Array(0);
const NO_WORDS = new Int32Array(0);

/**
 * The raw bytes of the records (position, key, before, after: the Uint8Arrays among them) as the bridge
 * reads them: one zeroed array (its padding shows the script nothing of the host's memory), each field's
 * part starting at a multiple of 4, so that the bridge compares words. Field s = 4i + f of record i: its
 * part starts at partAt[s] (-1: not raw bytes; -2: another kind of byte view, which the bridge copies on
 * its own) and has partLen[s] bytes.
 */
function layout(records: readonly OpenCDCRecord[], box: Box): void {
  const n = records.length;
  if (box.partAt.length < 4 * n) {
    box.partAt = new Int32Array(4 * n);
    box.partLen = new Int32Array(4 * n);
  }
  const at = box.partAt;
  const len = box.partLen;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i] as OpenCDCRecord;
    const p = r.payload;
    const s = 4 * i;
    total = measure(r.position, s, at, len, total);
    total = measure(r.key, s + 1, at, len, total);
    total = measure(p.before, s + 2, at, len, total);
    total = measure(p.after, s + 3, at, len, total);
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < n; i++) {
    const r = records[i] as OpenCDCRecord;
    const p = r.payload;
    const s = 4 * i;
    copyPart(bytes, r.position, at[s] as number);
    copyPart(bytes, r.key, at[s + 1] as number);
    copyPart(bytes, p.before, at[s + 2] as number);
    copyPart(bytes, p.after, at[s + 3] as number);
  }
  box.pristine = bytes;
  box.pristineW = new Int32Array(bytes.buffer, 0, total >> 2);
}

/** Copies a part (a Uint8Array when at >= 0) to bytes at `at`: a loop for a few bytes, cheaper than set's call. */
function copyPart(bytes: Uint8Array, v: unknown, at: number): void {
  if (at < 0) return;
  const src = v as Uint8Array;
  const n = src.length;
  if (n > 32) bytes.set(src, at);
  else for (let j = 0; j < n; j++) bytes[at + j] = src[j] as number;
}

/** Notes where field s (host value v) goes; returns where the next part starts. */
function measure(v: unknown, s: number, at: Int32Array, len: Int32Array, total: number): number {
  if (v === null || typeof v !== 'object') {
    at[s] = -1;
    return total;
  }
  if (!(v instanceof Uint8Array)) {
    at[s] = ArrayBuffer.isView(v) ? -2 : -1;
    return total;
  }
  const n = v.length;
  at[s] = total;
  len[s] = n;
  return total + ((n + 3) & ~3);
}

/**
 * The records' metadata as the bridge reads it (box.meta, box.metaAt): strings only, so the script never gets
 * a host object even from a record whose metadata broke its type.
 */
function flattenMetadata(records: readonly OpenCDCRecord[], box: Box): void {
  // The arrays are kept from batch to batch (no regrowth); what lies past this batch's part is never read.
  const meta = box.meta;
  if (box.metaAt.length < records.length + 1) box.metaAt = new Int32Array(2 * records.length + 1);
  const at = box.metaAt;
  let j = 0;
  for (let i = 0; i < records.length; i++) {
    at[i] = j;
    const md = (records[i] as OpenCDCRecord).metadata as Record<string, unknown> | null | undefined;
    if (md === null || md === undefined) continue;
    // for-in, not Object.keys (no array per record): metadata is a plain object, nothing enumerable inherited.
    for (const k in md) {
      const v = md[k];
      meta[j++] = k;
      meta[j++] = typeof v === 'string' ? v : String(v);
    }
  }
  at[records.length] = j;
}

/** Sets a metadata key (`__proto__` as an own key). */
function setKey(target: Record<string, string>, k: string, v: string): void {
  if (k === '__proto__')
    Object.defineProperty(target, k, { value: v, writable: true, enumerable: true, configurable: true });
  else target[k] = v;
}

const TIMEOUT = '\u0000timeout';

/** Wire indexes for bytes the script returned unchanged: the input record's own (see `reused` in bridge.ts). */
const REUSE_POSITION = -1;
const REUSE_KEY = -2;
const REUSE_BEFORE = -3;
const REUSE_AFTER = -4;

type Primitive = string | number | boolean | bigint | symbol | null | undefined;

function primitiveText(v: Primitive): string {
  return String(v);
}

/**
 * The watchdog's error. Node creates it in the context's realm, so it is
 * recognised by its own data property `code`, read without running anything.
 */

/** An error of the host realm (the watchdog's, or vm's own): safe to read. Anything else came from the script. */
function isHostError(e: unknown): e is Error {
  return (
    typeof e === 'object' && e !== null && !types.isProxy(e) && Object.getPrototypeOf(e) !== null && isHostProto(e)
  );
}

function isHostProto(e: object): boolean {
  for (let p = Object.getPrototypeOf(e) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (p === Error.prototype) return true;
    if (p === Object.prototype) return false;
  }
  return false;
}

/** Turns the bridge's tags back into bytes, bigints, dates and non-finite numbers. */
function untag(v: unknown, sb: Sandbox): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = untag(v[i], sb);
    return v;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const k = keys[0] as string;
    const x = o[k];
    if (k === TAG_BYTES) return sb.bytes(x as number);
    if (k === TAG_BIGINT) return BigInt(x as string);
    if (k === TAG_DATE) return new Date(x as number);
    if (k === TAG_FLOAT) return Number(x);
  }
  for (const k of keys) o[k] = untag(o[k], sb);
  return o;
}

function hostApi(opts: SandboxOptions): object {
  const allow = new Set(opts.allow.map((a) => a.replace(/^node:/, '')));
  const allowed = Object.create(null) as Record<string, boolean>;
  for (const a of allow) if (a !== 'fetch') allowed[a] = true;
  const levels = Object.create(null) as Record<string, boolean>;
  for (const l of LEVELS) levels[l] = opts.logger.enabled(l);
  const logger = opts.logger;
  const hostRequire = createRequire(import.meta.url);
  const api = Object.create(null) as Record<string, unknown>;
  Object.assign(api, {
    objectProto: Object.prototype,
    dateProto: Date.prototype,
    levels,
    allowed,
    filename: opts.filename,
    // Only primitives come in; nothing goes back; nothing is thrown.
    log: (level: string, msg: string, json: string): void => {
      try {
        const fields = json === '' ? {} : (JSON.parse(json) as Record<string, unknown>);
        logger.log(level as Level, msg, { ...fields, source: 'script' });
      } catch {
        // a log line is not worth a failed record
      }
    },
    require: Object.keys(allowed).length === 0 ? null : (name: string): unknown => hostRequire(name),
    fetch: allow.has('fetch') ? fetch : null,
    process: allow.has('process') ? process : null,
  });
  return api;
}

/** Line and column of a compile error, from V8's `file:line` header and caret line. */
function syntaxError(e: unknown, filename: string): ScriptError {
  const err = e as Error;
  const stack = typeof err.stack === 'string' ? err.stack : '';
  const lines = stack.split('\n');
  let line: number | undefined;
  let column: number | undefined;
  const head = /:(\d+)$/.exec(lines[0] ?? '');
  if (head !== null && lines[0]?.startsWith(filename) === true) {
    line = Number(head[1]);
    const caret = lines[2]?.indexOf('^') ?? -1;
    if (caret >= 0) column = caret + 1;
  }
  return new ScriptError(`${err.name}: ${err.message}`, line, column);
}

/** "script.js:3:9: …" at the start of a load failure gives its place. */
function location(msg: string, filename: string): [number?, number?] {
  const m = new RegExp(`^${filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`).exec(msg);
  return m === null ? [] : [Number(m[1]), Number(m[2])];
}
