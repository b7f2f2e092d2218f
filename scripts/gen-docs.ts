/**
 * Regenerates the parameter table of every built-in connector's and processor's
 * README from its spec. Run: `npx tsx scripts/gen-docs.ts` (`--check` only
 * reports stale files).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_CONNECTORS } from '../src/connectors/index.js';
import { connectorDoc, processorDoc, updateReadme } from '../src/plugins/docs.js';
import { BUILTIN_PROCESSORS } from '../src/processors/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const doc of [...BUILTIN_CONNECTORS.map(connectorDoc), ...BUILTIN_PROCESSORS.map(processorDoc)]) {
  const path = join(root, doc.readme);
  const before = await readFile(path, 'utf8');
  const after = updateReadme(before, doc);
  if (after === before) continue;
  stale.push(doc.readme);
  if (!check) await writeFile(path, after);
}
if (check && stale.length > 0) {
  console.error(`stale: ${stale.join(', ')}\nrun: npx tsx scripts/gen-docs.ts`);
  process.exitCode = 1;
} else if (stale.length > 0) {
  console.log(`updated ${stale.join(', ')}`);
}
