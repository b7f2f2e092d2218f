/**
 * The snapshot reader against a real PostgreSQL (scripts/test-servers.sh): rows
 * read by COPY decode to exactly what a query's text result decodes to (escapes,
 * NULLs, every type), positions are the JSON the source always wrote, a resumed
 * snapshot continues after an awkward text key, and a slow reader pauses the
 * COPY instead of queueing the table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresUrl } from '../../../test/servers/postgres.js';
import { silentLogger } from '../../log/logger.js';
import type { OpenCDCRecord, StructuredData } from '../../opencdc/record.js';
import { configuredSource, readN } from '../../sdk/conformance.js';
import { waitFor } from '../../sdk/testing.js';
import { connect, resolveTables } from './catalog.js';
import { postgresPlugin } from './index.js';
import { decodePosition, snapshotPositionHead, type CdcPosition, type SnapshotPosition } from './position.js';
import { SnapshotReader } from './snapshot.js';
import { decodeText, loadTypeRegistry } from './types.js';

let url = '';
let pool: pg.Pool;
let counter = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${++counter}`;

before(async () => {
  url = await postgresUrl();
  pool = new pg.Pool({ connectionString: url, max: 2 });
});
after(async () => {
  await pool.end();
});

/** Keys that COPY's text format escapes or JSON escapes, in their sort order (COLLATE "C"). */
const AWKWARD_KEYS = [
  'a\tb',
  'a\nb',
  'a\rb',
  'a b',
  'a"b',
  "a'b",
  'a\\N',
  'a\\b',
  'a\\\\',
  'a\u0001b',
  'a\u007fb',
  'aé',
  'a😀',
  '\\N',
];

/** Timestamps decoded from their bytes, and those left to decodeText (infinity, BC). */
const STAMPS = [
  '2024-01-02 03:04:05+00',
  '2024-01-02 03:04:05.123456+00',
  '2024-01-02 03:04:05.1-05:30',
  '10000-01-01 00:00:00+00',
  'infinity',
  '-infinity',
  '0044-03-15 12:00:00+00 BC',
  '1999-12-31 23:59:59.999+00',
];

async function withSource<T>(table: string, fn: (src: Awaited<ReturnType<typeof configuredSource>>) => Promise<T>) {
  const slot = unique('snap');
  const src = await configuredSource(postgresPlugin, {
    url,
    tables: table,
    'logrepl.slotName': slot,
    'logrepl.publicationName': slot,
    'logrepl.heartbeat.interval': '0',
  });
  try {
    return { result: await fn(src), slot };
  } finally {
    await src.teardown();
  }
}

