/**
 * Engine.provision: reconciling pipeline files with the store (Conduit §1.3),
 * and the connector lifecycle hooks that follow from it (§3.5).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../log/logger.js';
import { PluginRegistry } from '../plugins/registry.js';
import type { ConnectorConfig, PipelineConfig } from '../provisioning/types.js';
import { DEFAULT_DLQ } from '../provisioning/types.js';
import { waitFor } from '../sdk/testing.js';
import { MemoryStore } from '../store/memory.js';
import {
  destinationWorld,
  memoryPlugin,
  sourceWorld,
  type DestinationWorld,
  type SourceWorld,
} from '../../test/support/memory-connectors.js';
import { Engine } from './engine.js';
import { StateKey } from './state-keys.js';
import { PipelineStatus, type RecoveryConfig } from './types.js';

const FAST_RECOVERY: RecoveryConfig = {
  minDelay: 5,
  maxDelay: 20,
  backoffFactor: 2,
  maxRetries: -1,
  maxRetriesWindow: 60_000,
};

/** The connector worlds and the store's data outlive an engine: a new engine over them is a process restart. */
interface World {
  readonly data: Map<string, string>;
  readonly sources: Record<string, SourceWorld>;
  readonly destinations: Record<string, DestinationWorld>;
}

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.shutdown(2_000);
});

function world(): World {
  return { data: new Map(), sources: {}, destinations: {} };
}

async function startEngine(w: World, recovery: RecoveryConfig = FAST_RECOVERY): Promise<Engine> {
  const registry = new PluginRegistry().addConnector(memoryPlugin(w));
  const store = new MemoryStore(w.data);
  await store.init();
  const engine = new Engine({
    store,
    registry,
    logger: silentLogger,
    recovery,
    run: { checkpointIntervalMs: 1, defaultReadMax: 7 },
  });
  await engine.init();
  engines.push(engine);
  return engine;
}

/** Stops the engine as a process exit would, so a later engine over the same world is a restart. */
async function restart(w: World, old: Engine): Promise<Engine> {
  await old.shutdown(2_000);
  engines.splice(engines.indexOf(old), 1);
  return startEngine(w);
}

function conn(id: string, type: 'source' | 'destination', settings: Record<string, string>): ConnectorConfig {
  return { id, type, plugin: 'mem', pluginRef: 'mem', name: id, settings, processors: [] };
}

function pipeline(
  id: string,
  connectors: ConnectorConfig[],
  status: 'running' | 'stopped' = 'running',
): PipelineConfig {
  return { id, status, name: id, description: '', processors: [], dlq: DEFAULT_DLQ, connectors };
}

/** The usual shape: `<id>:src` reading world `s`, `<id>:dst` writing world `d`. */
function simple(id: string, opts: { src?: Record<string, string>; dst?: Record<string, string> } = {}): PipelineConfig {
  return pipeline(id, [
    conn(`${id}:src`, 'source', opts.src ?? { world: 's' }),
    conn(`${id}:dst`, 'destination', opts.dst ?? { world: 'd' }),
  ]);
}

const lines = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function keys(w: World, prefix: string): string[] {
  return [...w.data.keys()].filter((k) => k.startsWith(prefix)).sort();
}

function src(w: World, name: string): SourceWorld {
  const s = w.sources[name];
  assert.ok(s !== undefined, `source world ${name}`);
  return s;
}
function dst(w: World, name: string): DestinationWorld {
  const d = w.destinations[name];
  assert.ok(d !== undefined, `destination world ${name}`);
  return d;
}

/** Runs until `n` records are acked, then stops gracefully. */
async function runUntilAcked(engine: Engine, w: World, id: string, sourceWorldName: string, n: number): Promise<void> {
  await engine.startDesired();
  await waitFor(() => src(w, sourceWorldName).acked.length === n, { message: `${n} acked` });
  await engine.stop(id);
}

