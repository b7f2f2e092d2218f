/**
 * The schema registries: one contract suite run against the built-in registry
 * (over the in-memory store and a SQLite file) and the Confluent client
 * (against the local fake of the Confluent REST API), then what is particular
 * to each: persistence and key layout, auth, errors, the engine settings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConduitError } from '../errors/conduit-error.js';
import { redactText } from '../log/redact.js';
import { MemoryStore, SqliteStore, type Store } from '../store/index.js';
import {
  BuiltinRegistry,
  ConfluentRegistry,
  openSchemaRegistry,
  SchemaCode,
  SchemaKey,
  type SchemaRegistry,
} from './index.js';
import { FakeConfluentRegistry } from './testing.js';

const USER = JSON.stringify({
  type: 'record',
  name: 'user',
  fields: [{ name: 'id', type: 'long' }],
});
const USER_SPACED = `{ "name": "user", "type": "record", "fields": [ { "type": "long", "name": "id" } ] }`;
const USER_V2 = JSON.stringify({
  type: 'record',
  name: 'user',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: ['null', 'string'], default: null },
  ],
});

/** Incompatible with USER: a new field without a default. */
const USER_V3 = JSON.stringify({
  type: 'record',
  name: 'user',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'email', type: 'string' },
  ],
});

function isCode(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof ConduitError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  };
}

