/**
 * Contract rule 4: kill -9 at any instant loses nothing. A file-to-file
 * pipeline over 1,000,000 lines; the engine is killed with SIGKILL at random
 * moments at least five times and restarted each time. In the end the output
 * holds every input line, in input order, with repeats only across a restart
 * boundary.
 */
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitFor } from '../../src/sdk/testing.js';
import { startConduit } from '../support/conduit-process.js';

const LINES = 1_000_000;
const KILLS = 6;

const lineText = (i: number) => `line-${String(i).padStart(7, '0')}`;

describe('crash safety (kill -9)', () => {
  let dir = '';
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('keeps every line in order across repeated SIGKILLs', { timeout: 300_000 }, async (t) => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-crash-'));
    const input = join(dir, 'input.txt');
    const output = join(dir, 'output.txt');
    await mkdir(join(dir, 'pipelines'));
    const text: string[] = [];
    for (let i = 1; i <= LINES; i++) text.push(lineText(i));
    await writeFile(input, `${text.join('\n')}\n`);
    await writeFile(
      join(dir, 'pipelines', 'copy.yaml'),
      [
        'version: "2.2"',
        'pipelines:',
        '  - id: copy',
        '    status: running',
        '    connectors:',
        '      - id: in',
        '        type: source',
        '        plugin: builtin:file',
        '        settings:',
        `          path: ${input}`,
        '      - id: out',
        '        type: destination',
        '        plugin: builtin:file',
        '        settings:',
        `          path: ${output}`,
        '          sdk.record.format: template',
        '          sdk.record.format.options: "{{ printf \\"%s\\" .Payload.After }}"',
        '',
      ].join('\n'),
    );
    const args = [
      'run',
      '--pipelines.path',
      join(dir, 'pipelines'),
      '--db.sqlite.path',
      join(dir, 'conduit.db'),
      '--log.level',
      'warn',
    ];
    const size = async () => (await stat(output).catch(() => ({ size: 0 }))).size;
    const total = LINES * (lineText(1).length + 1);

    let restarts = 0;
    for (let k = 0; k < KILLS; k++) {
      const before = await size();
      // Kill somewhere in the next stretch of the output, at a random point.
      const target = Math.min(
        total - 1,
        before + Math.floor(((total - before) / (KILLS - k + 1)) * (0.3 + Math.random())),
      );
      const p = startConduit(args, { cwd: dir });
      await waitFor(async () => (await size()) >= target || p.child.exitCode !== null, {
        timeoutMs: 120_000,
        intervalMs: 2,
        message: `output to reach ${target} bytes (run ${k + 1})`,
      });
      p.child.kill('SIGKILL');
      const code = await p.exited;
      assert.equal(code, 137, `run ${k + 1} ended on its own: ${p.output()}`);
      restarts++;
    }
    const lastLine = `${lineText(LINES)}\n`;
    const endsWithLastLine = async (): Promise<boolean> => {
      const n = await size();
      if (n < lastLine.length) return false;
      const fh = await open(output, 'r');
      try {
        const buf = Buffer.alloc(lastLine.length);
        await fh.read(buf, 0, buf.length, n - buf.length);
        return buf.toString() === lastLine;
      } finally {
        await fh.close();
      }
    };
    const last = startConduit(args, { cwd: dir });
    await waitFor(endsWithLastLine, { timeoutMs: 120_000, message: 'the last input line copied' });
    // Every line is there; let the engine drain and stop cleanly.
    last.child.kill('SIGTERM');
    assert.equal(await last.exited, 0, last.output());

    const out = (await readFile(output, 'utf8')).split('\n');
    assert.equal(out.pop(), '', 'the output ends with a complete line');
    let expected = 1;
    let backwards = 0;
    for (const [n, l] of out.entries()) {
      const m = /^line-(\d{7})$/.exec(l);
      assert.ok(m !== null, `output line ${n + 1} is not an input line: ${JSON.stringify(l.slice(0, 80))}`);
      const i = Number(m[1]);
      if (i === expected) {
        expected++;
        continue;
      }
      // A repeat is allowed only as a restart going back to an earlier line.
      assert.ok(i < expected, `gap: line ${expected} missing before ${i} (output line ${n + 1})`);
      backwards++;
      expected = i + 1;
    }
    assert.equal(expected, LINES + 1, `the output stops at line ${expected - 1}`);
    assert.ok(backwards <= restarts, `${backwards} jumps back for ${restarts} restarts`);
    t.diagnostic(
      `${restarts} kills, ${backwards} restarts repeated lines, ${out.length - LINES} repeated lines in all`,
    );
  });
});