async function dropSlot(slot: string): Promise<void> {
  await waitFor(
    async () =>
      (await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0,
    { message: `slot ${slot} released` },
  );
  await pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  await pool.query(`DROP PUBLICATION IF EXISTS ${slot}`);
}

describe('postgres snapshot: rows by COPY', () => {
  it('decodes every row as a query text result decodes, and writes positions as JSON.stringify does', async () => {
    const table = unique('copy_types');
    await pool.query(`CREATE TABLE ${table} (
      k text COLLATE "C" PRIMARY KEY, i2 int2, i4 int4, i8 int8, big int8, num numeric, f8 float8, b bool,
      t text, by bytea, ta text[], ba bytea[], d date, tsz timestamptz, ts timestamp, iv interval, j jsonb,
      nul text, "__proto__" int, tsz2 timestamptz, ts2 timestamp)`);
    const values = AWKWARD_KEYS.map(
      (_, i) => `($${i + 1}, -32768, -2147483648, -9007199254740991, -9223372036854775808, -1.50, '-Infinity',
        ${i % 2 === 0}, $${i + 1} || E'\\\\N\\t\\\\', '\\x00ff5c0a'::bytea, ARRAY[$${i + 1}, NULL, 'NULL'],
        ARRAY['\\x5c'::bytea], '2024-02-29', '2024-01-02 03:04:05.5+02', '2024-01-02 03:04:05', '-1 day 2 hours',
        '{"a\\\\b": "\\t"}', NULL, ${i}, '${STAMPS[i % STAMPS.length]}', '${STAMPS[i % STAMPS.length]}')`,
    );
    await pool.query(`INSERT INTO ${table} VALUES ${values.join(', ')}`, AWKWARD_KEYS);
    const { result: records, slot } = await withSource(table, async (src) => {
      await src.open(null);
      return readN(src, AWKWARD_KEYS.length);
    });
    await dropSlot(slot);

    // The source's session settings (ISO intervals, UTC, …); array rows: an object row would lose the column
    // named __proto__.
    const client = await connect(url, { applicationName: 'snapshot-test' });
    const q = await client.query<Array<string | null>>({ text: `SELECT * FROM ${table} ORDER BY k`, rowMode: 'array' });
    const types = await loadTypeRegistry(
      client,
      q.fields.map((f) => f.dataTypeID),
    );
    await client.end();
    assert.equal(records.length, q.rows.length);
    q.rows.forEach((row, i) => {
      const r = records[i] as OpenCDCRecord;
      const want: StructuredData = {};
      q.fields.forEach((f, c) => {
        const v = row[c];
        Object.defineProperty(want, f.name, {
          value: v === null || v === undefined ? null : decodeText(f.dataTypeID, v, types),
          enumerable: true,
          writable: true,
        });
      });
      const k = row[0] as string;
      assert.deepEqual(r.payload.after, want, `row ${JSON.stringify(k)}`);
      assert.equal(Object.getPrototypeOf(r.payload.after), Object.prototype);
      assert.deepEqual(r.key, { k });
      const text = Buffer.from(r.position).toString('utf8');
      const p = decodePosition(r.position) as SnapshotPosition;
      assert.deepEqual(p.k, [k]);
      // Byte for byte JSON.stringify of the same object: the initial snapshot's CDC position is the slot's
      // consistent point, so its LSN stands for it.
      assert.equal(p.cdc.seq, 0);
      assert.equal(p.cdc.end, p.cdc.lsn);
      assert.equal(text, JSON.stringify({ m: 's', done: p.done, t: p.t, lsn: p.cdc.lsn, k: p.k }));
    });
    await pool.query(`DROP TABLE ${table}`);
  });

  it('resumes after an awkward text key, at the next row', { timeout: 30_000 }, async () => {
    const table = unique('copy_resume');
    await pool.query(`CREATE TABLE ${table} (k text COLLATE "C" PRIMARY KEY, n int)`);
    await pool.query(`INSERT INTO ${table} SELECT k, i FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i)`, [
      AWKWARD_KEYS,
    ]);
    const sorted = [...AWKWARD_KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const slot = unique('snap');
    const settings = {
      url,
      tables: table,
      'logrepl.slotName': slot,
      'logrepl.publicationName': slot,
      'logrepl.heartbeat.interval': '0',
    };
    for (let at = 0; at < sorted.length - 1; at += 3) {
      // Each time from the start with a fresh slot, read up to row `at`, then resume after it.
      const first = await configuredSource(postgresPlugin, settings);
      let position: Uint8Array;
      try {
        await first.open(null);
        const read = await readN(first, at + 1);
        position = (read[at] as OpenCDCRecord).position;
        assert.deepEqual(
          read.map((r) => (r.key as StructuredData).k),
          sorted.slice(0, at + 1),
        );
      } finally {
        await first.teardown();
      }
      const second = await configuredSource(postgresPlugin, settings);
      try {
        await second.open(position);
        const rest = await readN(second, sorted.length - at - 1);
        assert.deepEqual(
          rest.map((r) => (r.key as StructuredData).k),
          sorted.slice(at + 1),
          `resumed after ${JSON.stringify(sorted[at])}`,
        );
      } finally {
        await second.teardown();
      }
      await dropSlot(slot);
    }
    await pool.query(`DROP TABLE ${table}`);
  });

  it('pauses the COPY while rows wait, instead of queueing the table', { timeout: 30_000 }, async () => {
    const table = unique('copy_pause');
    const rows = 20_000;
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    await pool.query(`INSERT INTO ${table} SELECT g, repeat('x', 100) FROM generate_series(1, ${rows}) g`);
    const client = await connect(url, { applicationName: 'snapshot-test' });
    try {
      const tables = await resolveTables(client, [table]);
      const fetchSize = 500;
      const reader = new SnapshotReader(
        client,
        tables.map((t) => ({ table: t, after: undefined })),
        fetchSize,
        undefined,
        silentLogger,
        async () => ({ positionHead: '{"k":', metadata: {} }),
      );
      await reader.begin(null);
      const queued = (): number => (reader as unknown as { copy?: { queue: unknown[] } }).copy?.queue.length ?? 0;
      let read = 0;
      let most = 0;
      let expect = 1;
      while (read < rows) {
        const batch = await reader.next(100);
        assert.ok(batch.length > 0, `the snapshot ended after ${read} rows`);
        for (const r of batch) assert.equal((r.payload.after as StructuredData).id, expect++);
        read += batch.length;
        // Give the socket time to deliver what it will before the next read: a reader that never paused
        // would have the whole table queued after a few of these.
        await new Promise((resolve) => setTimeout(resolve, 2));
        most = Math.max(most, queued());
      }
      assert.equal((await reader.next(100)).length, 0);
      await reader.end();
      // fetchSize rows, plus what one socket read held when the queue filled (64 KiB of ~110-byte rows).
      assert.ok(most > 0 && most <= fetchSize + 1000, `at most ${most} rows were queued`);
    } finally {
      await client.end();
    }
    await pool.query(`DROP TABLE ${table}`);
  });
  it(
    'fails the read with an error a row cannot be decoded with, after the rows before it',
    { timeout: 15_000 },
    async () => {
      const table = unique('copy_bad');
      const mood = unique('mood');
      await pool.query(`CREATE TYPE ${mood} AS ENUM ('sad', 'happy')`);
      await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, m ${mood})`);
      await pool.query(`INSERT INTO ${table} VALUES (1, NULL), (2, NULL), (3, 'happy'), (4, NULL)`);
      const client = await connect(url, { applicationName: 'snapshot-test' });
      try {
        const tables = await resolveTables(client, [table]);
        // A registry that calls the enum an array of int: 'happy' is no array literal.
        const lying = { get: (oid: number) => (oid >= 16384 ? { name: 'x', elementOid: 23 } : undefined) };
        const reader = new SnapshotReader(
          client,
          tables.map((t) => ({ table: t, after: undefined })),
          1000,
          lying,
          silentLogger,
          async () => ({ positionHead: '{"k":', metadata: {} }),
        );
        await reader.begin(null);
        const ids: unknown[] = [];
        await assert.rejects(async () => {
          for (;;) {
            const batch = await reader.next(1);
            if (batch.length === 0) break;
            ids.push(...batch.map((r) => (r.key as StructuredData).id));
          }
        }, /malformed array literal/);
        assert.deepEqual(ids, [1, 2]);
      } finally {
        await client.end();
      }
      await pool.query(`DROP TABLE ${table}`);
      await pool.query(`DROP TYPE ${mood}`);
    },
  );
  it('reads a table for longer than the statement_timeout of the session', { timeout: 30_000 }, async () => {
    const table = unique('copy_slow');
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    // More than the socket buffers hold: the server waits to send for as long as the reader waits.
    const rows = 100_000;
    await pool.query(`INSERT INTO ${table} SELECT g, repeat('x', 200) FROM generate_series(1, ${rows}) g`);
    const client = await connect(url, { applicationName: 'snapshot-test' });
    try {
      await client.query("SET statement_timeout = '300ms'");
      const tables = await resolveTables(client, [table]);
      const reader = new SnapshotReader(
        client,
        tables.map((t) => ({ table: t, after: undefined })),
        100,
        undefined,
        silentLogger,
        async () => ({ positionHead: '{"k":', metadata: {} }),
      );
      await reader.begin(null);
      let read = 0;
      const started = Date.now();
      for (;;) {
        const batch = await reader.next(1000);
        if (batch.length === 0) break;
        read += batch.length;
        // The COPY waits, paused, while the pipeline is slow.
        if (Date.now() - started < 1000) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await reader.end();
      assert.equal(read, rows);
      assert.ok(Date.now() - started >= 1000);
    } finally {
      await client.end();
    }
    await pool.query(`DROP TABLE ${table}`);
  });
});

describe('postgres snapshot: positions', () => {
  const point: CdcPosition = { m: 'c', lsn: '0/16B3748', seq: 0, end: '0/16B3748', tables: ['a', 'b'] };
  const position = (head: string, k: string[]) => Buffer.from(`${head}${JSON.stringify(k)}}`);

  it('says just the LSN of a consistent point, and reads it back as that CDC position', () => {
    const raw = position(snapshotPositionHead(['a'], 'b', point), ['4"2']);
    assert.equal(raw.toString(), '{"m":"s","done":["a"],"t":"b","lsn":"0/16B3748","k":["4\\"2"]}');
    assert.deepEqual(decodePosition(raw), {
      m: 's',
      done: ['a'],
      t: 'b',
      k: ['4"2'],
      cdc: { m: 'c', lsn: '0/16B3748', seq: 0, end: '0/16B3748', tables: [] },
    });
  });

  it('writes any other CDC position in full (tables added later are snapshotted from inside a stream)', () => {
    const inside: CdcPosition = { m: 'c', lsn: '0/20', seq: 3, tables: ['a'] };
    const done: CdcPosition = { ...point, cols: { a: [['id', 23]] } };
    for (const cdc of [inside, done, { ...point, end: '0/30' }]) {
      const raw = position(snapshotPositionHead([], 'b', cdc), ['1']);
      assert.equal(raw.toString(), JSON.stringify({ m: 's', done: [], t: 'b', cdc, k: ['1'] }));
      assert.deepEqual(decodePosition(raw), { m: 's', done: [], t: 'b', cdc, k: ['1'] });
    }
  });

  it('reads the snapshot positions earlier versions wrote', () => {
    const old = { m: 's', done: [], t: 'b', cdc: point, k: ['42'] };
    assert.deepEqual(decodePosition(Buffer.from(JSON.stringify(old))), old);
  });
});
