/**
 * Snapshot progress through the HTTP API and the CLI: a postgres → postgres
 * pipeline under `conduit run`, its snapshot held part-way (a SHARE lock on the
 * destination table blocks its writes, so the pipeline's byte budget stops the
 * source), then `conduit pipelines describe` shows rows read of the estimate per
 * table, and `--json` carries the same in the pipeline's extension field
 * `sourceProgress`. Released, the snapshot ends and the line says "done".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { waitFor } from '../../src/sdk/testing.js';
import { postgresUrl } from '../servers/postgres.js';
import { CliServer, type Run } from '../support/cli-server.js';

const TOKEN = 'progress-token-0123456789abcdef';
const ROWS = 20_000;
const name = `cliprog_${process.pid}`;
const src = `${name}_src`;
const dst = `${name}_dst`;

const server = new CliServer(TOKEN);
let pool: pg.Pool;
let lock: pg.PoolClient | undefined;

interface SnapshotJson {
  collection: string;
  rows: string;
  estimatedRows: string;
  done: boolean;
}
interface PipelineJson {
  id: string;
  sourceProgress: Array<{ connectorId: string; plugin: string; snapshot?: SnapshotJson[] }>;
}

async function describeJson(): Promise<PipelineJson> {
  const r = await server.run(['pipelines', 'describe', 'prog', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const env = JSON.parse(r.stdout.trim()) as { ok: boolean; result: PipelineJson };
  assert.equal(env.ok, true);
  return env.result;
}

async function describeHuman(): Promise<Run> {
  const r = await server.run(['pipelines', 'describe', 'prog']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r;
}

/** The line of the source table in the human output's Snapshot section. */
function progressLine(r: Run): string | undefined {
  const at = r.stdout.indexOf('\nSnapshot:\n');
  if (at < 0) return undefined;
  return r.stdout
    .slice(at)
    .split('\n')
    .find((l) => l.includes(src));
}

before(async () => {
  const url = await postgresUrl();
  pool = new pg.Pool({ connectionString: url, max: 3 });
  for (const table of [src, dst]) {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
  }
  await pool.query(`INSERT INTO ${src} SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, ${ROWS}) g`);
  await pool.query(`ANALYZE ${src}`); // the planner's estimate is then exact
  lock = await pool.connect();
  await lock.query('BEGIN');
  await lock.query(`LOCK TABLE ${dst} IN SHARE MODE`);
  await server.start(
    'conduit-cli-progress-',
    () => `version: "2.2"
pipelines:
  - id: prog
    status: running
    connectors:
      - id: in
        type: source
        plugin: postgres
        settings:
          url: ${JSON.stringify(url)}
          tables: ${src}
          logrepl.slotName: ${name}
          logrepl.publicationName: ${name}
          snapshot.fetchSize: "500"
      - id: out
        type: destination
        plugin: postgres
        settings:
          url: ${JSON.stringify(url)}
          table: ${dst}
`,
  );
});

after(async () => {
  await lock?.query('ROLLBACK').catch(() => undefined);
  lock?.release();
  await server.stop();
  await pool.query(
    'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active',
    [name],
  );
  await waitFor(
    async () =>
      (await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])).rowCount === 0,
    { message: 'slot released' },
  );
  await pool.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [name]);
  await pool.query(`DROP PUBLICATION IF EXISTS ${name}`);
  await pool.query(`DROP TABLE IF EXISTS ${src}, ${dst}`);
  await pool.end();
});

describe('conduit pipelines describe: snapshot progress', () => {
  it('shows rows of the estimate while the snapshot is held, then done', { timeout: 60_000 }, async () => {
    await waitFor(
      async () =>
        (await pool.query('SELECT 1 FROM pg_locks WHERE relation = $1::regclass AND NOT granted', [dst])).rowCount! > 0,
      { timeoutMs: 30_000, message: 'the destination waits on the lock' },
    );
    // Held: the source reads until the byte budget is full, then waits.
    const mid = await waitFor(
      async () => {
        const p = await describeJson();
        const snap = p.sourceProgress.find((s) => s.connectorId === 'prog:in')?.snapshot?.[0];
        return snap !== undefined && Number(snap.rows) > 0 ? { p, snap } : undefined;
      },
      { timeoutMs: 20_000, message: 'the snapshot progress is reported' },
    );
    assert.deepEqual(
      mid.p.sourceProgress.map((s) => [s.connectorId, s.plugin]),
      [['prog:in', 'postgres']],
      'one entry, for the source',
    );
    assert.equal(mid.snap.collection, src);
    assert.equal(mid.snap.estimatedRows, String(ROWS));
    assert.equal(mid.snap.done, false);
    assert.ok(Number(mid.snap.rows) < ROWS, `held part-way: ${mid.snap.rows} rows`);

    const held = await describeHuman();
    const line = progressLine(held);
    assert.match(
      line ?? '',
      new RegExp(`^  prog:in\\s+${src}\\s+[\\d,]+ of 20,000 rows \\(\\d{1,2}%\\)$`),
      held.stdout,
    );
    const [, shown] = /([\d,]+) of/.exec(line ?? '') ?? [];
    assert.ok(Number((shown ?? '').replace(/,/g, '')) < ROWS, 'the human line shows the part read');

    await lock?.query('COMMIT');
    const done = await waitFor(
      async () => {
        const snap = (await describeJson()).sourceProgress[0]?.snapshot?.[0];
        return snap?.done === true ? snap : undefined;
      },
      { timeoutMs: 30_000, message: 'the snapshot is done' },
    );
    assert.equal(done.rows, String(ROWS));
    assert.match(
      progressLine(await describeHuman()) ?? '',
      new RegExp(`^  prog:in\\s+${src}\\s+done \\(20,000 rows\\)$`),
    );
  });

  it('shows no snapshot section once the pipeline is stopped', { timeout: 30_000 }, async () => {
    const stop = await server.run(['pipelines', 'stop', 'prog']);
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    const p = await describeJson();
    assert.deepEqual(p.sourceProgress, []);
    assert.equal(progressLine(await describeHuman()), undefined);
  });
});
