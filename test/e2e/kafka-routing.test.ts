/**
 * Topics routed per table from a multi-table source, end to end: a pipeline
 * of the engine reads two PostgreSQL tables (snapshot, then CDC) and writes
 * to a kafka destination whose `topic` is a template on the record's
 * `opencdc.collection`. Each table's rows must land in its own topic (and
 * only there), every change once, and the changes of one key in the order
 * they were committed (Kafka keeps order per partition; a key always goes to
 * the same partition).
 *
 * Needs the test broker (`eval "$(bash scripts/servers/kafka.sh start)"`);
 * PostgreSQL is CONDUIT_TEST_PG_URL, or a private cluster started on demand.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import pg from 'pg';
import { kafkaPlugin } from '../../src/connectors/kafka/index.js';
import { decodePosition } from '../../src/connectors/kafka/position.js';
import { Engine } from '../../src/engine/engine.js';
import { PipelineStatus } from '../../src/engine/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import { DEFAULT_DLQ, type PipelineConfig } from '../../src/provisioning/types.js';
import { assertDrained, configuredSource, readN } from '../../src/sdk/conformance.js';
import { waitFor } from '../../src/sdk/testing.js';
import { MemoryStore } from '../../src/store/memory.js';
import { postgresUrl } from '../servers/postgres.js';

const SNAPSHOT_ROWS = 40;
/** CDC rounds: each updates the first UPDATED rows of both tables (n = round) and inserts one row. */
const ROUNDS = 5;
const UPDATED = 15;
/** Then one row of each table is updated HOT_UPDATES times in a row (n = 1, 2, …): its changes share batches. */
const HOT_ID = SNAPSHOT_ROWS;
const HOT_UPDATES = 20;
const PARTITIONS = 3;

function kafkaServers(): string {
  const v = process.env.CONDUIT_TEST_KAFKA_SERVERS;
  if (v === undefined || v === '') {
    throw new Error('CONDUIT_TEST_KAFKA_SERVERS is not set: eval "$(bash scripts/servers/kafka.sh start)" first');
  }
  return v;
}

/** One change as read back from Kafka: the partition it was in, its key, and what the value says. */
interface Change {
  partition: number;
  key: string;
  collection: string;
  operation: string;
  id: number;
  n: number;
}

