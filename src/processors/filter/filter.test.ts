/** filter against Conduit's documented example, alone and with a condition. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileCondition, runChain } from '../../engine/processor-chain.js';
import { silentLogger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { parseConfig } from '../../sdk/params.js';
import { FILTERED, type Processor } from '../../sdk/processor.js';
import { filterPlugin } from './index.js';

async function configured(settings: Record<string, string> = {}): Promise<Processor> {
  const p = filterPlugin.create();
  await p.configure(parseConfig(filterPlugin.params, settings), {
    processorId: 'p:filter',
    pipelineId: 'p',
    logger: silentLogger,
  });
  return p;
}

function rec(i: number, metadata: Record<string, string> = {}): OpenCDCRecord {
  return {
    position: Buffer.from(String(i)),
    operation: 'create',
    metadata: { n: String(i), ...metadata },
    key: null,
    payload: { before: { bar: 'baz' }, after: { foo: 'bar' } },
  };
}

describe('filter', () => {
  it('filters out the record (Conduit example)', async () => {
    const p = await configured();
    assert.deepEqual(await p.process([rec(0, { key1: 'val1' })]), [FILTERED]);
  });

  it('filters out every record of a batch, one result per record', async () => {
    const p = await configured();
    const out = await p.process([rec(0), rec(1), rec(2)]);
    assert.deepEqual(out, [FILTERED, FILTERED, FILTERED]);
  });

  it('takes no parameters', () => {
    assert.deepEqual(filterPlugin.params, {});
    assert.throws(() => parseConfig(filterPlugin.params, { field: '.Key' }), { code: 'param.unrecognized' });
  });

  it('with a condition drops only the records it selects; the others go on in order and are not nacked', async () => {
    const processor = await configured();
    const records = Array.from({ length: 8 }, (_, i) => rec(i, { kind: i % 2 === 0 ? 'noise' : 'data' }));
    const nacks: string[] = [];
    const out = await runChain(
      [
        {
          id: 'p:filter',
          plugin: 'filter',
          processor,
          condition: compileCondition('{{ eq .Metadata.kind "noise" }}', 'p:filter'),
          workers: 1,
        },
      ],
      records,
      (r) => nacks.push(r.metadata['n'] ?? ''),
    );
    assert.deepEqual(
      out.map((r) => r.metadata['n']),
      ['1', '3', '5', '7'],
    );
    assert.deepEqual(nacks, []);
  });

  it('README says it takes no parameters, as the spec says', async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const readme = await readFile(join(here, 'README.md'), 'utf8');
    assert.equal(Object.keys(filterPlugin.params).length, 0);
    assert.match(readme, /`filter` takes no parameters/);
  });
});