describe('provision: reconcile pipeline files with the store', () => {
  it('creates a new pipeline, stored as provisioned by config and not yet running', async () => {
    const w = world();
    const engine = await startEngine(w);
    const result = await engine.provision([simple('p')]);
    assert.deepEqual(result, { created: ['p'], updated: [], deleted: [], errors: [] });
    const info = engine.get('p');
    assert.equal(info?.provisionedBy, 'config');
    assert.equal(info?.state.status, PipelineStatus.UserStopped);
    const stored = JSON.parse(w.data.get(StateKey.pipeline('p')) ?? '{}') as { provisionedBy: string };
    assert.equal(stored.provisionedBy, 'config');
    // Provisioning the same file again changes nothing.
    assert.deepEqual(await engine.provision([simple('p')]), { created: [], updated: [], deleted: [], errors: [] });
  });

  it('a changed connector setting keeps the source position: the restart resumes, nothing repeated', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(20));
    w.destinations['d'] = destinationWorld();
    let engine = await startEngine(w);
    await engine.provision([simple('p', { src: { world: 's', tag: 'a' } })]);
    await runUntilAcked(engine, w, 'p', 's', 20);

    engine = await restart(w, engine);
    const result = await engine.provision([simple('p', { src: { world: 's', tag: 'b' } })]);
    assert.deepEqual(result.updated, ['p']);
    assert.ok(w.data.has(StateKey.position('p:src')), 'the position survived the update');
    src(w, 's').backlog.push(...lines(5, 'later'));
    await engine.startDesired();
    await waitFor(() => dst(w, 'd').written.length === 25, { message: 'the 5 new records' });
    assert.deepEqual(src(w, 's').openedAt, [null, '19']);
    assert.deepEqual(dst(w, 'd').written, [...lines(20), ...lines(5, 'later')]);
    assert.equal(engine.get('p')?.config.connectors[0]?.settings['tag'], 'b');
  });

  it('a connector whose ID changes loses its position and its onDeleted hook runs', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(10));
    w.destinations['d'] = destinationWorld();
    let engine = await startEngine(w);
    await engine.provision([simple('p')]);
    await runUntilAcked(engine, w, 'p', 's', 10);
    assert.ok(w.data.has(StateKey.position('p:src')));

    engine = await restart(w, engine);
    const renamed = pipeline('p', [
      conn('p:src2', 'source', { world: 's' }),
      conn('p:dst', 'destination', { world: 'd' }),
    ]);
    assert.deepEqual((await engine.provision([renamed])).updated, ['p']);
    assert.deepEqual(keys(w, 'connector:position:'), [], 'the old position is gone');
    assert.ok(!w.data.has(StateKey.connector('p:src')), 'the old connector state is gone');
    assert.deepEqual(
      src(w, 's').lifecycle.map((e) => e.hook),
      ['created', 'deleted'],
    );
    assert.deepEqual(
      src(w, 's').lifecycle[1]?.settings,
      { world: 's' },
      'onDeleted gets the settings it last ran with',
    );
    assert.deepEqual(
      dst(w, 'd').lifecycle.map((e) => e.hook),
      ['created'],
      'the unchanged destination is left alone',
    );

    await engine.startDesired();
    await waitFor(() => dst(w, 'd').written.length === 20, { message: 'everything read again' });
    assert.deepEqual(src(w, 's').openedAt, [null, null], 'the new connector starts from the beginning');
    assert.deepEqual(dst(w, 'd').written, [...lines(10), ...lines(10)]);
    assert.deepEqual(
      src(w, 's').lifecycle.map((e) => e.hook),
      ['created', 'deleted', 'created'],
    );
  });

  it('a connector whose type changes is a new connector: position gone, onDeleted, then onCreated', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(10));
    w.destinations['d'] = destinationWorld();
    w.destinations['d2'] = destinationWorld();
    let engine = await startEngine(w);
    // `p:a` is the source at first, and a destination afterwards.
    await engine.provision([
      pipeline('p', [conn('p:a', 'source', { world: 's' }), conn('p:b', 'destination', { world: 'd' })]),
    ]);
    await runUntilAcked(engine, w, 'p', 's', 10);

    engine = await restart(w, engine);
    await engine.provision([
      pipeline('p', [conn('p:c', 'source', { world: 's' }), conn('p:a', 'destination', { world: 'd2' })]),
    ]);
    assert.deepEqual(keys(w, 'connector:position:'), []);
    assert.deepEqual(keys(w, 'connector:instance:'), [], 'p:a (type changed) and p:b (removed) are forgotten');
    assert.deepEqual(
      src(w, 's').lifecycle.map((e) => e.hook),
      ['created', 'deleted'],
    );
    assert.deepEqual(
      dst(w, 'd').lifecycle.map((e) => e.hook),
      ['created', 'deleted'],
      'a removed connector is deleted too',
    );

    await engine.startDesired();
    await waitFor(() => dst(w, 'd2').written.length === 10, { message: 'everything read again' });
    assert.deepEqual(src(w, 's').openedAt, [null, null]);
    assert.deepEqual(
      dst(w, 'd2').lifecycle.map((e) => e.hook),
      ['created'],
      'the destination p:a is created, not updated',
    );
  });

  it('a file pipeline no longer provided is deleted with its state; onDeleted runs only for connectors that ran', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(10));
    w.destinations['d'] = destinationWorld();
    w.sources['qs'] = sourceWorld(lines(10));
    w.destinations['qd'] = destinationWorld();
    let engine = await startEngine(w);
    const q = pipeline(
      'q',
      [conn('q:src', 'source', { world: 'qs' }), conn('q:dst', 'destination', { world: 'qd' })],
      'stopped',
    );
    await engine.provision([simple('p'), q]);
    await engine.startDesired();
    await waitFor(() => src(w, 's').acked.length === 10, { message: 'p acked everything' });

    // p is still running: deleting it stops it first.
    const result = await engine.provision([]);
    assert.deepEqual(result.deleted.sort(), ['p', 'q']);
    assert.equal(engine.get('p'), undefined);
    assert.equal(engine.list().length, 0);
    assert.deepEqual(keys(w, 'pipeline:'), []);
    assert.deepEqual(keys(w, 'connector:'), []);
    assert.deepEqual(
      src(w, 's').lifecycle.map((e) => e.hook),
      ['created', 'deleted'],
    );
    assert.deepEqual(
      dst(w, 'd').lifecycle.map((e) => e.hook),
      ['created', 'deleted'],
    );
    assert.deepEqual(src(w, 'qs').lifecycle, [], 'q never ran: no hook');
    assert.deepEqual(dst(w, 'qd').lifecycle, []);

    engine = await restart(w, engine);
    assert.equal(engine.list().length, 0, 'nothing comes back after a restart');
  });

  it('an API pipeline with the same ID makes the file pipeline be skipped with an error', async () => {
    const w = world();
    w.sources['s'] = sourceWorld();
    w.destinations['d'] = destinationWorld();
    const apiConfig = { ...simple('p', { dst: { world: 'd', tag: 'api' } }), origin: undefined };
    w.data.set(
      StateKey.pipeline('p'),
      JSON.stringify({
        config: apiConfig,
        provisionedBy: 'api',
        state: { status: PipelineStatus.UserStopped, updatedAt: new Date().toISOString() },
        createdAt: new Date().toISOString(),
      }),
    );
    const engine = await startEngine(w);
    const file = { ...simple('p'), origin: { file: 'pipelines/p.yaml', line: 3 } };
    const result = await engine.provision([file]);
    assert.deepEqual([result.created, result.updated, result.deleted], [[], [], []]);
    assert.equal(result.errors.length, 1);
    const err = result.errors[0];
    assert.equal(err?.code, 'config.id_duplicate');
    assert.match(err?.message ?? '', /pipeline p exists already/);
    assert.equal(err?.file, 'pipelines/p.yaml');
    assert.equal(err?.line, 3);
    const info = engine.get('p');
    assert.equal(info?.provisionedBy, 'api');
    assert.equal(info?.config.connectors[1]?.settings['tag'], 'api', 'the API pipeline is untouched');
    // A file set without it never deletes an API pipeline.
    assert.deepEqual((await engine.provision([])).deleted, []);
    assert.ok(engine.get('p') !== undefined);
  });

  it('does not start pipelines whose status is stopped', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(5));
    w.destinations['d'] = destinationWorld();
    const engine = await startEngine(w);
    await engine.provision([{ ...simple('p'), status: 'stopped' }]);
    await engine.startDesired();
    await assert.rejects(() => engine.stop('p'), { code: 'pipeline.not_running' });
    assert.equal(engine.get('p')?.state.status, PipelineStatus.UserStopped);
    assert.deepEqual(src(w, 's').openedAt, []);
    // It can still be started by hand.
    engine.start('p');
    await waitFor(() => src(w, 's').acked.length === 5, { message: 'started by hand' });
  });

  it('a running pipeline that changes is stopped and restarted with the new config, keeping its position', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(10));
    w.destinations['d1'] = destinationWorld();
    w.destinations['d2'] = destinationWorld();
    const engine = await startEngine(w);
    await engine.provision([simple('p', { dst: { world: 'd1' } })]);
    await engine.startDesired();
    await waitFor(() => src(w, 's').acked.length === 10, { message: 'first run acked' });

    const statuses: string[] = [];
    engine.onStatus((_, s) => statuses.push(s.status));
    const result = await engine.provision([simple('p', { dst: { world: 'd2' } })]);
    assert.deepEqual(result.updated, ['p']);
    assert.equal(engine.get('p')?.state.status, PipelineStatus.SystemStopped, 'the old run was stopped');
    await engine.startDesired();
    src(w, 's').backlog.push(...lines(5, 'later'));
    await waitFor(() => dst(w, 'd2').written.length === 5, { message: 'the new records at the new destination' });
    assert.deepEqual(dst(w, 'd2').written, lines(5, 'later'));
    assert.deepEqual(dst(w, 'd1').written, lines(10));
    assert.deepEqual(src(w, 's').openedAt, [null, '9']);
    assert.equal(engine.get('p')?.state.status, PipelineStatus.Running);
    assert.deepEqual(statuses, [PipelineStatus.SystemStopped, PipelineStatus.Running]);
    assert.deepEqual(
      dst(w, 'd2').lifecycle.map((e) => e.hook),
      ['updated'],
      'same connector ID, new settings: updated',
    );
  });

  it('a pipeline waiting to recover that changes is restarted with the new config at once', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(5));
    w.destinations['bad'] = { ...destinationWorld(), failWrites: 1_000 };
    w.destinations['good'] = destinationWorld();
    // A long backoff: without the restart the pipeline would sit in it for a minute.
    const engine = await startEngine(w, { ...FAST_RECOVERY, minDelay: 60_000, maxDelay: 60_000 });
    await engine.provision([simple('p', { dst: { world: 'bad' } })]);
    await engine.startDesired();
    await waitFor(() => engine.get('p')?.state.status === PipelineStatus.Recovering, { message: 'recovering' });

    await engine.provision([simple('p', { dst: { world: 'good' } })]);
    await engine.startDesired();
    await waitFor(() => dst(w, 'good').written.length === 5, { message: 'the fixed config delivers' });
    assert.equal(engine.get('p')?.state.status, PipelineStatus.Running);
  });

  it('ignores a change of origin only (the pipeline moved within its file)', async () => {
    const w = world();
    const engine = await startEngine(w);
    await engine.provision([{ ...simple('p'), origin: { file: 'a.yaml', line: 1 } }]);
    const result = await engine.provision([{ ...simple('p'), origin: { file: 'a.yaml', line: 9 } }]);
    assert.deepEqual(result.updated, []);
    assert.equal(engine.get('p')?.config.origin?.line, 9, 'errors point at the new place');
  });
});