describe('kafka destination in a pipeline from a multi-table postgres source', () => {
  const name = `kroute_${process.pid}_${Date.now().toString(36)}`;
  const tables = [`${name}_users`, `${name}_orders`] as const;
  const topicOf = (table: string) => `conduit-e2e.${table}`;
  let servers = '';
  let pool: pg.Pool | undefined;
  let admin: Admin | undefined;
  let engine: Engine | undefined;

  before(async () => {
    servers = kafkaServers();
    pool = new pg.Pool({ connectionString: await postgresUrl(), max: 3 });
    admin = new Admin({ clientId: 'conduit-e2e', bootstrapBrokers: [servers] });
  });

  after(async () => {
    await engine?.shutdown(5_000);
    if (pool !== undefined) {
      const db = pool;
      await db.query(
        'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active',
        [name],
      );
      await waitFor(
        async () =>
          (await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])).rowCount === 0,
        { message: `slot ${name} released` },
      );
      await db.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [name]);
      await db.query(`DROP PUBLICATION IF EXISTS ${name}`);
      for (const t of tables) await db.query(`DROP TABLE IF EXISTS ${t}`);
      await db.end();
    }
    if (admin !== undefined) {
      await admin.deleteTopics({ topics: tables.map(topicOf) }).catch(() => undefined);
      await admin.close();
    }
  });

  it('writes each table to its own topic, every change once, in order per key', { timeout: 60_000 }, async () => {
    const db = pool as pg.Pool;
    for (const t of tables) {
      await db.query(`CREATE TABLE ${t} (id int PRIMARY KEY, n int NOT NULL, note text NOT NULL)`);
      await db.query(`INSERT INTO ${t} SELECT g, 0, $1 || g FROM generate_series(1, ${SNAPSHOT_ROWS}) g`, [t]);
    }
    // Several partitions, so that "in order per key" is about the key → partition mapping, not one log.
    await (admin as Admin).createTopics({ topics: tables.map(topicOf), partitions: PARTITIONS, replicas: 1 });

    const store = new MemoryStore();
    await store.init();
    engine = new Engine({
      store,
      registry: builtinRegistry(),
      logger: silentLogger,
      recovery: { minDelay: 10, maxDelay: 50, backoffFactor: 2, maxRetries: 0, maxRetriesWindow: 60_000 },
    });
    await engine.init();
    await engine.provision([
      pipeline(name, {
        source: {
          url: await postgresUrl(),
          tables: tables.join(','),
          'logrepl.slotName': name,
          'logrepl.publicationName': name,
        },
        destination: {
          servers,
          topic: 'conduit-e2e.{{ index .Metadata "opencdc.collection" }}',
          // Small batches: the changes of the hot row span many produce requests, and share each of them.
          'sdk.batch.size': '7',
        },
      }),
    ]);
    await engine.startDesired();

    // CDC starts once the snapshot of both tables is written; the changes below are then captured, not read.
    await waitFor(
      async () =>
        (await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [name])).rowCount === 1,
      { timeoutMs: 30_000, message: 'streaming started after the snapshot' },
    );
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of tables) {
        await db.query(`UPDATE ${t} SET n = $1 WHERE id <= ${UPDATED}`, [round]);
        await db.query(`INSERT INTO ${t} VALUES ($1, $2, 'new')`, [SNAPSHOT_ROWS + round, round]);
      }
    }
    for (const t of tables) {
      for (let n = 1; n <= HOT_UPDATES; n++) await db.query(`UPDATE ${t} SET n = $1 WHERE id = ${HOT_ID}`, [n]);
    }

    const perTopic = SNAPSHOT_ROWS + ROUNDS * (UPDATED + 1) + HOT_UPDATES;
    for (const table of tables) {
      const got = await readAll(servers, topicOf(table), perTopic);

      // Only this table's rows, and all of them: the snapshot, every update and every insert.
      assert.deepEqual([...new Set(got.map((c) => c.collection))], [table], `${topicOf(table)} holds only ${table}`);
      const ops = (op: string) => got.filter((c) => c.operation === op).length;
      assert.deepEqual(
        { snapshot: ops('snapshot'), update: ops('update'), create: ops('create') },
        { snapshot: SNAPSHOT_ROWS, update: ROUNDS * UPDATED + HOT_UPDATES, create: ROUNDS },
      );

      // Per key: one partition, and the values in commit order.
      const byKey = new Map<string, Change[]>();
      for (const c of got) byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
      assert.equal(byKey.size, SNAPSHOT_ROWS + ROUNDS);
      for (const [key, changes] of byKey) {
        assert.equal(new Set(changes.map((c) => c.partition)).size, 1, `${key} stays in one partition`);
        const id = changes[0]?.id ?? 0;
        const want =
          id <= UPDATED
            ? upTo(ROUNDS)
            : id === HOT_ID
              ? upTo(HOT_UPDATES)
              : id < SNAPSHOT_ROWS
                ? [0]
                : [id - SNAPSHOT_ROWS];
        assert.deepEqual(
          changes.map((c) => c.n),
          want,
          `${table} ${key}: the values in commit order`,
        );
        assert.equal(key, JSON.stringify({ id }), 'the message key is the row key');
      }
      // The keys were spread over the partitions (else the order check above says little).
      assert.ok(new Set(got.map((c) => c.partition)).size > 1, 'more than one partition used');
    }
    assert.equal(engine.get(name)?.state.status, PipelineStatus.Running);
  });
});

/** [0, 1, …, n] */
function upTo(n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => i);
}

function pipeline(
  id: string,
  settings: { source: Record<string, string>; destination: Record<string, string> },
): PipelineConfig {
  return {
    id,
    status: 'running',
    name: id,
    description: '',
    processors: [],
    dlq: DEFAULT_DLQ,
    connectors: [
      {
        id: `${id}:pg`,
        type: 'source',
        plugin: 'postgres',
        pluginRef: 'builtin:postgres',
        name: 'pg',
        settings: settings.source,
        processors: [],
      },
      {
        id: `${id}:kafka`,
        type: 'destination',
        plugin: 'kafka',
        pluginRef: 'builtin:kafka',
        name: 'kafka',
        settings: settings.destination,
        processors: [],
      },
    ],
  };
}

/**
 * Every message of a topic, read from the beginning by a kafka source of its
 * own (every partition, no group), partition by partition in offset order; and
 * nothing more after the `n`-th.
 */
async function readAll(servers: string, topic: string, n: number): Promise<Change[]> {
  const src = await configuredSource(kafkaPlugin, { servers, topics: topic, readFromBeginning: 'true' });
  try {
    await src.open(null);
    const records = await readN(src, n, 30_000);
    await assertDrained(src, 300);
    return records.map((r) => {
      const value = JSON.parse(Buffer.from(r.payload.after as Uint8Array).toString('utf8')) as {
        operation: string;
        metadata: Record<string, string>;
        payload: { after: { id: number; n: number } };
      };
      return {
        partition: decodePosition(r.position).partition,
        key: Buffer.from(r.key as Uint8Array).toString('utf8'),
        collection: value.metadata['opencdc.collection'] as string,
        operation: value.operation,
        id: value.payload.after.id,
        n: value.payload.after.n,
      };
    });
  } finally {
    await src.teardown();
  }
}
