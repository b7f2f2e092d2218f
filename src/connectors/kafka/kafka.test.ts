/**
 * The kafka connector against a real Apache Kafka broker
 * (`eval "$(bash scripts/servers/kafka.sh start)"`): the conformance suites,
 * metadata and headers, a consumer group shared by two sources, topics routed
 * per collection, TLS and SASL, and a broker killed and restarted mid-stream.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, ListOffsetTimestamps, Producer } from '@platformatic/kafka';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Source } from '../../sdk/connector.js';
import {
  configuredDestination,
  configuredSource,
  dataRecords,
  destinationConformance,
  readN,
  sampleRecords,
  sourceConformance,
} from '../../sdk/conformance.js';
import type { Settings } from '../../sdk/params.js';
import { waitFor } from '../../sdk/testing.js';
import { kafkaPlugin } from './index.js';
import { decodePosition } from './position.js';

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(`${name} is not set: start the test broker first: eval "$(bash scripts/servers/kafka.sh start)"`);
  }
  return v;
}

const servers = env('CONDUIT_TEST_KAFKA_SERVERS');
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
const text = (d: unknown) => Buffer.from(d as Uint8Array).toString('utf8');

let admin: Admin;
let producer: Producer<Buffer, Buffer, Buffer, Buffer>;
let probe: Consumer;
before(() => {
  probe = new Consumer({ clientId: 'conduit-test', groupId: 'conduit-test-probe', bootstrapBrokers: [servers] });
  admin = new Admin({ clientId: 'conduit-test', bootstrapBrokers: [servers] });
  producer = new Producer({ clientId: 'conduit-test', bootstrapBrokers: [servers], autocreateTopics: false });
});
after(async () => {
  await producer.close();
  await probe.close();
  await admin.close();
});

async function createTopic(partitions = 1, prefix = 'conduit-test'): Promise<string> {
  const topic = unique(prefix);
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  return topic;
}

async function produce(topic: string, values: readonly string[], partition?: number): Promise<void> {
  await producer.send({
    messages: values.map((v) => ({
      topic,
      key: Buffer.from(`k-${v}`),
      value: Buffer.from(v),
      ...(partition === undefined ? {} : { partition }),
    })),
  });
}

/** Every message of a one-partition topic, read by a source of its own. */
async function readTopic(topic: string, n: number, settings: Settings = { servers }): Promise<OpenCDCRecord[]> {
  const src = await configuredSource(kafkaPlugin, { ...settings, topics: topic, readFromBeginning: 'true' });
  try {
    await src.open(null);
    return await readN(src, n, 15_000);
  } finally {
    await src.teardown();
  }
}

sourceConformance({
  plugin: kafkaPlugin,
  timeoutMs: 10_000,
  async fixture() {
    const topic = await createTopic();
    let i = 0;
    return {
      settings: { servers, topics: topic, readFromBeginning: 'true' },
      async produce(n) {
        const values = Array.from({ length: n }, () => `m-${i++}`);
        await produce(topic, values);
        return values;
      },
    };
  },
  identify: (r) => text(r.payload.after),
  invalid: [
    { settings: { servers: 'no-port' }, param: 'servers' },
    { settings: { saslMechanism: 'PLAIN' }, param: 'saslUsername' },
    { settings: { saslMechanism: 'OAUTHBEARER' }, param: 'saslMechanism' },
    { settings: { commitOffsetsSize: '0' }, param: 'commitOffsetsSize' },
    { settings: { caCert: '/nonexistent/ca.pem' }, param: 'caCert' },
  ],
});

destinationConformance({
  plugin: kafkaPlugin,
  timeoutMs: 10_000,
  async fixture() {
    const topic = await createTopic();
    return {
      settings: { servers, topic },
      async readBack() {
        const offsets = await probe.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST });
        const end = Number(offsets.get(topic)?.[0] ?? 0n);
        if (end === 0) return [];
        return (await readTopic(topic, end)).map((r) => text(r.payload.after));
      },
    };
  },
  invalid: [
    { settings: { acks: 'some' }, param: 'acks' },
    { settings: { compression: 'brotli' }, param: 'compression' },
    { settings: { topic: '{{ .Nope' }, param: 'topic' },
  ],
});

