/**
 * The postgres source against a real PostgreSQL (scripts/test-servers.sh):
 * the conformance suite, then what the issue asks of a CDC source — a snapshot
 * under concurrent writes ending equal, every type unchanged from Postgres to
 * Postgres, TOAST values kept by updates, a big transaction, the heartbeat
 * advancing an idle slot, a dropped slot reported, a column added mid-stream.
 * Pipelines run in an in-process engine; the destination is the postgres one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresUrl } from '../../../test/servers/postgres.js';
import { Engine } from '../../engine/engine.js';
import { PipelineStatus } from '../../engine/types.js';
import { silentLogger } from '../../log/logger.js';
import type { StructuredData } from '../../opencdc/record.js';
import { builtinRegistry } from '../../plugins/builtin.js';
import { DEFAULT_DLQ, type PipelineConfig } from '../../provisioning/types.js';
import { buildConfig, configuredSource, readN, sourceConformance } from '../../sdk/conformance.js';
import { sourceSpecs } from '../../sdk/sdk-params.js';
import { parseSchema } from '../../schema/avro.js';
import { BuiltinRegistry } from '../../schema/builtin.js';
import type { SchemaRegistry } from '../../schema/registry.js';
import { waitFor } from '../../sdk/testing.js';
import { MemoryStore } from '../../store/memory.js';
import type { Store } from '../../store/store.js';
import { postgresPlugin } from './index.js';
import { PgMetadata } from './metadata.js';
import { cdcPositions, decodePosition, encodePosition, endPositions, MAX_COLS_BYTES } from './position.js';
import { checkSlotAgainst } from './source.js';

let url = '';
let pool: pg.Pool;
let counter = 0;
/** A name no other test (or earlier run on the same server) uses. */
const unique = (prefix: string) => `${prefix}_${process.pid}_${++counter}`;

before(async () => {
  url = await postgresUrl();
  pool = new pg.Pool({ connectionString: url, max: 4 });
});
after(async () => {
  await pool.end();
});

