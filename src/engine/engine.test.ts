import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../log/logger.js';
import { PluginRegistry } from '../plugins/registry.js';
import { fieldSetPlugin } from '../processors/field-set/index.js';
import { filterPlugin } from '../processors/filter/index.js';
import type { PipelineConfig, ProcessorConfig } from '../provisioning/types.js';
import { DEFAULT_DLQ, type DLQConfig } from '../provisioning/types.js';
import { waitFor } from '../sdk/testing.js';
import { MemoryStore } from '../store/memory.js';
import {
  destinationWorld,
  memoryPlugin,
  POSITION_ONLY_LINE,
  sourceWorld,
  type DestinationWorld,
  type SourceWorld,
} from '../../test/support/memory-connectors.js';
import { Engine } from './engine.js';
import { StateKey, type StoredPosition } from './state-keys.js';
import { PipelineStatus, type RecoveryConfig } from './types.js';

const FAST_RECOVERY: RecoveryConfig = {
  minDelay: 5,
  maxDelay: 20,
  backoffFactor: 2,
  maxRetries: -1,
  maxRetriesWindow: 60_000,
};

interface Setup {
  engine: Engine;
  registry: PluginRegistry;
  store: MemoryStore;
  sources: Record<string, SourceWorld>;
  destinations: Record<string, DestinationWorld>;
}

const engines: Engine[] = [];
// A failed assertion must not leave a pipeline running (the test process would never exit).
afterEach(async () => {
  for (const e of engines.splice(0)) await e.shutdown(2_000);
});

async function setup(
  opts: { recovery?: RecoveryConfig; budgetBytes?: number; forceStopGraceMs?: number } = {},
): Promise<Setup> {
  const sources: Record<string, SourceWorld> = {};
  const destinations: Record<string, DestinationWorld> = {};
  const registry = new PluginRegistry()
    .addConnector(memoryPlugin({ sources, destinations }))
    .addConnector(logLikeDlq(destinations))
    .addProcessor(filterPlugin)
    .addProcessor(fieldSetPlugin)
    .addProcessor(failOnPlugin);
  const store = new MemoryStore();
  await store.init();
  const engine = new Engine({
    store,
    registry,
    logger: silentLogger,
    recovery: opts.recovery ?? FAST_RECOVERY,
    forceStopGraceMs: opts.forceStopGraceMs,
    run: { checkpointIntervalMs: 1, defaultReadMax: 7, budgetBytes: opts.budgetBytes ?? 1 << 20 },
  });
  await engine.init();
  engines.push(engine);
  return { engine, registry, store, sources, destinations };
}

/** A DLQ destination that records what it is given, like any destination plugin. */
function logLikeDlq(destinations: Record<string, DestinationWorld>) {
  const plugin = memoryPlugin({ sources: {}, destinations });
  return { ...plugin, name: 'memdlq', source: undefined };
}

/** A processor that fails records whose payload is in its `values` setting. */
const failOnPlugin = {
  name: 'test.failon',
  summary: 'fails chosen records',
  description: 'fails chosen records',
  version: 'v0',
  author: 'tests',
  params: { values: { type: 'string' as const, description: 'comma list' } },
  create: () => {
    let values = new Set<string>();
    return {
      configure(c: { list(k: string): string[] }) {
        values = new Set(c.list('values'));
      },
      process(records: import('../opencdc/record.js').OpenCDCRecord[]) {
        return records
          .map((r) => {
            const p = Buffer.from(r.payload.after as Uint8Array).toString();
            return values.has(p) ? new (class extends Error {})(`bad ${p}`) : r;
          })
          .map((x) => (x instanceof Error ? new RecordErrorCtor(x) : x));
      },
    };
  },
};
import { RecordError as RecordErrorCtor } from '../sdk/processor.js';

function pipeline(
  id: string,
  sourceWorlds: string[],
  destWorlds: string[],
  extra: { processors?: ProcessorConfig[]; dlq?: Partial<DLQConfig> } = {},
): PipelineConfig {
  return {
    id,
    status: 'running',
    name: id,
    description: '',
    processors: extra.processors ?? [],
    dlq: { ...DEFAULT_DLQ, ...extra.dlq },
    connectors: [
      ...sourceWorlds.map((w) => ({
        id: `${id}:${w}`,
        type: 'source' as const,
        plugin: 'mem',
        pluginRef: 'mem',
        name: w,
        settings: { world: w },
        processors: [],
      })),
      ...destWorlds.map((w) => ({
        id: `${id}:${w}`,
        type: 'destination' as const,
        plugin: 'mem',
        pluginRef: 'mem',
        name: w,
        settings: { world: w },
        processors: [],
      })),
    ],
  };
}