describe('kafka source', () => {
  it('gives key and value raw, the topic as collection, the timestamp and the headers as metadata', async () => {
    const topic = await createTopic();
    const before = Date.now();
    await producer.send({
      messages: [
        {
          topic,
          key: Buffer.from([0, 1, 2]),
          value: Buffer.from('{"a":1}'),
          headers: new Map([[Buffer.from('trace'), Buffer.from('abc')]]),
        },
      ],
    });
    const [r] = await readTopic(topic, 1);
    assert.ok(r);
    assert.deepEqual(Buffer.from(r.key as Uint8Array), Buffer.from([0, 1, 2]));
    assert.equal(text(r.payload.after), '{"a":1}');
    assert.equal(r.operation, 'create');
    assert.equal(r.metadata['opencdc.collection'], topic);
    assert.equal(r.metadata['kafka.header.trace'], 'abc');
    const createdMs = Number(BigInt(r.metadata['opencdc.createdAt'] ?? '0') / 1_000_000n);
    assert.ok(createdMs >= before - 1000 && createdMs <= Date.now() + 1000, `createdAt ${createdMs}`);
  });

  it('reads every partition without a group, and resumes each from the position alone', async () => {
    const topic = await createTopic(3);
    for (let p = 0; p < 3; p++) await produce(topic, [`p${p}-a`, `p${p}-b`], p);
    const settings = { servers, topics: topic, readFromBeginning: 'true' };
    const a = await configuredSource(kafkaPlugin, settings);
    await a.open(null);
    const first = await readN(a, 6, 10_000);
    assert.deepEqual(first.map((r) => text(r.payload.after)).sort(), ['p0-a', 'p0-b', 'p1-a', 'p1-b', 'p2-a', 'p2-b']);
    await a.teardown();
    for (let p = 0; p < 3; p++) await produce(topic, [`p${p}-c`], p);
    const b = await configuredSource(kafkaPlugin, settings);
    await b.open((first.at(-1) as OpenCDCRecord).position);
    const rest = await readN(b, 3, 10_000);
    assert.deepEqual(rest.map((r) => text(r.payload.after)).sort(), ['p0-c', 'p1-c', 'p2-c']);
    await b.teardown();
  });

  it('reports the records not yet handed out as lagRecords', async () => {
    const topic = await createTopic(2);
    await produce(topic, ['a', 'b', 'c', 'd', 'e', 'f'], 0);
    await produce(topic, ['g', 'h', 'i', 'j'], 1);
    const src = await configuredSource(kafkaPlugin, { servers, topics: topic, readFromBeginning: 'true' });
    try {
      await src.open(null);
      assert.deepEqual(src.progress?.(), {}, 'nothing is known before the first fetch');
      const first = await src.read(3, new AbortController().signal);
      assert.equal(src.progress?.().lagRecords, 10 - first.length);
      await readN(src, 10 - first.length, 10_000);
      assert.equal(src.progress?.().lagRecords, 0);
      await produce(topic, ['k', 'l', 'm', 'n', 'o'], 1);
      const more = await src.read(1, new AbortController().signal);
      assert.equal(more.length, 1);
      assert.equal(src.progress?.().lagRecords, 4);
    } finally {
      await src.teardown();
    }
  });

  it('shares the partitions of a consumer group between two sources and commits only acked offsets', async () => {
    const topic = await createTopic(4);
    const group = unique('group');
    const settings = { servers, topics: topic, groupID: group, readFromBeginning: 'true', commitOffsetsDelay: '0s' };
    const values = Array.from({ length: 200 }, (_, i) => `v-${i}`);
    for (let p = 0; p < 4; p++) await produce(topic, values.slice(p * 50, p * 50 + 50), p);
    const sources: Source[] = [];
    try {
      const a = await configuredSource(kafkaPlugin, settings);
      sources.push(a);
      await a.open(null);
      const b = await configuredSource(kafkaPlugin, settings);
      sources.push(b);
      await b.open(null);
      const got = [new Map<string, number>(), new Map<string, number>()];
      const ac = new AbortController();
      const seen = () => new Set([...got[0]!.keys(), ...got[1]!.keys()]);
      const loops = [a, b].map(async (src, i) => {
        while (!ac.signal.aborted) {
          const batch = dataRecords(await src.read(100, ac.signal));
          for (const r of batch) {
            const pos = decodePosition(r.position);
            got[i]!.set(text(r.payload.after), pos.partition);
          }
          if (batch.length > 0) await src.ack(batch.map((r) => r.position));
        }
      });
      await waitFor(() => seen().size === 200 && got[0]!.size > 0 && got[1]!.size > 0, {
        timeoutMs: 30_000,
        message: 'both members reading, all 200 messages seen',
      });
      ac.abort();
      await Promise.all(loops);
      assert.deepEqual([...seen()].sort(), [...values].sort());
      // A partition belongs to one member at a time, except around the rebalance (at-least-once).
      const pa = new Set(got[0]!.values());
      const pb = new Set(got[1]!.values());
      assert.ok(pa.size > 0 && pb.size > 0 && pa.size + pb.size >= 4, `partitions ${[...pa]} / ${[...pb]}`);
      for (const s of sources.splice(0)) await s.teardown();
      // Everything was acked and committed: a new member reads only what comes next.
      await produce(topic, ['after-0'], 0);
      const c = await configuredSource(kafkaPlugin, settings);
      sources.push(c);
      await c.open(null);
      const next = await readN(c, 1, 20_000);
      assert.deepEqual(
        next.map((r) => text(r.payload.after)),
        ['after-0'],
      );
    } finally {
      for (const s of sources) await s.teardown();
    }
  });
});

