// Bundles the CLI into ESM for fast start-up: dist/conduit.mjs, plus a chunk per dynamically imported
// module (connector implementations whose client libraries load only when a pipeline uses them).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry a content hash: drop the last build's.
rmSync('dist/chunks', { recursive: true, force: true });

await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist',
  entryNames: 'conduit',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  packages: 'external',
  logLevel: 'warning',
});
