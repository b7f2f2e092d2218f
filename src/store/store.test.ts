/**
 * One suite, run against every store (memory, SQLite, a real PostgreSQL), then
 * the tests particular to each: opening failures, the SQLite crash test, and
 * PostgreSQL's error redaction.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ConduitError } from '../errors/conduit-error.js';
import { Code } from '../errors/codes.js';
import { PASSWORD_ROLE, postgresUrl, urlAs } from '../../test/servers/postgres.js';
import {
  DEFAULT_TABLE,
  MemoryStore,
  openStore,
  PostgresStore,
  redactConnectionString,
  SqliteStore,
  STORE_FORMAT_KEY,
  STORE_FORMAT_VERSION,
  type Store,
  type StoreType,
  type WriteOp,
} from './index.js';
import { compareKeys, prefixSuccessor } from './ops.js';

/** How the shared suite drives one kind of store. */
interface Kind {
  name: StoreType;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A new, empty place to keep a store's data. */
  newLocation(): string;
  /** A store (not yet initialised) over a location: the same location, the same data. */
  make(loc: string): Store;
  /** Makes any write of `key` fail inside the database itself, mid-transaction. */
  failOn?: (loc: string, key: string) => Promise<void>;
}

let seq = 0;
const unique = () => `${process.pid}_${Date.now().toString(36)}_${seq++}`;

function memoryKind(): Kind {
  const maps = new Map<string, Map<string, string>>();
  return {
    name: 'inmemory',
    setup: async () => {},
    teardown: async () => {},
    newLocation: () => {
      const loc = unique();
      maps.set(loc, new Map());
      return loc;
    },
    make: (loc) => new MemoryStore(maps.get(loc)),
  };
}

