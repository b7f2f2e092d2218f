/**
 * The generator source: fake records at a chosen rate, for demos and benchmarks.
 *
 * Speed matters (the engine benchmark reads millions of records through it), so
 * a batch is built in one tight loop: a xorshift PRNG, prebuilt words, field
 * types as small integers (no closure per field), one timestamp per batch and
 * all positions of a batch in one buffer.
 *
 * Unlike Conduit's generator, the position is the record number: reopening at a
 * position resumes the numbering, so `recordCount` counts across restarts.
 */
import { readFile } from 'node:fs/promises';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import type { Logger } from '../../log/logger.js';
import { unixNanos } from '../../opencdc/metadata.js';
import type { Data, OpenCDCRecord, Operation, StructuredData } from '../../opencdc/record.js';
import type { ConnectorContext, Source } from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';
import { decimalRange, delay, paramError, parseDecimalPosition, untilAborted } from '../util.js';
import { FIELD_TYPES, FORMAT_TYPES, type FieldType, type FormatType } from './spec.js';
import { WORD_BYTES, WORD_MASK, WORDS } from './words.js';

const T_INT = 0;
const T_STRING = 1;
const T_TIME = 2;
const T_BOOL = 3;
const T_DURATION = 4;
const SLAB_SIZE = 64 * 1024;
const TYPE_CODE: Record<FieldType, number> = {
  int: T_INT,
  string: T_STRING,
  time: T_TIME,
  bool: T_BOOL,
  duration: T_DURATION,
};

/** What one collection (or the whole generator, without collections) produces. */
export interface CollectionPlan {
  /** Undefined when no collections are configured (no `opencdc.collection`). */
  readonly name: string | undefined;
  readonly format: FormatType;
  /** Field names, sorted (raw JSON has sorted keys, as Go's encoder writes maps). */
  readonly fields: readonly string[];
  readonly types: readonly FieldType[];
  readonly operations: readonly Operation[];
  /** For the `file` format. */
  readonly path: string;
  /** The parameter that set `path`, for errors. */
  readonly pathParam: string;
}

interface Compiled {
  readonly name: string | undefined;
  readonly kind: 0 | 1 | 2; // structured, raw, file
  readonly names: string[];
  /** JSON prefixes for raw: `{"a":`, `,"b":` … */
  readonly jsonKeys: string[];
  readonly codes: number[];
  /** Every field, set to null (parsed from JSON, so V8 gives it a fast layout). */
  readonly template: StructuredData;
  /** Builds one structured payload as an object literal (see compileStructured); undefined: the loop does. */
  readonly make: ((gen: GeneratorSource, nowMs: number) => StructuredData) | undefined;
  readonly ops: Operation[];
  file: Buffer | undefined;
  readonly path: string;
  readonly pathParam: string;
}

export class GeneratorSource implements Source {
  private plans: CollectionPlan[] = [];
  private gens: Compiled[] = [];
  private rate = 0;
  private recordCount = 0;
  private generateMs = 1000;
  private sleepMs = 0;
  private logger: Logger | undefined;
  /** The number of the next record (1-based). */
  private next = 1;
  private rateStart = 0;
  private rateEmitted = 0;
  private cycleStart = 0;
  private asciiOnly = true;
  private seed = 0x2545f491;
  private slab = Buffer.alloc(0);
  private slabOff = 0;
  private isoMs = -1;
  private isoText = '';

  configure(config: Config, ctx: ConnectorContext): void {
    this.logger = ctx.logger;
    this.rate = config.float('rate');
    this.recordCount = config.int('recordCount');
    this.generateMs = config.duration('burst.generateTime');
    this.sleepMs = config.duration('burst.sleepTime');
    const readTime = config.duration('readTime');
    if (this.rate === 0 && readTime > 0) {
      this.rate = 1000 / readTime;
      ctx.logger.warn('generator: readTime is deprecated, use rate', { rate: this.rate });
    }
    this.plans = planCollections(config);
    this.asciiOnly = this.plans.every((p) => p.fields.every((f) => /^[\x20-\x7e]*$/.test(f)));
  }

