/**
 * Contract rule 4 for the postgres connector: kill -9 of the engine at any
 * instant loses nothing. A postgres → postgres pipeline through the built CLI,
 * while a writer keeps inserting, updating and deleting rows of the source
 * table. The engine is killed with SIGKILL three times during the snapshot and
 * three times during CDC, and restarted each time; in the end the destination
 * table equals the source table.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { waitFor } from '../../src/sdk/testing.js';
import { startConduit } from '../support/conduit-process.js';
import { postgresUrl } from '../servers/postgres.js';

const ROWS = 60_000;
const KILLS_IN_SNAPSHOT = 3;
const KILLS_IN_CDC = 3;

describe('postgres crash safety (kill -9)', () => {
  let dir = '';
  let pool: pg.Pool | undefined;
  const name = `crash_${process.pid}`;
  after(async () => {
    if (pool !== undefined) {
      await pool.query(
        'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active',
        [name],
      );
      await waitFor(
        async () =>
          (await pool?.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name]))
            ?.rowCount === 0,
        { message: 'slot released' },
      );
      await pool.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [name]);
      await pool.query(`DROP PUBLICATION IF EXISTS ${name}`);
      await pool.query(`DROP TABLE IF EXISTS ${name}_src, ${name}_dst`);
      await pool.end();
    }
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('ends with equal tables across SIGKILLs in the snapshot and in CDC', { timeout: 300_000 }, async (t) => {
    const url = await postgresUrl();
    const db = new pg.Pool({ connectionString: url, max: 3 });
    pool = db;
    const src = `${name}_src`;
    const dst = `${name}_dst`;
    for (const table of [src, dst]) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL, v text)`);
    }
    await db.query(`INSERT INTO ${src} SELECT g, 0, md5(g::text) FROM generate_series(1, ${ROWS}) g`);

    dir = await mkdtemp(join(tmpdir(), 'conduit-pg-crash-'));
    await mkdir(join(dir, 'pipelines'));
    await writeFile(
      join(dir, 'pipelines', 'copy.yaml'),
      [
        'version: "2.2"',
        'pipelines:',
        '  - id: copy',
        '    status: running',
        '    connectors:',
        '      - id: in',
        '        type: source',
        '        plugin: builtin:postgres',
        '        settings:',
        `          url: ${url}`,
        `          tables: ${src}`,
        `          logrepl.slotName: ${name}`,
        `          logrepl.publicationName: ${name}`,
        '          snapshot.fetchSize: "1000"',
        '      - id: out',
        '        type: destination',
        '        plugin: builtin:postgres',
        '        settings:',
        `          url: ${url}`,
        `          table: ${dst}`,
        '',
      ].join('\n'),
    );
    const args = [
      'run',
      '--pipelines.path',
      join(dir, 'pipelines'),
      '--db.sqlite.path',
      join(dir, 'conduit.db'),
      '--log.level',
      'warn',
    ];
    const count = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${dst}`)).rows[0]?.n ?? 0;
    const streaming = async () =>
      (await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])).rowCount === 1;

    // The writer changes rows already copied and rows not yet copied, all the time.
    let stop = false;
    let writes = 0;
    const writer = (async () => {
      const c = await db.connect();
      try {
        while (!stop) {
          const id = 1 + Math.floor(Math.random() * ROWS * 1.2);
          const op = writes % 3;
          if (op === 0) await c.query(`UPDATE ${src} SET n = n + 1 WHERE id = $1`, [id]);
          else if (op === 1) await c.query(`DELETE FROM ${src} WHERE id = $1`, [id]);
          else {
            await c.query(`INSERT INTO ${src} VALUES ($1, 1, 'new') ON CONFLICT (id) DO UPDATE SET n = ${src}.n + 1`, [
              id,
            ]);
          }
          writes++;
        }
      } finally {
        c.release();
      }
    })();

    let snapshotKills = 0;
    let cdcKills = 0;
    try {
      for (let k = 0; k < KILLS_IN_SNAPSHOT + KILLS_IN_CDC; k++) {
        const inSnapshot = k < KILLS_IN_SNAPSHOT;
        const before = await count();
        const writesBefore = writes;
        const p = startConduit(args, { cwd: dir });
        if (inSnapshot) {
          // Somewhere in the snapshot: some rows further, streaming not started yet.
          const target = before + 2_000 + Math.floor(Math.random() * 8_000);
          await waitFor(async () => (await count()) >= target || p.child.exitCode !== null, {
            timeoutMs: 60_000,
            intervalMs: 5,
            message: `snapshot progress to ${target} rows (run ${k + 1})`,
          });
          assert.equal(await streaming(), false, `run ${k + 1} finished the snapshot before the kill`);
        } else {
          await waitFor(async () => ((await streaming()) && writes > writesBefore + 200) || p.child.exitCode !== null, {
            timeoutMs: 60_000,
            intervalMs: 5,
            message: `streaming with changes (run ${k + 1})`,
          });
        }
        p.child.kill('SIGKILL');
        assert.equal(await p.exited, 137, `run ${k + 1} ended on its own: ${p.output()}`);
        if (inSnapshot) snapshotKills++;
        else cdcKills++;
      }
    } finally {
      stop = true;
      await writer;
    }

    const last = startConduit(args, { cwd: dir });
    const srcText = async () =>
      (await db.query<{ t: string }>(`SELECT coalesce(string_agg(s::text, ',' ORDER BY id), '') AS t FROM ${src} s`))
        .rows[0]?.t;
    const dstText = async () =>
      (await db.query<{ t: string }>(`SELECT coalesce(string_agg(d::text, ',' ORDER BY id), '') AS t FROM ${dst} d`))
        .rows[0]?.t;
    const expected = await srcText();
    await waitFor(async () => (await dstText()) === expected, {
      timeoutMs: 120_000,
      message: 'the destination table equals the source table',
    });
    last.child.kill('SIGTERM');
    assert.equal(await last.exited, 0, last.output());
    t.diagnostic(`${snapshotKills} kills in the snapshot, ${cdcKills} in CDC, ${writes} concurrent writes`);
  });
});