function sqliteKind(): Kind {
  let dir = '';
  return {
    name: 'sqlite',
    setup: async () => {
      dir = mkdtempSync(join(tmpdir(), 'conduit-store-test-'));
    },
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
    newLocation: () => join(dir, `${unique()}.db`),
    make: (loc) => new SqliteStore({ path: loc }),
    failOn: async (loc, key) => {
      const db = new Database(loc);
      try {
        db.exec(`CREATE TRIGGER fail_${unique()} BEFORE INSERT ON ${DEFAULT_TABLE}
                 WHEN NEW.key = '${key}' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
      } finally {
        db.close();
      }
    },
  };
}

function postgresKind(): Kind {
  let url = '';
  let admin: pg.Client | undefined;
  const tables: string[] = [];
  return {
    name: 'postgres',
    setup: async () => {
      url = await postgresUrl();
      admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE OR REPLACE FUNCTION conduit_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.key = TG_ARGV[0] THEN RAISE EXCEPTION 'refused by test trigger'; END IF;
          RETURN NEW;
        END $$`);
    },
    teardown: async () => {
      for (const t of tables) await admin?.query(`DROP TABLE IF EXISTS "${t}"`);
      await admin?.end();
    },
    newLocation: () => {
      const t = `t_${unique()}`;
      tables.push(t);
      return t;
    },
    make: (loc) => new PostgresStore({ connectionString: url, table: loc }),
    failOn: async (loc, key) => {
      await admin!.query(
        `CREATE TRIGGER fail BEFORE INSERT ON "${loc}" FOR EACH ROW EXECUTE FUNCTION conduit_test_fail('${key}')`,
      );
    },
  };
}

/** UTF-8 byte order: an oracle independent of the stores' own compareKeys. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<ConduitError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConduitError, `expected a ConduitError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

for (const kind of [memoryKind(), sqliteKind(), postgresKind()]) {
  void describe(`store contract: ${kind.name}`, () => {
    const open: Store[] = [];
    async function openAt(loc: string): Promise<Store> {
      const s = kind.make(loc);
      open.push(s);
      await s.init();
      return s;
    }
    const fresh = () => openAt(kind.newLocation());

    before(() => kind.setup());
    after(async () => {
      for (const s of open) await s.close();
      await kind.teardown();
    });

    void it('gets, overwrites and deletes', async () => {
      const s = await fresh();
      assert.equal(s.type, kind.name);
      assert.equal(await s.get('missing'), undefined);
      await s.write([{ key: 'k', value: '{"a":1}' }]);
      assert.equal(await s.get('k'), '{"a":1}');
      await s.write([{ key: 'k', value: '{"a":2}' }]);
      assert.equal(await s.get('k'), '{"a":2}');
      await s.write([
        { key: 'k', value: null },
        { key: 'never-there', value: null },
      ]);
      assert.equal(await s.get('k'), undefined);
      await s.write([]);
      await s.write([{ key: 'empty', value: '' }]);
      assert.equal(await s.get('empty'), '');
    });

    void it('applies a batch in order: the last operation on a key wins', async () => {
      const s = await fresh();
      await s.write([
        { key: 'a', value: '1' },
        { key: 'a', value: null },
        { key: 'b', value: null },
        { key: 'b', value: '2' },
        { key: 'c', value: '3' },
        { key: 'c', value: '4' },
      ]);
      assert.equal(await s.get('a'), undefined);
      assert.equal(await s.get('b'), '2');
      assert.equal(await s.get('c'), '4');
    });

    void it('writes the format record on init and lists it', async () => {
      const s = await fresh();
      const rec = await s.get(STORE_FORMAT_KEY);
      assert.deepEqual(JSON.parse(rec ?? 'null'), { version: STORE_FORMAT_VERSION });
      assert.deepEqual(await s.list(''), [[STORE_FORMAT_KEY, rec]]);
    });

    void it('lists by prefix, treating %, _ and every other character literally, in code point order', async () => {
      const s = await fresh();
      const keys = [
        'a',
        'a%',
        'a%b',
        'a_b',
        'axb',
        'ab',
        'aB',
        'a\uFFFF', // sorts before a😀 by code point, after it by UTF-16 unit
        'a😀',
        'a\u{10FFFF}',
        'a\u{10FFFF}z',
        'b',
        'x\uD7FF', // its successor would be a surrogate: must skip to U+E000
        'x\uD7FFy',
        'x\uE000',
        'é',
        'e\u0301',
        'pipeline:instance:1',
        'pipeline:instance:10',
        'pipeline:instance;',
        'pipeline:instanc',
      ];
      await s.write(keys.map((k, i) => ({ key: k, value: JSON.stringify({ i, k }) })));
      const all = [...keys, STORE_FORMAT_KEY].sort(byteOrder);
      const listed = async (prefix: string) => (await s.list(prefix)).map(([k]) => k);

      assert.deepEqual(await listed(''), all);
      assert.deepEqual(
        await listed('a'),
        all.filter((k) => k.startsWith('a')),
      );
      assert.deepEqual(await listed('a%'), ['a%', 'a%b']);
      assert.deepEqual(await listed('a_'), ['a_b']);
      assert.deepEqual(await listed('a\u{10FFFF}'), ['a\u{10FFFF}', 'a\u{10FFFF}z']);
      assert.deepEqual(await listed('x\uD7FF'), ['x\uD7FF', 'x\uD7FFy']);
      assert.deepEqual(await listed('pipeline:instance:'), ['pipeline:instance:1', 'pipeline:instance:10']);
      assert.deepEqual(await listed('e'), ['e\u0301']);
      assert.deepEqual(await listed('é'), ['é']);
      assert.deepEqual(await listed('zzz'), []);
      const [first] = await s.list('a%b');
      assert.deepEqual(first, ['a%b', JSON.stringify({ i: 2, k: 'a%b' })]);
    });

    void it('refuses a malformed batch before applying any of it', async () => {
      const s = await fresh();
      await s.write([{ key: 'keep', value: 'old' }]);
      const bad = [
        { key: 'keep', value: null },
        { key: 'new', value: 'v' },
        { key: 'typed', value: 42 },
      ] as unknown as WriteOp[];
      await rejectsWithCode(s.write(bad), Code.Internal);
      await rejectsWithCode(s.write([{ key: '', value: 'v' }]), Code.Internal);
      await rejectsWithCode(s.write([{ key: 'nul\u0000', value: 'v' }]), Code.Internal);
      assert.equal(await s.get('keep'), 'old');
      assert.equal(await s.get('new'), undefined);
    });

    if (kind.failOn !== undefined) {
      const failOn = kind.failOn;
      void it('rolls back a batch that fails inside the database part way through', async () => {
        const loc = kind.newLocation();
        const s = await openAt(loc);
        await s.write([{ key: 'keep', value: 'old' }]);
        await failOn(loc, 'boom');
        // Deletes run first and 'a' sorts before 'boom', so work is done before the failure.
        await assert.rejects(
          s.write([
            { key: 'keep', value: null },
            { key: 'a', value: 'v' },
            { key: 'boom', value: 'v' },
            { key: 'z', value: 'v' },
          ]),
          (err) => err instanceof ConduitError && /refused by test trigger/.test(err.message),
        );
        assert.equal(await s.get('keep'), 'old');
        assert.equal(await s.get('a'), undefined);
        assert.equal(await s.get('z'), undefined);
        // The store is still usable afterwards.
        await s.write([{ key: 'after', value: 'ok' }]);
        assert.equal(await s.get('after'), 'ok');
      });
    }

    void it('keeps its data across close and reopen', async () => {
      const loc = kind.newLocation();
      const a = kind.make(loc);
      await a.init();
      await a.write([
        { key: 'connector:instance:x', value: '{"position":"p1"}' },
        { key: 'gone', value: 'soon' },
      ]);
      await a.write([{ key: 'gone', value: null }]);
      await a.close();
      await a.close(); // idempotent
      const b = await openAt(loc);
      assert.equal(await b.get('connector:instance:x'), '{"position":"p1"}');
      assert.equal(await b.get('gone'), undefined);
      assert.deepEqual(JSON.parse((await b.get(STORE_FORMAT_KEY)) ?? 'null'), { version: STORE_FORMAT_VERSION });
    });

    void it('refuses a store written by a newer format version, or with an unreadable format record', async () => {
      for (const rec of [JSON.stringify({ version: STORE_FORMAT_VERSION + 1 }), 'not json', '{"version":"1"}']) {
        const loc = kind.newLocation();
        const a = kind.make(loc);
        await a.init();
        await a.write([{ key: STORE_FORMAT_KEY, value: rec }]);
        await a.close();
        const b = kind.make(loc);
        const err = await rejectsWithCode(b.init(), Code.StoreFormatUnsupported);
        assert.ok(err.suggestion !== undefined && err.suggestion.length > 0);
        assert.equal(err.retryable, false);
        await b.close();
      }
    });

    void it('rejects use after close', async () => {
      const s = kind.make(kind.newLocation());
      await s.init();
      await s.close();
      await rejectsWithCode(s.get('k'), Code.Internal);
      await rejectsWithCode(s.list(''), Code.Internal);
      await rejectsWithCode(s.write([{ key: 'k', value: 'v' }]), Code.Internal);
      await rejectsWithCode(s.init(), Code.Internal);
    });

    void it('takes concurrent writes, and applies writes in call order', async () => {
      const s = await fresh();
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          s.write([
            { key: `c:${String(i).padStart(3, '0')}`, value: String(i) },
            { key: 'shared', value: String(i) },
          ]),
        ),
      );
      const listed = await s.list('c:');
      assert.equal(listed.length, 100);
      assert.deepEqual(
        listed.map(([, v]) => Number(v)),
        Array.from({ length: 100 }, (_, i) => i),
      );
      // Checkpoints issued back to back without awaiting must land in order: a
      // position that went backwards would replay or, worse, skip records.
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < 50; i++) pending.push(s.write([{ key: 'position', value: String(i) }]));
      const reads = Promise.all(Array.from({ length: 10 }, () => s.list('c:0')));
      await Promise.all(pending);
      assert.equal(await s.get('position'), '49');
      for (const r of await reads) assert.equal(r.length, 100);
    });

    void it('stores large values (1 MB each, several in one batch)', async () => {
      const s = await fresh();
      const big = (seed: string) => {
        const unit = `${seed}{"é":"ü😀","n":0123456789}`;
        return unit.repeat(Math.ceil((1 << 20) / unit.length)).slice(0, 1 << 20);
      };
      const values = ['x', 'y', 'z'].map(big);
      await s.write(values.map((value, i) => ({ key: `big:${i}`, value })));
      for (let i = 0; i < values.length; i++) assert.equal(await s.get(`big:${i}`), values[i]);
      const listed = await s.list('big:');
      assert.deepEqual(
        listed.map(([, v]) => v.length),
        values.map((v) => v.length),
      );
    });
  });
}

void describe('key order helpers', () => {
  void it('compareKeys agrees with UTF-8 byte order', () => {
    const keys = ['', 'a', 'ab', '\uD7FF', '\uE000', '\uFFFF', '😀', '\u{10FFFF}', 'z', 'é', '\u0000'];
    for (const a of keys) for (const b of keys) assert.equal(Math.sign(compareKeys(a, b)), Math.sign(byteOrder(a, b)));
  });
  void it('prefixSuccessor bounds the prefix range', () => {
    assert.equal(prefixSuccessor(''), undefined);
    assert.equal(prefixSuccessor('\u{10FFFF}\u{10FFFF}'), undefined);
    assert.equal(prefixSuccessor('ab'), 'ac');
    assert.equal(prefixSuccessor('a\u{10FFFF}'), 'b');
    assert.equal(prefixSuccessor('x\uD7FF'), 'x\uE000');
    assert.equal(prefixSuccessor('a\uFFFF'), 'a\u{10000}');
    assert.equal(prefixSuccessor('a😀'), 'a😁');
  });
});

void describe('sqlite store', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'conduit-sqlite-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('commits on a thread of its own: the event loop runs while a write is committed', async () => {
    const s = new SqliteStore({ path: join(dir, 'thread.db') });
    await s.init();
    try {
      const ops = Array.from({ length: 50_000 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(100) }));
      let turns = 0;
      const timer = setInterval(() => turns++, 1);
      try {
        await s.write(ops);
      } finally {
        clearInterval(timer);
      }
      assert.ok(turns > 0, 'the event loop did not turn once while 50,000 keys were committed');
      assert.equal(await s.get('k49999'), 'v'.repeat(100), 'a read after the write resolved sees it');
    } finally {
      await s.close();
    }
  });

  void it('creates the directory of the file, uses WAL and the configured table', async () => {
    const path = join(dir, 'nested', 'deeper', 'state.db');
    const s = new SqliteStore({ path, table: 'my_state' });
    await s.init();
    await s.write([{ key: 'k', value: 'v' }]);
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(db.prepare('SELECT key, value FROM my_state WHERE key = ?').get('k'), { key: 'k', value: 'v' });
    } finally {
      db.close();
    }
    await s.close();
  });

  void it('reports a file it cannot open as store.unreachable naming the path', async () => {
    const asDir = join(dir, 'is-a-directory.db');
    mkdirSync(asDir);
    const parentIsFile = join(dir, 'plain-file');
    writeFileSync(parentIsFile, 'x');
    const notDb = join(dir, 'garbage.db');
    writeFileSync(notDb, 'this is not a SQLite database, not even close'.repeat(100));
    for (const path of [asDir, join(parentIsFile, 'state.db'), notDb]) {
      const s = new SqliteStore({ path });
      const err = await rejectsWithCode(s.init(), Code.StoreUnreachable);
      assert.ok(err.message.includes(path), err.message);
      assert.ok(err.suggestion !== undefined && err.suggestion.length > 0);
      await s.close();
    }
    const err = await rejectsWithCode(new SqliteStore({ path: asDir }).init(), Code.StoreUnreachable);
    assert.match(err.suggestion ?? '', /directory/);
  });

  void it('refuses a table of the same name with another layout', async () => {
    const path = join(dir, 'go-layout.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE ${DEFAULT_TABLE} (key TEXT PRIMARY KEY, value BLOB)`);
    db.close();
    await rejectsWithCode(new SqliteStore({ path }).init(), Code.StoreFormatUnsupported);
  });

  void it('refuses an invalid table name', () => {
    assert.throws(
      () => new SqliteStore({ path: join(dir, 'x.db'), table: 'x; DROP TABLE y' }),
      (err) => err instanceof ConduitError && err.code === Code.EngineConfigInvalid,
    );
  });

  void it('keeps every acknowledged write when the writer is killed with SIGKILL', { timeout: 60_000 }, async () => {
    const path = join(dir, 'crash.db');
    const writer = fileURLToPath(new URL('./testdata/crash-writer.ts', import.meta.url));
    let lastAck = 0;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', writer, path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = once(child, 'exit');
      const target = lastAck + 300;
      for await (const line of createInterface({ input: child.stdout })) {
        const n = Number(line);
        assert.ok(n > lastAck, `acknowledgements must increase: ${n} after ${lastAck}`);
        lastAck = n;
        if (n >= target) {
          child.kill('SIGKILL');
          break;
        }
      }
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      assert.equal(signal, 'SIGKILL', `writer ended by itself (code ${code}): ${stderr}`);

      const s = new SqliteStore({ path });
      await s.init();
      const pos = JSON.parse((await s.get('position')) ?? 'null') as { n: number; pad: string };
      const mirror = await s.get('mirror');
      await s.close();
      assert.ok(pos.n >= lastAck, `position ${pos.n} is behind the last acknowledged ${lastAck}`);
      assert.equal(pos.pad.length, 4096);
      assert.equal(mirror, JSON.stringify(pos), 'both keys of a batch are written together');
      lastAck = pos.n;
    }
  });
});

void describe('postgres store', () => {
  let url = '';
  before(async () => {
    url = await postgresUrl();
  });

  /** A port nothing listens on (just released; good enough for a refused connection). */
  async function closedPort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as { port: number };
    await new Promise((resolve) => srv.close(resolve));
    return port;
  }

  void it('reports an unreachable server without the password', async () => {
    const secret = 'Sup3r-S3cret-pw';
    const cs = `postgres://alice:${secret}@127.0.0.1:${await closedPort()}/db`;
    const s = new PostgresStore({ connectionString: cs, connectTimeoutMs: 5000 });
    const err = await rejectsWithCode(s.init(), Code.StoreUnreachable);
    await s.close();
    for (const text of [err.message, err.format(), JSON.stringify(err.toJSON()), s.where]) {
      assert.ok(!text.includes(secret), text);
    }
    assert.ok(err.message.includes('postgres://alice:***@127.0.0.1'), err.message);
    assert.equal(err.retryable, true);
  });

  void it('reports a wrong password as store.unreachable, not retryable, without the password', async () => {
    const wrong = 'Wr0ng-Pa55word';
    const s = new PostgresStore({ connectionString: urlAs(url, PASSWORD_ROLE.user, wrong) });
    const err = await rejectsWithCode(s.init(), Code.StoreUnreachable);
    await s.close();
    assert.ok(!err.format().includes(wrong), err.format());
    assert.match(err.message, /password authentication failed/);
    assert.equal(err.retryable, false);

    const ok = new PostgresStore({
      connectionString: urlAs(url, PASSWORD_ROLE.user, PASSWORD_ROLE.password),
      table: `pw_${unique()}`,
    });
    try {
      await ok.init();
      await ok.write([{ key: 'k', value: 'v' }]);
      assert.equal(await ok.get('k'), 'v');
    } finally {
      await ok.close();
    }
  });

  void it('redacts passwords in both connection string forms', () => {
    assert.equal(redactConnectionString('postgres://u:p%40ss@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(redactConnectionString('postgres://u@h/db?password=hunter22'), 'postgres://u@h/db?password=***');
    assert.equal(
      redactConnectionString("host=h user=u password='a b' dbname=d"),
      'host=h user=u password=*** dbname=d',
    );
  });

  void it('creates its table in a schema, and two engines starting at once agree', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const schema = `s_${unique()}`;
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
      const table = `${schema}.state`;
      const [a, b] = [0, 1].map(() => new PostgresStore({ connectionString: url, table }));
      await Promise.all([a!.init(), b!.init()]);
      await a!.write([{ key: 'k', value: 'from a' }]);
      assert.equal(await b!.get('k'), 'from a');
      await Promise.all([a!.close(), b!.close()]);
      const cols = await admin.query(
        `SELECT column_name, data_type, collation_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'state' ORDER BY ordinal_position`,
        [schema],
      );
      assert.deepEqual(cols.rows, [
        { column_name: 'key', data_type: 'text', collation_name: 'C' },
        { column_name: 'value', data_type: 'text', collation_name: null },
      ]);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  void it('refuses a table of the same name with another layout', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const table = `go_${unique()}`;
    try {
      await admin.query(`CREATE TABLE ${table} (key VARCHAR PRIMARY KEY, value BYTEA)`);
      const s = new PostgresStore({ connectionString: url, table });
      await rejectsWithCode(s.init(), Code.StoreFormatUnsupported);
      await s.close();
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
    }
  });
});

