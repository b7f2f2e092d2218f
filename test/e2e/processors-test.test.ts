/**
 * `conduit processors test` as a user runs it: the built CLI on a pipeline
 * file and a JSONL file of records (or stdin), records on stdout, the summary
 * and failed records on stderr, the --json envelope, exit codes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONDUIT_BIN, runConduit } from '../support/conduit-process.js';

const PIPELINE = `version: "2.2"
pipelines:
  - id: app
    connectors:
      - id: src
        type: source
        plugin: builtin:generator
      - id: dst
        type: destination
        plugin: builtin:log
    processors:
      - id: drop-deletes
        plugin: filter
        condition: '{{ eq .Operation.String "delete" }}'
      - id: stamp
        plugin: field.set
        settings:
          field: .Metadata.stamped
          value: "{{ .Operation.String }}-{{ .Payload.After.id }}"
`;

const RECORDS = [
  '{"position":"MQ==","operation":"create","metadata":{},"key":null,"payload":{"before":null,"after":{"id":1}}}',
  '{"position":"Mg==","operation":"delete","metadata":{},"key":null,"payload":{"before":{"id":1},"after":null}}',
  '{"position":"Mw==","operation":"update","metadata":{"k":"v"},"key":null,"payload":{"before":null,"after":{"id":3}}}',
].join('\n');

const env = { NO_COLOR: '1' };

describe('e2e: conduit processors test', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-proc-test-'));
    await writeFile(join(dir, 'app.yaml'), PIPELINE);
    await writeFile(join(dir, 'records.jsonl'), `${RECORDS}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the pipeline's processors and prints the records that come out", async () => {
    const r = await runConduit(['processors', 'test', 'app.yaml', '--input', 'records.jsonl'], { cwd: dir, env });
    assert.equal(r.code, 0, r.output);
    const lines = r.output.trim().split('\n');
    assert.equal(lines.at(-1), '3 records in, 2 out, 0 failed');
    const records = lines
      .slice(0, -1)
      .map((l) => JSON.parse(l) as { position: string; metadata: Record<string, string> });
    assert.deepEqual(
      records.map((x) => [x.position, x.metadata['stamped']]),
      [
        ['MQ==', 'create-1'],
        ['Mw==', 'update-3'],
      ],
    );
  });

  it('--processor picks one; --input - reads stdin; --json gives one envelope', async () => {
    const child = spawn(
      process.execPath,
      [CONDUIT_BIN, 'processors', 'test', 'app.yaml', '--input', '-', '--processor', 'stamp', '--json'],
      { cwd: dir, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // The delete (no .Payload.After) would fail the template; stdin gets the other two.
    const lines = RECORDS.split('\n');
    child.stdin.end(`${lines[0]}\n${lines[2]}\n`);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stdout);
    const envelope = JSON.parse(stdout) as {
      ok: boolean;
      summary: string;
      result: { processors: string[]; records: Array<{ metadata: Record<string, string> }> };
    };
    assert.equal(envelope.ok, true);
    assert.equal(envelope.summary, '2 records in, 2 out, 0 failed');
    assert.deepEqual(envelope.result.processors, ['app:stamp']);
    assert.deepEqual(
      envelope.result.records.map((x) => x.metadata['stamped']),
      ['create-1', 'update-3'],
    );
  });

  it('a record a processor fails on is reported with its line and the processor; exit 1', async () => {
    const failing = PIPELINE.replace(
      'value: "{{ .Operation.String }}-{{ .Payload.After.id }}"',
      'value: \'{{ fail "no" }}\'',
    );
    await writeFile(join(dir, 'failing.yaml'), failing);
    const r = await runConduit(['processors', 'test', 'failing.yaml', '--input', 'records.jsonl'], { cwd: dir, env });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /records\.jsonl:1: processor app:stamp \(field\.set\) failed: .*no/);
    assert.match(r.output, /records\.jsonl:3: processor app:stamp \(field\.set\) failed/);
    assert.match(r.output, /3 records in, 0 out, 2 failed/);
  });

  it('bad usage exits 2 with a suggestion', async () => {
    const noInput = await runConduit(['processors', 'test', 'app.yaml'], { cwd: dir, env });
    assert.equal(noInput.code, 2);
    assert.match(noInput.output, /needs --input/);
    const unknown = await runConduit(
      ['processors', 'test', 'app.yaml', '--input', 'records.jsonl', '--processor', 'x'],
      {
        cwd: dir,
        env,
      },
    );
    assert.equal(unknown.code, 2);
    assert.match(unknown.output, /no processor "x"[\s\S]*use one of: app:drop-deletes, app:stamp/);
    const flag = await runConduit(['processors', 'test', 'app.yaml', '--inptu', 'records.jsonl'], { cwd: dir, env });
    assert.equal(flag.code, 2);
    assert.match(flag.output, /did you mean --input/);
  });
});
