/** runChain and conditions (reference §5.3): what a condition selects, errors, order, workers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConduitError } from '../errors/conduit-error.js';
import { silentLogger } from '../log/logger.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { PluginRegistry } from '../plugins/registry.js';
import { filterPlugin } from '../processors/filter/index.js';
import type { PipelineConfig } from '../provisioning/types.js';
import { DEFAULT_DLQ } from '../provisioning/types.js';
import { Config } from '../sdk/params.js';
import {
  FILTERED,
  MultiRecord,
  RecordError,
  type ProcessedRecord,
  type Processor,
  type ProcessorPlugin,
} from '../sdk/processor.js';
import { waitFor } from '../sdk/testing.js';
import { MemoryStore } from '../store/memory.js';
import {
  destinationWorld,
  memoryPlugin,
  payload,
  sourceWorld,
  type DestinationWorld,
  type SourceWorld,
} from '../../test/support/memory-connectors.js';
import { PipelineRun } from './pipeline-run.js';
import {
  checkWorkers,
  compileCondition,
  createProcessorNode,
  instancesOf,
  openNode,
  runChain,
  teardownNode,
  type ProcessorNode,
} from './processor-chain.js';

function rec(i: number, kind = 'a'): OpenCDCRecord {
  return {
    position: Buffer.from(String(i)),
    operation: 'create',
    metadata: { kind, n: String(i) },
    key: null,
    payload: { before: null, after: { i } },
  };
}

const ids = (rs: OpenCDCRecord[]) => rs.map((r) => r.metadata['n']);

/** A processor that tags each record it sees, and remembers the batches it was given. */
function tagger(tag: string, opts: { delay?: (batch: OpenCDCRecord[]) => number } = {}) {
  const batches: string[][] = [];
  const processor: Processor = {
    configure: () => undefined,
    async process(records) {
      batches.push(records.map((r) => r.metadata['n'] ?? ''));
      const d = opts.delay?.(records) ?? 0;
      if (d > 0) await new Promise((r) => setTimeout(r, d));
      return records.map((r) => {
        r.metadata['tag'] = `${r.metadata['tag'] ?? ''}${tag}`;
        return r;
      });
    },
  };
  return { processor, batches };
}

function node(id: string, processor: Processor, condition = '', workers = 1): ProcessorNode {
  return { id, plugin: 'test', processor, condition: compileCondition(condition, id), workers };
}

function filterNode(id: string, condition: string, workers = 1): ProcessorNode {
  return {
    id,
    plugin: 'filter',
    processor: filterPlugin.create(),
    condition: compileCondition(condition, id),
    workers,
  };
}

interface Nack {
  n: string | undefined;
  error: Error;
  nodeId: string;
}

async function run(nodes: ProcessorNode[], records: OpenCDCRecord[]): Promise<{ out: OpenCDCRecord[]; nacks: Nack[] }> {
  const nacks: Nack[] = [];
  const out = await runChain(nodes, records, (r, error, nodeId) => nacks.push({ n: r.metadata['n'], error, nodeId }));
  return { out, nacks };
}