const lines = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const indexes = (n: number) => Array.from({ length: n }, (_, i) => String(i));

describe('engine data path', () => {
  it('delivers every record in order and acks in production order only after the position is stored', async () => {
    const t = await setup();
    t.sources['s'] = { ...sourceWorld(lines(500)), store: t.store, connectorId: 'p:s' };
    t.destinations['d'] = destinationWorld();
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 500, { message: 'all 500 acked' });
    assert.deepEqual(t.destinations['d']?.written, lines(500));
    assert.deepEqual(t.sources['s']?.acked, indexes(500));
    assert.deepEqual(t.sources['s']?.ackBeforePersist, []);
    await t.engine.stop('p');
    assert.equal(t.engine.get('p')?.state.status, PipelineStatus.UserStopped);
  });

  it('checkpoints and acks position-only records in order without delivering them', async () => {
    const t = await setup();
    const backlog = ['a', POSITION_ONLY_LINE, 'b', POSITION_ONLY_LINE, POSITION_ONLY_LINE];
    t.sources['s'] = { ...sourceWorld(backlog), store: t.store, connectorId: 'p:s' };
    t.destinations['d'] = destinationWorld();
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 5, { message: 'all 5 positions acked' });
    assert.deepEqual(t.destinations['d']?.written, ['a', 'b']);
    assert.deepEqual(t.sources['s']?.acked, indexes(5));
    assert.deepEqual(t.sources['s']?.ackBeforePersist, []);
    const stored = JSON.parse((await t.store.get(StateKey.position('p:s'))) ?? '{}') as StoredPosition;
    assert.equal(Buffer.from(stored.position, 'base64').toString(), '4');
    await t.engine.stop('p');
  });

  it('fans out: acks wait for the slowest destination, and both get everything in order', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(200));
    t.destinations['fast'] = destinationWorld();
    t.destinations['slow'] = { ...destinationWorld(), delayMs: 2 };
    await t.engine.provision([pipeline('p', ['s'], ['fast', 'slow'])]);
    await t.engine.startDesired();
    await waitFor(() => t.destinations['fast']?.written.length === 200, { message: 'fast destination done' });
    // Every ack must be covered by the slow destination too.
    const acked = t.sources['s']?.acked.length ?? 0;
    assert.ok(acked <= (t.destinations['slow']?.written.length ?? 0), 'an ack ran ahead of the slow destination');
    await waitFor(() => t.sources['s']?.acked.length === 200, { message: 'all acked' });
    assert.deepEqual(t.destinations['slow']?.written, lines(200));
    await t.engine.stop('p');
  });

  it('fans in: two sources, every record delivered, each source acked in its own order', async () => {
    const t = await setup();
    t.sources['a'] = sourceWorld(lines(300, 'a'));
    t.sources['b'] = sourceWorld(lines(300, 'b'));
    t.destinations['d'] = destinationWorld();
    await t.engine.provision([pipeline('p', ['a', 'b'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['a']?.acked.length === 300 && t.sources['b']?.acked.length === 300, {
      message: 'both sources acked',
    });
    const written = t.destinations['d']?.written ?? [];
    assert.deepEqual(
      written.filter((x) => x.startsWith('a')),
      lines(300, 'a'),
    );
    assert.deepEqual(
      written.filter((x) => x.startsWith('b')),
      lines(300, 'b'),
    );
    assert.deepEqual(t.sources['a']?.acked, indexes(300));
    await t.engine.stop('p');
  });

  it('a destination allowing two writes in flight gets the next batch early; acks still wait in order', async () => {
    const t = await setup();
    t.sources['s'] = { ...sourceWorld(lines(21)), store: t.store, connectorId: 'p:s' };
    const held: NonNullable<DestinationWorld['held']> = [];
    const d: DestinationWorld = { ...destinationWorld(), writesInFlight: 2, held };
    t.destinations['d'] = d;
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    // The second batch is handed over while the first is still being written.
    await waitFor(() => held.length === 2, { message: 'two writes outstanding' });
    assert.deepEqual(held[0]?.records, lines(7));
    assert.deepEqual(held[1]?.records, lines(14).slice(7));
    // The second is stored, then the first fails: the second must not have been acked ahead of the first.
    held[1]?.settle();
    await waitFor(() => d.written.length === 7, { message: 'the second batch written' });
    d.held = undefined;
    held[0]?.settle(new Error('injected failure of the first write'));
    await waitFor(() => t.sources['s']?.acked.length === 21, { message: 'all acked after recovery' });
    assert.deepEqual(t.sources['s']?.acked, indexes(21), 'acked in order, nothing before the failed batch');
    assert.deepEqual(t.sources['s']?.ackBeforePersist, []);
    assert.deepEqual([...new Set(d.written)].sort(), lines(21).sort(), 'everything written (the second batch twice)');
    await t.engine.stop('p');
  });

  it('bounds memory by bytes: a slow destination holds the source back', async () => {
    // Records read but not yet written, at the most, for a given budget.
    const maxAhead = async (budgetBytes: number): Promise<number> => {
      const t = await setup({ budgetBytes });
      const big = 'x'.repeat(2000);
      const src = sourceWorld(Array.from({ length: 400 }, (_, i) => `${i}:${big}`));
      const dst = { ...destinationWorld(), delayMs: 2 };
      let ahead = 0;
      dst.onWrite = () => (ahead = Math.max(ahead, src.readCount - dst.written.length));
      t.sources['s'] = src;
      t.destinations['d'] = dst;
      await t.engine.provision([pipeline('p', ['s'], ['d'])]);
      await t.engine.startDesired();
      await waitFor(() => dst.written.length === 400, { timeoutMs: 20_000, message: 'all written' });
      await t.engine.stop('p');
      return ahead;
    };
    // Each record is charged a little over 2000 bytes: 64 KiB holds ~30, plus one batch (7) waiting for budget.
    const bounded = await maxAhead(64 * 1024);
    assert.ok(bounded <= 40, `${bounded} records in flight with a 64 KiB budget`);
    const unbounded = await maxAhead(64 * 1024 * 1024);
    assert.ok(unbounded > 200, `the control run only got ${unbounded} records ahead; the test proves nothing`);
  });

  it('reads a batch while the one before is written, even when one batch is over the budget', async () => {
    const t = await setup({ budgetBytes: 4 * 1024 });
    const big = 'x'.repeat(2000);
    const src = sourceWorld(Array.from({ length: 70 }, (_, i) => `${i}:${big}`));
    const dst = { ...destinationWorld(), delayMs: 20 };
    let ahead = 0;
    dst.onWrite = () => (ahead = Math.max(ahead, src.readCount - dst.written.length));
    t.sources['s'] = src;
    t.destinations['d'] = dst;
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => dst.written.length === 70, { timeoutMs: 20_000, message: 'all written' });
    await t.engine.stop('p');
    // Batches of 7 records of ~2 KB (~15 KB, over the 4 KiB budget): two held (one written, one waiting for
    // the destination) and a third read and waiting for the budget. One held at a time would make it 14.
    assert.ok(ahead > 14 && ahead <= 21, `${ahead} records read ahead of the destination`);
  });

  it(
    'shutdown returns even when a destination write never does: drain timeout, force, grace',
    { timeout: 10_000 },
    async () => {
      const t = await setup({ forceStopGraceMs: 100 });
      t.sources['s'] = sourceWorld(lines(10));
      t.destinations['d'] = { ...destinationWorld(), hang: true };
      await t.engine.provision([pipeline('p', ['s'], ['d'])]);
      await t.engine.startDesired();
      await waitFor(() => (t.destinations['d']?.writing ?? 0) > 0, { message: 'a write in progress' });
      const t0 = performance.now();
      await t.engine.shutdown(50);
      assert.ok(performance.now() - t0 < 5_000, 'shutdown waited for the hung write');
      assert.deepEqual(t.sources['s']?.acked, [], 'nothing the destination did not take was acked');
    },
  );

  it('a graceful stop drains: everything read is delivered, acked and checkpointed; a restart repeats nothing', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(100));
    t.destinations['d'] = { ...destinationWorld(), delayMs: 1 };
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => (t.destinations['d']?.written.length ?? 0) > 10, { message: 'some written' });
    await t.engine.stop('p');
    const written = t.destinations['d']?.written.length ?? 0;
    assert.equal(t.sources['s']?.acked.length, written, 'everything written was acked before the stop returned');
    t.sources['s'].backlog.push(...lines(50, 'later'));
    t.engine.start('p');
    await waitFor(() => t.destinations['d']?.written.length === written + 50, {
      message: 'the new records after restart',
    });
    assert.equal(t.sources['s']?.openedAt[1], String(written - 1), 'the restart opened at the last checkpoint');
    assert.deepEqual(
      t.destinations['d']?.written,
      [...lines(100), ...lines(50, 'later')].slice(0, written + 50),
      'no repeats and no gaps across a graceful restart',
    );
    await t.engine.stop('p');
  });
});

