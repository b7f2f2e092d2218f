import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import pg from 'pg';
import { postgresUrl } from '../../../test/servers/postgres.js';
import {
  COLUMN_FLAG_KEY,
  PgOutputDecoder,
  TRUNCATE_CASCADE,
  TRUNCATE_RESTART_IDENTITY,
  TupleKind,
  decodeCopyData,
  decodePgOutput,
  encodeStandbyStatus,
  formatLsn,
  parseLsn,
  pgTimeNow,
  pgTimeToDate,
  type CopyDataMessage,
  type PgOutputMessage,
  type TupleData,
} from './pgoutput.js';
import { SESSION_OPTIONS } from './types.js';

let url = '';
let db: pg.Client;
before(async () => {
  url = await postgresUrl();
  db = new pg.Client({ connectionString: url, options: SESSION_OPTIONS });
  await db.connect();
});
after(async () => {
  await db.end();
});

let seq = 0;
/** Names no other test (or run against the same server) uses. */
const unique = (what: string) => `pgo_${what}_${process.pid}_${++seq}`;

interface Change {
  lsn: bigint;
  data: Buffer;
}

/** A table, its publication and a pgoutput slot, dropped (slot first) when `body` ends. */
async function withSlot(
  ddl: (table: string) => string,
  body: (s: { table: string; pub: string; slot: string }) => Promise<void>,
): Promise<void> {
  const table = unique('t');
  const pub = unique('p');
  const slot = unique('s');
  await db.query(ddl(table));
  await db.query(`CREATE PUBLICATION ${pub} FOR TABLE ${table}`);
  await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  try {
    await body({ table, pub, slot });
  } finally {
    // A walsender that was just told to stop may hold the slot a moment longer.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await db.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [
        slot,
      ]);
      if (r.rows[0]?.active !== true || Date.now() > deadline) break;
      await delay(10);
    }
    await db.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
    await db.query(`DROP PUBLICATION ${pub}`);
    await db.query(`DROP TABLE ${table}`);
  }
}

/** Consumes the slot's pending changes: each row is one pgoutput message. */
async function changes(client: pg.Client, slot: string, pub: string, version = '1', extra: string[] = []) {
  const r = await client.query<{ lsn: string; data: Buffer }>(
    `SELECT lsn::text AS lsn, data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL,
       'proto_version', $2, 'publication_names', $3, 'messages', 'true'${extra.map((_, i) => `, $${i + 4}`).join('')})`,
    [slot, version, pub, ...extra],
  );
  return r.rows.map((row): Change => ({ lsn: parseLsn(row.lsn), data: row.data }));
}

const text = (t: TupleData | undefined) => {
  assert.ok(t !== undefined, 'tuple present');
  return Array.from(t.kinds, (k, i) => (k === TupleKind.Unchanged ? 'UNCHANGED' : t.values[i]));
};

function ofType<T extends PgOutputMessage['type']>(ms: PgOutputMessage[], type: T) {
  return ms.filter((m): m is Extract<PgOutputMessage, { type: T }> => m.type === type);
}