describe('conditions', () => {
  it('an empty condition selects every record', () => {
    assert.equal(compileCondition('   ', 'p:x'), undefined);
  });

  it('true: the record goes to the processor; false: it passes untouched, in its place', async () => {
    const t = tagger('T');
    const records = [rec(0, 'a'), rec(1, 'b'), rec(2, 'a'), rec(3, 'b'), rec(4, 'a')];
    const { out, nacks } = await run([node('p:t', t.processor, '{{ eq .Metadata.kind "a" }}')], records);
    assert.deepEqual(nacks, []);
    assert.deepEqual(ids(out), ['0', '1', '2', '3', '4']);
    assert.deepEqual(
      out.map((r) => r.metadata['tag']),
      ['T', undefined, 'T', undefined, 'T'],
    );
    assert.deepEqual(t.batches, [['0', '2', '4']], 'only the selected records reach the processor');
  });

  it('accepts every form strconv.ParseBool accepts', async () => {
    for (const [out, selected] of [
      ['1', true],
      ['t', true],
      ['T', true],
      ['TRUE', true],
      ['true', true],
      ['True', true],
      ['0', false],
      ['f', false],
      ['F', false],
      ['FALSE', false],
      ['false', false],
      ['False', false],
    ] as const) {
      const cond = compileCondition(out, 'p:x');
      assert.equal(cond?.(rec(0)), selected, out);
    }
  });

  it('an output that is not a boolean is a processor error for that record; the others go on', async () => {
    const t = tagger('T');
    const records = [rec(0, 'true'), rec(1, 'yes'), rec(2, 'false')];
    const { out, nacks } = await run([node('p:t', t.processor, '{{ .Metadata.kind }}')], records);
    assert.deepEqual(ids(out), ['0', '2']);
    assert.equal(out[0]?.metadata['tag'], 'T');
    assert.equal(out[1]?.metadata['tag'], undefined);
    assert.equal(nacks.length, 1);
    assert.equal(nacks[0]?.n, '1');
    assert.equal(nacks[0]?.nodeId, 'p:t');
    assert.ok(nacks[0]?.error instanceof ConduitError);
    assert.equal(nacks[0]?.error.code, 'processor.failed');
    assert.match(nacks[0]?.error.message ?? '', /condition of processor p:t produced "yes", which is not a boolean/);
  });

  it('a condition that fails to execute is a processor error naming the processor', async () => {
    const { out, nacks } = await run([node('p:t', tagger('T').processor, '{{ fail "nope" }}')], [rec(0)]);
    assert.deepEqual(out, []);
    assert.equal(nacks[0]?.nodeId, 'p:t');
    assert.match(nacks[0]?.error.message ?? '', /processor p:t \(test\) failed: .*nope/);
  });

  it('a condition syntax error is reported when it is compiled, with its place', () => {
    assert.throws(() => compileCondition('{{ eq .Metadata.kind "a" ', 'p:t'), {
      code: 'config.field_invalid',
      message: /p:t\.condition:1:\d+/,
    });
  });

  it('filter with a condition drops only the matching records and keeps the order of the rest', async () => {
    const records = Array.from({ length: 10 }, (_, i) => rec(i, i % 3 === 0 ? 'noise' : 'data'));
    const { out, nacks } = await run([filterNode('p:f', '{{ eq .Metadata.kind "noise" }}')], records);
    assert.deepEqual(nacks, []);
    assert.deepEqual(ids(out), ['1', '2', '4', '5', '7', '8']);
  });
});