describe('processors per connector', () => {
  const proc = (id: string, plugin: string, settings: Record<string, string>, condition = ''): ProcessorConfig => ({
    id,
    plugin,
    pluginRef: plugin,
    condition,
    settings,
    workers: 1,
  });

  it('source processors see their source only; destination processors change only their own branch', async () => {
    const t = await setup();
    t.sources['a'] = sourceWorld(lines(50, 'a'));
    t.sources['b'] = sourceWorld(lines(50, 'b'));
    t.destinations['d1'] = destinationWorld();
    t.destinations['d2'] = destinationWorld();
    const base = pipeline('p', ['a', 'b'], ['d1', 'd2']);
    const p: PipelineConfig = {
      ...base,
      connectors: base.connectors.map((c) => {
        if (c.id === 'p:a')
          return { ...c, processors: [proc('p:a:tag', 'field.set', { field: '.Metadata.from', value: 'a' })] };
        if (c.id === 'p:d1') {
          return {
            ...c,
            processors: [
              proc('p:d1:mark', 'field.set', { field: '.Metadata.branch', value: 'd1' }),
              // d1 drops b's records; d2 must still get them.
              proc('p:d1:drop-b', 'filter', {}, '{{ eq (index .Metadata "conduit.source.connector.id") "p:b" }}'),
            ],
          };
        }
        return c;
      }),
    };
    await t.engine.provision([p]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['a']?.acked.length === 50 && t.sources['b']?.acked.length === 50, {
      message: 'both sources acked',
    });
    const d1 = t.destinations['d1'];
    const d2 = t.destinations['d2'];
    assert.deepEqual(d1?.written, lines(50, 'a'), 'd1 gets a, in order, and none of b');
    assert.ok(d1?.metadata.every((m) => m['branch'] === 'd1' && m['from'] === 'a'));
    assert.equal(d2?.written.length, 100);
    assert.deepEqual(
      d2?.written.filter((x) => x.startsWith('b')),
      lines(50, 'b'),
    );
    assert.ok(
      d2?.metadata.every((m) => m['branch'] === undefined),
      "d1's processor changed d2's records",
    );
    const fromA = d2?.metadata.filter((m) => m['conduit.source.connector.id'] === 'p:a') ?? [];
    assert.ok(fromA.length === 50 && fromA.every((m) => m['from'] === 'a'));
    assert.ok(
      d2?.metadata.filter((m) => m['conduit.source.connector.id'] === 'p:b').every((m) => m['from'] === undefined),
      "a's source processor ran on b's records",
    );
    await t.engine.stop('p');
  });
});

