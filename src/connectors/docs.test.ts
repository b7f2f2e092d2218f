import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PARAMS_END, PARAMS_START, updateReadme } from './docs.js';
import { BUILTIN_CONNECTORS } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const FILE_SET = ['index.ts', 'spec.ts', 'README.md'];

describe('connector docs', () => {
  for (const plugin of BUILTIN_CONNECTORS) {
    it(`${plugin.name}: README parameter table matches the spec`, async () => {
      const readme = await readFile(join(here, plugin.name, 'README.md'), 'utf8');
      assert.ok(readme.includes(PARAMS_START) && readme.includes(PARAMS_END), 'README has the params markers');
      assert.ok(
        updateReadme(readme, plugin) === readme,
        `src/connectors/${plugin.name}/README.md is stale: run \`npx tsx scripts/gen-docs.ts\``,
      );
    });

    it(`${plugin.name}: has the uniform file set`, async () => {
      const files = [
        ...FILE_SET,
        `${plugin.name}.test.ts`,
        ...(plugin.source ? ['source.ts'] : []),
        ...(plugin.destination ? ['destination.ts'] : []),
      ];
      for (const f of files) await readFile(join(here, plugin.name, f));
    });
  }
});
