/**
 * The postgres destination against a real PostgreSQL (test/servers/postgres.ts).
 * Every test makes its own tables.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { PASSWORD_ROLE, postgresUrl, urlAs } from '../../../test/servers/postgres.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { makeRecord, type Data, type OpenCDCRecord, type Operation } from '../../opencdc/record.js';
import type { ConnectorPlugin, Destination, WriteOutcome } from '../../sdk/connector.js';
import { configuredDestination, destinationConformance } from '../../sdk/conformance.js';
import { PostgresDestination } from './destination.js';
import { PgMetadata } from './metadata.js';
import { destinationParams } from './spec.js';

const plugin: ConnectorPlugin = {
  name: 'postgres',
  summary: 'postgres destination under test',
  description: '',
  version: 'test',
  author: 'test',
  destination: { params: destinationParams, create: () => new PostgresDestination() },
};

let base = '';
let admin: pg.Client;

before(async () => {
  base = await postgresUrl();
  admin = new pg.Client({ connectionString: base, options: '-c TimeZone=UTC' });
  await admin.connect();
});
after(async () => {
  await admin.end();
});

const opened: Destination[] = [];
afterEach(async () => {
  for (const d of opened.splice(0)) await d.teardown();
});

let seq = 0;
/** A table name no other test (or test run) uses. */
function fresh(prefix: string): string {
  return `${prefix}_${process.pid}_${++seq}`;
}

async function sql(text: string, values?: unknown[]): Promise<pg.QueryResult> {
  return admin.query(text, values);
}

async function destination(settings: Record<string, string>, logger?: Logger): Promise<Destination> {
  const d = await configuredDestination(plugin, { url: base, ...settings }, logger);
  opened.push(d);
  await d.open();
  return d;
}

let pos = 0;
function rec(
  operation: Operation,
  key: Data,
  after: Data,
  metadata: Record<string, string> = {},
  before: Data = null,
): OpenCDCRecord {
  return makeRecord({ position: Buffer.from(`p${++pos}`), operation, key, metadata, payload: { before, after } });
}

function assertWritten(outcome: WriteOutcome | undefined): void {
  if (outcome === undefined) return;
  const failed = outcome.flatMap((e, i) => (e === undefined ? [] : [`${i}: ${e.message}`]));
  assert.deepEqual(failed, [], 'every record written');
}

/** The outcome's errors by record index (undefined where written). */
function errorsOf(outcome: WriteOutcome | undefined, n: number): (string | undefined)[] {
  assert.ok(outcome !== undefined, 'some records failed');
  assert.equal(outcome.length, n, 'one outcome per record');
  return outcome.map((e) => e?.message);
}

async function rows(table: string, columns = '*', order = 'id'): Promise<Record<string, unknown>[]> {
  return (await sql(`SELECT ${columns} FROM ${table} ORDER BY ${order}`)).rows as Record<string, unknown>[];
}

// -----------------------------------------------------------------------------
// The shared conformance kit.

/**
 * The kit's sample records carry raw payloads such as `raw-1`, which are not
 * JSON: this destination rejects them by design (it writes rows). A pipeline
 * would turn them into structured data with a processor; this adapter does the
 * same (into a raw JSON object, so the raw-JSON path is exercised too).
 */
class RawTextAsJson implements Destination {
  constructor(private readonly inner: Destination) {}
  configure(...args: Parameters<Destination['configure']>) {
    return this.inner.configure(...args);
  }
  open() {
    return this.inner.open();
  }
  write(records: readonly OpenCDCRecord[]) {
    return this.inner.write(
      records.map((r) => {
        const a = r.payload.after;
        if (!(a instanceof Uint8Array)) return r;
        const json = Buffer.from(JSON.stringify({ raw: Buffer.from(a).toString('utf8') }));
        return { ...r, payload: { before: r.payload.before, after: json } };
      }),
    );
  }
  teardown() {
    return this.inner.teardown();
  }
}

interface LogRow {
  op: string;
  k: string;
  row: { id: number | null; name: string | null; ok: boolean | null; raw: string | null } | null;
}