describe('order', () => {
  it('records keep their order through filters, errors, splits and conditions', async () => {
    const splitter: Processor = {
      configure: () => undefined,
      process: (records) =>
        records.map((r): ProcessedRecord => {
          const n = Number(r.metadata['n']);
          if (n % 4 === 1) return FILTERED;
          if (n % 4 === 2) return new RecordError(new Error(`bad ${n}`));
          if (n % 4 === 3) {
            return new MultiRecord([
              { ...r, metadata: { ...r.metadata, n: `${n}a` } },
              { ...r, metadata: { ...r.metadata, n: `${n}b` } },
            ]);
          }
          return r;
        }),
    };
    const records = Array.from({ length: 12 }, (_, i) => rec(i, i >= 8 ? 'skip' : 'go'));
    const { out, nacks } = await run(
      [node('p:s', splitter, '{{ eq .Metadata.kind "go" }}'), node('p:t', tagger('T').processor)],
      records,
    );
    assert.deepEqual(ids(out), ['0', '3a', '3b', '4', '7a', '7b', '8', '9', '10', '11']);
    assert.ok(out.every((r) => r.metadata['tag'] === 'T'));
    assert.deepEqual(
      nacks.map((x) => [x.n, x.nodeId]),
      [
        ['2', 'p:s'],
        ['6', 'p:s'],
      ],
    );
  });

  it('workers > 1 process chunks concurrently and keep the input order, even when later chunks finish first', async () => {
    // The chunk holding record 0 is the slowest, the last chunk the fastest.
    const t = tagger('T', { delay: (batch) => 20 - Number(batch[0]?.metadata['n']) / 5 });
    const records = Array.from({ length: 100 }, (_, i) => rec(i));
    const { out, nacks } = await run([node('p:t', t.processor, '', 4)], records);
    assert.deepEqual(nacks, []);
    assert.equal(t.batches.length, 4, 'four chunks');
    assert.deepEqual(
      t.batches.map((b) => b.length),
      [25, 25, 25, 25],
    );
    assert.deepEqual(
      ids(out),
      records.map((r) => r.metadata['n']),
    );
  });

  it('workers > 1 with a condition keep the order of selected and passed-through records', async () => {
    const t = tagger('T', { delay: (batch) => 20 - Number(batch[0]?.metadata['n']) / 5 });
    const records = Array.from({ length: 60 }, (_, i) => rec(i, i % 2 === 0 ? 'a' : 'b'));
    const { out } = await run([node('p:t', t.processor, '{{ eq .Metadata.kind "a" }}', 3)], records);
    assert.deepEqual(
      ids(out),
      records.map((r) => r.metadata['n']),
    );
    assert.deepEqual(
      out.map((r) => r.metadata['tag'] === 'T'),
      records.map((_, i) => i % 2 === 0),
    );
    assert.equal(t.batches.length, 3);
  });

  it('a processor that throws fails every record of the batch it was given', async () => {
    const thrower: Processor = {
      configure: () => undefined,
      process: () => {
        throw new Error('crashed');
      },
    };
    const { out, nacks } = await run([node('p:x', thrower)], [rec(0), rec(1)]);
    assert.deepEqual(out, []);
    assert.deepEqual(
      nacks.map((x) => x.n),
      ['0', '1'],
    );
    assert.match(nacks[0]?.error.message ?? '', /processor p:x \(test\) failed: crashed/);
  });

  it('a processor returning the wrong number of results is an internal error', async () => {
    const short: Processor = { configure: () => undefined, process: (records) => records.slice(1) };
    await assert.rejects(run([node('p:x', short)], [rec(0), rec(1)]), {
      code: 'internal',
      message: /returned 1 results for 2 records/,
    });
  });
});

/**
 * A processor plugin whose instances record their lifecycle and their calls.
 * Each call waits `delay(batch)` ms (so later sub-batches can finish first),
 * fails the records whose payload or `n` is in `failOn`, and throws when the
 * batch holds `throwOn`.
 */
