import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import {
  assertDrained,
  configuredDestination,
  configuredSource,
  destinationConformance,
  jsonFormatter,
  readN,
  sampleRecords,
  sourceConformance,
} from '../../sdk/conformance.js';
import { silentLogger } from '../../log/logger.js';
import { buildConfig } from '../../sdk/conformance.js';
import { destinationSpecs, sourceSpecs } from '../../sdk/sdk-params.js';
import { createFormatter } from '../../sdk/formats.js';
import { waitFor } from '../../sdk/testing.js';
import { filePlugin } from './index.js';
import { FileSource } from './source.js';
import { sourceParams } from './spec.js';

const ctx = { connectorId: 'p:file', pipelineId: 'p' };

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'conduit-file-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
let seq = 0;
/** A path in a new directory of its own (created). */
const fresh = (name = 'data.txt') => {
  const dir = join(root, `t${++seq}`);
  mkdirSync(dir);
  return join(dir, name);
};
const text = (r: OpenCDCRecord) => Buffer.from(r.payload.after as Uint8Array).toString('utf8');

sourceConformance({
  plugin: filePlugin,
  fixture: () => {
    const path = fresh();
    let n = 0;
    return {
      settings: { path },
      produce: async (count) => {
        const lines = Array.from({ length: count }, () => `line ${n++} ${'x'.repeat(n % 7)}`);
        await appendFile(path, lines.map((l) => `${l}\n`).join(''));
        return lines;
      },
    };
  },
  identify: text,
});

destinationConformance({
  plugin: filePlugin,
  fixture: () => {
    const path = fresh('out/records.jsonl');
    return {
      settings: { path },
      readBack: async () => readFile(path).catch(() => Buffer.alloc(0)),
    };
  },
});

describe('file source', () => {
  it('follows appends to a growing file', async () => {
    const path = fresh();
    await writeFile(path, 'a\n');
    const src = await configuredSource(filePlugin, { path });
    await src.open(null);
    try {
      assert.deepEqual((await readN(src, 1)).map(text), ['a']);
      const pending = readN(src, 2);
      await appendFile(path, 'b\n');
      await appendFile(path, 'c\n');
      assert.deepEqual((await pending).map(text), ['b', 'c']);
    } finally {
      await src.teardown();
    }
  });

  it('waits for a file that does not exist yet, in a directory that does not exist yet', async () => {
    const path = join(root, `missing-${++seq}`, 'later', 'data.txt');
    const src = await configuredSource(filePlugin, { path });
    await src.open(null);
    try {
      const pending = readN(src, 2);
      await assertDrained(src);
      await writeFileDeep(path, 'one\ntwo\n');
      assert.deepEqual((await pending).map(text), ['one', 'two']);
    } finally {
      await src.teardown();
    }
  });

  it('holds back a partial last line until its newline arrives', async () => {
    const path = fresh();
    await writeFile(path, 'full\npart');
    const src = await configuredSource(filePlugin, { path });
    await src.open(null);
    try {
      const [first] = await readN(src, 1);
      assert.equal(text(first as OpenCDCRecord), 'full');
      await assertDrained(src);
      const pending = readN(src, 1);
      await appendFile(path, 'ial\n');
      const [second] = await pending;
      assert.equal(text(second as OpenCDCRecord), 'partial');
      assert.equal(Buffer.from((second as OpenCDCRecord).position).toString(), '13');
    } finally {
      await src.teardown();
    }
  });

  it('gives each record its byte offsets: key = line start, position = after the newline', async () => {
    const path = fresh();
    await writeFile(path, 'ab\n\ncdé\n');
    const src = await configuredSource(filePlugin, { path });
    await src.open(null);
    try {
      const rs = await readN(src, 3);
      assert.deepEqual(rs.map(text), ['ab', '', 'cdé']);
      assert.deepEqual(
        rs.map((r) => Buffer.from(r.key as Uint8Array).toString()),
        ['0', '3', '4'],
      );
      assert.deepEqual(
        rs.map((r) => Buffer.from(r.position).toString()),
        ['3', '4', '9'],
      );
      for (const r of rs) {
        assert.equal(r.operation, 'create');
        assert.equal(r.metadata['file.path'], path);
        assert.equal(r.payload.before, null);
      }
    } finally {
      await src.teardown();
    }
  });

  for (const chunkSize of [undefined, 64]) {
    it(`resumes mid-file across a restart with no gap and no repeat (read size ${chunkSize ?? 'default'})`, async () => {
      const path = fresh();
      const lines = Array.from({ length: 500 }, (_, i) => `row-${i}-${'y'.repeat(i % 50)}`);
      await writeFile(path, lines.map((l) => `${l}\n`).join(''));
      const make = async () => {
        const s = new FileSource(chunkSize === undefined ? {} : { chunkSize });
        s.configure(buildConfig(sourceSpecs(sourceParams), { path }), { ...ctx, logger: silentLogger });
        return s;
      };
      const src = await make();
      await src.open(null);
      const head = await readN(src, 137);
      await src.teardown();
      const again = await make();
      await again.open((head.at(-1) as OpenCDCRecord).position);
      try {
        const tail = await readN(again, 363);
        assert.deepEqual([...head, ...tail].map(text), lines);
        await assertDrained(again);
      } finally {
        await again.teardown();
      }
    });
  }

  it('reads lines longer than the read chunk', async () => {
    const path = fresh();
    const long = 'z'.repeat(3 * 1024 * 1024 + 17);
    await writeFile(path, `short\n${long}\nend\n`);
    const src = await configuredSource(filePlugin, { path });
    await src.open(null);
    try {
      const rs = await readN(src, 3);
      assert.deepEqual(
        rs.map((r) => text(r).length),
        [5, long.length, 3],
      );
    } finally {
      await src.teardown();
    }
  });

  it('starts over when the file is truncated', async () => {
    const path = fresh();
    await writeFile(path, 'first line\nsecond line\n');
    const src = await configuredSource(filePlugin, { path });
    await src.open(null);
    try {
      await readN(src, 2);
      await truncate(path, 0);
      await appendFile(path, 'new\n');
      const [r] = await readN(src, 1);
      assert.equal(text(r as OpenCDCRecord), 'new');
    } finally {
      await src.teardown();
    }
  });

  it('fails with a retryable connector.read_failed naming the path when the file disappears', async () => {
    const path = fresh();
    await writeFile(path, 'x\n');
    const src = await configuredSource(filePlugin, { path });
    await src.open(null);
    try {
      await readN(src, 1);
      await unlink(path);
      const err = await src.read(10, AbortSignal.timeout(5000)).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConduitError, `expected a ConduitError, got ${String(err)}`);
      assert.equal(err.code, 'connector.read_failed');
      assert.equal(err.retryable, true);
      assert.match(err.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    } finally {
      await src.teardown();
    }
  });

  it('rejects a position that is not a decimal offset', async () => {
    const src = await configuredSource(filePlugin, { path: fresh() });
    await assert.rejects(src.open(Buffer.from('{"x":1}')), /not a decimal number/);
    await src.teardown();
  });
});

