import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OpenCDCRecord, StructuredData } from '../../opencdc/record.js';
import { assertDrained, configuredSource, readN, sourceConformance } from '../../sdk/conformance.js';
import type { Settings } from '../../sdk/params.js';
import { generatorPlugin } from './index.js';
import { WORDS } from './words.js';

const pos = (r: OpenCDCRecord) => Buffer.from(r.position).toString();
const fields = { 'format.options.id': 'int', 'format.options.name': 'string' };

sourceConformance({
  plugin: generatorPlugin,
  // The generator's upstream is its own numbering: "producing" n records means
  // that n more numbers become available, up to recordCount = capacity.
  fixture: (capacity) => {
    let made = 0;
    return {
      settings: { 'format.type': 'structured', ...fields, recordCount: String(capacity) },
      produce: async (n) => Array.from({ length: n }, () => String(++made)),
    };
  },
  identify: pos,
  invalid: [
    { settings: { 'format.type': 'xml' }, param: 'format.type' },
    { settings: {}, remove: ['format.type'], param: 'format.type' },
    { settings: { 'format.options.id': 'float' }, param: 'format.options.id' },
    { settings: { 'format.type': 'file' }, param: 'format.options.path' },
    {
      settings: { 'format.type': 'file', 'format.options.path': '/nonexistent/payload.bin' },
      param: 'format.options.path',
    },
    { settings: { rate: '-1' }, param: 'rate' },
    { settings: { rate: 'fast' }, param: 'rate' },
    { settings: { recordCount: 'many' }, param: 'recordCount' },
    { settings: { operations: 'create,insert' }, param: 'operations' },
    { settings: { 'burst.sleepTime': 'soon' }, param: 'burst.sleepTime' },
    { settings: { 'collections.users.format.options.x': 'weird' }, param: 'collections.users.format.options.x' },
    { settings: { 'collections.users.operations': 'upsert' }, param: 'collections.users.operations' },
    { settings: { 'collections.users.format.type': 'csv' }, param: 'collections.users.format.type' },
  ],
});

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-generator-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function open(settings: Settings, position: string | null = null) {
  const src = await configuredSource(generatorPlugin, settings);
  await src.open(position === null ? null : Buffer.from(position));
  return src;
}

function readAtMs(r: OpenCDCRecord): number {
  return Number(BigInt(r.metadata['opencdc.readAt'] ?? '0') / 1_000_000n);
}