function workersPlugin(opts: { delay?: (batch: OpenCDCRecord[]) => number; failOn?: string[]; throwOn?: string }) {
  const events: string[] = [];
  const calls: Array<{ instance: number; records: string[] }> = [];
  let created = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const name = (r: OpenCDCRecord): string =>
    r.metadata['n'] ?? (r.payload.after instanceof Uint8Array ? payload(r) : '');
  const plugin: ProcessorPlugin = {
    name: 'test.workers',
    summary: 'test',
    description: 'test',
    version: 'v0',
    author: 'tests',
    params: { tag: { type: 'string', description: 'appended to metadata.tag' } },
    create() {
      const instance = created++;
      let tag = '';
      return {
        async configure(config) {
          await Promise.resolve();
          tag = config.string('tag');
          events.push(`configure ${instance}`);
        },
        async open() {
          events.push(`open ${instance}`);
        },
        async process(records) {
          calls.push({ instance, records: records.map(name) });
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            const d = opts.delay?.(records) ?? 0;
            if (d > 0) await new Promise((r) => setTimeout(r, d));
            if (opts.throwOn !== undefined && records.some((r) => name(r) === opts.throwOn)) {
              throw new Error(`instance ${instance} crashed`);
            }
            return records.map((r): ProcessedRecord => {
              if (opts.failOn?.includes(name(r)) === true) return new RecordError(new Error(`bad ${name(r)}`));
              r.metadata['tag'] = `${r.metadata['tag'] ?? ''}${tag}`;
              r.metadata['worker'] = String(instance);
              return r;
            });
          } finally {
            inFlight--;
          }
        },
        async teardown() {
          events.push(`teardown ${instance}`);
        },
      };
    },
  };
  return {
    plugin,
    events,
    calls,
    get created() {
      return created;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

async function workersNode(
  plugin: ProcessorPlugin,
  workers: number,
  condition = '',
  settings: Record<string, string> = { tag: 'T' },
): Promise<ProcessorNode> {
  const { node, configured } = createProcessorNode(
    { id: 'p:w', plugin: plugin.name, condition, workers },
    plugin,
    new Config(plugin.params, settings),
    { processorId: 'p:w', pipelineId: 'p', logger: silentLogger },
  );
  await configured;
  await openNode(node);
  return node;
}

describe('workers', () => {
  it('creates, configures and opens one instance per worker, and tears every one down', async () => {
    const w = workersPlugin({});
    const node = await workersNode(w.plugin, 3);
    assert.equal(instancesOf(node).length, 3);
    await teardownNode(node);
    assert.deepEqual(w.events, [
      'configure 0',
      'configure 1',
      'configure 2',
      'open 0',
      'open 1',
      'open 2',
      'teardown 0',
      'teardown 1',
      'teardown 2',
    ]);
  });

  it('tears down every instance even when one teardown fails, then reports that failure', async () => {
    const torn: number[] = [];
    let n = 0;
    const plugin: ProcessorPlugin = {
      ...workersPlugin({}).plugin,
      create() {
        const i = n++;
        return {
          configure: () => undefined,
          process: (records) => records,
          async teardown() {
            torn.push(i);
            if (i === 0) throw new Error('teardown 0 failed');
          },
        };
      },
    };
    const node = await workersNode(plugin, 3);
    await assert.rejects(teardownNode(node), /teardown 0 failed/);
    assert.deepEqual(torn, [0, 1, 2]);
  });

  it('gives each instance one contiguous sub-batch, runs them concurrently and keeps input order', async () => {
    // The first sub-batch is the slowest, the last the fastest.
    const w = workersPlugin({ delay: (batch) => 40 - Number(batch[0]?.metadata['n']) / 5 });
    const node = await workersNode(w.plugin, 4);
    const records = Array.from({ length: 102 }, (_, i) => rec(i));
    const { out, nacks } = await run([node], records);
    assert.deepEqual(nacks, []);
    assert.deepEqual(ids(out), ids(records.map((r) => r)));
    assert.deepEqual(
      [...w.calls].sort((a, b) => a.instance - b.instance).map((c) => [c.instance, c.records.length, c.records[0]]),
      [
        [0, 26, '0'],
        [1, 26, '26'],
        [2, 25, '52'],
        [3, 25, '77'],
      ],
    );
    assert.equal(w.maxInFlight, 4, 'all four sub-batches were in flight together');
    assert.deepEqual(
      out.map((r) => r.metadata['worker']),
      records.map((_, i) => String(i < 26 ? 0 : i < 52 ? 1 : i < 77 ? 2 : 3)),
    );
  });

  it('a batch smaller than workers uses one instance per record', async () => {
    const w = workersPlugin({});
    const node = await workersNode(w.plugin, 8);
    const { out } = await run([node], [rec(0), rec(1), rec(2)]);
    assert.deepEqual(ids(out), ['0', '1', '2']);
    assert.deepEqual(
      w.calls.map((c) => c.records),
      [['0'], ['1'], ['2']],
    );
    await run([node], [rec(9)]);
    assert.deepEqual(w.calls.at(-1), { instance: 0, records: ['9'] }, 'one record: one call, no split');
  });

  it('a record failed by one worker nacks only that record; the others go on in order', async () => {
    const w = workersPlugin({ delay: (batch) => 30 - Number(batch[0]?.metadata['n']), failOn: ['13'] });
    const node = await workersNode(w.plugin, 3);
    const records = Array.from({ length: 30 }, (_, i) => rec(i));
    const { out, nacks } = await run([node], records);
    assert.deepEqual(
      nacks.map((x) => [x.n, x.nodeId]),
      [['13', 'p:w']],
    );
    assert.match(nacks[0]?.error.message ?? '', /processor p:w \(test.workers\) failed: bad 13/);
    assert.deepEqual(
      ids(out),
      ids(records).filter((n) => n !== '13'),
    );
  });

  it('a worker that throws fails only its own sub-batch', async () => {
    const w = workersPlugin({ throwOn: '5' });
    const node = await workersNode(w.plugin, 3);
    const { out, nacks } = await run(
      [node],
      Array.from({ length: 9 }, (_, i) => rec(i)),
    );
    assert.deepEqual(
      nacks.map((x) => x.n),
      ['3', '4', '5'],
    );
    assert.match(nacks[0]?.error.message ?? '', /instance 1 crashed/);
    assert.deepEqual(ids(out), ['0', '1', '2', '6', '7', '8']);
  });

  it('with a condition, only selected records are split among the workers; the rest keep their place', async () => {
    const w = workersPlugin({ delay: (batch) => 20 - Number(batch[0]?.metadata['n']) / 5 });
    const node = await workersNode(w.plugin, 3, '{{ eq .Metadata.kind "a" }}');
    const records = Array.from({ length: 60 }, (_, i) => rec(i, i % 2 === 0 ? 'a' : 'b'));
    const { out } = await run([node], records);
    assert.deepEqual(ids(out), ids(records));
    assert.deepEqual(
      out.map((r) => r.metadata['tag'] === 'T'),
      records.map((_, i) => i % 2 === 0),
    );
    assert.deepEqual(
      w.calls.map((c) => c.records.length),
      [10, 10, 10],
    );
  });

  it('a sub-batch with the wrong number of results is an internal error', async () => {
    const plugin: ProcessorPlugin = {
      ...workersPlugin({}).plugin,
      create: () => ({ configure: () => undefined, process: (records) => records.slice(1) }),
    };
    const node = await workersNode(plugin, 2);
    await assert.rejects(run([node], [rec(0), rec(1), rec(2), rec(3)]), {
      code: 'internal',
      message: /returned 1 results for 2 records/,
    });
  });

  it('an asynchronous configure that fails rejects `configured`', async () => {
    let n = 0;
    const plugin: ProcessorPlugin = {
      ...workersPlugin({}).plugin,
      create: () => {
        const i = n++;
        return {
          configure: async () => {
            if (i === 1) throw new Error('instance 1 cannot configure');
          },
          process: (records) => records,
        };
      },
    };
    const { configured } = createProcessorNode(
      { id: 'p:w', plugin: 'test.workers', condition: '', workers: 2 },
      plugin,
      new Config(plugin.params, {}),
      { processorId: 'p:w', pipelineId: 'p', logger: silentLogger },
    );
    await assert.rejects(configured ?? Promise.resolve(), /instance 1 cannot configure/);
  });

  it('workers must be a whole number of at least 1; the error names the config path', () => {
    assert.equal(checkWorkers(1, 'p:w'), 1);
    assert.equal(checkWorkers(16, 'p:w'), 16);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => checkWorkers(bad, 'p:src:w'),
        (e: unknown) => {
          assert.ok(e instanceof ConduitError);
          assert.equal(e.code, 'config.field_invalid');
          assert.equal(e.configPath, '/processors/p:src:w/workers');
          assert.equal(e.retryable, false);
          assert.match(e.message, /"workers" of processor p:src:w is .*; it must be a whole number of at least 1/);
          assert.ok(e.suggestion !== undefined);
          return true;
        },
        String(bad),
      );
    }
    const w = workersPlugin({});
    assert.throws(
      () =>
        createProcessorNode(
          { id: 'p:w', plugin: 'test.workers', condition: '', workers: 0 },
          w.plugin,
          new Config(w.plugin.params, {}),
          {
            processorId: 'p:w',
            pipelineId: 'p',
            logger: silentLogger,
          },
        ),
      { code: 'config.field_invalid' },
    );
    assert.equal(w.created, 0, 'no instance is created for an invalid workers');
  });
});