describe('file destination', () => {
  it('writes exactly the formatted records, one per line', async () => {
    const path = fresh('deep/dir/out.txt');
    const dst = await configuredDestination(filePlugin, { path });
    await dst.open();
    try {
      const records = sampleRecords(0, 4);
      assert.equal(await dst.write(records), undefined);
      const format = await jsonFormatter();
      assert.equal(await readFile(path, 'utf8'), records.map((r) => `${String(format(r))}\n`).join(''));
    } finally {
      await dst.teardown();
    }
  });

  it('cuts an incomplete last line left by an interrupted write before appending', async () => {
    const path = fresh();
    await writeFile(path, 'complete one\ncomplete two\nhalf a rec');
    const dst = await configuredDestination(filePlugin, { path });
    await dst.open();
    try {
      const records = sampleRecords(0, 1);
      await dst.write(records);
      const format = await jsonFormatter();
      assert.equal(
        await readFile(path, 'utf8'),
        `complete one\ncomplete two\n${String(format(records[0] as OpenCDCRecord))}\n`,
      );
    } finally {
      await dst.teardown();
    }
  });

  it('leaves a file that ends with a complete line as it is', async () => {
    const path = fresh();
    await writeFile(path, 'kept\n');
    const dst = await configuredDestination(filePlugin, { path });
    await dst.open();
    await dst.teardown();
    assert.equal(await readFile(path, 'utf8'), 'kept\n');
  });

  it('writes byte-formatted records unchanged, and reports a record the formatter rejects', async () => {
    const path = fresh();
    const d = filePlugin.destination?.create();
    assert.ok(d);
    await d.configure(buildConfig(destinationSpecs(filePlugin.destination?.params ?? {}), { path }), {
      connectorId: 'p:d',
      pipelineId: 'p',
      logger: silentLogger,
      format: (r) => {
        if (r.operation === 'delete') throw new Error('cannot format a delete');
        return r.operation === 'update' ? Buffer.from(`bytes-${r.metadata['n']}`) : `text-${r.metadata['n']}`;
      },
    });
    await d.open();
    try {
      const outcome = await d.write(sampleRecords(0, 4));
      assert.ok(outcome);
      assert.deepEqual(
        outcome.map((e) => e?.message),
        [undefined, undefined, 'cannot format a delete', undefined],
      );
      assert.equal(await readFile(path, 'utf8'), 'text-0\nbytes-1\ntext-3\n');
    } finally {
      await d.teardown();
    }
  });
});

