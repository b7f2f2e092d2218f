/**
 * Contract rule 4: SIGTERM drains and checkpoints. Mid-stream, the engine
 * exits 0 within its drain timeout, and a restart repeats nothing.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitFor } from '../../src/sdk/testing.js';
import { startConduit } from '../support/conduit-process.js';

const LINES = 300_000;

describe('graceful stop (SIGTERM)', () => {
  let dir = '';
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('drains, exits 0, and a restart repeats nothing', { timeout: 120_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-sigterm-'));
    const input = join(dir, 'input.txt');
    const output = join(dir, 'output.txt');
    await mkdir(join(dir, 'pipelines'));
    await writeFile(input, `${Array.from({ length: LINES }, (_, i) => `row ${i}`).join('\n')}\n`);
    await writeFile(
      join(dir, 'pipelines', 'p.yaml'),
      `version: "2.2"
pipelines:
  - id: copy
    connectors:
      - id: in
        type: source
        plugin: file
        settings:
          path: ${input}
      - id: out
        type: destination
        plugin: file
        settings:
          path: ${output}
          sdk.record.format: template
          sdk.record.format.options: '{{ printf "%s" .Payload.After }}'
`,
    );
    const args = [
      'run',
      '--pipelines.path',
      join(dir, 'pipelines'),
      '--db.sqlite.path',
      join(dir, 'c.db'),
      '--pipelines.drain-timeout',
      '10s',
    ];
    const size = async () => (await stat(output).catch(() => ({ size: 0 }))).size;

    const first = startConduit(args, { cwd: dir });
    await waitFor(async () => (await size()) > 100_000, { timeoutMs: 60_000, message: 'output started' });
    const t0 = Date.now();
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.ok(Date.now() - t0 < 10_000, 'stopped within the drain timeout');
    const afterStop = (await readFile(output, 'utf8')).split('\n').length - 1;
    assert.ok(afterStop < LINES, 'the stop came mid-stream (make the input longer if this fails)');

    const second = startConduit(args, { cwd: dir });
    await waitFor(async () => (await readFile(output, 'utf8')).endsWith(`row ${LINES - 1}\n`), {
      timeoutMs: 60_000,
      message: 'the rest of the input',
    });
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
    const out = (await readFile(output, 'utf8')).split('\n');
    out.pop();
    assert.equal(out.length, LINES, 'no line repeated or lost across the graceful restart');
    out.forEach((l, i) => assert.equal(l, `row ${i}`));
  });
});