  async open(position: Uint8Array | null): Promise<void> {
    this.next = position === null || position.length === 0 ? 1 : parseDecimalPosition(position, 'generator') + 1;
    this.gens = [];
    for (const p of this.plans) {
      let file: Buffer | undefined;
      if (p.format === 'file') {
        try {
          file = await readFile(p.path);
        } catch (err) {
          throw new ConduitError(
            Code.ConnectorOpenFailed,
            `generator: cannot read ${p.path}: ${(err as Error).message}`,
            {
              configPath: `/${p.pathParam}`,
              cause: err,
              retryable: false,
              suggestion: `set "${p.pathParam}" to a readable file`,
            },
          );
        }
      }
      this.gens.push({
        name: p.name,
        kind: p.format === 'structured' ? 0 : p.format === 'raw' ? 1 : 2,
        names: [...p.fields],
        jsonKeys: p.fields.map((f, i) => `${i === 0 ? '{' : ','}${JSON.stringify(f)}:`),
        codes: p.types.map((t) => TYPE_CODE[t]),
        template: JSON.parse(`{${p.fields.map((f) => `${JSON.stringify(f)}:null`).join(',')}}`) as StructuredData,
        make: p.format === 'structured' ? compileStructured(p.fields, p.types) : undefined,
        ops: [...p.operations],
        file,
        path: p.path,
        pathParam: p.pathParam,
      });
    }
    this.seed = (Date.now() ^ (this.next * 0x9e3779b1)) | 1;
    this.rateStart = performance.now();
    this.rateEmitted = 0;
    this.cycleStart = Date.now();
  }

  async read(max: number, signal: AbortSignal): Promise<OpenCDCRecord[]> {
    for (;;) {
      if (signal.aborted) return [];
      let n = Math.max(1, max);
      if (this.recordCount > 0) {
        const left = this.recordCount - this.next + 1;
        if (left <= 0) {
          this.logger?.debug('generator: recordCount reached, waiting for the pipeline to stop');
          await untilAborted(signal);
          return [];
        }
        if (left < n) n = left;
      }
      if (this.sleepMs > 0) {
        // Bursts: sleep, generate, sleep, …; a run starts with the sleep (as Conduit's does).
        const inCycle = (Date.now() - this.cycleStart) % (this.sleepMs + this.generateMs);
        if (inCycle < this.sleepMs) {
          await delay(this.sleepMs - inCycle, signal);
          continue;
        }
      }
      if (this.rate > 0) {
        const now = performance.now();
        let allowed = Math.floor(((now - this.rateStart) * this.rate) / 1000) + 1 - this.rateEmitted;
        if (allowed > Math.max(1, this.rate)) {
          // More than a second behind (the pipeline was slow): start a new schedule rather than burst.
          this.rateStart = now;
          this.rateEmitted = 0;
          allowed = 1;
        }
        if (allowed <= 0) {
          const due = this.rateStart + (this.rateEmitted * 1000) / this.rate;
          await delay(Math.max(1, Math.ceil(due - now)), signal);
          continue;
        }
        if (allowed < n) n = allowed;
        this.rateEmitted += n;
      }
      return this.generate(n);
    }
  }

  async ack(_positions: readonly Uint8Array[]): Promise<void> {
    // Nothing upstream to release.
  }

  async teardown(): Promise<void> {
    this.gens = [];
  }

  /** The next number of the generator's xorshift sequence (an unsigned 32-bit integer). */
  rnd(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x;
    return x >>> 0;
  }

  /** Builds `n` records numbered from `this.next`. */
  generate(n: number): OpenCDCRecord[] {
    const first = this.next;
    this.next += n;
    const positions = decimalRange(first, n);
    const nowMs = Date.now();
    const readAt = unixNanos(nowMs);
    const gens = this.gens;
    const k = gens.length;
    const out: OpenCDCRecord[] = new Array<OpenCDCRecord>(n);
    for (let i = 0; i < n; i++) {
      const g = (k === 1 ? gens[0] : gens[(first + i - 1) % k]) as Compiled;
      const ops = g.ops;
      const op = (ops.length === 1 ? ops[0] : ops[this.rnd() % ops.length]) as Operation;
      let before: Data = null;
      let after: Data = null;
      if (op === 'create' || op === 'snapshot') after = this.payload(g, nowMs);
      else if (op === 'update') {
        before = this.payload(g, nowMs);
        after = this.payload(g, nowMs);
      } else before = this.payload(g, nowMs);
      out[i] = {
        position: positions[i] as Buffer,
        operation: op,
        // Literal keys (not computed ones): V8 builds these from a boilerplate.
        metadata:
          g.name === undefined
            ? { 'opencdc.readAt': readAt }
            : { 'opencdc.readAt': readAt, 'opencdc.collection': g.name },
        key: WORD_BYTES[this.rnd() & WORD_MASK] as Buffer,
        payload: { before, after },
      };
    }
    return out;
  }