async function slotActive(slot: string): Promise<boolean> {
  return (
    (await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 1
  );
}

async function dropSlotAndPublication(slot: string, publication: string): Promise<void> {
  await pool.query(
    'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active',
    [slot],
  );
  await waitFor(
    async () =>
      (await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0,
    { message: `slot ${slot} released` },
  );
  await pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  await pool.query(`DROP PUBLICATION IF EXISTS ${publication}`);
}

sourceConformance({
  plugin: postgresPlugin,
  fixture: async () => {
    const name = unique('conf');
    await pool.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v text)`);
    let next = 1;
    return {
      settings: {
        url,
        tables: name,
        'logrepl.slotName': name,
        'logrepl.publicationName': name,
        'logrepl.heartbeat.interval': '0',
      },
      async produce(n: number) {
        const first = next;
        next += n;
        await pool.query(`INSERT INTO ${name} SELECT g, 'v' || g FROM generate_series($1::int, $2::int) g`, [
          first,
          next - 1,
        ]);
        return Array.from({ length: n }, (_, i) => String(first + i));
      },
      async cleanup() {
        await dropSlotAndPublication(name, name);
        await pool.query(`DROP TABLE ${name}`);
      },
    };
  },
  identify: (r) => String(Number((r.key as StructuredData).id)),
  invalid: [
    { settings: { 'logrepl.slotName': 'Bad-Slot' }, param: 'logrepl.slotName' },
    { settings: { snapshotMode: 'sometimes' }, param: 'snapshotMode' },
    { settings: {}, remove: ['tables'], param: 'tables' },
  ],
  timeoutMs: 15_000,
});

// ── pipelines ────────────────────────────────────────────────────────────────

interface Running {
  engine: Engine;
  store: Store;
  id: string;
}

const engines: Engine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.shutdown(5_000);
});

async function startEngine(store: Store, schemaRegistry?: SchemaRegistry): Promise<Engine> {
  const engine = new Engine({
    store,
    ...(schemaRegistry !== undefined && { schemaRegistry }),
    registry: builtinRegistry(),
    logger: silentLogger,
    recovery: { minDelay: 10, maxDelay: 50, backoffFactor: 2, maxRetries: 0, maxRetriesWindow: 60_000 },
  });
  await engine.init();
  engines.push(engine);
  return engine;
}

function pgToPg(id: string, source: Record<string, string>, destination: Record<string, string>): PipelineConfig {
  const connector = (cid: string, type: 'source' | 'destination', settings: Record<string, string>) => ({
    id: `${id}:${cid}`,
    type,
    plugin: 'postgres',
    pluginRef: 'builtin:postgres',
    name: cid,
    settings: { url, ...settings },
    processors: [],
  });
  return {
    id,
    status: 'running',
    name: id,
    description: '',
    processors: [],
    dlq: DEFAULT_DLQ,
    connectors: [connector('in', 'source', source), connector('out', 'destination', destination)],
  };
}

async function run(config: PipelineConfig, store?: Store, schemaRegistry?: SchemaRegistry): Promise<Running> {
  const s = store ?? new MemoryStore();
  if (store === undefined) await s.init();
  const engine = await startEngine(s, schemaRegistry);
  await engine.provision([config]);
  await engine.startDesired();
  return { engine, store: s, id: config.id };
}

/** Every row of a table as text, in key order: equal tables give equal strings. */
async function tableText(table: string): Promise<string> {
  const r = await pool.query<{ rows: string | null }>(
    `SELECT string_agg(t::text, E'\\n' ORDER BY t.id) AS rows FROM ${table} t`,
  );
  return r.rows[0]?.rows ?? '';
}

async function tablesEqual(a: string, b: string): Promise<boolean> {
  return (await tableText(a)) === (await tableText(b));
}

/** A source table and a destination table of the same shape, and names for the slot and publication. */
async function tablePair(prefix: string, columns: string): Promise<{ src: string; dst: string; slot: string }> {
  const src = unique(`${prefix}_src`);
  const dst = unique(`${prefix}_dst`);
  await pool.query(`CREATE TABLE ${src} (${columns})`);
  await pool.query(`CREATE TABLE ${dst} (${columns})`);
  return { src, dst, slot: unique(prefix) };
}

function sourceSettings(p: { src: string; slot: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    tables: p.src,
    'logrepl.slotName': p.slot,
    'logrepl.publicationName': p.slot,
    ...extra,
  };
}

async function stopAndClean(r: Running, slot: string): Promise<void> {
  await r.engine.shutdown(5_000);
  await dropSlotAndPublication(slot, slot);
}

describe('postgres source: snapshot and CDC into a postgres destination', () => {
  it('ends equal after a snapshot taken while the table is being written', { timeout: 120_000 }, async () => {
    const p = await tablePair('conc', 'id int PRIMARY KEY, n int NOT NULL, v text');
    await pool.query(`INSERT INTO ${p.src} SELECT g, 0, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g`);
    // A SHARE lock on the destination table blocks its writes but not its catalog reads: the pipeline's
    // byte budget then holds the snapshot part-way until the lock is released, so every write below
    // lands while the snapshot is in progress, whatever the speed of the machine.
    const lock = await pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query(`LOCK TABLE ${p.dst} IN SHARE MODE`);
      const r = await run(pgToPg('conc', sourceSettings(p, { 'snapshot.fetchSize': '500' }), { table: p.dst }));
      await waitFor(
        async () =>
          (await pool.query('SELECT 1 FROM pg_locks WHERE relation = $1::regclass AND NOT granted', [p.dst]))
            .rowCount! > 0,
        { timeoutMs: 30_000, message: 'the destination waits on the lock' },
      );
      // Writers change rows the snapshot has read and rows it has not, insert new ones and delete some.
      const c = await pool.connect();
      try {
        for (let writes = 0; writes < 400; writes++) {
          const id = 1 + Math.floor(Math.random() * 25_000);
          const op = writes % 4;
          if (op === 0) await c.query(`UPDATE ${p.src} SET n = n + 1 WHERE id = $1`, [id]);
          else if (op === 1) await c.query(`DELETE FROM ${p.src} WHERE id = $1`, [id]);
          else {
            await c.query(
              `INSERT INTO ${p.src} VALUES ($1, 1, 'new') ON CONFLICT (id) DO UPDATE SET n = ${p.src}.n + 1, v = 'upd'`,
              [id],
            );
          }
        }
      } finally {
        c.release();
      }
      assert.equal(await slotActive(p.slot), false, 'streaming starts only after the snapshot, which is still held');
      await lock.query('COMMIT');
      await waitFor(() => slotActive(p.slot), { timeoutMs: 60_000, message: 'the snapshot finished' });
      await waitFor(() => tablesEqual(p.src, p.dst), { timeoutMs: 60_000, message: 'destination equals source' });
      assert.equal(r.engine.get(r.id)?.state.status, PipelineStatus.Running);
      await stopAndClean(r, p.slot);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
  });

  it('copies every listed type unchanged, by snapshot and by CDC', { timeout: 60_000 }, async () => {
    const mood = unique('mood');
    await pool.query(`CREATE TYPE ${mood} AS ENUM ('sad', 'ok', 'happy')`);
    const columns = [
      'id int PRIMARY KEY',
      'i2 int2',
      'i4 int4',
      'i8 int8',
      'num numeric(40,20)',
      'f4 float4',
      'f8 float8',
      'b bool',
      't text',
      'vc varchar(20)',
      'bp char(5)',
      'by bytea',
      'u uuid',
      'j json',
      'jb jsonb',
      'ai int4[]',
      'at text[]',
      'a2 int[][]',
      `e ${mood}`,
      `ea ${mood}[]`,
      'd date',
      'tm time',
      'tmz timetz',
      'ts timestamp',
      'tsz timestamptz',
      'iv interval',
      'ip inet',
      'mo money',
      'pt point',
    ].join(', ');
    const p = await tablePair('types', columns);
    const row = (id: number) =>
      `(${id}, -32768, 2147483647, 9007199254740993, 12345678901234567890.12345678901234567890, 1.5, 'NaN', true,
        'tab\t"quote" ''single'' \\ back', 'varchar', 'ab', '\\x00ff10'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '{"b": 1, "a": [1.10, 2]}', '{"b": 1, "a": [1.10, 2]}', '{1,NULL,3}', '{"a,b","c\\"d",NULL,"NULL"}',
        '{{1,2},{3,4}}', 'happy', '{sad,happy}', '2024-02-29', '23:59:59.999999', '12:34:56+05:30',
        '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02', '1 year 2 mons 3 days 04:05:06.789',
        '192.168.0.1/24', '12.34', '(1.5,2)')`;
    await pool.query(`INSERT INTO ${p.src} VALUES ${row(1)}, ${row(2)}`);
    await pool.query(`INSERT INTO ${p.src} (id) VALUES (3)`); // every column NULL
    const r = await run(pgToPg('types', sourceSettings(p), { table: p.dst }));
    await waitFor(() => tablesEqual(p.src, p.dst), { timeoutMs: 30_000, message: 'snapshot rows equal' });
    await pool.query(`INSERT INTO ${p.src} VALUES ${row(4)}`);
    await pool.query(`UPDATE ${p.src} SET i8 = -9223372036854775808, num = 'NaN', f8 = '-Infinity' WHERE id = 2`);
    await waitFor(() => tablesEqual(p.src, p.dst), { timeoutMs: 30_000, message: 'CDC rows equal' });
    await stopAndClean(r, p.slot);
  });

  it('keeps an unchanged TOAST value when another column is updated', { timeout: 60_000 }, async () => {
    const p = await tablePair('toast', 'id int PRIMARY KEY, n int, big text');
    await pool.query(`ALTER TABLE ${p.src} ALTER COLUMN big SET STORAGE EXTERNAL`);
    const big = randomBytes(60_000).toString('hex'); // 120 kB: stored out of line
    await pool.query(`INSERT INTO ${p.src} VALUES (1, 0, $1)`, [big]);
    const r = await run(pgToPg('toast', sourceSettings(p), { table: p.dst }));
    await waitFor(() => tablesEqual(p.src, p.dst), { timeoutMs: 30_000, message: 'snapshot copied' });
    await pool.query(`UPDATE ${p.src} SET n = 1 WHERE id = 1`);
    await waitFor(async () => (await pool.query(`SELECT n FROM ${p.dst} WHERE id = 1`)).rows[0]?.n === 1, {
      timeoutMs: 30_000,
      message: 'the update arrived',
    });
    const got = await pool.query<{ big: string }>(`SELECT big FROM ${p.dst} WHERE id = 1`);
    assert.equal(got.rows[0]?.big, big, 'the TOAST value is unchanged at the destination');
    await stopAndClean(r, p.slot);
  });
});

describe('postgres source: records', () => {
  async function openSource(settings: Record<string, string>) {
    const src = await configuredSource(postgresPlugin, { url, 'logrepl.heartbeat.interval': '0', ...settings });
    await src.open(null);
    return src;
  }

  it('marks an unchanged TOAST value with the placeholder and names the column', { timeout: 30_000 }, async () => {
    const t = unique('toastrec');
    await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, n int, big text)`);
    await pool.query(`ALTER TABLE ${t} ALTER COLUMN big SET STORAGE EXTERNAL`);
    await pool.query(`INSERT INTO ${t} VALUES (1, 0, $1)`, [randomBytes(60_000).toString('hex')]);
    const src = await openSource({ tables: t, 'logrepl.slotName': t, 'logrepl.publicationName': t });
    try {
      const [snap] = await readN(src, 1, 15_000);
      assert.equal(snap?.operation, 'snapshot');
      await pool.query(`UPDATE ${t} SET n = 1 WHERE id = 1`);
      const [upd] = await readN(src, 1, 15_000);
      assert.equal(upd?.operation, 'update');
      assert.equal(upd?.metadata[PgMetadata.ToastUnchanged], 'big');
      assert.deepEqual(upd?.payload.after, { id: 1, n: 1, big: '__conduit_unchanged_toast__' });
    } finally {
      await src.teardown();
      await dropSlotAndPublication(t, t);
    }
  });

  it(
    'streams a 200,000-row transaction in order, with commit time and transaction metadata',
    {
      timeout: 120_000,
    },
    async () => {
      const t = unique('bigtx');
      await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
      const src = await openSource({ tables: t, 'logrepl.slotName': t, 'logrepl.publicationName': t });
      try {
        await pool.query(`INSERT INTO ${t} SELECT g, md5(g::text) FROM generate_series(1, 200000) g`);
        let expected = 1;
        let txLsn: string | undefined;
        let createdAt = '';
        while (expected <= 200_000) {
          const batch = await readN(src, Math.min(2048, 200_001 - expected), 30_000);
          for (const r of batch) {
            assert.equal(r.operation, 'create');
            assert.equal((r.key as StructuredData).id, expected, 'rows arrive in commit order');
            assert.equal(r.metadata[PgMetadata.TxSeq], String(expected - 1));
            txLsn ??= r.metadata[PgMetadata.TxLsn];
            createdAt = r.metadata['opencdc.createdAt'] ?? '';
            assert.equal(r.metadata[PgMetadata.TxLsn], txLsn, 'one transaction');
            expected++;
          }
        }
        const committedMs = Number(BigInt(createdAt) / 1_000_000n);
        assert.ok(Math.abs(Date.now() - committedMs) < 600_000, `opencdc.createdAt ${createdAt} is the commit time`);
      } finally {
        await src.teardown();
        await dropSlotAndPublication(t, t);
      }
    },
  );

  it(
    'snapshots a table added to the setting later, without reading the others again',
    { timeout: 30_000 },
    async () => {
      const a = unique('added_a');
      const b = unique('added_b');
      await pool.query(`CREATE TABLE ${a} (id int PRIMARY KEY, v text)`);
      await pool.query(`CREATE TABLE ${b} (id int PRIMARY KEY, v text)`);
      await pool.query(`INSERT INTO ${a} VALUES (1, 'a1'); INSERT INTO ${b} VALUES (1, 'b1'), (2, 'b2')`);
      const slot = { 'logrepl.slotName': a, 'logrepl.publicationName': a };
      const first = await openSource({ tables: a, ...slot });
      let position: Uint8Array;
      try {
        await readN(first, 1, 15_000); // a's snapshot
        await pool.query(`INSERT INTO ${a} VALUES (2, 'a2')`);
        const [change] = await readN(first, 1, 15_000);
        assert.equal(change?.operation, 'create');
        position = (change as { position: Uint8Array }).position;
      } finally {
        await first.teardown();
      }
      const second = await configuredSource(postgresPlugin, {
        url,
        'logrepl.heartbeat.interval': '0',
        tables: `${a},${b}`,
        ...slot,
      });
      try {
        await second.open(position);
        const snap = await readN(second, 2, 15_000);
        assert.deepEqual(
          snap.map((r) => [r.operation, r.metadata['opencdc.collection'], (r.payload.after as StructuredData).v]),
          [
            ['snapshot', b, 'b1'],
            ['snapshot', b, 'b2'],
          ],
        );
        await pool.query(`INSERT INTO ${b} VALUES (3, 'b3'); INSERT INTO ${a} VALUES (3, 'a3')`);
        const cdc = await readN(second, 2, 15_000);
        assert.deepEqual(
          cdc.map((r) => [r.operation, (r.payload.after as StructuredData).v]),
          [
            ['create', 'b3'],
            ['create', 'a3'],
          ],
          'both tables stream; a is not snapshotted again and a2 is not repeated',
        );
      } finally {
        await second.teardown();
        await dropSlotAndPublication(a, a);
      }
    },
  );

  it('announces a column added mid-stream and carries its values', { timeout: 30_000 }, async () => {
    const t = unique('addcol');
    await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
    const src = await openSource({ tables: t, 'logrepl.slotName': t, 'logrepl.publicationName': t });
    try {
      await pool.query(`INSERT INTO ${t} VALUES (1, 'a')`);
      const [first] = await readN(src, 1, 15_000);
      assert.deepEqual(first?.payload.after, { id: 1, v: 'a' });
      assert.equal(first?.metadata[PgMetadata.SchemaChange], undefined);
      await pool.query(`ALTER TABLE ${t} ADD COLUMN extra int8`);
      await pool.query(`INSERT INTO ${t} VALUES (2, 'b', 42)`);
      const [second] = await readN(src, 1, 15_000);
      assert.deepEqual(second?.payload.after, { id: 2, v: 'b', extra: 42 });
      const change = JSON.parse(second?.metadata[PgMetadata.SchemaChange] ?? 'null') as unknown;
      assert.deepEqual(change, { table: t, added: [{ name: 'extra', typeOid: 20 }] });
    } finally {
      await src.teardown();
      await dropSlotAndPublication(t, t);
    }
  });

  it('stops on a column change when schemaChange is stop', { timeout: 30_000 }, async () => {
    const t = unique('stopcol');
    await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
    const src = await openSource({
      tables: t,
      'logrepl.slotName': t,
      'logrepl.publicationName': t,
      schemaChange: 'stop',
    });
    try {
      await pool.query(`INSERT INTO ${t} VALUES (1, 'a')`);
      await readN(src, 1, 15_000);
      await pool.query(`ALTER TABLE ${t} ALTER COLUMN v TYPE varchar(10)`);
      await pool.query(`INSERT INTO ${t} VALUES (2, 'b')`);
      await assert.rejects(readN(src, 1, 15_000), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'postgres.schema_changed');
        assert.match(err.message, /retyped/);
        return true;
      });
    } finally {
      await src.teardown();
      await dropSlotAndPublication(t, t);
    }
  });
});