void describe('openStore', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'conduit-openstore-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it('opens an in-memory store', async () => {
    const { store, warnings } = await openStore({ type: 'inmemory' });
    assert.equal(store.type, 'inmemory');
    assert.deepEqual(warnings, []);
    assert.ok((await store.get(STORE_FORMAT_KEY)) !== undefined);
    await store.close();
  });

  void it('opens sqlite, and badger as sqlite with a warning', async () => {
    const path = join(dir, 'badger.db');
    const { store, warnings } = await openStore({ type: 'badger', sqlitePath: path, sqliteTable: 'kv' });
    assert.equal(store.type, 'sqlite');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /badger.*SQLite/);
    await store.close();
    assert.ok(readdirSync(dir).includes('badger.db'));
    const again = await openStore({ type: 'sqlite', sqlitePath: path, sqliteTable: 'kv' });
    assert.deepEqual(again.warnings, []);
    await again.store.close();
  });

  void it('opens postgres, and requires its connection string', async () => {
    await rejectsWithCode(openStore({ type: 'postgres' }), Code.EngineConfigInvalid);
    const table = `open_${unique()}`;
    const { store } = await openStore({
      type: 'postgres',
      postgresConnectionString: await postgresUrl(),
      postgresTable: table,
    });
    assert.equal(store.type, 'postgres');
    await store.close();
    const admin = new pg.Client({ connectionString: await postgresUrl() });
    await admin.connect();
    await admin.query(`DROP TABLE ${table}`);
    await admin.end();
  });

  void it('rejects an unknown type, and passes on init failures', async () => {
    await rejectsWithCode(openStore({ type: 'mongo' as 'sqlite' }), Code.EngineConfigInvalid);
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    await rejectsWithCode(openStore({ type: 'sqlite', sqlitePath: join(blocker, 'state.db') }), Code.StoreUnreachable);
  });
});