/** The contract every registry keeps. */
function contract(name: string, make: () => Promise<SchemaRegistry>): void {
  describe(`${name}: the registry contract`, () => {
    it('IDs are global and stable; versions count per subject; re-registering returns the same version', async () => {
      const r = await make();
      const a1 = await r.create('a', USER);
      assert.equal(a1.version, 1);
      assert.equal(a1.subject, 'a');
      const again = await r.create('a', USER);
      assert.deepEqual([again.id, again.version], [a1.id, 1]);
      const a2 = await r.create('a', USER_V2, { compatibilityNone: true });
      assert.equal(a2.version, 2);
      assert.notEqual(a2.id, a1.id);
      const b1 = await r.create('b', USER);
      assert.deepEqual([b1.id, b1.version], [a1.id, 1], 'the same schema keeps its ID under another subject');
      assert.equal(JSON.parse(await r.byId(a1.id)).name, 'user');
      const byVersion = await r.bySubjectVersion('a', 2);
      assert.deepEqual([byVersion.id, byVersion.version, byVersion.subject], [a2.id, 2, 'a']);
      assert.deepEqual(JSON.parse(byVersion.schema), JSON.parse(USER_V2));
    });

    it('the same schema written differently is the same schema', async () => {
      const r = await make();
      const a = await r.create('spaced', USER);
      const b = await r.create('spaced', USER_SPACED);
      assert.deepEqual([b.id, b.version], [a.id, a.version]);
    });

    it('unknown IDs, subjects and versions are schema.not_found; invalid schemas schema.invalid', async () => {
      const r = await make();
      await assert.rejects(r.byId(999), isCode(SchemaCode.NotFound));
      await assert.rejects(r.bySubjectVersion('nope', 1), isCode(SchemaCode.NotFound));
      await r.create('one', USER);
      await assert.rejects(r.bySubjectVersion('one', 2), isCode(SchemaCode.NotFound));
      await assert.rejects(r.create('one', '{"type":"recrd"}'), isCode(SchemaCode.Invalid));
      await assert.rejects(r.create('one', 'not json'), isCode(SchemaCode.Invalid));
    });

    it('concurrent registrations of one schema get one ID and one version', async () => {
      const r = await make();
      const all = await Promise.all(Array.from({ length: 8 }, () => r.create('race', USER_V2)));
      assert.equal(new Set(all.map((s) => `${s.id}/${s.version}`)).size, 1);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'schema-registry-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

contract('builtin (memory store)', async () => {
  const store = new MemoryStore();
  await store.init();
  return new BuiltinRegistry(store);
});

contract('builtin (sqlite store)', async () => {
  const store = new SqliteStore({ path: join(dir, `r${n++}.db`) });
  await store.init();
  after(() => store.close());
  return new BuiltinRegistry(store);
});

const fake = new FakeConfluentRegistry();
before(() => fake.start());
after(() => fake.stop());
contract('confluent (fake server)', async () => {
  // A new fake per test: subjects and IDs start over, as with the built-in kinds.
  const f = new FakeConfluentRegistry();
  await f.start();
  after(() => f.stop());
  return new ConfluentRegistry({ url: f.url });
});

describe('builtin registry: state in the store', () => {
  it('survives a restart of the SQLite store, and keeps its documented keys', async () => {
    const path = join(dir, 'restart.db');
    let store: Store = new SqliteStore({ path });
    await store.init();
    const first = await new BuiltinRegistry(store).create('orders:value', USER);
    await store.close();

    store = new SqliteStore({ path });
    await store.init();
    const r = new BuiltinRegistry(store);
    assert.equal(JSON.parse(await r.byId(first.id)).name, 'user');
    const second = await r.create('orders:value', USER_V2);
    assert.deepEqual([second.id, second.version], [first.id + 1, 2], 'the ID sequence and versions carry on');
    const keys = (await store.list('schema:')).map(([k]) => k);
    assert.equal(keys.filter((k) => /^schema:fingerprint:[0-9a-f]{64}$/.test(k)).length, 2);
    assert.deepEqual(
      keys.filter((k) => !k.startsWith('schema:fingerprint:')),
      [
        SchemaKey.id(1),
        SchemaKey.id(2),
        SchemaKey.sequence,
        'schema:subject:orders%3Avalue:0000000001',
        'schema:subject:orders%3Avalue:0000000002',
      ],
    );
    assert.equal(await store.get('schema:sequence'), '{"id":2}');
    await store.close();
  });

  it('a subject that is a prefix of another does not see its versions', async () => {
    const store = new MemoryStore();
    await store.init();
    const r = new BuiltinRegistry(store);
    await r.create('a:b', USER);
    await r.create('a:b', USER_V2);
    const a = await r.create('a', USER_V2);
    assert.equal(a.version, 1);
  });

  it('a failed store write registers nothing', async () => {
    const store = new MemoryStore();
    await store.init();
    const r = new BuiltinRegistry(store);
    const write = store.write.bind(store);
    store.write = async () => {
      throw new Error('disk full');
    };
    await assert.rejects(r.create('s', USER), /disk full/);
    store.write = write;
    const s = await r.create('s', USER);
    assert.deepEqual([s.id, s.version], [1, 1]);
  });
});

describe('confluent client', () => {
  it('registers through the documented endpoints and caches what never changes', async () => {
    const r = new ConfluentRegistry({ url: `${fake.url}/` });
    const s = await r.create('cache', USER);
    fake.requests.length = 0;
    await r.byId(s.id);
    await r.bySubjectVersion('cache', 1);
    await r.bySubjectVersion('cache', 1);
    await r.create('cache', USER);
    assert.deepEqual(fake.requests, ['GET /subjects/cache/versions/1']);
  });

  it('autoRegister turns compatibility off for a subject it creates, and only then', async () => {
    const r = new ConfluentRegistry({ url: fake.url });
    await r.create('auto', USER, { compatibilityNone: true });
    assert.equal(fake.compatibilityOf('auto'), 'NONE');
    await r.create('auto', USER_V3, { compatibilityNone: true }); // would be 409 with checks on
    fake.register('existing', USER);
    await r.create('existing', USER, { compatibilityNone: true });
    assert.equal(fake.compatibilityOf('existing'), undefined, 'an existing subject keeps its settings');
    await assert.rejects(r.create('existing', USER_V3), (e: unknown) => {
      isCode(SchemaCode.Invalid)(e);
      assert.match((e as Error).message, /failed with 409.*incompatible/);
      return true;
    });
  });

  it('basic and bearer auth; refused credentials are schema.registry_unauthorized and never shown', async () => {
    const basic = new FakeConfluentRegistry({ auth: { username: 'u', password: 's3cr3t-pw' } });
    const bearer = new FakeConfluentRegistry({ auth: { token: 't0k3n-value' } });
    await basic.start();
    await bearer.start();
    try {
      await new ConfluentRegistry({
        url: basic.url,
        auth: { type: 'basic', username: 'u', password: 's3cr3t-pw' },
      }).create('x', USER);
      const inUrl = basic.url.replace('http://', 'http://u:s3cr3t-pw@');
      await new ConfluentRegistry({ url: inUrl }).byId(1);
      await new ConfluentRegistry({ url: bearer.url, auth: { type: 'bearer', token: 't0k3n-value' } }).create(
        'x',
        USER,
      );
      const wrong = new ConfluentRegistry({ url: basic.url.replace('http://', 'http://u:wrong-pw@') });
      await assert.rejects(wrong.byId(1), (e: unknown) => {
        isCode(SchemaCode.RegistryUnauthorized)(e);
        assert.ok(!(e as Error).message.includes('wrong-pw'));
        assert.equal(redactText('wrong-pw s3cr3t-pw t0k3n-value'), '*** *** ***');
        return true;
      });
      await assert.rejects(new ConfluentRegistry({ url: bearer.url }).byId(1), isCode(SchemaCode.RegistryUnauthorized));
    } finally {
      await basic.stop();
      await bearer.stop();
    }
  });

  it('server errors are retryable, an unreachable server too; other answers are not', async () => {
    const r = new ConfluentRegistry({ url: fake.url });
    fake.failNext.push(503);
    await assert.rejects(r.byId(1), (e: unknown) => {
      isCode(SchemaCode.RegistryUnreachable)(e);
      assert.equal((e as ConduitError).retryable, true);
      assert.match((e as Error).message, /GET \/schemas\/ids\/1 failed with 503/);
      return true;
    });
    const stopped = new FakeConfluentRegistry();
    await stopped.start();
    const url = stopped.url;
    await stopped.stop();
    await assert.rejects(new ConfluentRegistry({ url, timeoutMs: 2000 }).byId(1), (e: unknown) => {
      isCode(SchemaCode.RegistryUnreachable)(e);
      assert.equal((e as ConduitError).retryable, true);
      assert.match((e as Error).message, /unreachable .*ECONNREFUSED/);
      return true;
    });
    fake.failNext.push(400);
    await assert.rejects(r.byId(1), (e: unknown) => (e as ConduitError).retryable === false);
  });
});

describe('engine settings: openSchemaRegistry', () => {
  const store = new MemoryStore();
  before(() => store.init());

  it('builtin by default; confluent with its connection string and auth', () => {
    assert.ok(openSchemaRegistry({}, store) instanceof BuiltinRegistry);
    const c = openSchemaRegistry(
      {
        'schema-registry.type': 'confluent',
        'schema-registry.confluent.connection-string': 'http://localhost:8081',
        'schema-registry.confluent.auth.type': 'basic',
        'schema-registry.confluent.auth.basic.username': 'u',
        'schema-registry.confluent.auth.basic.password': 'p4ss-for-test',
      },
      store,
    );
    assert.ok(c instanceof ConfluentRegistry);
    assert.equal(c.where, 'http://localhost:8081');
  });

  it('refuses a missing connection string or credentials, naming the setting', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'schema-registry.type': 'confluent' }, '/schema-registry/confluent/connection-string'],
      [
        {
          'schema-registry.type': 'confluent',
          'schema-registry.confluent.connection-string': 'http://h:1',
          'schema-registry.confluent.auth.type': 'basic',
          'schema-registry.confluent.auth.basic.username': 'u',
        },
        '/schema-registry/confluent/auth/basic/password',
      ],
      [
        {
          'schema-registry.type': 'confluent',
          'schema-registry.confluent.connection-string': 'http://h:1',
          'schema-registry.confluent.auth.type': 'bearer',
        },
        '/schema-registry/confluent/auth/bearer/token',
      ],
      [
        { 'schema-registry.type': 'confluent', 'schema-registry.confluent.connection-string': 'ftp://h' },
        '/schema-registry/confluent/connection-string',
      ],
    ];
    for (const [settings, path] of cases) {
      assert.throws(
        () => openSchemaRegistry(settings, store),
        (e: unknown) => {
          isCode('engine.config_invalid')(e);
          assert.equal((e as ConduitError).configPath, path);
          return true;
        },
      );
    }
  });
});
