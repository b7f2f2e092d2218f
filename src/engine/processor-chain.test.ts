/** runChain and conditions (reference §5.3): what a condition selects, errors, order, workers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConduitError } from '../errors/conduit-error.js';
import type { OpenCDCRecord } from '../opencdc/record.js';
import { filterPlugin } from '../processors/filter/index.js';
import { FILTERED, MultiRecord, RecordError, type ProcessedRecord, type Processor } from '../sdk/processor.js';
import { compileCondition, runChain, type ProcessorNode } from './processor-chain.js';

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