describe('kafka destination', () => {
  it('routes records to a topic per collection, with the record key and metadata headers', async () => {
    const prefix = unique('routed');
    const records = sampleRecords(0, 6).map((r, i) => ({
      ...r,
      metadata: { ...r.metadata, 'opencdc.collection': `${prefix}-${i % 2 === 0 ? 'users' : 'orders'}` },
    }));
    const dst = await configuredDestination(kafkaPlugin, { servers, 'headers.metadata': 'true', compression: 'lz4' });
    await dst.open();
    try {
      assert.equal(await dst.write(records), undefined);
    } finally {
      await dst.teardown();
    }
    for (const table of ['users', 'orders']) {
      const got = await readTopic(`${prefix}-${table}`, 3);
      const want = records.filter((r) => r.metadata['opencdc.collection'] === `${prefix}-${table}`);
      assert.deepEqual(
        got.map((r) => text(r.key)),
        want.map((r) => text(r.key)),
      );
      assert.deepEqual(
        got.map((r) => r.metadata['kafka.header.n']),
        want.map((r) => (r.metadata as Record<string, string>).n),
      );
      for (const r of got)
        assert.equal(
          JSON.parse(text(r.payload.after)).metadata['opencdc.collection'],
          r.metadata['opencdc.collection'],
        );
    }
  });

  it('keeps what earlier writes sent when the next write reuses their value buffer', async () => {
    const topic = await createTopic();
    // Big values first, then smaller ones: the later writes overwrite the bytes the first one's values were in.
    const batch = (w: number, n: number, width: number) =>
      sampleRecords(w * 100, n).map((r, i) => ({
        ...r,
        payload: { before: null, after: { w, i, fill: String.fromCharCode(97 + w).repeat(width) } },
      }));
    const writes = [batch(0, 300, 2000), batch(1, 200, 10), batch(2, 50, 500)];
    const dst = await configuredDestination(kafkaPlugin, { servers, topic });
    await dst.open();
    try {
      for (const records of writes) assert.equal(await dst.write(records), undefined);
    } finally {
      await dst.teardown();
    }
    const got = (await readTopic(topic, 550)).map((r) => JSON.parse(text(r.payload.after)).payload.after);
    assert.deepEqual(
      got,
      writes.flat().map((r) => r.payload.after),
    );
  });

  it("writes with the client's producer when the brokers have no Produce v9 (before Kafka 2.8)", async (t) => {
    const topic = await createTopic(2);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- only ever called with .call on a producer
    const listApis = Producer.prototype.listApis;
    t.mock.method(Producer.prototype, 'listApis', async function (this: Producer) {
      const apis = await listApis.call(this);
      return apis.map((a) => (a.name === 'Produce' ? { ...a, maxVersion: 8 } : a));
    });
    const send = t.mock.method(Producer.prototype, 'send');
    const records = sampleRecords(0, 20);
    const dst = await configuredDestination(kafkaPlugin, { servers, topic, compression: 'gzip' });
    await dst.open();
    try {
      assert.equal(await dst.write(records), undefined);
    } finally {
      await dst.teardown();
    }
    assert.ok(send.mock.callCount() > 0, "the client's send was not used");
    t.mock.restoreAll();
    const offsets = await probe.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST });
    assert.equal(Number(offsets.get(topic)?.[0] ?? 0n) + Number(offsets.get(topic)?.[1] ?? 0n), 20);
  });

  it('fails a record whose topic template gives nothing, and writes the others', async () => {
    const topic = await createTopic();
    const dst = await configuredDestination(kafkaPlugin, {
      servers,
      topic: `{{ if eq (index .Metadata "n") "1" }}{{ else }}${topic}{{ end }}`,
    });
    await dst.open();
    try {
      const outcome = await dst.write(sampleRecords(0, 3));
      assert.ok(outcome);
      assert.equal(outcome[0], undefined);
      assert.ok(outcome[1] instanceof ConduitError);
      assert.equal(outcome[2], undefined);
    } finally {
      await dst.teardown();
    }
    assert.equal((await readTopic(topic, 2)).length, 2);
  });
});