describe('generator source', () => {
  it('produces exactly recordCount records across a restart', async () => {
    const settings = { 'format.type': 'structured', ...fields, recordCount: '10' };
    const a = await open(settings);
    const head = await readN(a, 4);
    await a.teardown();
    const b = await open(settings, pos(head.at(-1) as OpenCDCRecord));
    const tail = await b.read(100, new AbortController().signal);
    assert.deepEqual([...head, ...tail].map(pos), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    await assertDrained(b);
    await b.teardown();
  });

  it('returns max records at once when unlimited', async () => {
    const src = await open({ 'format.type': 'structured', ...fields });
    const rs = await src.read(5000, new AbortController().signal);
    assert.equal(rs.length, 5000);
    await src.teardown();
  });

  it('structured: an object with a value of each type, a random word as raw key', async () => {
    const src = await open({
      'format.type': 'structured',
      'format.options.i': 'int',
      'format.options.s': 'string',
      'format.options.t': 'time',
      'format.options.b': 'bool',
      'format.options.d': 'duration',
    });
    const rs = await readN(src, 200);
    await src.teardown();
    const bools = new Set<boolean>();
    for (const r of rs) {
      assert.equal(r.operation, 'create');
      assert.equal(r.payload.before, null);
      const after = r.payload.after as StructuredData;
      assert.deepEqual(Object.keys(after), ['b', 'd', 'i', 's', 't']);
      assert.ok(Number.isSafeInteger(after['i']) && (after['i'] as number) >= 0);
      assert.ok(WORDS.includes(after['s'] as string));
      assert.ok(after['t'] instanceof Date);
      assert.equal(typeof after['b'], 'boolean');
      bools.add(after['b'] as boolean);
      assert.ok(Number.isSafeInteger(after['d']));
      assert.ok(r.key instanceof Uint8Array && WORDS.includes(Buffer.from(r.key).toString()));
      assert.ok(/^\d+$/.test(r.metadata['opencdc.readAt'] ?? ''));
      assert.equal(r.metadata['opencdc.collection'], undefined);
    }
    assert.equal(bools.size, 2, 'both booleans appear');
    assert.ok(new Set(rs.map((r) => (r.payload.after as StructuredData)['s'])).size > 20, 'strings vary');
  });

  it('structured: every record gets its own plain object, with many or odd field names too', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 60; i++) many[`format.options.f${i}`] = 'string';
    const src = await open({
      'format.type': 'structured',
      ...many,
      'format.options.__proto__': 'int',
      'format.options.10': 'bool',
      'format.options.2': 'bool',
      'format.options.a"b': 'time',
    });
    const rs = await readN(src, 3);
    await src.teardown();
    const [a, b] = rs.map((r) => r.payload.after as StructuredData) as [StructuredData, StructuredData];
    assert.notEqual(a, b);
    assert.equal(Object.getPrototypeOf(a), Object.prototype);
    const keys = Object.keys(a);
    assert.equal(keys.length, 64);
    assert.deepEqual(keys.slice(0, 2), ['2', '10'], 'integer-like names first, as in any object');
    assert.ok(Object.hasOwn(a, '__proto__') && Number.isSafeInteger(a['__proto__']));
    assert.ok(a['a"b'] instanceof Date);
    assert.ok(WORDS.includes(a['f59'] as string));
    a['f0'] = 'changed';
    assert.notEqual(b['f0'], 'changed');
    const more = await open({ 'format.type': 'structured', ...many });
    const [c] = await readN(more, 1);
    await more.teardown();
    assert.ok(WORDS.includes((c?.payload.after as StructuredData)['f0'] as string), 'no record shares a payload');
    // Without a __proto__ field the payload is built by a compiled object literal: the same keys and types.
    const odd = await open({
      'format.type': 'structured',
      'format.options.10': 'bool',
      'format.options.2': 'int',
      'format.options.a"b': 'time',
      'format.options.x\\y': 'string',
      'format.options.d': 'duration',
    });
    const [e] = await readN(odd, 1);
    await odd.teardown();
    const o = e?.payload.after as StructuredData;
    assert.deepEqual(Object.keys(o), ['2', '10', 'a"b', 'd', 'x\\y']);
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.equal(typeof o['10'], 'boolean');
    assert.ok(Number.isSafeInteger(o['2']) && Number.isSafeInteger(o['d']));
    assert.ok(o['a"b'] instanceof Date);
    assert.ok(WORDS.includes(o['x\\y'] as string));
  });

  it('raw: the JSON of the structured fields, as bytes', async () => {
    const src = await open({
      'format.type': 'raw',
      'format.options.id': 'int',
      'format.options.at': 'time',
      'format.options.ok': 'bool',
    });
    const rs = await readN(src, 50);
    await src.teardown();
    for (const r of rs) {
      assert.ok(r.payload.after instanceof Uint8Array);
      const o = JSON.parse(Buffer.from(r.payload.after).toString()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(o), ['at', 'id', 'ok']);
      assert.ok(Number.isSafeInteger(o['id']));
      assert.ok(!Number.isNaN(Date.parse(o['at'] as string)));
      assert.equal(typeof o['ok'], 'boolean');
    }
  });

  it("file: every payload is the file's content", async () => {
    const path = join(dir, 'payload.bin');
    await writeFile(path, Buffer.from([0, 1, 2, 250, 10]));
    const src = await open({ 'format.type': 'file', 'format.options.path': path });
    const rs = await readN(src, 3);
    await src.teardown();
    for (const r of rs) assert.deepEqual([...(r.payload.after as Uint8Array)], [0, 1, 2, 250, 10]);
  });

  it('operations: a random choice among the listed ones, with the matching payload halves', async () => {
    const src = await open({ 'format.type': 'structured', ...fields, operations: 'update, delete' });
    const rs = await readN(src, 300);
    await src.teardown();
    const seen = new Set(rs.map((r) => r.operation));
    assert.deepEqual([...seen].sort(), ['delete', 'update']);
    for (const r of rs) {
      assert.ok(r.payload.before !== null, 'update and delete carry before');
      assert.equal(r.payload.after === null, r.operation === 'delete');
    }
  });

  it('collections: records rotate over the collections, each with its own format and operations', async () => {
    const src = await open({
      'format.type': 'structured',
      ...fields,
      'collections.users.operations': 'snapshot',
      'collections.orders.format.type': 'raw',
      'collections.orders.format.options.total': 'int',
      'collections.orders.operations': 'delete',
    });
    const rs = await readN(src, 10);
    await src.teardown();
    assert.deepEqual(
      rs.map((r) => r.metadata['opencdc.collection']),
      ['orders', 'users', 'orders', 'users', 'orders', 'users', 'orders', 'users', 'orders', 'users'],
    );
    for (const r of rs) {
      if (r.metadata['opencdc.collection'] === 'orders') {
        assert.equal(r.operation, 'delete');
        assert.deepEqual(Object.keys(JSON.parse(Buffer.from(r.payload.before as Uint8Array).toString())), ['total']);
      } else {
        assert.equal(r.operation, 'snapshot');
        assert.deepEqual(Object.keys(r.payload.after as StructuredData), ['id', 'name']);
      }
    }
  });

  it('rate: holds the rate (judged by the records’ read times)', async () => {
    const src = await open({ 'format.type': 'structured', ...fields, rate: '200' });
    const rs = await readN(src, 41);
    await src.teardown();
    const span = readAtMs(rs.at(-1) as OpenCDCRecord) - readAtMs(rs[0] as OpenCDCRecord);
    assert.ok(span >= 180 && span < 1000, `41 records at 200/s took ${span} ms (expected ~200)`);
  });

  it('readTime (deprecated) acts as a rate', async () => {
    const src = await open({ 'format.type': 'structured', ...fields, readTime: '10ms' });
    const rs = await readN(src, 11);
    await src.teardown();
    const span = readAtMs(rs.at(-1) as OpenCDCRecord) - readAtMs(rs[0] as OpenCDCRecord);
    assert.ok(span >= 90 && span < 1000, `11 records at readTime 10ms took ${span} ms`);
  });

  it('bursts: starts with the sleep, then generates', async () => {
    const opened = Date.now();
    const src = await open({
      'format.type': 'structured',
      ...fields,
      'burst.sleepTime': '150ms',
      'burst.generateTime': '100ms',
    });
    const rs = await readN(src, 10);
    await src.teardown();
    assert.ok(readAtMs(rs[0] as OpenCDCRecord) - opened >= 140, 'no record during the first sleep');
  });

  it('waits for the abort once recordCount is reached', async () => {
    const src = await open({ 'format.type': 'structured', ...fields, recordCount: '3' });
    assert.equal((await src.read(10, new AbortController().signal)).length, 3);
    const ac = new AbortController();
    const pending = src.read(10, ac.signal);
    setImmediate(() => ac.abort());
    assert.deepEqual(await pending, []);
    await src.teardown();
  });
});