describe('pgoutput protocol 1 from a real server', () => {
  it('decodes begin, relation, insert, updates, delete, message, truncate and commit', async () => {
    await withSlot(
      (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, name text, big text, n int8);
              ALTER TABLE ${t} ALTER big SET STORAGE EXTERNAL`, // out of line, uncompressed: TOAST for sure
      async ({ table, pub, slot }) => {
        const big = 'x'.repeat(10_000);
        await db.query('BEGIN');
        const xid = await db.query<{ x: string }>(`SELECT pg_current_xact_id()::text AS x`);
        await db.query(`INSERT INTO ${table} VALUES (1, 'a', $1, 9007199254740993), (3, NULL, 'small', NULL)`, [big]);
        await db.query('COMMIT');
        await db.query(`UPDATE ${table} SET name = 'b' WHERE id = 1`); // big is not touched: 'u'
        await db.query(`UPDATE ${table} SET id = 2 WHERE id = 1`); // the key changes: a 'K' tuple
        await db.query(`DELETE FROM ${table} WHERE id = 2`);
        await db.query(`SELECT pg_logical_emit_message(true, 'conduit', 'héllo')`);
        await db.query(`SELECT pg_logical_emit_message(false, 'nontx', '\\x00ff'::bytea)`);
        await db.query(`TRUNCATE ${table} RESTART IDENTITY CASCADE`);

        const rows = await changes(db, slot, pub);
        const decoder = new PgOutputDecoder();
        const ms = rows.map((r) => decoder.decode(r.data));
        assert.deepEqual(
          ms.map((m) => m.type),
          [
            ...['begin', 'relation', 'insert', 'insert', 'commit'],
            ...['begin', 'update', 'commit'],
            ...['begin', 'update', 'commit'],
            ...['begin', 'delete', 'commit'],
            ...['begin', 'message', 'commit'],
            'message', // not transactional: on its own, no begin or commit
            ...['begin', 'relation', 'truncate', 'commit'], // TRUNCATE gives the table a new file: Relation again
          ],
        );

        const begin = ms[0] as Extract<PgOutputMessage, { type: 'begin' }>;
        assert.equal(begin.xid, Number(xid.rows[0]?.x));
        const commitTime = pgTimeToDate(begin.commitTime).getTime();
        assert.ok(Math.abs(commitTime - Date.now()) < 60_000, `commit time ${commitTime} is about now`);

        const rel = ofType(ms, 'relation')[0];
        assert.ok(rel !== undefined);
        assert.equal(rel.namespace, 'public');
        assert.equal(rel.name, table);
        assert.equal(rel.replicaIdentity, 'd');
        assert.equal(rel.xid, undefined);
        assert.deepEqual(
          rel.columns.map((c) => [c.name, c.typeOid, c.flags & COLUMN_FLAG_KEY, c.typeMod]),
          [
            ['id', 23, 1, -1],
            ['name', 25, 0, -1],
            ['big', 25, 0, -1],
            ['n', 20, 0, -1],
          ],
        );

        const [ins1, ins2] = ofType(ms, 'insert');
        assert.equal(ins1?.relationId, rel.relationId);
        assert.deepEqual(text(ins1?.newTuple), ['1', 'a', big, '9007199254740993']);
        assert.deepEqual(Array.from(ins2?.newTuple.kinds ?? []), [
          TupleKind.Text,
          TupleKind.Null,
          TupleKind.Text,
          TupleKind.Null,
        ]);
        assert.deepEqual(text(ins2?.newTuple), ['3', null, 'small', null]);

        const [upd1, upd2] = ofType(ms, 'update');
        assert.equal(upd1?.keyTuple, undefined);
        assert.equal(upd1?.oldTuple, undefined);
        assert.deepEqual(text(upd1?.newTuple), ['1', 'b', 'UNCHANGED', '9007199254740993']);
        assert.deepEqual(text(upd2?.keyTuple), ['1', null, null, null]);
        assert.equal(upd2?.oldTuple, undefined);
        assert.deepEqual(text(upd2?.newTuple), ['2', 'b', 'UNCHANGED', '9007199254740993']);

        const del = ofType(ms, 'delete')[0];
        assert.deepEqual(text(del?.keyTuple), ['2', null, null, null]);
        assert.equal(del?.oldTuple, undefined);

        const [msg, nontx] = ofType(ms, 'message');
        assert.equal(msg?.transactional, true);
        assert.equal(msg?.prefix, 'conduit');
        assert.equal(msg?.content.toString('utf8'), 'héllo');
        assert.equal(nontx?.transactional, false);
        assert.equal(nontx?.prefix, 'nontx');
        assert.deepEqual([...(nontx?.content ?? [])], [0, 255]);
        // The message's LSN is where its WAL record is, which is the row's position too.
        const nontxRow = nontx === undefined ? undefined : rows[ms.indexOf(nontx)];
        assert.equal(nontx?.lsn, nontxRow?.lsn);

        const trunc = ofType(ms, 'truncate')[0];
        assert.deepEqual(trunc?.relationIds, [rel.relationId]);
        assert.equal(trunc?.options, TRUNCATE_CASCADE | TRUNCATE_RESTART_IDENTITY);

        // Each commit: the begin's final LSN is the commit record; the row's LSN is its end.
        for (let i = 0; i < ms.length; i++) {
          const m = ms[i];
          if (m?.type !== 'commit') continue;
          const b = ms.slice(0, i).findLast((x) => x.type === 'begin');
          assert.ok(b?.type === 'begin');
          assert.equal(m.commitLsn, b.finalLsn);
          assert.equal(m.commitTime, b.commitTime);
          assert.equal(m.endLsn, rows[i]?.lsn);
          assert.ok(m.endLsn > m.commitLsn);
        }
      },
    );
  });

  it('sends the whole old row with REPLICA IDENTITY FULL', async () => {
    await withSlot(
      (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, v text, d date); ALTER TABLE ${t} REPLICA IDENTITY FULL`,
      async ({ table, pub, slot }) => {
        await db.query(`INSERT INTO ${table} VALUES (1, 'a', '2024-01-02')`);
        await db.query(`UPDATE ${table} SET v = 'b'`);
        await db.query(`DELETE FROM ${table}`);
        const decoder = new PgOutputDecoder();
        const ms = (await changes(db, slot, pub)).map((r) => decoder.decode(r.data));
        assert.equal(ofType(ms, 'relation')[0]?.replicaIdentity, 'f');
        const upd = ofType(ms, 'update')[0];
        assert.equal(upd?.keyTuple, undefined);
        assert.deepEqual(text(upd?.oldTuple), ['1', 'a', '2024-01-02']);
        assert.deepEqual(text(upd?.newTuple), ['1', 'b', '2024-01-02']);
        const del = ofType(ms, 'delete')[0];
        assert.equal(del?.keyTuple, undefined);
        assert.deepEqual(text(del?.oldTuple), ['1', 'b', '2024-01-02']);
      },
    );
  });

  it("decodes binary columns (the 'binary' option)", async () => {
    await withSlot(
      (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, v text)`,
      async ({ table, pub, slot }) => {
        await db.query(`INSERT INTO ${table} VALUES (258, NULL)`);
        const ms = (await changes(db, slot, pub, '1', ['binary', 'true'])).map((r) => decodePgOutput(r.data));
        const ins = ofType(ms, 'insert')[0];
        assert.deepEqual(Array.from(ins?.newTuple.kinds ?? []), [TupleKind.Binary, TupleKind.Null]);
        assert.deepEqual(ins?.newTuple.values, [Buffer.from([0, 0, 1, 2]), null]);
      },
    );
  });

  it('decodes the Origin of a transaction replicated from elsewhere', async () => {
    const origin = unique('o');
    await withSlot(
      (t) => `CREATE TABLE ${t} (id int PRIMARY KEY)`,
      async ({ table, pub, slot }) => {
        await db.query(`SELECT pg_replication_origin_create($1)`, [origin]);
        try {
          await db.query(`SELECT pg_replication_origin_session_setup($1)`, [origin]);
          await db.query('BEGIN');
          await db.query(`SELECT pg_replication_origin_xact_setup('1/ABCDEF', now())`);
          await db.query(`INSERT INTO ${table} VALUES (1)`);
          await db.query('COMMIT');
        } finally {
          await db.query(`SELECT pg_replication_origin_session_reset()`);
          await db.query(`SELECT pg_replication_origin_drop($1)`, [origin]);
        }
        const ms = (await changes(db, slot, pub)).map((r) => decodePgOutput(r.data));
        assert.deepEqual(
          ms.map((m) => m.type),
          ['begin', 'origin', 'relation', 'insert', 'commit'],
        );
        assert.deepEqual(ms[1], { type: 'origin', originLsn: parseLsn('1/ABCDEF'), name: origin });
      },
    );
  });

  it('decodes a Type message for a type that is not built in', async () => {
    const mood = unique('mood');
    await db.query(`CREATE TYPE ${mood} AS ENUM ('happy', 'sad')`);
    try {
      await withSlot(
        (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, m ${mood}, "Odd Name" text)`,
        async ({ table, pub, slot }) => {
          await db.query(`INSERT INTO ${table} VALUES (1, 'sad', 'x')`);
          const ms = (await changes(db, slot, pub)).map((r) => decodePgOutput(r.data));
          const oid = await db.query<{ oid: string }>(`SELECT $1::regtype::oid::text AS oid`, [mood]);
          const type = ofType(ms, 'type')[0];
          assert.deepEqual(type, {
            type: 'type',
            xid: undefined,
            typeOid: Number(oid.rows[0]?.oid),
            namespace: 'public',
            name: mood,
          });
          const rel = ofType(ms, 'relation')[0];
          assert.deepEqual(
            rel?.columns.map((c) => [c.name, c.typeOid]),
            [
              ['id', 23],
              ['m', type?.typeOid],
              ['Odd Name', 25],
            ],
          );
          assert.deepEqual(text(ofType(ms, 'insert')[0]?.newTuple), ['1', 'sad', 'x']);
        },
      );
    } finally {
      await db.query(`DROP TYPE ${mood}`);
    }
  });
});

