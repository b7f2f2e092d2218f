/**
 * avro.decode against Conduit's documented example, with the built-in
 * registry and the Confluent client (against the local fake), the round trip
 * with avro.encode, and per-record errors.
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConduitError } from '../../errors/conduit-error.js';
import { parseConfig } from '../../sdk/params.js';
import { BuiltinRegistry, ConfluentRegistry, SchemaCode, type SchemaRegistry } from '../../schema/index.js';
import { configuredWith, FakeConfluentRegistry } from '../../schema/testing.js';
import { frame } from '../../schema/wire.js';
import { MemoryStore } from '../../store/index.js';
import { avroEncodePlugin } from '../avro-encode/index.js';
import { asError, asRecord, assertReadmeTable, rec } from '../testing.js';
import { avroDecodePlugin } from './index.js';

const plugin = avroDecodePlugin;
const SCHEMA =
  '{"type":"record","name":"record","fields":[{"name":"myString","type":"string"},{"name":"myInt","type":"int"}]}';
const KEY = [0, 0, 0, 0, 1, 6, 98, 97, 114, 2];

async function memoryRegistry(): Promise<BuiltinRegistry> {
  const store = new MemoryStore();
  await store.init();
  return new BuiltinRegistry(store);
}

const fake = new FakeConfluentRegistry();
before(() => fake.start());
after(() => fake.stop());

const registries: Array<[string, () => Promise<SchemaRegistry>]> = [
  ['builtin, memory store', memoryRegistry],
  [
    'confluent, fake server',
    async () => {
      const f = new FakeConfluentRegistry();
      await f.start();
      after(() => f.stop());
      return new ConfluentRegistry({ url: f.url });
    },
  ],
];

for (const [name, make] of registries) {
  describe(`avro.decode: Conduit example (${name})`, () => {
    it('decodes a raw .Key with the schema of its ID', async () => {
      const registry = await make();
      await registry.create('example-decode', SCHEMA);
      const p = await configuredWith(registry, plugin, { field: '.Key' });
      const r = asRecord((await p.process([rec({ metadata: { key1: 'val1' }, key: Buffer.from(KEY) })]))[0]);
      assert.deepEqual(r.key, { myString: 'bar', myInt: 1 });
      assert.deepEqual(r.metadata, { key1: 'val1' });
      assert.deepEqual(r.payload, { before: null, after: null });
    });
  });
}

describe('avro.decode: behaviour', () => {
  it('fetches a schema once for many records, from the registry of the context', async () => {
    const registry = new ConfluentRegistry({ url: fake.url });
    const { id } = fake.register('once', SCHEMA);
    fake.requests.length = 0;
    const p = await configuredWith(registry, plugin, {});
    const out = await p.process(
      Array.from({ length: 50 }, () =>
        rec({ payload: { before: null, after: frame(id, Buffer.from([6, 98, 97, 114, 2])) } }),
      ),
    );
    out.forEach((r) => assert.deepEqual(asRecord(r).payload.after, { myString: 'bar', myInt: 1 }));
    assert.deepEqual(fake.requests, [`GET /schemas/ids/${id}`]);
  });

  it('a string holding the bytes is decoded too; null is left alone', async () => {
    const registry = await memoryRegistry();
    await registry.create('s', SCHEMA);
    const p = await configuredWith(registry, plugin, { field: '.Payload.After.inner' });
    const r = asRecord(
      (await p.process([rec({ payload: { before: null, after: { inner: Buffer.from(KEY).toString('latin1') } } })]))[0],
    );
    assert.deepEqual(r.payload.after, { inner: { myString: 'bar', myInt: 1 } });
    const q = await configuredWith(registry, plugin, {});
    assert.equal(asRecord((await q.process([rec({ operation: 'delete' })]))[0]).payload.after, null);
  });

  it('per-record errors: structured data, short data, bad magic byte, unknown ID, bytes that do not fit', async () => {
    const registry = await memoryRegistry();
    await registry.create('s', SCHEMA);
    await registry.create('str', '"string"');
    const p = await configuredWith(registry, plugin, {});
    const after = (v: unknown) => rec({ payload: { before: null, after: v as never } });
    const out = await p.process([
      after({ a: 1 }),
      after(Buffer.from([0, 0, 0])),
      after(Buffer.from([1, 0, 0, 0, 1, 2])),
      after(frame(77, Buffer.from([2]))),
      after(frame(1, Buffer.from([6, 98]))),
      after(frame(2, Buffer.from([2, 120]))),
      after(Buffer.from(KEY)),
    ]);
    const prefix = /^processor p:proc \(avro\.decode\) failed: field \.Payload\.After: /;
    assert.match(asError(out[0]).message, prefix);
    assert.match(asError(out[0]).message, /unexpected data type: structured data, expected raw data/);
    assert.match(asError(out[1]).message, /shorter than the 5-byte schema header/);
    assert.match(asError(out[2]).message, /not the magic byte 0/);
    assert.match(asError(out[3]).message, /no schema with ID 77/);
    assert.equal(((asError(out[3]) as ConduitError).cause as ConduitError).code, SchemaCode.NotFound);
    assert.match(
      asError(out[4]).message,
      /failed to decode the data with the schema with ID 1: a length of 3 runs past the end of the data/,
    );
    assert.match(asError(out[5]).message, /the schema with ID 2 is string, not a record/);
    assert.deepEqual(asRecord(out[6]).payload.after, { myString: 'bar', myInt: 1 });
  });

  it('longs beyond 2^53 come back as exact bigints', async () => {
    const registry = await memoryRegistry();
    await registry.create('big', '{"type":"record","name":"r","fields":[{"name":"n","type":"long"}]}');
    const p = await configuredWith(registry, plugin, {});
    const max = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const r = asRecord((await p.process([rec({ payload: { before: null, after: frame(1, Buffer.from(max)) } })]))[0]);
    assert.deepEqual(r.payload.after, { n: 2n ** 63n - 1n });
  });

  it('property: avro.decode undoes avro.encode (autoRegister)', async () => {
    const registry = await memoryRegistry();
    const enc = await configuredWith(registry, avroEncodePlugin, {
      'schema.strategy': 'autoRegister',
      'schema.autoRegister.subject': 'roundtrip',
    });
    const dec = await configuredWith(registry, plugin, {});
    const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/);
    const leaf = fc.oneof(
      fc.boolean(),
      fc.integer(),
      fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }),
      fc.double({ noNaN: true, noInteger: true }),
      fc.string(),
      fc.constant(null),
    );
    const obj = fc.dictionary(
      key,
      fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 }), fc.array(leaf, { maxLength: 3 })),
      {
        maxKeys: 5,
      },
    );
    await fc.assert(
      fc.asyncProperty(obj, async (after) => {
        const r = rec({ payload: { before: null, after: structuredClone(after) as never } });
        const encoded = asRecord((await enc.process([r]))[0]);
        assert.ok(encoded.payload.after instanceof Uint8Array);
        const decoded = asRecord((await dec.process([encoded]))[0]);
        // Compared as plain values: the generator may build objects without a prototype.
        assert.deepEqual(decoded.payload.after, plain(after));
      }),
      { numRuns: 100 },
    );
  });
});

/** A deep copy with ordinary prototypes. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

describe('avro.decode: configuration', () => {
  it('field defaults to .Payload.After; it must be .Key, .Payload.* or inside them; a registry is needed at open', async () => {
    assert.equal(parseConfig(plugin.params, {}).string('field'), '.Payload.After');
    const registry = await memoryRegistry();
    for (const field of ['.Metadata.x', '.Position', '.Operation', '.Payload.Nope']) {
      await assert.rejects(configuredWith(registry, plugin, { field }), { code: 'param.validation_failed' });
    }
    // Offline validation configures without a registry; opening without one is an engine bug.
    const p = await configuredWith(undefined, plugin, {});
    await assert.rejects(async () => p.open?.(), { code: 'internal', message: /no schema registry/ });
    await assert.rejects(async () => p.process([rec()]), { code: 'internal' });
  });

  it('the README parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
