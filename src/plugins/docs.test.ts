import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUILTIN_CONNECTORS } from '../connectors/index.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';
import { connectorDoc, PARAMS_END, PARAMS_START, processorDoc, updateReadme, type PluginDoc } from './docs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function assertCurrent(doc: PluginDoc): Promise<void> {
  const readme = await readFile(join(root, doc.readme), 'utf8');
  assert.ok(readme.includes(PARAMS_START) && readme.includes(PARAMS_END), `${doc.readme} has the params markers`);
  assert.ok(updateReadme(readme, doc) === readme, `${doc.readme} is stale: run \`npx tsx scripts/gen-docs.ts\``);
}

describe('connector docs', () => {
  for (const plugin of BUILTIN_CONNECTORS) {
    it(`${plugin.name}: README parameter table matches the spec`, () => assertCurrent(connectorDoc(plugin)));

    it(`${plugin.name}: has the uniform file set`, async () => {
      const files = [
        'index.ts',
        'spec.ts',
        'README.md',
        `${plugin.name}.test.ts`,
        ...(plugin.source ? ['source.ts'] : []),
        ...(plugin.destination ? ['destination.ts'] : []),
      ];
      for (const f of files) await readFile(join(root, 'src', 'connectors', plugin.name, f));
    });
  }
});

describe('processor docs', () => {
  for (const plugin of BUILTIN_PROCESSORS) {
    it(`${plugin.name}: README parameter table matches the spec`, () => assertCurrent(processorDoc(plugin)));
  }
});

describe('updateReadme', () => {
  it('names the README when the markers are missing', () => {
    assert.throws(
      () => updateReadme('# x\n', { name: 'x', readme: 'src/x/README.md', section: '' }),
      /src\/x\/README\.md lacks/,
    );
  });
});