describe('workers in a running pipeline', () => {
  function pipelineWith(workers: number, dlq: boolean): PipelineConfig {
    const conn = (id: string, type: 'source' | 'destination') => ({
      id: `p:${id}`,
      type,
      plugin: 'mem',
      pluginRef: 'mem',
      name: id,
      settings: { world: id },
      processors: [],
    });
    return {
      id: 'p',
      status: 'running',
      name: 'p',
      description: '',
      connectors: [conn('s', 'source'), conn('d', 'destination')],
      processors: [
        { id: 'p:w', plugin: 'test.workers', pluginRef: 'test.workers', condition: '', settings: {}, workers },
      ],
      dlq: dlq
        ? { plugin: 'memdlq', pluginRef: 'memdlq', settings: { world: 'dlq' }, windowSize: 0, windowNackThreshold: 0 }
        : DEFAULT_DLQ,
    };
  }

  async function start(config: PipelineConfig, plugin: ProcessorPlugin, count: number) {
    const sources: Record<string, SourceWorld> = { s: sourceWorld(Array.from({ length: count }, (_, i) => `r${i}`)) };
    const destinations: Record<string, DestinationWorld> = { d: destinationWorld(), dlq: destinationWorld() };
    const mem = memoryPlugin({ sources, destinations });
    const registry = new PluginRegistry()
      .addConnector(mem)
      .addConnector({ ...mem, name: 'memdlq', source: undefined })
      .addProcessor(plugin);
    const store = new MemoryStore();
    await store.init();
    const run = new PipelineRun({
      config,
      registry,
      store,
      logger: silentLogger,
      options: { checkpointIntervalMs: 1, defaultReadMax: 50 },
    });
    await run.start();
    return {
      run,
      source: sources['s'] as SourceWorld,
      dest: destinations['d'] as DestinationWorld,
      dlq: destinations['dlq'] as DestinationWorld,
    };
  }

  it('delivers in order, sends the one failed record to the DLQ, acks everything in order, tears every instance down', async () => {
    const w = workersPlugin({
      delay: (batch) => (Number(payload(batch[0] as OpenCDCRecord).slice(1)) % 50 < 25 ? 8 : 1),
      failOn: ['r77'],
    });
    const t = await start(pipelineWith(4, true), w.plugin, 400);
    await waitFor(() => t.source.acked.length === 400, { message: 'all 400 acked' });
    const want = Array.from({ length: 400 }, (_, i) => `r${i}`);
    assert.deepEqual(
      t.dest.written,
      want.filter((x) => x !== 'r77'),
    );
    assert.deepEqual(t.dlq.written.length, 1);
    assert.deepEqual(
      t.source.acked,
      Array.from({ length: 400 }, (_, i) => String(i)),
      'acks in production order',
    );
    assert.ok(w.maxInFlight > 1, 'sub-batches ran concurrently');
    t.run.stop();
    await t.run.done;
    assert.equal(w.created, 4);
    assert.deepEqual(w.events.filter((e) => e.startsWith('teardown')).sort(), [
      'teardown 0',
      'teardown 1',
      'teardown 2',
      'teardown 3',
    ]);
    assert.deepEqual(w.events.filter((e) => e.startsWith('open')).sort(), ['open 0', 'open 1', 'open 2', 'open 3']);
  });

  it('rejects workers: 0 before anything opens', async () => {
    const w = workersPlugin({});
    await assert.rejects(start(pipelineWith(0, false), w.plugin, 1), {
      code: 'config.field_invalid',
      configPath: '/processors/p:w/workers',
    });
    assert.equal(w.created, 0);
  });
});
