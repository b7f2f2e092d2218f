/**
 * The connector conformance kit: one suite every connector runs against its
 * real upstream or downstream (a file system, a database, a broker). It checks
 * the contract in `connector.ts`: order, resume without gap or repeat, acks,
 * teardown without acks (at-least-once), abortable reads, and configuration
 * errors that name the parameter.
 *
 * @example
 *   sourceConformance({
 *     plugin: filePlugin,
 *     fixture: async () => { … return { settings: { path }, produce }; },
 *     identify: (r) => Buffer.from(r.payload.after as Uint8Array).toString(),
 *   });
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import {
  POSITION_ONLY_KEY,
  type ConnectorPlugin,
  type Destination,
  type DestinationContext,
  type RecordFormatter,
  type Source,
} from './connector.js';
import { Config, type ParamSpecs, type Settings, validateSettings } from './params.js';
import { destinationSpecs, sourceSpecs } from './sdk-params.js';

export interface SourceFixture {
  /** Settings of a source that reads this fixture's upstream. */
  readonly settings: Settings;
  /** Puts `n` more records upstream and returns their identities (see `identify`), in order. */
  produce(n: number): Promise<string[]>;
  /** Removes what the fixture made. */
  cleanup?(): Promise<void>;
}

export interface InvalidSettings {
  /** Merged over the fixture's settings. */
  readonly settings: Settings;
  /** Fixture settings to leave out. */
  readonly remove?: readonly string[];
  /** The parameter the error must name (its configPath ends with it). */
  readonly param: string;
}

export interface SourceConformanceOptions {
  readonly plugin: ConnectorPlugin;
  /**
   * A fresh, isolated upstream for one test. `capacity` is the most records the
   * test will produce (a generator sets its recordCount to it, so that it then
   * runs dry the way a drained upstream does).
   */
  fixture(capacity: number): Promise<SourceFixture> | SourceFixture;
  /** A record's identity, as `produce` returns it (payload bytes, a primary key, …). */
  identify(record: OpenCDCRecord): string;
  /** Settings that validation or configure must reject, naming the parameter. */
  readonly invalid?: readonly InvalidSettings[];
  /** Deadline of each wait (default 5000 ms). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

export interface DestinationFixture {
  readonly settings: Settings;
  /** What the downstream holds: one entry per record in order; a Buffer is split into lines. */
  readBack(): Promise<Buffer | string[]>;
  /** The logger the destination gets (a log destination writes into it). */
  readonly logger?: Logger;
  cleanup?(): Promise<void>;
}

export interface DestinationConformanceOptions {
  readonly plugin: ConnectorPlugin;
  fixture(): Promise<DestinationFixture> | DestinationFixture;
  /** Does a stored entry hold this record? Default: it is the record's formatted text. */
  matches?(stored: string, record: OpenCDCRecord, formatted: string): boolean;
  readonly invalid?: readonly InvalidSettings[];
  readonly timeoutMs?: number;
}

const CTX = { connectorId: 'conformance:connector', pipelineId: 'conformance' };

/** Validates settings as the engine does and builds the Config; throws the first problem. */
export function buildConfig(specs: ParamSpecs, settings: Settings): Config {
  const { settings: valid, errors } = validateSettings(specs, settings);
  const first = errors[0];
  if (first !== undefined) throw first;
  return new Config(specs, valid);
}

/** A configured source of the plugin. */
export async function configuredSource(
  plugin: ConnectorPlugin,
  settings: Settings,
  logger: Logger = silentLogger,
): Promise<Source> {
  const s = plugin.source;
  assert.ok(s, `${plugin.name} has no source`);
  const src = s.create();
  await src.configure(buildConfig(sourceSpecs(s.params), settings), { ...CTX, logger });
  return src;
}

/** A configured destination of the plugin, formatting records as opencdc/json. */
export async function configuredDestination(
  plugin: ConnectorPlugin,
  settings: Settings,
  logger: Logger = silentLogger,
): Promise<Destination> {
  const d = plugin.destination;
  assert.ok(d, `${plugin.name} has no destination`);
  const dst = d.create();
  const ctx: DestinationContext = { ...CTX, logger, format: await jsonFormatter() };
  await dst.configure(buildConfig(destinationSpecs(d.params), settings), ctx);
  return dst;
}

/** The records the engine would deliver: without position-only ones (see POSITION_ONLY_KEY). */
export function dataRecords(batch: readonly OpenCDCRecord[]): OpenCDCRecord[] {
  return batch.filter((r) => r.metadata[POSITION_ONLY_KEY] === undefined);
}