describe('fan-out isolation', () => {
  it("the last destination's processors do not change what a slower destination writes", async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(40));
    t.destinations['slow'] = { ...destinationWorld(), delayMs: 3 };
    t.destinations['last'] = destinationWorld();
    const base = pipeline('p', ['s'], ['slow', 'last']);
    const p: PipelineConfig = {
      ...base,
      connectors: base.connectors.map((c) =>
        c.id === 'p:last'
          ? {
              ...c,
              processors: [
                {
                  id: 'p:last:mark',
                  plugin: 'field.set',
                  pluginRef: 'field.set',
                  condition: '',
                  settings: { field: '.Metadata.branch', value: 'last' },
                  workers: 1,
                },
              ],
            }
          : c,
      ),
    };
    await t.engine.provision([p]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 40, { message: 'all acked' });
    assert.ok(t.destinations['last']?.metadata.every((m) => m['branch'] === 'last'));
    assert.ok(
      t.destinations['slow']?.metadata.every((m) => m['branch'] === undefined),
      "the last destination's processor changed the slow destination's records",
    );
    await t.engine.stop('p');
  });
});

describe('sdk.* settings applied by the engine', () => {
  /** The pipeline with extra settings on its destination `d`. */
  function withDestinationSettings(p: PipelineConfig, settings: Record<string, string>): PipelineConfig {
    return {
      ...p,
      connectors: p.connectors.map((c) =>
        c.type === 'destination' ? { ...c, settings: { ...c.settings, ...settings } } : c,
      ),
    };
  }

  it('sdk.batch.size caps every destination write', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(300));
    t.destinations['d'] = { ...destinationWorld(), delayMs: 1 };
    await t.engine.provision([withDestinationSettings(pipeline('p', ['s'], ['d']), { 'sdk.batch.size': '5' })]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 300, { message: 'all acked' });
    assert.equal(t.destinations['d']?.maxBatch, 5, 'writes were larger than sdk.batch.size, or never reached it');
    assert.deepEqual(t.destinations['d']?.written, lines(300));
    await t.engine.stop('p');
  });

  it('sdk.rate.perSecond holds the write rate', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(60));
    t.destinations['d'] = destinationWorld();
    const settings = { 'sdk.rate.perSecond': '100', 'sdk.rate.burst': '10' };
    await t.engine.provision([withDestinationSettings(pipeline('p', ['s'], ['d']), settings)]);
    const t0 = performance.now();
    await t.engine.startDesired();
    await waitFor(() => t.destinations['d']?.written.length === 60, { message: 'all written' });
    const seconds = (performance.now() - t0) / 1000;
    // 60 records at 100/s with a burst of 10 need at least (60 - 10) / 100 s.
    assert.ok(seconds >= 0.45, `60 records written in ${seconds.toFixed(3)} s at 100 records/s`);
    assert.ok((t.destinations['d']?.maxBatch ?? 0) <= 10, 'a write took more records than the burst');
    await t.engine.stop('p');
  });
});