describe('connector lifecycle hooks', () => {
  it('onCreated on the first run only, nothing on an unchanged restart, onUpdated(before, after) after a change', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(3));
    w.destinations['d'] = destinationWorld();
    let engine = await startEngine(w);
    await engine.provision([simple('p', { src: { world: 's', tag: 'a' } })]);
    await runUntilAcked(engine, w, 'p', 's', 3);
    assert.deepEqual(src(w, 's').lifecycle, [{ hook: 'created', settings: { world: 's', tag: 'a' } }]);
    assert.deepEqual(dst(w, 'd').lifecycle, [{ hook: 'created', settings: { world: 'd' } }]);

    // Unchanged: a restart of the process and of the pipeline calls no hook.
    engine = await restart(w, engine);
    assert.deepEqual((await engine.provision([simple('p', { src: { world: 's', tag: 'a' } })])).updated, []);
    await engine.startDesired();
    await waitFor(() => src(w, 's').openedAt.length === 2, { message: 'second run opened' });
    await engine.stop('p');
    engine.start('p');
    await waitFor(() => src(w, 's').openedAt.length === 3, { message: 'third run opened' });
    await engine.stop('p');
    assert.equal(src(w, 's').lifecycle.length, 1);
    assert.equal(dst(w, 'd').lifecycle.length, 1);

    // Changed twice before it runs again: onUpdated compares with the settings it last ran with.
    engine = await restart(w, engine);
    await engine.provision([simple('p', { src: { world: 's', tag: 'b' } })]);
    await engine.provision([simple('p', { src: { world: 's', tag: 'c' } })]);
    await engine.startDesired();
    await waitFor(() => src(w, 's').openedAt.length === 4, { message: 'fourth run opened' });
    assert.deepEqual(src(w, 's').lifecycle.slice(1), [
      { hook: 'updated', settings: { world: 's', tag: 'c' }, before: { world: 's', tag: 'a' } },
    ]);
    assert.equal(dst(w, 'd').lifecycle.length, 1, 'the destination did not change');
    await engine.stop('p');

    // And once more unchanged: no hook.
    engine.start('p');
    await waitFor(() => src(w, 's').openedAt.length === 5, { message: 'fifth run opened' });
    assert.equal(src(w, 's').lifecycle.length, 2);
  });

  it('settings written in another order are the same settings: no update, no hook', async () => {
    const w = world();
    w.sources['s'] = sourceWorld(lines(3));
    w.destinations['d'] = destinationWorld();
    let engine = await startEngine(w);
    await engine.provision([simple('p', { src: { world: 's', tag: 'a' } })]);
    await runUntilAcked(engine, w, 'p', 's', 3);

    engine = await restart(w, engine);
    assert.deepEqual((await engine.provision([simple('p', { src: { tag: 'a', world: 's' } })])).updated, []);
    await engine.startDesired();
    await waitFor(() => src(w, 's').openedAt.length === 2, { message: 'second run opened' });
    assert.deepEqual(
      src(w, 's').lifecycle.map((e) => e.hook),
      ['created'],
    );
  });
});