destinationConformance({
  plugin: {
    ...plugin,
    destination: { params: destinationParams, create: () => new RawTextAsJson(new PostgresDestination()) },
  },
  // The table holds a row for each sample key beforehand, and a trigger logs every row change in order:
  // each record (upserts update, deletes delete) leaves exactly one log entry, which readBack returns.
  async fixture() {
    const url = await postgresUrl();
    const t = fresh('conf');
    await sql(`CREATE TABLE ${t} (k text PRIMARY KEY, id int, name text, ok bool, raw text)`);
    await sql(`INSERT INTO ${t} (k) SELECT 'key-' || i FROM generate_series(0, 99) i`);
    await sql(`CREATE TABLE ${t}_log (seq bigserial PRIMARY KEY, op text, k text, row jsonb)`);
    await sql(`CREATE FUNCTION ${t}_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          INSERT INTO ${t}_log (op, k) VALUES (TG_OP, OLD.k);
        ELSE
          INSERT INTO ${t}_log (op, k, row) VALUES (TG_OP, NEW.k, to_jsonb(NEW));
        END IF;
        RETURN NULL;
      END $$`);
    await sql(
      `CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${t}_audit()`,
    );
    return {
      settings: { url, table: t },
      async readBack() {
        const r = await sql(`SELECT op, k, row FROM ${t}_log ORDER BY seq`);
        return r.rows.map((x) => JSON.stringify(x));
      },
      async cleanup() {
        await sql(`DROP TABLE ${t}; DROP TABLE ${t}_log; DROP FUNCTION ${t}_audit()`);
      },
    };
  },
  matches(stored, record) {
    const got = JSON.parse(stored) as LogRow;
    const key = Buffer.from(record.key as Uint8Array).toString('utf8');
    if (got.k !== key) return false;
    if (record.operation === 'delete') return got.op === 'DELETE';
    if (got.op !== 'UPDATE' || got.row === null) return false;
    const after = record.payload.after;
    if (after instanceof Uint8Array) return got.row.raw === Buffer.from(after).toString('utf8');
    const a = after as { id: number; name: string; ok: boolean };
    return got.row.id === a.id && got.row.name === a.name && got.row.ok === a.ok;
  },
  invalid: [
    { settings: { table: '{{ index .Metadata "opencdc.collection"' }, param: 'table' },
    { settings: { table: 'a.b.c' }, param: 'table' },
    { settings: { key: 'id,id' }, param: 'key' },
  ],
});

// -----------------------------------------------------------------------------

