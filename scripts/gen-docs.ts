/**
 * Regenerates the parameter table of every built-in connector's README from its
 * spec. Run: `npx tsx scripts/gen-docs.ts` (`--check` only reports stale files).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { updateReadme } from '../src/connectors/docs.js';
import { BUILTIN_CONNECTORS } from '../src/connectors/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const plugin of BUILTIN_CONNECTORS) {
  const path = join(root, 'src', 'connectors', plugin.name, 'README.md');
  const before = await readFile(path, 'utf8');
  const after = updateReadme(before, plugin);
  if (after === before) continue;
  stale.push(path);
  if (!check) await writeFile(path, after);
}
if (check && stale.length > 0) {
  console.error(`stale: ${stale.join(', ')}\nrun: npx tsx scripts/gen-docs.ts`);
  process.exitCode = 1;
} else if (stale.length > 0) {
  console.log(`updated ${stale.join(', ')}`);
}
