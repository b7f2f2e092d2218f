/** clone against Conduit's documented example and unit tests, through the engine's chain, and configuration errors. */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileCondition, runChain } from '../../engine/processor-chain.js';
import type { StructuredData } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { asMulti, assertReadmeTable, configured, PROCESSOR_ID, processOne, rec } from '../testing.js';
import { clonePlugin } from './index.js';

const plugin = clonePlugin;

describe('clone: Conduit examples', () => {
  it('clones a record once: two records differing only in clone.index', async () => {
    const out = asMulti(
      await processOne(
        plugin,
        { count: '1' },
        rec({
          metadata: { foo: 'bar' },
          key: { id: 123 },
          payload: { before: null, after: { name: 'Alice', age: 30 } },
        }),
      ),
    );
    assert.equal(out.length, 2);
    out.forEach((r, i) => {
      assert.deepEqual(r, {
        position: Buffer.from('test-position'),
        operation: 'create',
        metadata: { foo: 'bar', 'clone.index': String(i) },
        key: { id: 123 },
        payload: { before: null, after: { name: 'Alice', age: 30 } },
      });
    });
  });

  it('count 2 gives three records; a record without metadata gets clone.index', async () => {
    const out = asMulti(await processOne(plugin, { count: '2' }, rec({ key: { myslice: [1, 2, 3] } })));
    assert.deepEqual(
      out.map((r) => r.metadata),
      [{ 'clone.index': '0' }, { 'clone.index': '1' }, { 'clone.index': '2' }],
    );
    for (const r of out) assert.deepEqual(r.key, { myslice: [1, 2, 3] });
  });
});

describe('clone: behaviour', () => {
  it('the copies are independent: changing one changes no other', async () => {
    const out = asMulti(await processOne(plugin, { count: '2' }, rec({ key: { nested: { a: 1 } } })));
    ((out[1]?.key as StructuredData)['nested'] as StructuredData)['a'] = 2;
    (out[2] as { metadata: Record<string, string> }).metadata['x'] = 'y';
    assert.deepEqual(out[0]?.key, { nested: { a: 1 } });
    assert.deepEqual(out[0]?.metadata, { 'clone.index': '0' });
  });

  it('through the chain, with a condition: only selected records are cloned, in order, all with the same position', async () => {
    const processor = await configured(plugin, { count: '1' });
    const records = ['a', 'b', 'c'].map((n) => rec({ position: Buffer.from(n), metadata: { n } }));
    const out = await runChain(
      [
        {
          id: PROCESSOR_ID,
          plugin: plugin.name,
          processor,
          condition: compileCondition('{{ ne .Metadata.n "b" }}', PROCESSOR_ID),
          workers: 1,
        },
      ],
      records,
      () => assert.fail('no record is nacked'),
    );
    assert.deepEqual(
      out.map((r) => `${r.metadata['n']}${r.metadata['clone.index'] ?? '-'}@${Buffer.from(r.position).toString()}`),
      ['a0@a', 'a1@a', 'b-@b', 'c0@c', 'c1@c'],
    );
  });
});

describe('clone: configuration errors', () => {
  it('count is required, a number, and greater than 0', () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"count"/ });
    assert.throws(() => parseConfig(plugin.params, { count: 'foo' }), {
      code: 'param.invalid_type',
      message: /"count"/,
    });
    assert.throws(() => parseConfig(plugin.params, { count: '0' }), {
      code: 'param.validation_failed',
      message: /"count".*greater than 0/,
    });
  });
});

describe('clone: README', () => {
  it('the parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