  private payload(g: Compiled, nowMs: number): Data {
    if (g.kind === 0) return this.structured(g, nowMs);
    if (g.kind === 2) return g.file as Buffer;
    const json = this.json(g, nowMs);
    if (!this.asciiOnly) return Buffer.from(json, 'utf8');
    // Raw payloads are cut from a shared slab: one allocation per ~64 KiB instead of one per record.
    if (this.slab.length - this.slabOff < json.length) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, json.length));
      this.slabOff = 0;
    }
    const start = this.slabOff;
    this.slabOff += this.slab.write(json, start, 'latin1');
    return this.slab.subarray(start, this.slabOff);
  }

  private iso(nowMs: number): string {
    if (nowMs !== this.isoMs) {
      this.isoMs = nowMs;
      this.isoText = `"${new Date(nowMs).toISOString()}"`;
    }
    return this.isoText;
  }

  private structured(g: Compiled, nowMs: number): StructuredData {
    if (g.make !== undefined) return g.make(this, nowMs);
    // A copy of a template that has every field, in sorted order: one object
    // with the same hidden class for every record of a collection, which stays
    // fast with many fields (adding fields one by one turns it into a dictionary).
    // Narrow payloads are copied with Object.assign: a field added later (field.set)
    // to a spread copy gives every object a hidden class of its own (Node 20), which
    // made field.set ~0.8 µs and every later access slow; wide ones keep the spread.
    const o: StructuredData = g.names.length <= 16 ? Object.assign({}, g.template) : { ...g.template };
    const names = g.names;
    const codes = g.codes;
    for (let f = 0; f < names.length; f++) {
      const name = names[f] as string;
      switch (codes[f]) {
        case T_INT:
          o[name] = this.rnd() * 0x200000 + (this.rnd() >>> 11);
          break;
        case T_STRING:
          o[name] = WORDS[this.rnd() & WORD_MASK] as string;
          break;
        case T_TIME:
          o[name] = new Date(nowMs);
          break;
        case T_BOOL:
          o[name] = (this.rnd() & 1) === 1;
          break;
        default:
          o[name] = (this.rnd() % 3_600_000) * 1_000_000;
      }
    }
    return o;
  }

  /** The JSON of the structured fields, written directly (no object, no JSON.stringify). */
  private json(g: Compiled, nowMs: number): string {
    const keys = g.jsonKeys;
    const codes = g.codes;
    if (keys.length === 0) return '{}';
    let s = '';
    for (let f = 0; f < keys.length; f++) {
      s += keys[f] as string;
      switch (codes[f]) {
        case T_INT:
          s += String(this.rnd() * 0x200000 + (this.rnd() >>> 11));
          break;
        case T_STRING:
          s += `"${WORDS[this.rnd() & WORD_MASK] as string}"`;
          break;
        case T_TIME:
          s += this.iso(nowMs);
          break;
        case T_BOOL:
          s += (this.rnd() & 1) === 1 ? 'true' : 'false';
          break;
        default:
          s += String((this.rnd() % 3_600_000) * 1_000_000);
      }
    }
    return `${s}}`;
  }
}

/**
 * A function that builds a structured payload as one object literal, its fields in `fields` order (so the
 * random numbers are drawn in the same order as the loop in `structured` draws them): V8 makes each object
 * from a boilerplate, where the loop copies a template and stores 57 fields by computed name (2 against
 * 0.7 µs for the 1 KB benchmark record). The code is made from the field names only, each as a JSON string
 * literal. Undefined (the loop then) for a `__proto__` field, which a literal would take as the prototype.
 */
