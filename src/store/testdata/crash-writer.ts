/**
 * Child process for the SQLite crash test: writes ever-increasing positions in a
 * loop and prints each one to stdout after its write resolved (an
 * acknowledgement), until the parent kills it with SIGKILL.
 *
 * Each batch writes the position twice (under `position` and `mirror`) with a
 * padded value, so the parent can tell a torn or half-applied batch from a whole one.
 */
import { SqliteStore } from '../sqlite.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: crash-writer.ts <db path>');

const store = new SqliteStore({ path });
await store.init();
const prev = await store.get('position');
let n = prev === undefined ? 0 : (JSON.parse(prev) as { n: number }).n;
for (;;) {
  n++;
  const value = JSON.stringify({ n, pad: 'p'.repeat(4096) });
  await store.write([
    { key: 'position', value },
    { key: 'mirror', value },
  ]);
  // stdout to a pipe is synchronous on Linux, so the line is out before the next write starts.
  process.stdout.write(`${n}\n`);
}
