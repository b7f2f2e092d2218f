/**
 * The engine's editing operations (what the HTTP API's create, update and
 * delete call): stored durably, refused on running and file pipelines, and a
 * deleted connector loses its position and gets its onDeleted hook.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Code } from '../errors/codes.js';
import { silentLogger } from '../log/logger.js';
import { PluginRegistry } from '../plugins/registry.js';
import { fieldSetPlugin } from '../processors/field-set/index.js';
import { waitFor } from '../sdk/testing.js';
import { MemoryStore } from '../store/memory.js';
import {
  destinationWorld,
  memoryPlugin,
  sourceWorld,
  type DestinationWorld,
  type SourceWorld,
} from '../../test/support/memory-connectors.js';
import { EditCode, Engine } from './engine.js';
import { StateKey } from './state-keys.js';
import { PipelineStatus } from './types.js';

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.shutdown(2_000);
});

function worlds() {
  const sources: Record<string, SourceWorld> = { s: sourceWorld(['a', 'b', 'c']) };
  const destinations: Record<string, DestinationWorld> = { d: destinationWorld() };
  return { sources, destinations };
}

async function engineOn(store: MemoryStore, w: ReturnType<typeof worlds>): Promise<Engine> {
  const registry = new PluginRegistry().addConnector(memoryPlugin(w)).addProcessor(fieldSetPlugin);
  const engine = new Engine({ store, registry, logger: silentLogger, run: { checkpointIntervalMs: 1 } });
  await engine.init();
  engines.push(engine);
  return engine;
}

async function built(engine: Engine) {
  const p = await engine.createPipeline({ name: 'p', description: '' });
  const src = await engine.createConnector(p.id, {
    type: 'source',
    plugin: 'mem',
    name: 'in',
    settings: { world: 's' },
  });
  const dst = await engine.createConnector(p.id, {
    type: 'destination',
    plugin: 'builtin:mem',
    name: 'out',
    settings: { world: 'd' },
  });
  const proc = await engine.createProcessor(
    { type: 'connector', id: dst.config.id },
    { plugin: 'field.set', settings: { field: '.Metadata.x', value: 'y' }, workers: 0, condition: '' },
  );
  return { p, src, dst, proc };
}

describe('editing pipelines', () => {
  it('stores what it creates: a restarted engine has the same pipeline, connectors and processors', async () => {
    const store = new MemoryStore();
    await store.init();
    const w = worlds();
    const first = await engineOn(store, w);
    const { p, src, dst, proc } = await built(first);
    assert.ok(src.config.id.startsWith(`${p.id}:`), 'connector IDs are prefixed with the pipeline ID');
    assert.equal(proc.config.workers, 1);
    const again = await engineOn(store, w);
    const got = again.get(p.id);
    assert.equal(got?.provisionedBy, 'api');
    assert.deepEqual(
      got?.config.connectors.map((c) => c.id),
      [src.config.id, dst.config.id],
    );
    assert.equal(again.processor(proc.config.id)?.parent.id, dst.config.id);
    assert.deepEqual(
      again.processors([dst.config.id]).map((x) => x.config.id),
      [proc.config.id],
    );
  });

  it('runs an edited pipeline, and refuses edits while it runs', async () => {
    const store = new MemoryStore();
    await store.init();
    const w = worlds();
    const engine = await engineOn(store, w);
    const { p, src } = await built(engine);
    const state = await engine.startAndWait(p.id, 5_000);
    assert.equal(state.status, PipelineStatus.Running);
    await waitFor(() => w.destinations['d']?.written.length === 3, { message: 'three records written' });
    await assert.rejects(engine.updatePipeline(p.id, { name: 'q', description: '' }), {
      code: Code.PipelineRunning,
    });
    await assert.rejects(engine.deleteConnector(src.config.id), { code: Code.PipelineRunning });
    await engine.stop(p.id);
    const renamed = await engine.updatePipeline(p.id, { name: 'q', description: 'd' });
    assert.equal(renamed.config.name, 'q');
    assert.ok(renamed.updatedAt >= renamed.createdAt);
  });

  it('deletes a connector with its position, calling onDeleted; refuses while processors hang on it', async () => {
    const store = new MemoryStore();
    await store.init();
    const w = worlds();
    const engine = await engineOn(store, w);
    const { p, src, dst, proc } = await built(engine);
    await engine.startAndWait(p.id, 5_000);
    await waitFor(async () => (await engine.sourcePosition(src.config.id)) !== undefined, {
      message: 'a position stored',
    });
    await engine.stop(p.id);
    await assert.rejects(engine.deleteConnector(dst.config.id), { code: EditCode.ConnectorHasProcessors });
    await assert.rejects(engine.deletePipeline(p.id), { code: EditCode.HasConnectors });
    await engine.deleteProcessor(proc.config.id);
    await engine.deleteConnector(src.config.id);
    assert.equal(await store.get(StateKey.position(src.config.id)), undefined);
    assert.equal(await store.get(StateKey.connector(src.config.id)), undefined);
    assert.deepEqual(
      w.sources['s']?.lifecycle.map((l) => l.hook),
      ['created', 'deleted'],
    );
    await engine.deleteConnector(dst.config.id);
    await engine.deletePipeline(p.id);
    assert.equal(engine.get(p.id), undefined);
    assert.equal(await store.get(StateKey.pipeline(p.id)), undefined);
  });

  it('checks names, plugins and settings before changing anything', async () => {
    const store = new MemoryStore();
    await store.init();
    const engine = await engineOn(store, worlds());
    const p = await engine.createPipeline({ name: 'p', description: '' });
    await assert.rejects(engine.createPipeline({ name: 'p', description: '' }), { code: EditCode.NameExists });
    await assert.rejects(engine.createPipeline({ name: ' ', description: '' }), {
      code: Code.ConfigFieldRequired,
      configPath: '/config/name',
    });
    await assert.rejects(engine.createConnector(p.id, { type: 'source', plugin: 'nope', name: '', settings: {} }), {
      code: Code.PluginNotFound,
      configPath: '/plugin',
    });
    await assert.rejects(
      engine.createConnector(p.id, { type: 'source', plugin: 'mem', name: '', settings: { wrld: 's' } }),
      { code: Code.ParamUnknown, configPath: '/config/settings/wrld' },
    );
    await assert.rejects(
      engine.createProcessor(
        { type: 'pipeline', id: p.id },
        { plugin: 'field.set', settings: { field: '.Position', value: 'x' }, workers: 1, condition: '' },
      ),
      { code: Code.ParamValidation, configPath: '/config/settings/field' },
    );
    assert.deepEqual(engine.get(p.id)?.config.connectors, []);
    assert.deepEqual(engine.get(p.id)?.config.processors, []);
    assert.throws(() => engine.start(p.id), { code: Code.PipelineInvalid });
  });
});