/** A postgres → file pipeline (opencdc/json lines), so that the records' metadata can be read. */
function pgToFile(id: string, table: string, path: string, extra: Record<string, string> = {}): PipelineConfig {
  const config = pgToPg(id, { tables: table, 'logrepl.slotName': table, 'logrepl.publicationName': table }, {});
  const [source] = config.connectors;
  return {
    ...config,
    connectors: [
      { ...(source as PipelineConfig['connectors'][number]), settings: { ...source?.settings, ...extra } },
      {
        id: `${id}:out`,
        type: 'destination',
        plugin: 'file',
        pluginRef: 'builtin:file',
        name: 'out',
        settings: { path },
        processors: [],
      },
    ],
  };
}

async function lines(
  path: string,
): Promise<Array<{ metadata: Record<string, string>; payload: { after: StructuredData } }>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { metadata: Record<string, string>; payload: { after: StructuredData } });
}

describe('postgres source: columns changed while the pipeline was stopped', () => {
  /** The stored position of the pipeline's source, decoded. */
  async function storedPosition(store: Store, id: string): Promise<ReturnType<typeof decodePosition> | undefined> {
    const raw = await store.get(`connector:position:${id}:in`);
    if (raw === undefined) return undefined;
    return decodePosition(Buffer.from((JSON.parse(raw) as { position: string }).position, 'base64'));
  }

  /**
   * Runs the pipeline until a change is written and its transaction's end position (with the columns) is
   * stored, stops it, then adds a column to the table: the state a restart starts from.
   */
  async function firstRunThenAlter(id: string, extra: Record<string, string>) {
    const t = unique(id);
    const dir = await mkdtemp(join(tmpdir(), 'conduit-pg-stopped-'));
    const path = join(dir, 'out.jsonl');
    await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
    await pool.query(`INSERT INTO ${t} VALUES (1, 'snapshot')`);
    const store = new MemoryStore();
    await store.init();
    const config = pgToFile(id, t, path, extra);
    const first = await run(config, store);
    await waitFor(() => slotActive(t), { timeoutMs: 15_000, message: 'streaming started' });
    await pool.query(`INSERT INTO ${t} VALUES (2, 'cdc')`);
    await waitFor(async () => (await lines(path)).length === 2, {
      timeoutMs: 15_000,
      message: 'the change is written',
    });
    const txLsn = (await lines(path))[1]?.metadata[PgMetadata.TxLsn];
    await waitFor(
      async () => {
        const p = await storedPosition(store, id);
        return p?.m === 'c' && p.lsn === txLsn && p.end !== undefined;
      },
      { timeoutMs: 15_000, message: "the change's transaction is checkpointed" },
    );
    const stored = await storedPosition(store, id);
    assert.deepEqual(
      stored?.m === 'c' && stored.cols,
      {
        [t]: [
          ['id', 23],
          ['v', 25],
        ],
      },
      'the position keeps the columns',
    );
    await first.engine.shutdown(5_000);
    await pool.query(`ALTER TABLE ${t} ADD COLUMN extra int8`);
    return { t, dir, path, store, config };
  }

  it('announces a column added while the pipeline was stopped', { timeout: 60_000 }, async () => {
    const { t, dir, path, store, config } = await firstRunThenAlter('stopped_add', {});
    try {
      const second = await run(config, store);
      await pool.query(`INSERT INTO ${t} VALUES (3, 'after', 42)`);
      await pool.query(`INSERT INTO ${t} VALUES (4, 'again', 43)`);
      await waitFor(async () => (await lines(path)).length === 4, {
        timeoutMs: 15_000,
        message: 'both changes written',
      });
      const [, , third, fourth] = await lines(path);
      assert.deepEqual(third?.payload.after, { id: 3, v: 'after', extra: 42 });
      assert.deepEqual(JSON.parse(third?.metadata[PgMetadata.SchemaChange] ?? 'null'), {
        table: t,
        added: [{ name: 'extra', typeOid: 20 }],
      });
      assert.equal(fourth?.metadata[PgMetadata.SchemaChange], undefined, 'announced once');
      await second.engine.shutdown(5_000);
      // Once announced, the new columns are the baseline: a third run announces nothing.
      const stored = await storedPosition(store, 'stopped_add');
      assert.deepEqual(stored?.m === 'c' && stored.cols?.[t], [
        ['id', 23],
        ['v', 25],
        ['extra', 20],
      ]);
    } finally {
      await dropSlotAndPublication(t, t);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(
    'stops with postgres.schema_changed after the restart when schemaChange is stop',
    { timeout: 60_000 },
    async () => {
      const { t, dir, path, store, config } = await firstRunThenAlter('stopped_stop', { schemaChange: 'stop' });
      try {
        const second = await run(config, store);
        await pool.query(`INSERT INTO ${t} VALUES (3, 'after', 42)`);
        await waitFor(() => second.engine.get('stopped_stop')?.state.status === PipelineStatus.Degraded, {
          timeoutMs: 15_000,
          message: 'the pipeline is degraded',
        });
        const error = second.engine.get('stopped_stop')?.state.error;
        assert.equal(error?.code, 'postgres.schema_changed');
        assert.match(error?.message ?? '', /"added":\[\{"name":"extra"/);
        assert.equal((await lines(path)).length, 2, 'the change after the new column is not delivered');
        await second.engine.shutdown(5_000);
      } finally {
        await dropSlotAndPublication(t, t);
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('postgres source: logrepl.withAvroSchema', () => {
  async function openWithRegistry(settings: Record<string, string>, registry: SchemaRegistry) {
    const plugin = postgresPlugin.source;
    assert.ok(plugin);
    const src = plugin.create();
    await src.configure(
      buildConfig(sourceSpecs(plugin.params), { url, 'logrepl.heartbeat.interval': '0', ...settings }),
      { connectorId: 'avro:in', pipelineId: 'avro', logger: silentLogger, schemaRegistry: registry },
    );
    await src.open(null);
    return src;
  }

  /** The record's schemas from the registry, checked by encoding and decoding its key and payload. */
  async function roundTrip(
    registry: SchemaRegistry,
    r: { metadata: Record<string, string>; key: unknown; payload: { after: unknown } },
  ) {
    const m = r.metadata;
    const key = await registry.bySubjectVersion(
      m['opencdc.key.schema.subject'] ?? '',
      Number(m['opencdc.key.schema.version']),
    );
    const payload = await registry.bySubjectVersion(
      m['opencdc.payload.schema.subject'] ?? '',
      Number(m['opencdc.payload.schema.version']),
    );
    const k = parseSchema(key.schema);
    const p = parseSchema(payload.schema);
    assert.deepEqual(k.decode(k.encode(r.key)), r.key, 'the key fits its schema');
    assert.deepEqual(p.decode(p.encode(r.payload.after)), r.payload.after, 'the payload fits its schema');
    return { key, payload };
  }

  it('registers key and payload schemas and names them on snapshot and CDC records', { timeout: 30_000 }, async () => {
    const t = unique('avro');
    await pool.query(
      `CREATE TABLE ${t} (id int PRIMARY KEY, v text, n int8, f float8, b bytea, u uuid, a int4[], d date, num numeric)`,
    );
    await pool.query(
      `INSERT INTO ${t} VALUES (1, 'x', 9007199254740993, 'NaN', '\\x01ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '{1,NULL}', '2024-02-29', 1.50), (2, NULL, NULL, 2.5, NULL, NULL, NULL, NULL, NULL)`,
    );
    const store = new MemoryStore();
    await store.init();
    const registry = new BuiltinRegistry(store);
    const src = await openWithRegistry({ tables: t, 'logrepl.slotName': t, 'logrepl.publicationName': t }, registry);
    try {
      const snap = await readN(src, 2, 15_000);
      for (const r of snap) {
        assert.equal(r.metadata['opencdc.key.schema.subject'], `${t}_key`);
        assert.equal(r.metadata['opencdc.key.schema.version'], '1');
        assert.equal(r.metadata['opencdc.payload.schema.subject'], `${t}_payload`);
        assert.equal(r.metadata['opencdc.payload.schema.version'], '1');
        await roundTrip(registry, r);
      }
      const { key, payload } = await roundTrip(registry, snap[0] as (typeof snap)[number]);
      assert.deepEqual(JSON.parse(key.schema), {
        type: 'record',
        name: `${t}_key`,
        namespace: 'conduit.postgres',
        fields: [{ name: 'id', type: 'int' }],
      });
      assert.deepEqual(
        (JSON.parse(payload.schema) as { fields: Array<{ name: string }> }).fields.map((f) => f.name),
        ['a', 'b', 'd', 'f', 'id', 'n', 'num', 'u', 'v'],
        'fields sorted by name, as Conduit does',
      );

      await pool.query(`INSERT INTO ${t} (id, v, f) VALUES (3, 'cdc', '-Infinity')`);
      const [created] = await readN(src, 1, 15_000);
      assert.equal(created?.metadata['opencdc.payload.schema.version'], '1', 'the same columns, the same schema');
      await roundTrip(registry, created);

      await pool.query(`ALTER TABLE ${t} ADD COLUMN extra text`);
      await pool.query(`UPDATE ${t} SET extra = 'e' WHERE id = 3`);
      const [updated] = await readN(src, 1, 15_000);
      assert.equal(updated?.metadata['opencdc.payload.schema.version'], '2', 'a new column, a new payload version');
      assert.equal(updated?.metadata['opencdc.key.schema.version'], '1');
      await roundTrip(registry, updated);
    } finally {
      await src.teardown();
      await dropSlotAndPublication(t, t);
    }
  });

  it(
    'attaches nothing when turned off, and the engine hands its registry to sources',
    { timeout: 30_000 },
    async () => {
      const t = unique('avro_off');
      await pool.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
      await pool.query(`INSERT INTO ${t} VALUES (1, 'a')`);
      const dir = await mkdtemp(join(tmpdir(), 'conduit-pg-avro-'));
      try {
        const store = new MemoryStore();
        await store.init();
        const registry = new BuiltinRegistry(store);
        const on = await run(pgToFile('avro_on', t, join(dir, 'on.jsonl')), store, registry);
        await waitFor(async () => (await lines(join(dir, 'on.jsonl'))).length === 1, { message: 'the row written' });
        assert.equal(
          (await lines(join(dir, 'on.jsonl')))[0]?.metadata['opencdc.payload.schema.subject'],
          `${t}_payload`,
        );
        await on.engine.shutdown(5_000);
        await dropSlotAndPublication(t, t);

        const off = await run(
          pgToFile('avro_off', t, join(dir, 'off.jsonl'), { 'logrepl.withAvroSchema': 'false' }),
          undefined,
          registry,
        );
        await waitFor(async () => (await lines(join(dir, 'off.jsonl'))).length === 1, { message: 'the row written' });
        const [row] = await lines(join(dir, 'off.jsonl'));
        assert.deepEqual(
          Object.keys(row?.metadata ?? {}).filter((k) => k.includes('schema')),
          [],
        );
        await off.engine.shutdown(5_000);
      } finally {
        await dropSlotAndPublication(t, t);
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('postgres source: the replication slot', () => {
  it('advances an idle slot with heartbeats while the server is busy elsewhere', { timeout: 60_000 }, async () => {
    const p = await tablePair('hb', 'id int PRIMARY KEY, v text');
    const busy = unique('busy');
    await pool.query(`CREATE TABLE ${busy} (id serial PRIMARY KEY, v text)`);
    const r = await run(pgToPg('hb', sourceSettings(p, { 'logrepl.heartbeat.interval': '100ms' }), { table: p.dst }));
    await waitFor(() => slotActive(p.slot), { timeoutMs: 15_000, message: 'streaming started' });
    // WAL grows from writes to a table the pipeline does not capture.
    await pool.query(`INSERT INTO ${busy} (v) SELECT repeat('x', 500) FROM generate_series(1, 20000)`);
    const target = (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn;
    await waitFor(
      async () =>
        (
          await pool.query(
            'SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1',
            [p.slot, target],
          )
        ).rows[0]?.ok === true,
      { timeoutMs: 30_000, message: `the slot confirmed past ${target}` },
    );
    await stopAndClean(r, p.slot);
  });

  it('reports snapshot progress per table and the retained WAL of the slot', { timeout: 60_000 }, async () => {
    const p = await tablePair('prog', 'id int PRIMARY KEY, v text');
    await pool.query(`INSERT INTO ${p.src} SELECT g, 'x' FROM generate_series(1, 300) g`);
    await pool.query(`ANALYZE ${p.src}`);
    const src = await configuredSource(postgresPlugin, {
      url,
      ...sourceSettings(p),
      'snapshot.fetchSize': '100',
      'logrepl.heartbeat.interval': '50ms',
    });
    try {
      await src.open(null);
      assert.deepEqual(src.progress?.().snapshot, [{ collection: p.src, rows: 0, estimatedRows: 0, done: false }]);
      await readN(src, 150, 30_000);
      const mid = src.progress?.().snapshot?.[0];
      assert.ok(mid !== undefined && mid.rows >= 150 && mid.rows < 300 && !mid.done, JSON.stringify(mid));
      assert.equal(mid.estimatedRows, 300);
      await readN(src, 150, 30_000);
      // The next read finds the table exhausted and hands over to streaming, which starts the heartbeats.
      await src.read(1, AbortSignal.timeout(500));
      assert.deepEqual(src.progress?.().snapshot, [{ collection: p.src, rows: 300, estimatedRows: 300, done: true }]);
      await waitFor(() => typeof src.progress?.().lagBytes === 'number', {
        timeoutMs: 10_000,
        message: 'a heartbeat measured the retained WAL',
      });
    } finally {
      await src.teardown();
      await dropSlotAndPublication(p.slot, p.slot);
    }
  });

  it(
    'stops with postgres.slot_lost when the slot was dropped while the pipeline was stopped',
    {
      timeout: 60_000,
    },
    async () => {
      const p = await tablePair('lost', 'id int PRIMARY KEY, v text');
      await pool.query(`INSERT INTO ${p.src} VALUES (1, 'a')`);
      const store = new MemoryStore();
      await store.init();
      const config = pgToPg('lost', sourceSettings(p), { table: p.dst });
      const first = await run(config, store);
      await pool.query(`INSERT INTO ${p.src} VALUES (2, 'b')`);
      await waitFor(() => tablesEqual(p.src, p.dst), { timeoutMs: 30_000, message: 'rows copied' });
      await first.engine.shutdown(5_000);
      await dropSlotAndPublication(p.slot, p.slot);
      await pool.query(`INSERT INTO ${p.src} VALUES (3, 'lost while the slot was gone')`);

      const second = await run(config, store);
      await waitFor(() => second.engine.get('lost')?.state.status === PipelineStatus.Degraded, {
        timeoutMs: 30_000,
        message: 'the pipeline is degraded',
      });
      const error = second.engine.get('lost')?.state.error;
      assert.equal(error?.code, 'postgres.slot_lost');
      assert.match(error?.message ?? '', new RegExp(`replication slot ${p.slot} no longer exists`));
      await second.engine.shutdown(5_000);
      await dropSlotAndPublication(p.slot, p.slot);
    },
  );
});

describe('postgres source: resuming at a stored position', () => {
  const at = { m: 'c' as const, lsn: '0/2000', seq: 3, tables: ['t'] };
  const slot = (over: Partial<Parameters<typeof checkSlotAgainst>[0] & object> = {}) => ({
    name: 's',
    plugin: 'pgoutput',
    active: false,
    activePid: null,
    confirmedFlush: 0x1000n,
    restartLsn: 0x800n,
    walStatus: 'reserved',
    ...over,
  });
  const lost = (re: RegExp) => (err: Error & { code?: string }) => {
    assert.equal(err.code, 'postgres.slot_lost');
    assert.match(err.message, re);
    assert.match(err.message, /changes after LSN 0\/2000 cannot be read/);
    return true;
  };

  it('accepts a slot at or behind the stored position', () => {
    assert.equal(checkSlotAgainst(slot(), 's', at), 0x1000n);
    assert.equal(checkSlotAgainst(slot({ confirmedFlush: 0x2000n }), 's', at), 0x2000n);
  });

  it('refuses a slot that was invalidated', () => {
    assert.throws(() => checkSlotAgainst(slot({ walStatus: 'lost' }), 's', at), lost(/was invalidated/));
  });

  it('refuses a slot that moved past the stored position', () => {
    assert.throws(() => checkSlotAgainst(slot({ confirmedFlush: 0x2001n }), 's', at), lost(/moved past the stored/));
  });

  it('refuses a missing slot', () => {
    assert.throws(() => checkSlotAgainst(undefined, 's', at), lost(/no longer exists/));
  });

  it('writes each end-of-transaction position exactly as encodePosition does, and reads it back', () => {
    const tables = ['a', 'b'];
    const cols = new Map([
      ['a', [['id', 23] as const, ['n', 1700, 655366] as const]],
      ['b', [['w"eird', 25] as const]],
    ]);
    for (const c of [cols, new Map()]) {
      const want = {
        m: 'c' as const,
        lsn: '0/10',
        seq: 3,
        end: '0/18',
        tables,
        ...(c.size > 0 && { cols: Object.fromEntries(c) }),
      };
      const got = endPositions(tables, c)('0/10', 3, '0/18');
      assert.deepEqual(got, encodePosition(want));
      assert.deepEqual(decodePosition(got), want);
    }
  });

  it('leaves the column baseline out of end positions once it passes MAX_COLS_BYTES', () => {
    const wide = new Map([['t', Array.from({ length: 200 }, (_, i) => [`column_${i}`, 23] as const)]]);
    const narrow = new Map([['t', [['id', 23] as const]]]);
    const at = (c: typeof wide | typeof narrow) => decodePosition(endPositions(['t'], c)('0/10', 1, '0/18'));
    assert.ok(JSON.stringify(Object.fromEntries(wide)).length > MAX_COLS_BYTES);
    assert.equal('cols' in at(wide), false, 'a wide baseline is not carried');
    assert.equal(endPositions(['t'], wide).baselineLeftOut, true, 'and says so (the source warns)');
    assert.equal(endPositions(['t'], narrow).baselineLeftOut, false);
    assert.deepEqual((at(narrow) as { cols?: unknown }).cols, { t: [['id', 23]] });
  });

  it('writes each change position exactly as encodePosition does, and reads it back', () => {
    const tables = ['public.a', 'public."we\\ird"', 'é'];
    const positions = cdcPositions('1F/A0B1C2', tables);
    for (const seq of [0, 1, 41, 2 ** 31]) {
      const want = { m: 'c' as const, lsn: '1F/A0B1C2', seq, tables };
      assert.deepEqual(positions(seq), encodePosition(want));
      assert.deepEqual(decodePosition(positions(seq)), want);
    }
  });
});