/** Reads exactly `n` data records, skipping position-only ones (fails when they do not come before the deadline). */
export async function readN(src: Source, n: number, timeoutMs = 5000): Promise<OpenCDCRecord[]> {
  const out: OpenCDCRecord[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    while (out.length < n) {
      const batch = await src.read(n - out.length, ac.signal);
      assert.ok(batch.length <= n - out.length, `read(${n - out.length}) returned ${batch.length} records`);
      out.push(...dataRecords(batch));
      if (ac.signal.aborted && out.length < n) {
        assert.fail(`timed out after ${timeoutMs} ms with ${out.length} of ${n} records read`);
      }
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that nothing more is readable: a read aborted after `ms` returns no record. */
export async function assertDrained(src: Source, ms = 50): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    for (;;) {
      const extra = await src.read(100, ac.signal);
      assert.equal(dataRecords(extra).length, 0, `expected no more records, got ${extra.length}`);
      if (extra.length === 0) break;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Registers the source conformance tests. */
export function sourceConformance(opts: SourceConformanceOptions): void {
  const { plugin } = opts;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const logger = opts.logger ?? silentLogger;
  const ids = (rs: readonly OpenCDCRecord[]) => rs.map((r) => opts.identify(r));

  async function withFixture(
    capacity: number,
    fn: (f: SourceFixture, open: (pos: Uint8Array | null) => Promise<Source>) => Promise<void>,
  ) {
    const f = await opts.fixture(capacity);
    const sources: Source[] = [];
    const open = async (pos: Uint8Array | null) => {
      const s = await configuredSource(plugin, f.settings, logger);
      sources.push(s);
      await s.open(pos);
      return s;
    };
    try {
      await fn(f, open);
    } finally {
      for (const s of sources) await s.teardown().catch(() => undefined);
      await f.cleanup?.();
    }
  }

  describe(`${plugin.name} source: conformance`, () => {
    it('reads the produced records, in order', async () => {
      await withFixture(20, async (f, open) => {
        const src = await open(null);
        const first = await f.produce(10);
        const a = await readN(src, 10, timeoutMs);
        assert.deepEqual(ids(a), first);
        const second = await f.produce(10);
        const b = await readN(src, 10, timeoutMs);
        assert.deepEqual(ids(b), second);
        for (const r of [...a, ...b]) {
          assert.ok(r.position.length > 0, 'every record has a position');
          assert.ok(['create', 'update', 'delete', 'snapshot'].includes(r.operation), `operation ${r.operation}`);
        }
        const positions = new Set([...a, ...b].map((r) => Buffer.from(r.position).toString('hex')));
        assert.equal(positions.size, 20, 'positions are unique');
        await assertDrained(src);
      });
    });

    it('resumes after the record at a position, with no gap and no repeat', async () => {
      await withFixture(12, async (f, open) => {
        const produced = await f.produce(12);
        const all = await readN(await open(null), 12, timeoutMs);
        assert.deepEqual(ids(all), produced);
        for (const k of [1, 6, 11]) {
          const src = await open((all[k - 1] as OpenCDCRecord).position);
          const rest = await readN(src, 12 - k, timeoutMs);
          assert.deepEqual(ids(rest), produced.slice(k), `resumed after record ${k}`);
          assert.deepEqual(
            rest.map((r) => Buffer.from(r.position).toString('hex')),
            all.slice(k).map((r) => Buffer.from(r.position).toString('hex')),
            'the same positions again',
          );
          await assertDrained(src);
          await src.teardown();
        }
      });
    });

    it('takes acks in production order and keeps reading', async () => {
      await withFixture(30, async (f, open) => {
        const src = await open(null);
        const first = await f.produce(20);
        const a = await readN(src, 20, timeoutMs);
        assert.deepEqual(ids(a), first);
        for (const r of a.slice(0, 10)) await src.ack([r.position]);
        await src.ack(a.slice(10).map((r) => r.position));
        const second = await f.produce(10);
        const b = await readN(src, 10, timeoutMs);
        assert.deepEqual(ids(b), second);
        await src.ack(b.map((r) => r.position));
      });
    });

    it('re-delivers every unacked record after a teardown without acks', async () => {
      await withFixture(10, async (f, open) => {
        const produced = await f.produce(10);
        const a = await open(null);
        const got = await readN(a, 10, timeoutMs);
        await a.ack(got.slice(0, 4).map((r) => r.position));
        await a.teardown();
        const b = await open((got[3] as OpenCDCRecord).position);
        const again = await readN(b, 6, timeoutMs);
        assert.deepEqual(ids(again), produced.slice(4));
        // And nothing acked at all: from the start, everything again.
        const c = await open(null);
        assert.deepEqual(ids(await readN(c, 10, timeoutMs)), produced);
      });
    });

    it('returns promptly from read when the signal aborts', async () => {
      await withFixture(2, async (f, open) => {
        const src = await open(null);
        await f.produce(2);
        await readN(src, 2, timeoutMs);
        const ac = new AbortController();
        const started = Date.now();
        const pending = src.read(10, ac.signal);
        setImmediate(() => ac.abort());
        const got = dataRecords(await pending);
        assert.deepEqual(got, []);
        assert.ok(Date.now() - started < 1000, `read took ${Date.now() - started} ms to return after abort`);
        const aborted = new AbortController();
        aborted.abort();
        assert.deepEqual(dataRecords(await src.read(10, aborted.signal)), [], 'an aborted signal returns at once');
      });
    });

    it('tears down cleanly at any stage', async () => {
      const f = await opts.fixture(1);
      try {
        const configured = await configuredSource(plugin, f.settings, logger);
        await configured.teardown();
        const opened = await configuredSource(plugin, f.settings, logger);
        await opened.open(null);
        await opened.teardown();
      } finally {
        await f.cleanup?.();
      }
    });

    configErrorTests(plugin, 'source', (n) => opts.fixture(n), opts.invalid ?? [], logger);
  });
}

/** Registers the destination conformance tests. */
export function destinationConformance(opts: DestinationConformanceOptions): void {
  const { plugin } = opts;
  const matches = (stored: string, r: OpenCDCRecord, formatted: string) =>
    opts.matches === undefined ? stored === formatted : opts.matches(stored, r, formatted);

  async function stored(f: DestinationFixture): Promise<string[]> {
    const got = await f.readBack();
    if (Array.isArray(got)) return got;
    const lines = got.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines;
  }

  async function check(f: DestinationFixture, records: readonly OpenCDCRecord[]) {
    const format = await jsonFormatter();
    const got = await stored(f);
    assert.equal(got.length, records.length, `expected ${records.length} stored records, found ${got.length}`);
    records.forEach((r, i) => {
      const formatted = asText(format(r));
      assert.ok(
        matches(got[i] as string, r, formatted),
        `record ${i} differs:\n  stored   ${got[i]}\n  expected ${formatted}`,
      );
    });
  }

  async function withFixture(fn: (f: DestinationFixture, open: () => Promise<Destination>) => Promise<void>) {
    const f = await opts.fixture();
    const dests: Destination[] = [];
    const open = async () => {
      const d = await configuredDestination(plugin, f.settings, f.logger);
      dests.push(d);
      await d.open();
      return d;
    };
    try {
      await fn(f, open);
    } finally {
      for (const d of dests) await d.teardown().catch(() => undefined);
      await f.cleanup?.();
    }
  }

  describe(`${plugin.name} destination: conformance`, () => {
    it('holds a written batch, in order, when write resolves', async () => {
      await withFixture(async (f, open) => {
        const d = await open();
        const batch = sampleRecords(0, 8);
        const outcome = await d.write(batch);
        assertAllWritten(outcome, batch.length);
        await check(f, batch);
      });
    });

    it('keeps the order of consecutive batches', async () => {
      await withFixture(async (f, open) => {
        const d = await open();
        const a = sampleRecords(0, 5);
        const b = sampleRecords(5, 7);
        assertAllWritten(await d.write(a), a.length);
        assertAllWritten(await d.write(b), b.length);
        await check(f, [...a, ...b]);
      });
    });

    it('appends after a teardown and a new open', async () => {
      await withFixture(async (f, open) => {
        const a = sampleRecords(0, 3);
        const first = await open();
        assertAllWritten(await first.write(a), a.length);
        await first.teardown();
        const b = sampleRecords(3, 3);
        const second = await open();
        assertAllWritten(await second.write(b), b.length);
        await check(f, [...a, ...b]);
      });
    });

    it('takes an empty batch', async () => {
      await withFixture(async (f, open) => {
        const d = await open();
        assertAllWritten(await d.write([]), 0);
        await check(f, []);
      });
    });

    configErrorTests(plugin, 'destination', () => opts.fixture(), opts.invalid ?? [], silentLogger);
  });
}

function assertAllWritten(outcome: ReadonlyArray<Error | undefined> | undefined, n: number): void {
  if (outcome === undefined) return;
  assert.equal(outcome.length, n, 'one outcome per record');
  outcome.forEach((e, i) => assert.equal(e, undefined, `record ${i} failed: ${e?.message}`));
}

function configErrorTests(
  plugin: ConnectorPlugin,
  kind: 'source' | 'destination',
  fixture: (
    capacity: number,
  ) => Promise<{ settings: Settings; cleanup?(): Promise<void> }> | { settings: Settings; cleanup?(): Promise<void> },
  invalid: readonly InvalidSettings[],
  logger: Logger,
): void {
  const side = plugin[kind];
  if (side === undefined) return;
  const specs = kind === 'source' ? sourceSpecs(side.params) : destinationSpecs(side.params);
  const named = (errors: readonly ConduitError[], param: string, code?: string) =>
    errors.some((e) => (e.configPath ?? '').endsWith(`/${param}`) && (code === undefined || e.code === code));

  it('rejects a missing required parameter, naming it', async () => {
    const f = await fixture(1);
    try {
      const required = Object.entries(side.params).filter(([k, s]) => s.required === true && !k.includes('*'));
      for (const [key] of required) {
        const settings = { ...f.settings };
        delete (settings as Record<string, string>)[key];
        const { errors } = validateSettings(specs, settings);
        assert.ok(
          named(errors, key, Code.ParamRequired),
          `no param.required error naming "${key}": ${errors.map((e) => e.message).join('; ')}`,
        );
      }
      const { errors } = validateSettings(specs, { ...f.settings, notAParameter: 'x' });
      assert.ok(named(errors, 'notAParameter', Code.ParamUnknown), 'an unknown parameter is rejected by name');
    } finally {
      await f.cleanup?.();
    }
  });

  it('rejects a wrongly typed value, naming the parameter', async () => {
    const f = await fixture(1);
    try {
      const typed = Object.entries(side.params).find(
        ([k, s]) => !k.includes('*') && s.type !== 'string' && s.type !== 'file',
      );
      const key = typed?.[0] ?? 'sdk.batch.size';
      const { errors } = validateSettings(specs, { ...f.settings, [key]: 'not-a-value' });
      assert.ok(named(errors, key, Code.ParamInvalidType), `no param.invalid_type error naming "${key}"`);
    } finally {
      await f.cleanup?.();
    }
  });

  for (const bad of invalid) {
    it(`rejects invalid settings naming "${bad.param}"`, async () => {
      const f = await fixture(1);
      try {
        const settings: Record<string, string> = { ...f.settings, ...bad.settings };
        for (const k of bad.remove ?? []) delete settings[k];
        const { errors } = validateSettings(specs, settings);
        if (errors.length > 0) {
          assert.ok(
            named(errors, bad.param),
            `errors do not name "${bad.param}": ${errors.map((e) => e.message).join('; ')}`,
          );
          return;
        }
        const err = await (async () => {
          try {
            if (kind === 'source') {
              const s = await configuredSource(plugin, settings, logger);
              await s.open(null).finally(() => s.teardown());
            } else {
              const d = await configuredDestination(plugin, settings, logger);
              await d.open().finally(() => d.teardown());
            }
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        assert.ok(err instanceof ConduitError, `expected a ConduitError naming "${bad.param}", got ${String(err)}`);
        assert.ok(
          (err.configPath ?? '').endsWith(`/${bad.param}`),
          `configPath ${err.configPath} does not name "${bad.param}"`,
        );
      } finally {
        await f.cleanup?.();
      }
    });
  }
}

/** Records with raw and structured payloads and every operation, numbered from `from`. */
export function sampleRecords(from: number, n: number): OpenCDCRecord[] {
  const ops = ['create', 'update', 'delete', 'snapshot'] as const;
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    const op = ops[i % ops.length] ?? 'create';
    const structured = i % 2 === 0;
    const data = structured ? { id: i, name: `name-${i}`, ok: i % 3 === 0 } : Buffer.from(`raw-${i}`);
    return {
      position: Buffer.from(String(i)),
      operation: op,
      metadata: { 'opencdc.collection': 'conformance', n: String(i) },
      key: Buffer.from(`key-${i}`),
      payload: { before: op === 'update' || op === 'delete' ? data : null, after: op === 'delete' ? null : data },
    };
  });
}

let formatter: Promise<RecordFormatter> | undefined;

/**
 * The opencdc/json formatter: the SDK's own when `formats.ts` is there, else a
 * local JSON encoding of the same shape.
 */
export function jsonFormatter(): Promise<RecordFormatter> {
  formatter ??= (async () => {
    const spec = './formats.js';
    try {
      const mod = (await import(spec)) as { createFormatter?: (format: string, options: string) => unknown };
      const f = mod.createFormatter?.('opencdc/json', '');
      if (typeof f === 'function') return f as RecordFormatter;
    } catch {
      // not written yet: use the local one
    }
    return localJsonFormatter;
  })();
  return formatter;
}

/** opencdc/json, as §2.3 of the reference describes it: bytes as base64. */
export function localJsonFormatter(r: OpenCDCRecord): string {
  return JSON.stringify(
    {
      position: b64(r.position),
      operation: r.operation,
      metadata: r.metadata,
      key: r.key,
      payload: { before: r.payload.before, after: r.payload.after },
    },
    function (this: Record<string, unknown>, k: string, v: unknown) {
      const orig = this[k];
      if (orig instanceof Uint8Array) return b64(orig);
      if (typeof orig === 'bigint') return Number(orig);
      return v;
    },
  );
}

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

function asText(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
}
