/**
 * avro.encode against Conduit's documented examples, with the built-in
 * registry (memory and SQLite stores) and the Confluent client (against the
 * local fake), plus configuration and per-record errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConduitError } from '../../errors/conduit-error.js';
import { parseConfig } from '../../sdk/params.js';
import { BuiltinRegistry, ConfluentRegistry, SchemaCode, type SchemaRegistry } from '../../schema/index.js';
import { parseSchema } from '../../schema/avro.js';
import { configuredWith, FakeConfluentRegistry } from '../../schema/testing.js';
import { unframe } from '../../schema/wire.js';
import { MemoryStore, SqliteStore } from '../../store/index.js';
import { asError, asRecord, assertReadmeTable, rec } from '../testing.js';
import { avroEncodePlugin } from './index.js';

const plugin = avroEncodePlugin;
const PRE_SCHEMA =
  '{"type":"record","name":"record","fields":[{"name":"myString","type":"string"},{"name":"myInt","type":"int"}]}';
const AUTO_BYTES = [
  0, 0, 0, 0, 1, 102, 102, 102, 102, 102, 102, 2, 64, 2, 154, 153, 153, 153, 153, 153, 1, 64, 1, 6, 98, 97, 114, 0, 2,
];
const auto = { 'schema.strategy': 'autoRegister', 'schema.autoRegister.subject': 'example-autoRegister' };
const pre = {
  'schema.strategy': 'preRegistered',
  'schema.preRegistered.subject': 'example-preRegistered',
  'schema.preRegistered.version': '1',
};

async function memoryRegistry(): Promise<BuiltinRegistry> {
  const store = new MemoryStore();
  await store.init();
  return new BuiltinRegistry(store);
}

const dir = mkdtempSync(join(tmpdir(), 'avro-encode-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fake = new FakeConfluentRegistry();
before(() => fake.start());
after(() => fake.stop());

const registries: Array<[string, () => Promise<SchemaRegistry>]> = [
  ['builtin, memory store', memoryRegistry],
  [
    'builtin, sqlite store',
    async () => {
      const store = new SqliteStore({ path: join(dir, `${Math.random().toString(36).slice(2)}.db`) });
      await store.init();
      after(() => store.close());
      return new BuiltinRegistry(store);
    },
  ],
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
  describe(`avro.encode: Conduit examples (${name})`, () => {
    it('autoRegister: infers, registers under the subject and encodes', async () => {
      const registry = await make();
      const p = await configuredWith(registry, plugin, auto);
      const r = asRecord(
        (
          await p.process([
            rec({
              metadata: { key1: 'val1' },
              payload: {
                before: null,
                after: {
                  myString: 'bar',
                  myInt: 1,
                  myFloat: 2.3,
                  myMap: { foo: true, bar: 2.2 },
                  myStruct: { foo: 1, bar: false },
                },
              },
            }),
          ])
        )[0],
      );
      assert.deepEqual([...(r.payload.after as Uint8Array)], AUTO_BYTES);
      assert.deepEqual(r.metadata, { key1: 'val1' });
      assert.equal(r.key, null);
      const registered = await registry.bySubjectVersion('example-autoRegister', 1);
      assert.equal(registered.id, 1);
    });

    it('preRegistered: encodes .Key with the registered schema', async () => {
      const registry = await make();
      await registry.create('example-preRegistered', PRE_SCHEMA);
      const p = await configuredWith(registry, plugin, { ...pre, field: '.Key' });
      const r = asRecord((await p.process([rec({ key: { myString: 'bar', myInt: 1 } })]))[0]);
      assert.deepEqual([...(r.key as Uint8Array)], [0, 0, 0, 0, 1, 6, 98, 97, 114, 2]);
      assert.deepEqual(r.payload, { before: null, after: null });
    });
  });
}

describe('avro.encode: behaviour', () => {
  it('autoRegister registers a schema once, and a new one when the shape changes', async () => {
    const registry = await memoryRegistry();
    let creates = 0;
    const create = registry.create.bind(registry);
    registry.create = (s, t) => {
      creates++;
      return create(s, t);
    };
    const p = await configuredWith(registry, plugin, auto);
    const out = await p.process([
      rec({ payload: { before: null, after: { a: 1 } } }),
      rec({ payload: { before: null, after: { a: 2 } } }),
      rec({ payload: { before: null, after: { a: null } } }),
    ]);
    assert.equal(creates, 2);
    const ids = out.map((r) => unframe(asRecord(r).payload.after as Uint8Array).schemaId);
    assert.deepEqual(ids, [1, 1, 2]);
    const v2 = await registry.bySubjectVersion('example-autoRegister', 2);
    assert.deepEqual(JSON.parse(v2.schema).fields, [{ name: 'a', type: ['string', 'null'] }]);
  });

  it('the autoRegister subject on the Confluent registry gets compatibility NONE', async () => {
    const p = await configuredWith(new ConfluentRegistry({ url: fake.url }), plugin, {
      ...auto,
      'schema.autoRegister.subject': 'compat-none',
    });
    const out = await p.process([
      rec({ payload: { before: null, after: { a: 1 } } }),
      rec({ payload: { before: null, after: { b: 'x' } } }),
    ]);
    out.forEach((r) => asRecord(r));
    assert.equal(fake.compatibilityOf('compat-none'), 'NONE');
  });

  it('raw JSON is read as structured data; null is left alone; bigints keep 64 bits', async () => {
    const registry = await memoryRegistry();
    const p = await configuredWith(registry, plugin, auto);
    const out = await p.process([
      rec({ payload: { before: null, after: Buffer.from('{"myString":"bar","n":null}') } }),
      rec({ operation: 'delete', payload: { before: null, after: null } }),
      rec({ payload: { before: null, after: { big: 2n ** 62n + 1n } } }),
    ]);
    const first = unframe(asRecord(out[0]).payload.after as Uint8Array);
    const schema = parseSchema(await registry.byId(first.schemaId));
    assert.deepEqual(schema.decode(first.payload), { myString: 'bar', n: null });
    assert.equal(asRecord(out[1]).payload.after, null);
    const third = unframe(asRecord(out[2]).payload.after as Uint8Array);
    assert.deepEqual(parseSchema(await registry.byId(third.schemaId)).decode(third.payload), { big: 2n ** 62n + 1n });
  });

  it('a nested field is encoded in place', async () => {
    const registry = await memoryRegistry();
    const p = await configuredWith(registry, plugin, { ...auto, field: '.Payload.After.inner' });
    const r = asRecord((await p.process([rec({ payload: { before: null, after: { inner: { x: true }, y: 1 } } })]))[0]);
    const after = r.payload.after as Record<string, unknown>;
    assert.deepEqual([...(after['inner'] as Uint8Array)], [0, 0, 0, 0, 1, 1]);
    assert.equal(after['y'], 1);
  });

  it('per-record errors name the processor, the field and the cause; the others go on', async () => {
    const registry = await memoryRegistry();
    await registry.create('example-preRegistered', PRE_SCHEMA);
    const p = await configuredWith(registry, plugin, pre);
    const out = await p.process([
      rec({ payload: { before: null, after: { myString: 'bar', myInt: 'one' } } }),
      rec({ payload: { before: null, after: Buffer.from('not json') } }),
      rec({ payload: { before: null, after: { myString: 'ok', myInt: 2 } } }),
      rec({ payload: { before: null, after: Buffer.from('[1]') } }),
    ]);
    assert.match(
      asError(out[0]).message,
      /^processor p:proc \(avro\.encode\) failed: field \.Payload\.After: the data does not fit the schema with ID 1 \(subject "example-preRegistered", version 1\): \.myInt: expected int, got a string$/,
    );
    assert.equal((asError(out[0]) as ConduitError).code, 'processor.failed');
    assert.match(asError(out[1]).message, /failed unmarshalling JSON from raw data/);
    assert.deepEqual([...(asRecord(out[2]).payload.after as Uint8Array)].slice(5), [4, 111, 107, 4]);
    assert.match(asError(out[3]).message, /the raw data is JSON an array, not an object/);
  });

  it('an unregistered subject nacks the record; once registered, the next record goes through', async () => {
    const registry = await memoryRegistry();
    const p = await configuredWith(registry, plugin, pre);
    const data = () => rec({ payload: { before: null, after: { myString: 'a', myInt: 1 } } });
    const err = asError((await p.process([data()]))[0]);
    assert.match(err.message, /no schema with subject "example-preRegistered" and version 1/);
    assert.equal(((err as ConduitError).cause as ConduitError).code, SchemaCode.NotFound);
    await registry.create('example-preRegistered', PRE_SCHEMA);
    asRecord((await p.process([data()]))[0]);
  });

  it('autoRegister refuses field names Avro cannot hold, per record', async () => {
    const p = await configuredWith(await memoryRegistry(), plugin, auto);
    const err = asError((await p.process([rec({ payload: { before: null, after: { 'a b': 1 } } })]))[0]);
    assert.match(err.message, /the field name "a b" is not a valid Avro name/);
  });
});

describe('avro.encode: configuration', () => {
  it("Conduit's spec: strategy required and one of two; version > 0; field defaults to .Payload.After", () => {
    assert.throws(() => parseConfig(plugin.params, {}), { code: 'param.required', message: /"schema.strategy"/ });
    assert.throws(() => parseConfig(plugin.params, { 'schema.strategy': 'latest' }), {
      code: 'param.validation_failed',
    });
    for (const version of ['0', '-1']) {
      assert.throws(() => parseConfig(plugin.params, { ...pre, 'schema.preRegistered.version': version }), {
        code: 'param.validation_failed',
        message: /greater than 0/,
      });
    }
    assert.equal(parseConfig(plugin.params, auto).string('field'), '.Payload.After');
  });

  it('each strategy requires its subject (and version), naming the parameter', async () => {
    const registry = await memoryRegistry();
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [
        { 'schema.strategy': 'autoRegister' },
        'schema.autoRegister.subject',
        /subject required for schema strategy 'autoRegister'/,
      ],
      [
        { 'schema.strategy': 'preRegistered', 'schema.preRegistered.version': '1' },
        'schema.preRegistered.subject',
        /subject required/,
      ],
      [
        { 'schema.strategy': 'preRegistered', 'schema.preRegistered.subject': 's' },
        'schema.preRegistered.version',
        /version needs to be positive: 0/,
      ],
    ];
    for (const [settings, key, re] of cases) {
      await assert.rejects(configuredWith(registry, plugin, settings), (e: unknown) => {
        assert.ok(e instanceof ConduitError);
        assert.equal(e.code, 'param.required');
        assert.equal(e.configPath, key);
        assert.match(e.message, re);
        return true;
      });
    }
  });

  it('refuses fields outside .Key and .Payload at configure; needs a registry at open', async () => {
    const registry = await memoryRegistry();
    for (const field of ['.Metadata.x', '.Position', '.Payload', '.Payload.Nope']) {
      await assert.rejects(configuredWith(registry, plugin, { ...auto, field }), {
        code: 'param.validation_failed',
      });
    }
    // Offline validation configures without a registry; opening without one is an engine bug.
    const p = await configuredWith(undefined, plugin, auto);
    await assert.rejects(async () => p.open?.(), { code: 'internal', message: /no schema registry/ });
  });

  it('the README parameter table matches the spec', async () => {
    await assertReadmeTable(dirname(fileURLToPath(import.meta.url)), plugin);
  });
});