describe('postgres destination', () => {
  it('upserts a create and an update of one key in one batch, and across batches only the columns present', async () => {
    const t = fresh('ups');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, name text, qty int)`);
    const d = await destination({ table: t });
    assertWritten(
      await d.write([
        rec('create', { id: 1 }, { id: 1, name: 'a', qty: 1 }),
        rec('create', { id: 2 }, { id: 2, name: 'x', qty: 7 }),
        rec('update', { id: 1 }, { id: 1, name: 'b', qty: 2 }),
      ]),
    );
    assert.deepEqual(await rows(t), [
      { id: 1, name: 'b', qty: 2 },
      { id: 2, name: 'x', qty: 7 },
    ]);
    // A later batch with fewer columns: the others keep their values.
    assertWritten(await d.write([rec('update', { id: 1 }, { id: 1, name: 'c' })]));
    assert.deepEqual(await rows(t), [
      { id: 1, name: 'c', qty: 2 },
      { id: 2, name: 'x', qty: 7 },
    ]);
    // A key-only record upserts with DO NOTHING: an existing row is left alone, a new one is created.
    assertWritten(await d.write([rec('create', { id: 1 }, null), rec('create', { id: 3 }, null)]));
    assert.deepEqual(await rows(t), [
      { id: 1, name: 'c', qty: 2 },
      { id: 2, name: 'x', qty: 7 },
      { id: 3, name: null, qty: null },
    ]);
  });

  it('keeps the order of upserts and deletes of one key within a batch', async () => {
    const t = fresh('order');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
    const d = await destination({ table: t });
    assertWritten(
      await d.write([
        rec('create', { id: 1 }, { id: 1, v: 'one' }),
        rec('delete', { id: 1 }, null),
        rec('create', { id: 1 }, { id: 1, v: 'again' }),
        rec('create', { id: 2 }, { id: 2, v: 'two' }),
        rec('delete', { id: 2 }, null),
      ]),
    );
    assert.deepEqual(await rows(t), [{ id: 1, v: 'again' }]);
  });

  for (const n of [50, 600]) {
    it(`keeps the last record of each key in a group of ${n} (${n < 200 ? 'VALUES' : 'COPY'})`, async () => {
      const t = fresh('dup');
      await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, v int)`);
      const d = await destination({ table: t });
      const batch = Array.from({ length: n }, (_, i) => rec('update', { id: i % 10 }, { id: i % 10, v: i }));
      assertWritten(await d.write(batch));
      assert.deepEqual(
        await rows(t),
        Array.from({ length: 10 }, (_, id) => ({ id, v: n - 10 + id })),
      );
    });
  }

  it('writes large upsert and delete groups of the same columns through their own statements', async () => {
    const t = fresh('stage');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    const d = await destination({ table: t });
    const ids = Array.from({ length: 400 }, (_, i) => i);
    assertWritten(
      await d.write([
        ...ids.map((id) => rec('create', { id }, null)),
        ...ids.filter((id) => id % 2 === 0).map((id) => rec('delete', { id }, null)),
      ]),
    );
    const got = await rows(t);
    assert.equal(got.length, 200);
    assert.ok(got.every((r) => (r.id as number) % 2 === 1));
  });

  for (const n of [2, 300]) {
    it(`writes identity columns and leaves generated columns to Postgres (${n} records)`, async () => {
      const t = fresh('gen');
      await sql(
        `CREATE TABLE ${t} (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n int, doubled int GENERATED ALWAYS AS (n * 2) STORED)`,
      );
      const warnings: string[] = [];
      const d = await destination({ table: t }, createLogger({ level: 'warn', write: (l) => warnings.push(l) }));
      const batch = (k: number) =>
        Array.from({ length: n }, (_, i) => rec('update', { id: i + 10 }, { id: i + 10, n: i * k, doubled: -1 }));
      assertWritten(await d.write(batch(1)));
      assertWritten(await d.write(batch(3)));
      const got = await rows(t);
      assert.equal(got.length, n);
      assert.deepEqual(got[1], { id: 11, n: 3, doubled: 6 });
      assert.equal(warnings.length, 1, 'one warning about the generated column');
      assert.match(warnings[0] ?? '', /not writing a generated column/);
    });
  }

  it('deletes a present row, and a missing row is no error', async () => {
    const t = fresh('del');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, v text); INSERT INTO ${t} VALUES (1, 'a'), (2, 'b')`);
    const d = await destination({ table: t });
    assertWritten(await d.write([rec('delete', { id: 1 }, null), rec('delete', { id: 99 }, null)]));
    assert.deepEqual(await rows(t), [{ id: 2, v: 'b' }]);
    // Many deletes go through the staging table.
    await sql(`INSERT INTO ${t} SELECT i, 'x' FROM generate_series(10, 509) i`);
    const many = Array.from({ length: 500 }, (_, i) => rec('delete', { id: 10 + i * 2 }, null));
    assertWritten(await d.write(many));
    assert.equal((await rows(t)).length, 1 + 250);
  });

  it('inserts records without a key', async () => {
    const t = fresh('ins');
    await sql(`CREATE TABLE ${t} (id bigserial PRIMARY KEY, v text, n int)`);
    const d = await destination({ table: t });
    assertWritten(
      await d.write([
        rec('create', null, { v: 'a', n: 1 }),
        rec('create', null, { v: 'a', n: 1 }),
        rec('update', null, { v: 'b' }),
      ]),
    );
    assert.deepEqual(await rows(t, 'v, n'), [
      { v: 'a', n: 1 },
      { v: 'a', n: 1 },
      { v: 'b', n: null },
    ]);
    const many = Array.from({ length: 300 }, (_, i) => rec('create', null, { v: `m${i}`, n: i }));
    assertWritten(await d.write(many));
    const got = await rows(t, 'v, n');
    assert.equal(got.length, 303);
    assert.deepEqual(got.at(-1), { v: 'm299', n: 299 }, 'COPY keeps the record order');
  });

  it('upserts snapshot records', async () => {
    const t = fresh('snap');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, v text); INSERT INTO ${t} VALUES (1, 'old')`);
    const d = await destination({ table: t });
    assertWritten(
      await d.write([rec('snapshot', { id: 1 }, { id: 1, v: 'new' }), rec('snapshot', { id: 2 }, { id: 2, v: 'two' })]),
    );
    assert.deepEqual(await rows(t), [
      { id: 1, v: 'new' },
      { id: 2, v: 'two' },
    ]);
  });

  it('routes records by the table template; a record without a table name fails alone', async () => {
    const a = fresh('route_a');
    const b = fresh('route_b');
    await sql(`CREATE TABLE ${a} (id int PRIMARY KEY, v text); CREATE TABLE ${b} (id int PRIMARY KEY, w text)`);
    const d = await destination({}); // the default: {{ index .Metadata "opencdc.collection" }}
    const col = (c: string) => ({ 'opencdc.collection': c });
    const out = await d.write([
      rec('create', { id: 1 }, { id: 1, v: 'a1' }, col(a)),
      rec('create', { id: 1 }, { id: 1, w: 'b1' }, col(b)),
      rec('create', { id: 2 }, { id: 2, v: 'a2' }),
      rec('create', { id: 2 }, { id: 2, v: 'a2' }, col(`public.${a}`)),
      rec('create', { id: 3 }, { id: 3, w: 'b3' }, col(`"${b}"`)),
    ]);
    const errs = errorsOf(out, 5);
    assert.deepEqual([errs[0], errs[1], errs[3], errs[4]], [undefined, undefined, undefined, undefined]);
    assert.match(errs[2] ?? '', /template "\{\{ index \.Metadata \\"opencdc\.collection\\" \}\}" gave no table name/);
    assert.match(errs[2] ?? '', /position "p\d+"/);
    assert.deepEqual(await rows(a), [
      { id: 1, v: 'a1' },
      { id: 2, v: 'a2' },
    ]);
    assert.deepEqual(await rows(b), [
      { id: 1, w: 'b1' },
      { id: 3, w: 'b3' },
    ]);
  });

  it('fails a record whose template fails, naming the template', async () => {
    const t = fresh('tplfail');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    const d = await destination({ table: `{{ .Payload.After.tbl }}` });
    const out = await d.write([rec('create', { id: 1 }, { id: 1, tbl: t }), rec('create', { id: 2 }, null)]);
    const errs = errorsOf(out, 2);
    assert.match(errs[0] ?? '', /column "tbl"/);
    assert.match(errs[1] ?? '', /table template "\{\{ \.Payload\.After\.tbl \}\}" failed/);
  });

  it('upserts and deletes by the key setting', async () => {
    const t = fresh('keyset');
    await sql(`CREATE TABLE ${t} (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text)`);
    const d = await destination({ table: t, key: 'email' });
    assertWritten(
      await d.write([
        rec('create', Buffer.from('a@x'), { name: 'A' }),
        rec('create', { email: 'b@x' }, { name: 'B' }),
        rec('update', Buffer.from('a@x'), { name: 'A2' }),
      ]),
    );
    assert.deepEqual(await rows(t, 'email, name', 'email'), [
      { email: 'a@x', name: 'A2' },
      { email: 'b@x', name: 'B' },
    ]);
    assert.deepEqual(
      (await rows(t, 'id', 'email')).map((r) => r.id),
      [1, 2],
      'the update did not insert',
    );
    assertWritten(await d.write([rec('delete', Buffer.from('a@x'), null)]));
    assert.deepEqual(await rows(t, 'email, name', 'email'), [{ email: 'b@x', name: 'B' }]);
  });

  it('matches a raw key with a one-column primary key, and rejects it with a two-column one', async () => {
    const one = fresh('raw1');
    const two = fresh('raw2');
    await sql(
      `CREATE TABLE ${one} (code text PRIMARY KEY, v int); CREATE TABLE ${two} (a int, b int, v int, PRIMARY KEY (a, b))`,
    );
    const d1 = await destination({ table: one });
    assertWritten(
      await d1.write([rec('create', Buffer.from('k1'), { v: 1 }), rec('update', Buffer.from('k1'), { v: 2 })]),
    );
    assert.deepEqual(await rows(one, '*', 'code'), [{ code: 'k1', v: 2 }]);
    const d2 = await destination({ table: two });
    const errs = errorsOf(await d2.write([rec('create', Buffer.from('k1'), { a: 1, b: 1, v: 1 })]), 1);
    assert.match(errs[0] ?? '', /raw data and the primary key of table public\.raw2_\d+_\d+ has 2 columns \(a, b\)/);
  });

  it('writes a raw JSON payload, keeping big integers exact; a raw payload that is not a JSON object fails', async () => {
    const t = fresh('rawjson');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, name text, big numeric, tags jsonb)`);
    const d = await destination({ table: t });
    const out = await d.write([
      rec(
        'create',
        { id: 1 },
        Buffer.from(
          '{"id":1,"name":"x \\"q\\"","big":123456789012345678901234567890,"tags":{"n":12345678901234567890}}',
        ),
      ),
      rec('create', { id: 2 }, Buffer.from('not json')),
      rec('create', { id: 3 }, Buffer.from('[1,2]')),
    ]);
    const errs = errorsOf(out, 3);
    assert.equal(errs[0], undefined);
    assert.match(errs[1] ?? '', /payload\.after is raw data that is not JSON/);
    assert.match(errs[2] ?? '', /payload\.after is raw data holding JSON array, not an object/);
    assert.deepEqual(await rows(t, 'id, name, big::text, tags::text'), [
      { id: 1, name: 'x "q"', big: '123456789012345678901234567890', tags: '{"n": 12345678901234567890}' },
    ]);
  });

  it('fails a record with a field that is not a column, naming table and column; sees a column added later', async () => {
    const t = fresh('cols');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, v text)`);
    const d = await destination({ table: t });
    const out = await d.write([
      rec('create', { id: 1 }, { id: 1, v: 'a', x: 1 }),
      rec('create', { id: 2 }, { id: 2, v: 'b' }),
    ]);
    const errs = errorsOf(out, 2);
    assert.equal(errs[1], undefined);
    assert.match(
      errs[0] ?? '',
      new RegExp(
        `column "x" of record at position "p\\d+" \\(key \\{"id":1\\}\\) does not exist in table public\\.${t}; ` +
          'add it or drop the field with a field.exclude processor',
      ),
    );
    // The table changes under the cached columns: the destination looks again.
    await sql(`ALTER TABLE ${t} ADD COLUMN x int`);
    assertWritten(await d.write([rec('create', { id: 1 }, { id: 1, v: 'a', x: 1 })]));
    assert.deepEqual(await rows(t), [
      { id: 1, v: 'a', x: 1 },
      { id: 2, v: 'b', x: null },
    ]);
    // A dropped column fails in the statement: the batch is planned again with a fresh look.
    await sql(`ALTER TABLE ${t} DROP COLUMN x`);
    const again = errorsOf(
      await d.write([rec('create', { id: 3 }, { id: 3, x: 3 }), rec('create', { id: 4 }, { id: 4 })]),
      2,
    );
    assert.match(again[0] ?? '', /column "x" of record .* does not exist in table/);
    assert.equal(again[1], undefined);
  });

  it('fails the records of a missing table, naming it', async () => {
    const t = fresh('present');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    const d = await destination({});
    const out = await d.write([
      rec('create', { id: 1 }, { id: 1 }, { 'opencdc.collection': 'no_such_table_here' }),
      rec('create', { id: 1 }, { id: 1 }, { 'opencdc.collection': t }),
      rec('create', { id: 1 }, { id: 1 }, { 'opencdc.collection': 'nope_schema.tbl' }),
    ]);
    const errs = errorsOf(out, 3);
    assert.match(
      errs[0] ?? '',
      /table no_such_table_here \(from the table template .*\) does not exist in the search_path/,
    );
    assert.equal(errs[1], undefined);
    assert.match(errs[2] ?? '', /table nope_schema\.tbl .* does not exist/);
    assert.ok(out?.[0] instanceof ConduitError && out[0].code === 'postgres.table_not_found');
  });

  for (const n of [5, 601]) {
    it(`writes the others when one record of ${n} violates a constraint, naming table, record and key`, async () => {
      const t = fresh('bad');
      await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, qty int CONSTRAINT qty_positive CHECK (qty >= 0), note text)`);
      const warnings: string[] = [];
      const logger = createLogger({ level: 'warn', write: (l) => warnings.push(l) });
      const d = await destination({ table: t }, logger);
      const bad = n >> 1;
      const typeBad = bad + 1;
      const batch = Array.from({ length: n }, (_, i) =>
        rec('create', { id: i }, { id: i, qty: i === bad ? -1 : i === typeBad ? 'many' : i, note: `n${i}` }),
      );
      const errs = errorsOf(await d.write(batch), n);
      const failed = errs.flatMap((e, i) => (e === undefined ? [] : [i]));
      assert.deepEqual(failed, [bad, typeBad]);
      assert.match(
        errs[bad] ?? '',
        new RegExp(
          `record at position "${batch[bad]?.position.toString()}" \\(key \\{"id":${bad}\\}\\) was not written to table ` +
            `public\\.${t}: new row for relation "${t}" violates check constraint "qty_positive" \\(SQLSTATE 23514; ` +
            'detail: Failing row contains',
        ),
      );
      assert.match(errs[bad] ?? '', /constraint: qty_positive/);
      assert.match(errs[typeBad] ?? '', /invalid input syntax for type integer: "many" \(SQLSTATE 22P02/);
      const got = await rows(t, 'id');
      assert.equal(got.length, n - 2);
      assert.ok(!got.some((r) => r.id === bad || r.id === typeBad));
      assert.equal(warnings.length, 1, 'one warning about the failed batch');
    });
  }

  it('fails a record whose deferred constraint fails at commit, writing the others', async () => {
    const parent = fresh('parent');
    const child = fresh('child');
    await sql(`CREATE TABLE ${parent} (id int PRIMARY KEY);
      INSERT INTO ${parent} VALUES (1);
      CREATE TABLE ${child} (id int PRIMARY KEY, parent int REFERENCES ${parent} DEFERRABLE INITIALLY DEFERRED)`);
    const d = await destination({ table: child });
    const errs = errorsOf(
      await d.write([rec('create', { id: 1 }, { id: 1, parent: 1 }), rec('create', { id: 2 }, { id: 2, parent: 7 })]),
      2,
    );
    assert.equal(errs[0], undefined);
    assert.match(errs[1] ?? '', /violates foreign key constraint .*SQLSTATE 23503/);
    assert.deepEqual(await rows(child), [{ id: 1, parent: 1 }]);
  });

  describe('values of every kind', () => {
    const enumType = fresh('mood');
    const columns: Array<[string, string, unknown, string | null]> = [
      ['c_int2', 'int2', 32767, '32767'],
      ['c_int4', 'int4', -2147483648, '-2147483648'],
      ['c_int8', 'int8', 9007199254740993n, '9007199254740993'],
      ['c_int8_num', 'int8', 42, '42'],
      [
        'c_numeric',
        'numeric(40,20)',
        '12345678901234567890.12345678901234567890',
        '12345678901234567890.12345678901234567890',
      ],
      ['c_numeric_num', 'numeric(40,20)', 1.5, '1.50000000000000000000'],
      ['c_float8', 'float8', 0.1, '0.1'],
      ['c_float8_nan', 'float8', 'NaN', 'NaN'],
      ['c_float8_inf', 'float8', '-Infinity', '-Infinity'],
      ['c_bool', 'bool', true, 'true'],
      [
        'c_text',
        'text',
        'tab\there, line\nbreak\r, back\\slash, "quoted", ünïcödé €',
        'tab\there, line\nbreak\r, back\\slash, "quoted", ünïcödé €',
      ],
      ['c_varchar', 'varchar(20)', 'varchar', 'varchar'],
      ['c_bpchar', 'bpchar(5)', 'ab', 'ab   '],
      ['c_bytea', 'bytea', Buffer.from([0, 1, 0x5c, 0x0a, 0xfe, 0xff]), '\\x00015c0afeff'],
      ['c_uuid', 'uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
      ['c_json_text', 'json', '{"b": 1,  "a": [true, null]}', '{"b": 1,  "a": [true, null]}'],
      ['c_jsonb_text', 'jsonb', '{"b": 1, "a": "x"}', '{"a": "x", "b": 1}'],
      [
        'c_jsonb_obj',
        'jsonb',
        { z: 9007199254740993n, a: [1, 'two', null, { n: true }], s: 'quote " and \\' },
        '{"a": [1, "two", null, {"n": true}], "s": "quote \\" and \\\\", "z": 9007199254740993}',
      ],
      ['c_json_arr', 'json', [1, 'a', { b: 2 }], '[1,"a",{"b":2}]'],
      ['c_int4_arr', 'int4[]', [1, null, 3], '{1,NULL,3}'],
      [
        'c_text_arr',
        'text[]',
        ['plain', 'with "quotes"', null, 'NULL', '', 'comma,brace}', 'back\\slash'],
        '{plain,"with \\"quotes\\"",NULL,"NULL","","comma,brace}","back\\\\slash"}',
      ],
      [
        'c_int_2d',
        'int[]',
        [
          [1, 2],
          [3, null],
        ],
        '{{1,2},{3,NULL}}',
      ],
      ['c_int8_arr', 'int8[]', [9007199254740993n, -1], '{9007199254740993,-1}'],
      ['c_bytea_arr', 'bytea[]', [Buffer.from([1, 2]), null], '{"\\\\x0102",NULL}'],
      ['c_jsonb_arr', 'jsonb[]', [{ a: 1 }, '{"b": 2}'], '{"{\\"a\\": 1}","{\\"b\\": 2}"}'],
      ['c_enum', enumType, 'happy', 'happy'],
      ['c_date', 'date', '2024-02-29', '2024-02-29'],
      ['c_time', 'time', '13:14:15.123456', '13:14:15.123456'],
      ['c_timetz', 'timetz', '13:14:15.123456+05:30', '13:14:15.123456+05:30'],
      ['c_timestamp', 'timestamp', '2024-02-29T13:14:15.123456', '2024-02-29 13:14:15.123456'],
      ['c_timestamptz', 'timestamptz', '2024-02-29T13:14:15.123456Z', '2024-02-29 13:14:15.123456+00'],
      ['c_timestamptz_date', 'timestamptz', new Date('2024-01-02T03:04:05.678Z'), '2024-01-02 03:04:05.678+00'],
      ['c_interval', 'interval', 'P1Y2M3DT4H5M6.789S', '1 year 2 mons 3 days 04:05:06.789'],
      ['c_null', 'text', null, null],
    ];

    for (const n of [1, 300]) {
      it(`round-trip exactly through ${n === 1 ? 'VALUES' : 'COPY'}`, async () => {
        const t = fresh('types');
        await sql(
          `DO $$ BEGIN CREATE TYPE ${enumType} AS ENUM ('sad', 'happy'); EXCEPTION WHEN duplicate_object THEN END $$`,
        );
        await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, ${columns.map(([c, type]) => `${c} ${type}`).join(', ')})`);
        const d = await destination({ table: t });
        const batch = Array.from({ length: n }, (_, id) =>
          rec('snapshot', { id }, Object.fromEntries([['id', id], ...columns.map(([c, , v]) => [c, v])])),
        );
        assertWritten(await d.write(batch));
        // bpchar's own output keeps the padding (a cast to text would drop it).
        const select = columns.map(([c, type]) => (type.startsWith('bpchar') ? c : `${c}::text`));
        const got = await rows(t, `id, ${select.join(', ')}`);
        assert.equal(got.length, n);
        const want = Object.fromEntries(columns.map(([c, , , text]) => [c, text]));
        for (const row of got) {
          const { id, ...rest } = row;
          assert.deepEqual(rest, want, `row ${String(id)}`);
        }
      });
    }
  });

  it('leaves unchanged TOAST columns (postgres.toast.unchanged) as they are', async () => {
    const t = fresh('toast');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY, big text, other int, doc jsonb)`);
    const big = 'x'.repeat(100_000);
    await sql(`INSERT INTO ${t} VALUES (1, $1, 1, '{"k": "v"}'), (2, $1, 1, '{"k": "v"}')`, [big]);
    const d = await destination({ table: t });
    assertWritten(
      await d.write([
        // The placeholder policy: the field holds a placeholder.
        rec(
          'update',
          { id: 1 },
          { id: 1, big: '__conduit_unchanged_toast__', other: 2, doc: '__conduit_unchanged_toast__' },
          { [PgMetadata.ToastUnchanged]: 'big, doc' },
        ),
        // The omit policy: the field is absent.
        rec('update', { id: 2 }, { id: 2, other: 3 }, { [PgMetadata.ToastUnchanged]: 'big,doc' }),
      ]),
    );
    assert.deepEqual(await rows(t, 'id, length(big) AS big, other, doc::text'), [
      { id: 1, big: 100_000, other: 2, doc: '{"k": "v"}' },
      { id: 2, big: 100_000, other: 3, doc: '{"k": "v"}' },
    ]);
  });

  it('fails a delete without a key, and an upsert without a unique index on the key', async () => {
    const t = fresh('nouniq');
    await sql(`CREATE TABLE ${t} (a int, b int)`);
    const d = await destination({ table: t });
    const errs = errorsOf(await d.write([rec('delete', null, null), rec('create', { a: 1 }, { a: 1, b: 2 })]), 2);
    assert.match(errs[0] ?? '', /a delete needs a key/);
    assert.match(errs[1] ?? '', new RegExp(`table public\\.${t} has no primary key or unique index on \\(a\\)`));
  });

  it('connects as conduit-destination, tears down idempotently, and refuses a write before open', async () => {
    const d = await configuredDestination(plugin, { url: base, table: 'whatever' });
    await assert.rejects(d.write([]), /write before open/);
    await d.open();
    const r = await sql(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'conduit-destination'`,
    );
    assert.ok((r.rows[0] as { n: number }).n >= 1);
    await d.teardown();
    await d.teardown();
  });

  it('throws when the connection dies (the pipeline restarts), not a record error', async () => {
    const t = fresh('conn');
    await sql(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    const d = await destination({ table: t });
    assertWritten(await d.write([rec('create', { id: 1 }, { id: 1 })]));
    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'conduit-destination'`);
    await assert.rejects(d.write([rec('create', { id: 2 }, { id: 2 })]), (err: unknown) => {
      assert.ok(err instanceof ConduitError);
      assert.equal(err.code, 'connector.write_failed');
      assert.equal(err.retryable, true);
      return true;
    });
  });

  describe('connection errors never show the password', () => {
    const check = (err: unknown, secret: string) => {
      assert.ok(err instanceof ConduitError, `a ConduitError: ${String(err)}`);
      const shown = [
        err.message,
        err.stack ?? '',
        JSON.stringify(err.toJSON()),
        err.format(),
        err.cause instanceof Error ? `${err.cause.message} ${err.cause.stack ?? ''}` : '',
      ];
      for (const s of shown) assert.ok(!s.includes(secret), `shows the password: ${s}`);
      assert.equal(err.configPath, '/url');
    };

    it('when the port is closed', async () => {
      const port = await new Promise<number>((resolve) => {
        const srv = createServer();
        srv.listen(0, '127.0.0.1', () => {
          const p = (srv.address() as { port: number }).port;
          srv.close(() => resolve(p));
        });
      });
      const u = new URL(urlAs(base, PASSWORD_ROLE.user, PASSWORD_ROLE.password));
      u.port = String(port);
      const d = await configuredDestination(plugin, { url: u.toString(), table: 't' });
      const err = await d.open().then(
        () => undefined,
        (e: unknown) => e,
      );
      check(err, PASSWORD_ROLE.password);
      assert.match((err as Error).message, /ECONNREFUSED/);
      assert.match((err as Error).message, new RegExp(`postgres://${PASSWORD_ROLE.user}@127\\.0\\.0\\.1:${port}/`));
      await d.teardown();
      await d.teardown();
    });

    it('when the password is wrong', async () => {
      const wrong = 'not-the-password-3141';
      const d = await configuredDestination(plugin, { url: urlAs(base, PASSWORD_ROLE.user, wrong), table: 't' });
      const err = await d.open().then(
        () => undefined,
        (e: unknown) => e,
      );
      check(err, wrong);
      assert.match((err as Error).message, /password authentication failed/);
      assert.equal((err as ConduitError).retryable, false);
      await d.teardown();
    });
  });
});