describe('file destination with writes outstanding', () => {
  it('appends them in the order given, and none after one that failed', async () => {
    const path = fresh();
    const d = filePlugin.destination?.create();
    assert.ok(d);
    assert.equal(d.writesInFlight, 2);
    await d.configure(buildConfig(destinationSpecs(filePlugin.destination?.params ?? {}), { path }), {
      connectorId: 'p:d',
      pipelineId: 'p',
      logger: silentLogger,
      format: (r) => `line-${r.metadata['n']}`,
    });
    await d.open();
    // Each append waits for the test's word: the first is held (or failed) while the next write comes in.
    const inner = d as unknown as { appendDurably(fh: unknown, data: Buffer): Promise<void> };
    const real = inner.appendDurably.bind(d);
    const started: string[] = [];
    const gates: Array<(fail?: Error) => void> = [];
    inner.appendDurably = async (fh, data) => {
      started.push(data.toString());
      await new Promise<void>((resolve, reject) => gates.push((e) => (e === undefined ? resolve() : reject(e))));
      return real(fh, data);
    };
    try {
      const [a, b] = [d.write(sampleRecords(0, 2)), d.write(sampleRecords(2, 2))];
      await waitFor(() => started.length === 1, { message: 'the first append started' });
      assert.deepEqual(started, ['line-0\nline-1\n'], 'the second append waits for the first');
      gates[0]?.();
      await waitFor(() => started.length === 2, { message: 'the second append started' });
      gates[1]?.();
      assert.deepEqual(await Promise.all([a, b]), [undefined, undefined]);
      assert.equal(await readFile(path, 'utf8'), 'line-0\nline-1\nline-2\nline-3\n');

      const [c, e] = [d.write(sampleRecords(4, 1)), d.write(sampleRecords(5, 1))];
      await waitFor(() => started.length === 3, { message: 'the third append started' });
      gates[2]?.(new Error('the disk refused it'));
      const settled = await Promise.allSettled([c, e]);
      assert.deepEqual(
        settled.map((x) => x.status),
        ['rejected', 'rejected'],
      );
      assert.equal(started.length, 3, 'nothing was appended after the failed append');
      assert.equal(await readFile(path, 'utf8'), 'line-0\nline-1\nline-2\nline-3\n');
    } finally {
      await d.teardown();
    }
  });
});

describe('file destination with opencdc/json (the byte writer)', () => {
  it('writes exactly what the formatter formats, and reports a record it cannot encode', async () => {
    const path = fresh();
    const format = createFormatter('opencdc/json', '');
    const d = filePlugin.destination?.create();
    assert.ok(d);
    await d.configure(buildConfig(destinationSpecs(filePlugin.destination?.params ?? {}), { path }), {
      connectorId: 'p:d',
      pipelineId: 'p',
      logger: silentLogger,
      format,
    });
    await d.open();
    try {
      const records = sampleRecords(0, 4);
      (records[1] as OpenCDCRecord).payload = { before: null, after: { n: Number.NaN, s: 'x'.repeat(2000) } };
      (records[2] as OpenCDCRecord).payload = { before: null, after: { s: 'é<'.repeat(1 << 20) } };
      const outcome = await d.write(records);
      assert.ok(outcome);
      assert.equal(outcome[0], undefined);
      assert.match(outcome[1]?.message ?? '', /unsupported value: NaN/);
      assert.deepEqual(outcome.slice(2), [undefined, undefined]);
      const want = [records[0], records[2], records[3]].map((r) => `${format(r as OpenCDCRecord) as string}\n`);
      assert.equal(await readFile(path, 'utf8'), want.join(''));
      await d.write(sampleRecords(4, 1));
      assert.equal(
        await readFile(path, 'utf8'),
        want.join('') + `${format(sampleRecords(4, 1)[0] as OpenCDCRecord) as string}\n`,
      );
    } finally {
      await d.teardown();
    }
  });
});

async function writeFileDeep(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}