describe('kafka over TLS and SASL', () => {
  const tls = () => ({
    caCert: env('CONDUIT_TEST_KAFKA_CA_CERT'),
    clientCert: env('CONDUIT_TEST_KAFKA_CLIENT_CERT'),
    clientKey: readFileSync(env('CONDUIT_TEST_KAFKA_CLIENT_KEY'), 'utf8'),
  });
  const sasl = (mechanism: string) => ({
    saslMechanism: mechanism,
    saslUsername: env('CONDUIT_TEST_KAFKA_SASL_USERNAME'),
    saslPassword: env('CONDUIT_TEST_KAFKA_SASL_PASSWORD'),
  });

  async function roundTrip(settings: Settings): Promise<void> {
    const topic = await createTopic();
    const dst = await configuredDestination(kafkaPlugin, { ...settings, topic });
    await dst.open();
    try {
      assert.equal(await dst.write(sampleRecords(0, 3)), undefined);
    } finally {
      await dst.teardown();
    }
    assert.equal((await readTopic(topic, 3, settings)).length, 3);
  }

  it('writes and reads with mutual TLS', async () => {
    await roundTrip({ servers: env('CONDUIT_TEST_KAFKA_SSL_SERVERS'), 'tls.enabled': 'true', ...tls() });
  });

  it('writes and reads with SASL/SCRAM-SHA-512 over TLS, SCRAM-SHA-256 and PLAIN without', async () => {
    await roundTrip({
      servers: env('CONDUIT_TEST_KAFKA_SASL_SSL_SERVERS'),
      'tls.enabled': 'true',
      caCert: env('CONDUIT_TEST_KAFKA_CA_CERT'),
      ...sasl('SCRAM-SHA-512'),
    });
    await roundTrip({ servers: env('CONDUIT_TEST_KAFKA_SASL_PLAINTEXT_SERVERS'), ...sasl('SCRAM-SHA-256') });
    await roundTrip({ servers: env('CONDUIT_TEST_KAFKA_SASL_PLAINTEXT_SERVERS'), ...sasl('PLAIN') });
  });

  it('refuses a wrong password and an unknown CA, without showing the secret', async () => {
    const secret = 'wrong-password-do-not-show';
    const dst = await configuredDestination(kafkaPlugin, {
      servers: env('CONDUIT_TEST_KAFKA_SASL_PLAINTEXT_SERVERS'),
      ...sasl('SCRAM-SHA-256'),
      saslPassword: secret,
    });
    const err = await dst.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    await dst.teardown();
    assert.ok(err instanceof ConduitError, String(err));
    assert.equal(err.retryable, false, 'an authentication failure is not retried');
    assert.ok(!JSON.stringify({ m: err.message, s: err.suggestion }).includes(secret));
    const untrusted = await configuredDestination(kafkaPlugin, {
      servers: env('CONDUIT_TEST_KAFKA_SSL_SERVERS'),
      'tls.enabled': 'true',
    });
    await assert.rejects(untrusted.open(), ConduitError);
    await untrusted.teardown();
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('kafka broker restart', () => {
  const script = fileURLToPath(new URL('../../../scripts/servers/kafka.sh', import.meta.url));
  const state = mkdtempSync(join(tmpdir(), 'conduit-kafka-restart-'));
  const run = (cmd: string) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        'bash',
        [script, cmd],
        { env: { ...process.env, CONDUIT_TEST_KAFKA_STATE: state } },
        (err, out, errOut) => (err ? reject(new Error(`kafka.sh ${cmd} failed: ${errOut}`)) : resolve(out)),
      );
    });
  after(async () => {
    await run('stop').catch(() => undefined);
    rmSync(state, { recursive: true, force: true });
  });

  it('loses nothing when the broker is killed and restarted mid-stream', { timeout: 120_000 }, async () => {
    const own = /CONDUIT_TEST_KAFKA_SERVERS=(\S+)/.exec(await run('start'))?.[1];
    assert.ok(own);
    const topic = unique('restart');
    const dst = await configuredDestination(kafkaPlugin, { servers: own, topic });
    await dst.open();
    const src = await configuredSource(kafkaPlugin, {
      servers: own,
      topics: topic,
      groupID: unique('restart-group'),
      readFromBeginning: 'true',
      commitOffsetsDelay: '100ms',
    });
    const seen = new Set<string>();
    const ac = new AbortController();
    let reader: Promise<void> | undefined;
    let restarted: Promise<string> | undefined;
    try {
      const batches = 40;
      let written = 0;
      for (let b = 0; b < batches; b++) {
        const records = sampleRecords(b * 25, 25);
        assert.equal(await dst.write(records), undefined, `batch ${b}`);
        written += records.length;
        if (b === 0) {
          await src.open(null);
          reader = (async () => {
            while (!ac.signal.aborted) {
              const got = dataRecords(await src.read(500, ac.signal));
              for (const r of got) seen.add(text(r.key));
              if (got.length > 0) await src.ack(got.map((r) => r.position));
            }
          })();
        }
        if (b === 10) {
          await waitFor(() => seen.size > 0, { timeoutMs: 20_000, message: 'the source reading' });
          const pid = Number(readFileSync(join(state, 'broker.pid'), 'utf8'));
          process.kill(pid, 'SIGKILL');
          await waitFor(() => !alive(pid), { message: 'the broker gone' });
          // Restart while the next writes wait for the broker.
          restarted = run('start');
        }
      }
      await restarted;
      await waitFor(() => seen.size === written, {
        timeoutMs: 60_000,
        message: `all ${written} records read after the restart`,
      });
      for (let i = 0; i < written; i++) assert.ok(seen.has(`key-${i}`), `key-${i} missing`);
    } finally {
      ac.abort();
      await reader;
      await src.teardown();
      await dst.teardown();
    }
  });
});