function compileStructured(
  fields: readonly string[],
  types: readonly FieldType[],
): ((gen: GeneratorSource, nowMs: number) => StructuredData) | undefined {
  if (fields.length === 0 || fields.length > 1000 || fields.includes('__proto__')) return undefined;
  const props = fields.map((f, i) => {
    const code = TYPE_CODE[types[i] as FieldType];
    const value =
      code === T_INT
        ? 'g.rnd() * 0x200000 + (g.rnd() >>> 11)'
        : code === T_STRING
          ? 'W[g.rnd() & M]'
          : code === T_TIME
            ? 'new Date(nowMs)'
            : code === T_BOOL
              ? '(g.rnd() & 1) === 1'
              : '(g.rnd() % 3600000) * 1000000';
    return `${JSON.stringify(f)}: ${value}`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(
    'W',
    'M',
    `return function make(g, nowMs) {\n  return {\n${props.join(',\n')}\n  };\n};`,
  );
  return (factory as (w: readonly string[], m: number) => (gen: GeneratorSource, nowMs: number) => StructuredData)(
    WORDS,
    WORD_MASK,
  );
}

/** Reads the format and collection parameters into one plan per collection. */
export function planCollections(config: Config): CollectionPlan[] {
  const topType = config.string('format.type');
  const topFields = fieldsUnder(config.settings, 'format.options.');
  const topOps = config.list('operations') as Operation[];
  const collections = [...config.group('collections.').entries()].sort(([a], [b]) => a.localeCompare(b));

  if (collections.length === 0) {
    if (topType === '') {
      throw paramError(
        'format.type',
        'is required when no collections are configured',
        `set "format.type" to one of ${FORMAT_TYPES.join(', ')}`,
      );
    }
    return [plan(undefined, topType as FormatType, topFields, '', config.string('format.options.path'), topOps)];
  }
  return collections.map(([name, settings]) => {
    const prefix = `collections.${name}.`;
    const type = settings['format.type'] ?? topType;
    if (type === '') {
      throw paramError(
        `${prefix}format.type`,
        'is required (no "format.type" to default to)',
        `set "${prefix}format.type" or "format.type"`,
      );
    }
    const own = fieldsUnder(settings, 'format.options.');
    const ownPath = settings['format.options.path'];
    const ops = settings['operations'] === undefined ? topOps : (config.list(`${prefix}operations`) as Operation[]);
    const fields = own.size > 0 ? own : topFields;
    return plan(
      name,
      type as FormatType,
      fields,
      own.size > 0 ? prefix : '',
      ownPath ?? config.string('format.options.path'),
      ops,
      ownPath === undefined ? 'format.options.path' : `${prefix}format.options.path`,
    );
  });
}

function fieldsUnder(settings: Readonly<Record<string, string>>, prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(settings)) {
    if (!k.startsWith(prefix)) continue;
    const name = k.slice(prefix.length);
    if (name === 'path' || name.includes('.') || v === '') continue;
    out.set(name, v);
  }
  return out;
}

function plan(
  name: string | undefined,
  format: FormatType,
  fields: Map<string, string>,
  fieldsPrefix: string,
  path: string,
  operations: Operation[],
  pathParam = 'format.options.path',
): CollectionPlan {
  const where = name === undefined ? '' : `collections.${name}.`;
  if (operations.length === 0) {
    throw paramError(
      `${where}operations`,
      'lists no operation',
      'list at least one of create, update, delete, snapshot',
    );
  }
  if (format === 'file') {
    if (path === '')
      throw paramError(pathParam, 'is required for the file format type', `set "${pathParam}" to a file`);
    return { name, format, fields: [], types: [], operations, path, pathParam };
  }
  if (fields.size === 0) {
    throw paramError(
      `${where === '' ? '' : where}format.options.*`,
      `no fields are configured for the ${format} format type`,
      `add fields such as "${where}format.options.id: int"`,
    );
  }
  const names = [...fields.keys()].sort();
  const types = names.map((f) => {
    const t = fields.get(f) as string;
    if (!(FIELD_TYPES as readonly string[]).includes(t)) {
      throw paramError(
        `${fieldsPrefix}format.options.${f}`,
        `"${t}" is not a field type`,
        `use one of ${FIELD_TYPES.join(', ')}`,
      );
    }
    return t as FieldType;
  });
  return { name, format, fields: names, types, operations, path: '', pathParam };
}