describe('pgoutput protocol 2 streaming from a real server', () => {
  it("decodes stream start, changes with their xid, stream stop, a subtransaction's stream abort and stream commit", async () => {
    await withSlot(
      (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, pad text)`,
      async ({ table, pub, slot }) => {
        // A transaction bigger than the decoder's logical_decoding_work_mem is streamed before it commits;
        // its rolled-back savepoint (a subtransaction) is streamed too, then aborted.
        await db.query('BEGIN');
        const xid = Number((await db.query<{ x: string }>(`SELECT pg_current_xact_id()::text AS x`)).rows[0]?.x);
        await db.query(`INSERT INTO ${table} SELECT g, repeat('p', 100) FROM generate_series(1, 3000) g`);
        await db.query('SAVEPOINT s');
        await db.query(`INSERT INTO ${table} SELECT g, repeat('q', 100) FROM generate_series(5001, 8000) g`);
        const subXid = Number(
          (await db.query<{ x: string }>(`SELECT xmin::text AS x FROM ${table} WHERE id = 5001`)).rows[0]?.x,
        );
        await db.query('ROLLBACK TO SAVEPOINT s');
        await db.query('COMMIT');
        assert.notEqual(subXid, xid);

        // logical_decoding_work_mem is read by the session that decodes (here; a walsender in production).
        const decoding = new pg.Client({ connectionString: url, options: SESSION_OPTIONS });
        await decoding.connect();
        let rows: Change[];
        try {
          await decoding.query(`SET logical_decoding_work_mem = '64kB'`);
          rows = await changes(decoding, slot, pub, '2', ['streaming', 'on']);
        } finally {
          await decoding.end();
        }
        const decoder = new PgOutputDecoder();
        const ms = rows.map((r) => {
          const m = decoder.decode(r.data);
          if (m.type === 'insert' || m.type === 'relation') assert.ok(decoder.inStream, `${m.type} inside a stream`);
          return m;
        });
        assert.equal(decoder.inStream, false);
        assert.equal(ofType(ms, 'begin').length, 0, 'both transactions were streamed');

        const starts = ofType(ms, 'stream-start');
        assert.ok(starts.length >= 2, `${starts.length} stream blocks`);
        assert.equal(starts.length, ofType(ms, 'stream-stop').length);
        assert.ok(starts.every((st) => st.xid === xid));
        assert.deepEqual(
          starts.map((st) => st.first),
          starts.map((_, i) => i === 0),
        );

        const rel = ofType(ms, 'relation')[0];
        assert.equal(rel?.xid, xid);
        assert.equal(rel?.name, table);
        // A change carries the xid of the (sub)transaction that made it, not the top-level one.
        const inserts = ofType(ms, 'insert');
        const top = inserts.filter((m) => m.xid === xid);
        const sub = inserts.filter((m) => m.xid === subXid);
        assert.equal(top.length, 3000);
        // What was streamed of the savepoint before its rollback was decoded (the rest is never sent).
        assert.ok(sub.length > 0 && sub.length <= 3000, `${sub.length} streamed`);
        assert.equal(inserts.length, top.length + sub.length);
        assert.deepEqual(text(top[2999]?.newTuple), ['3000', 'p'.repeat(100)]);
        assert.deepEqual(text(sub[0]?.newTuple), ['5001', 'q'.repeat(100)]);

        const aborts = ofType(ms, 'stream-abort');
        assert.deepEqual(
          aborts.map((a) => [a.xid, a.subXid, a.abortLsn]),
          [[xid, subXid, undefined]], // Postgres 15 sends no abort LSN
        );

        const [commit, ...more] = ofType(ms, 'stream-commit');
        assert.equal(more.length, 0);
        assert.ok(commit !== undefined);
        assert.equal(ms.at(-1), commit);
        assert.equal(commit.xid, xid);
        assert.equal(commit.endLsn, rows.at(-1)?.lsn);
        assert.ok(commit.commitLsn < commit.endLsn);
        assert.ok(Math.abs(pgTimeToDate(commit.commitTime).getTime() - Date.now()) < 60_000);
      },
    );
  });
});

describe('replication protocol envelope on a real walsender', () => {
  it('decodes XLogData and keepalives, and the server takes our standby status update', async () => {
    await withSlot(
      (t) => `CREATE TABLE ${t} (id int PRIMARY KEY)`,
      async ({ table, pub, slot }) => {
        await db.query(`INSERT INTO ${table} VALUES (1)`);
        const repl = new pg.Client({
          connectionString: url,
          options: SESSION_OPTIONS,
          replication: 'database',
        } as pg.ClientConfig);
        await repl.connect();
        const con = (repl as unknown as { connection: PgConnection }).connection;
        const got: CopyDataMessage[] = [];
        const decoder = new PgOutputDecoder();
        const pgo: PgOutputMessage[] = [];
        let wake = () => {};
        con.on('copyData', (msg) => {
          const m = decodeCopyData(msg.chunk);
          got.push(m);
          if (m.type === 'xlog') pgo.push(decoder.decode(m.data));
          wake();
        });
        const until = async (what: string, ok: () => boolean) => {
          const deadline = Date.now() + 20_000;
          while (!ok()) {
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
            await new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, 200).unref();
            });
          }
        };
        const streaming = repl
          .query(`START_REPLICATION SLOT ${slot} LOGICAL 0/0 (proto_version '1', publication_names '${pub}')`)
          .catch(() => {});
        try {
          await until('the commit', () => pgo.some((m) => m.type === 'commit'));
          const xlog = got.filter((m) => m.type === 'xlog');
          assert.deepEqual(
            pgo.map((m) => m.type),
            ['begin', 'relation', 'insert', 'commit'],
          );
          const commit = pgo[3] as Extract<PgOutputMessage, { type: 'commit' }>;
          // XLogData's position for the commit is the end of the commit record, as in the SQL interface.
          assert.equal(xlog[3]?.walStart, commit.endLsn);
          // Begin and insert are at the change's WAL record. (Postgres 15 gives the Relation message 0/0: it is
          // no position to resume from.)
          assert.equal(xlog[0]?.walStart, xlog[2]?.walStart);
          assert.ok((xlog[2]?.walStart ?? 0n) > 0n && (xlog[2]?.walStart ?? 0n) < commit.commitLsn);
          assert.ok(xlog.every((m) => m.walEnd >= m.walStart && m.serverTime > 0n));
          // Caught up, the walsender tells us where the WAL ends.
          const caughtUp = (m: CopyDataMessage) => m.type === 'keepalive' && m.walEnd >= commit.endLsn;
          await until('a keepalive', () => got.some(caughtUp));
          const ka = got.find(caughtUp);
          assert.ok(ka?.type === 'keepalive');
          assert.ok(Math.abs(pgTimeToDate(ka.serverTime).getTime() - Date.now()) < 60_000);

          const keepalives = () => got.filter((m) => m.type === 'keepalive').length;
          const before = keepalives();
          con.sendCopyFromChunk(
            encodeStandbyStatus({
              write: commit.endLsn,
              flush: commit.endLsn,
              apply: commit.endLsn,
              replyRequested: true,
            }),
          );
          await until('the reply to our status update', () => keepalives() > before);
          // The walsender replies first, then moves the slot: poll the slot briefly.
          const deadline = Date.now() + 20_000;
          for (;;) {
            const r = await db.query<{ l: string | null }>(
              `SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1`,
              [slot],
            );
            const flushed = r.rows[0]?.l;
            if (flushed === formatLsn(commit.endLsn)) break;
            if (Date.now() > deadline) throw new Error(`confirmed_flush_lsn stayed ${flushed}`);
            await delay(10);
          }
        } finally {
          await repl.end();
          await streaming;
        }
      },
    );
  });
});

/** The parts of pg's internal Connection that a replication stream needs. */
interface PgConnection {
  on(event: 'copyData', listener: (msg: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
}

describe('pgoutput decoder, bytes in hand', () => {
  it('names an unknown message type', () => {
    assert.throws(() => decodePgOutput(Buffer.from('Zabc')), /unknown message type 'Z' \(0x5a\)/);
    assert.throws(() => decodePgOutput(Buffer.from([0x01])), /unknown message type 0x01/);
    assert.throws(() => decodePgOutput(Buffer.alloc(0)), /empty/);
  });

  it('rejects truncated and over-long messages', () => {
    // Insert into relation 7 of one text column 'abc'.
    const insert = Buffer.from([0x49, 0, 0, 0, 7, 0x4e, 0, 1, 0x74, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
    const m = decodePgOutput(insert);
    assert.ok(m.type === 'insert');
    assert.deepEqual(text(m.newTuple), ['abc']);
    for (let n = 1; n < insert.length; n++) {
      assert.throws(() => decodePgOutput(insert.subarray(0, n)), /pgoutput: malformed 'I'/, `cut at ${n}`);
    }
    assert.throws(() => decodePgOutput(Buffer.concat([insert, Buffer.from([0])])), /1 bytes left over/);
  });

  it('decodes a binary column as a copy', () => {
    const insert = Buffer.from([0x49, 0, 0, 0, 7, 0x4e, 0, 2, 0x62, 0, 0, 0, 2, 0xde, 0xad, 0x75]);
    const m = decodePgOutput(insert);
    assert.ok(m.type === 'insert');
    assert.deepEqual(Array.from(m.newTuple.kinds), [TupleKind.Binary, TupleKind.Unchanged]);
    assert.deepEqual(m.newTuple.values, [Buffer.from([0xde, 0xad]), null]);
    insert.fill(0);
    assert.deepEqual(m.newTuple.values[0], Buffer.from([0xde, 0xad]));
  });

  it('reads the xid of a stream block only inside one', () => {
    const d = new PgOutputDecoder();
    assert.deepEqual(d.decode(Buffer.from([0x53, 0, 0, 2, 0, 1])), { type: 'stream-start', xid: 512, first: true });
    const ins = d.decode(Buffer.from([0x49, 0, 0, 2, 0, 0, 0, 0, 7, 0x4e, 0, 1, 0x6e]));
    assert.deepEqual(ins, {
      type: 'insert',
      xid: 512,
      relationId: 7,
      newTuple: { kinds: Uint8Array.of(0x6e), values: [null] },
    });
    assert.deepEqual(d.decode(Buffer.from([0x45])), { type: 'stream-stop' });
    assert.equal(d.inStream, false);
    const outside = d.decode(Buffer.from([0x49, 0, 0, 0, 7, 0x4e, 0, 1, 0x6e]));
    assert.ok(outside.type === 'insert' && outside.xid === undefined && outside.relationId === 7);
  });

  it('encodes a standby status update as Postgres reads it', () => {
    const b = encodeStandbyStatus({ write: 0x16b374d848n, flush: 2n, apply: 3n, clock: 4n, replyRequested: true });
    assert.equal(
      b.toString('hex'),
      '72' + '00000016b374d848' + '0000000000000002' + '0000000000000003' + '0000000000000004' + '01',
    );
    const now = encodeStandbyStatus({ write: 0n, flush: 0n, apply: 0n });
    assert.equal(now[33], 0);
    const clock = now.readBigInt64BE(25);
    assert.ok(clock <= pgTimeNow() && pgTimeNow() - clock < 5_000_000n);
  });

  it('rejects CopyData it does not know', () => {
    assert.throws(() => decodeCopyData(Buffer.from('x')), /unknown CopyData message 'x'/);
    assert.throws(() => decodeCopyData(Buffer.from('w123')), /truncated/);
  });
});

describe('LSN text', () => {
  it('formats and parses as Postgres does', () => {
    assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
    assert.equal(formatLsn(0n), '0/0');
    assert.equal(formatLsn((1n << 64n) - 1n), 'FFFFFFFF/FFFFFFFF');
    assert.equal(parseLsn('16/b374d848'), 0x16b374d848n);
    assert.equal(parseLsn('00000000/00000001'), 1n);
    assert.throws(() => formatLsn(-1n), RangeError);
    assert.throws(() => formatLsn(1n << 64n), RangeError);
  });

  it('round-trips every LSN', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (lsn) => parseLsn(formatLsn(lsn)) === lsn));
  });

  it('throws on garbage', () => {
    for (const bad of [
      '',
      '16',
      '16/',
      '/1',
      '16/B374D848 ',
      ' 16/1',
      '1/2/3',
      'G/1',
      '123456789/0',
      '0/123456789',
      '-1/0',
      '0x1/0',
      '1.5/0',
    ]) {
      assert.throws(() => parseLsn(bad), /invalid LSN/, bad);
    }
  });

  it('agrees with the server', async () => {
    const r = await db.query<{ a: string; b: string }>(
      `SELECT '16/b374d848'::pg_lsn::text AS a, pg_current_wal_lsn()::text AS b`,
    );
    assert.equal(formatLsn(parseLsn('16/b374d848')), r.rows[0]?.a);
    const b = r.rows[0]?.b ?? '';
    assert.equal(formatLsn(parseLsn(b)), b);
  });
});