describe('engine failures and recovery', () => {
  it('recovers from a failing destination with backoff and loses nothing', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(100));
    t.destinations['d'] = { ...destinationWorld(), failWrites: 3 };
    const statuses: string[] = [];
    t.engine.onStatus((_, s) => statuses.push(s.status));
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 100, { message: 'all acked after recovery' });
    assert.ok(statuses.includes(PipelineStatus.Recovering), `statuses: ${statuses.join(',')}`);
    const written = t.destinations['d']?.written ?? [];
    assert.deepEqual([...new Set(written)], lines(100), 'every record, in order (repeats only across restarts)');
    assert.equal(t.engine.get('p')?.state.status, PipelineStatus.Running);
    await t.engine.stop('p');
  });

  it('degrades after max-retries within the window, keeping the error', async () => {
    const t = await setup({ recovery: { ...FAST_RECOVERY, maxRetries: 2 } });
    t.sources['s'] = sourceWorld(lines(10));
    t.destinations['d'] = { ...destinationWorld(), failWrites: 1000 };
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => t.engine.get('p')?.state.status === PipelineStatus.Degraded, { message: 'degraded' });
    assert.equal(t.engine.get('p')?.state.error?.code, 'pipeline.recovery_exhausted');
    assert.match(t.engine.get('p')?.state.error?.message ?? '', /injected write failure/);
    assert.deepEqual(t.sources['s']?.acked, []);
  });

  it('a nacked record with the default DLQ stops the pipeline; its position is never stored', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(50));
    t.destinations['d'] = destinationWorld();
    t.destinations['d'].poison.add('r20');
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => t.engine.get('p')?.state.status === PipelineStatus.Degraded, { message: 'degraded' });
    assert.equal(t.engine.get('p')?.state.error?.code, 'record.nacked');
    const acked = t.sources['s']?.acked ?? [];
    assert.ok(!acked.includes('20'), 'the failed record was acked');
    assert.ok(
      acked.every((p) => Number(p) < 20),
      'a record after the failed one was acked',
    );
  });

  it('window-size 0 sends every failed record to the DLQ and acks the source', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(40));
    t.destinations['d'] = destinationWorld();
    t.destinations['dlq'] = destinationWorld();
    t.destinations['d'].poison.add('r5');
    t.destinations['d'].poison.add('r30');
    const p = pipeline('p', ['s'], ['d'], {
      dlq: { plugin: 'memdlq', pluginRef: 'memdlq', settings: { world: 'dlq' }, windowSize: 0, windowNackThreshold: 0 },
    });
    await t.engine.provision([p]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 40, { message: 'all acked' });
    const dlq = (t.destinations['dlq']?.written ?? []).map((x) => JSON.parse(x) as { payload: { after: unknown } });
    assert.equal(dlq.length, 2);
    assert.equal(t.destinations['d']?.written.length, 38);
    await t.engine.stop('p');
  });

  it('stops as degraded when the nacks in the window exceed the threshold', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(40));
    t.destinations['d'] = destinationWorld();
    t.destinations['dlq'] = destinationWorld();
    for (const x of ['r1', 'r2', 'r3']) t.destinations['d'].poison.add(x);
    const p = pipeline('p', ['s'], ['d'], {
      dlq: {
        plugin: 'memdlq',
        pluginRef: 'memdlq',
        settings: { world: 'dlq' },
        windowSize: 10,
        windowNackThreshold: 2,
      },
    });
    await t.engine.provision([p]);
    await t.engine.startDesired();
    await waitFor(() => t.engine.get('p')?.state.status === PipelineStatus.Degraded, { message: 'degraded' });
    assert.equal(t.engine.get('p')?.state.error?.code, 'dlq.threshold_exceeded');
    assert.equal(t.destinations['dlq']?.written.length, 2, 'the first two failures reached the DLQ');
  });

  it('filter processors drop records and still ack them', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(30));
    t.destinations['d'] = destinationWorld();
    const p = pipeline('p', ['s'], ['d'], {
      processors: [{ id: 'p:drop', plugin: 'filter', pluginRef: 'filter', condition: '', settings: {}, workers: 1 }],
    });
    await t.engine.provision([p]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 30, { message: 'all acked' });
    assert.deepEqual(t.destinations['d']?.written, []);
    await t.engine.stop('p');
  });

  it('a forced stop aborts the signal of a processor waiting on I/O', { timeout: 10_000 }, async () => {
    const waits: Array<{ aborted: boolean }> = [];
    const t = await setup();
    // A processor that waits, like webhook.http on a server that never answers, until its context's signal aborts.
    t.registry.addProcessor({
      name: 'test.wait',
      summary: 'waits',
      description: 'waits for the signal',
      version: 'v0',
      author: 'tests',
      params: {},
      create: () => {
        let signal: AbortSignal | undefined;
        return {
          configure(_c, ctx) {
            signal = ctx.signal;
          },
          async process(records) {
            const w = { aborted: false };
            waits.push(w);
            await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
            w.aborted = true;
            return records;
          },
        };
      },
    });
    t.sources['s'] = sourceWorld(lines(5));
    t.destinations['d'] = destinationWorld();
    const wait = { id: 'p:wait', plugin: 'test.wait', pluginRef: 'test.wait', condition: '', settings: {}, workers: 1 };
    await t.engine.provision([pipeline('p', ['s'], ['d'], { processors: [wait] })]);
    await t.engine.startDesired();
    await waitFor(() => waits.length === 1, { message: 'the processor waiting' });
    assert.equal(waits[0]?.aborted, false);
    await t.engine.stop('p', { force: true });
    assert.equal(waits[0]?.aborted, true, 'the forced stop aborted the wait');
    assert.deepEqual(t.sources['s']?.acked, [], 'nothing was acked');
  });

  it('a processor error is fatal without a DLQ: degraded, not retried', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(30));
    t.destinations['d'] = destinationWorld();
    const statuses: string[] = [];
    t.engine.onStatus((_, s) => statuses.push(s.status));
    const p = pipeline('p', ['s'], ['d'], {
      processors: [
        {
          id: 'p:fail',
          plugin: 'test.failon',
          pluginRef: 'test.failon',
          condition: '',
          settings: { values: 'r3' },
          workers: 1,
        },
      ],
    });
    await t.engine.provision([p]);
    await t.engine.startDesired();
    await waitFor(() => t.engine.get('p')?.state.status === PipelineStatus.Degraded, { message: 'degraded' });
    assert.ok(!statuses.includes(PipelineStatus.Recovering));
    assert.match(t.engine.get('p')?.state.error?.message ?? '', /p:fail/);
  });

  it('a restart resumes from the stored position after a read failure', async () => {
    const t = await setup();
    t.sources['s'] = sourceWorld(lines(20));
    t.destinations['d'] = destinationWorld();
    await t.engine.provision([pipeline('p', ['s'], ['d'])]);
    await t.engine.startDesired();
    await waitFor(() => t.sources['s']?.acked.length === 20, { message: 'first 20 acked' });
    t.sources['s'].readFailures = 1;
    t.sources['s'].backlog.push(...lines(10, 'more'));
    await waitFor(() => t.destinations['d']?.written.length === 30, { message: 'the next 10 after recovery' });
    assert.deepEqual(t.sources['s'].openedAt, [null, '19']);
    await t.engine.stop('p');
  });
});
