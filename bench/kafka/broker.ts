/**
 * The broker of bench/kafka.bench.ts: one KRaft node of its own, started by
 * scripts/servers/kafka.sh with a private state folder (so that its CPU is the
 * bench's alone, and tests that restart the shared test broker cannot end a
 * run), and stopped at the end. Also what the bench reads from it: the end
 * offsets of a topic (the messages it holds) and the bytes of its log segments.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { root } from '../lib/harness.js';

export interface Broker {
  servers: string;
  /** The Kafka jars (kafka-tools included), for ProducerPerformance and ConsumerPerformance. */
  libs: string;
  /** The broker's log.dirs. */
  dataDir: string;
  /** The broker JVM. */
  pid: number;
  stop: () => void;
}

export function startBroker(): Broker {
  const state = join(root, '.cache/bench-kafka/kafka');
  const env = { ...process.env, CONDUIT_TEST_KAFKA_STATE: state };
  const script = join(root, 'scripts/servers/kafka.sh');
  // kafka.sh picks a random cluster id; one that starts with "-" (1 in 64) is taken for an option by the storage
  // tool and the start fails. A second start picks another.
  let out = '';
  for (let attempt = 1; ; attempt++) {
    try {
      out = execFileSync('bash', [script, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env });
      break;
    } catch (err) {
      if (attempt === 3) throw err;
      console.log('  (the broker did not start; trying again)');
    }
  }
  const exported = (name: string): string => {
    const v = new RegExp(`^export ${name}=(\\S+)$`, 'm').exec(out)?.[1];
    if (v === undefined) throw new Error(`scripts/servers/kafka.sh start printed no ${name}:\n${out}`);
    return v;
  };
  const dir = exported('CONDUIT_TEST_KAFKA_DIR');
  return {
    servers: exported('CONDUIT_TEST_KAFKA_SERVERS'),
    libs: exported('CONDUIT_TEST_KAFKA_LIBS'),
    dataDir: join(dir, 'data'),
    pid: Number(readFileSync(join(dir, 'broker.pid'), 'utf8').trim()),
    stop: () => execFileSync('bash', [script, 'stop'], { stdio: 'inherit', env }),
  };
}

/** Reads end offsets: how many messages a topic holds (its offsets start at 0: topics are fresh). */
export class OffsetProbe {
  private readonly consumer: Consumer;

  constructor(servers: string) {
    this.consumer = new Consumer({
      clientId: 'conduit-bench-probe',
      groupId: 'conduit-bench-probe',
      bootstrapBrokers: [servers],
    });
  }

  async messages(topic: string): Promise<number> {
    const offsets = await this.consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST });
    let n = 0n;
    for (const o of offsets.get(topic) ?? []) n += o;
    return Number(n);
  }

  /**
   * Polls the topic every `everyMs` until it holds `want` messages: the time of
   * the first message seen and of the `want`-th. Fails when `alive` says the
   * producer is gone and the count stopped short.
   */
  async count(
    topic: string,
    want: number,
    alive: () => boolean,
    everyMs = 20,
  ): Promise<{ first: number; last: number; messages: number }> {
    let first = Number.NaN;
    for (;;) {
      const wasAlive = alive();
      const n = await this.messages(topic);
      const now = performance.now();
      if (n > 0 && Number.isNaN(first)) first = now;
      if (n >= want) return { first, last: now, messages: n };
      if (!wasAlive) throw new Error(`${topic}: the producer exited after ${n} of ${want} messages`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  close(): Promise<void> {
    return this.consumer.close();
  }
}

/** Bytes of a topic's log segments on the broker (every partition). */
export function topicBytes(dataDir: string, topic: string): number {
  let total = 0;
  for (const d of readdirSync(dataDir)) {
    if (!d.startsWith(`${topic}-`) || !/^\d+$/.test(d.slice(topic.length + 1))) continue;
    for (const f of readdirSync(join(dataDir, d))) {
      if (f.endsWith('.log')) total += statSync(join(dataDir, d, f)).size;
    }
  }
  return total;
}
