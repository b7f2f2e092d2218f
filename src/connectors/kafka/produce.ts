/**
 * Produce requests written here, not by the client's `Producer.send`: the
 * client builds every message of a record batch from a writer of its own
 * (a dozen small Buffers and objects per message) and joins them twice, which
 * cost ~7 µs per 1.5 KB message, a third of the produce path's CPU. Here each
 * partition's record batch is one Buffer, written in one pass (sizes first,
 * then the bytes), byte for byte what the client writes for the same messages
 * (produce.test.ts compares them): record format v2, partitionLeaderEpoch 0,
 * one timestamp per request, the client's partitioner (murmur2 of the key,
 * unsigned, modulo the partition count; keyless messages round robin per topic).
 *
 * The client still does everything around the bytes: the connections (TLS,
 * SASL), the metadata and the idempotent producer's id and epoch. The sequence
 * numbers per partition are kept here, as the client keeps them: a batch's
 * first sequence is the partition's count of acknowledged messages, so a
 * request sent again (after a broker restart, a leader moving) repeats the
 * same batches with the same sequences and the broker drops what it already
 * holds. Used with Produce v9 to v11 (Kafka 2.8 and later), whose request
 * format is the same; `produceVersion` says when a broker has none of them.
 */
import {
  compressionsAlgorithms,
  crc32c,
  produceV11,
  ProduceAcks,
  Writer,
  type ClusterMetadata,
  type Connection,
  type Producer,
} from '@platformatic/kafka';

/** What the destination hands over: one message, its header strings not yet bytes. */
export interface OutMessage {
  topic: string;
  key?: Buffer;
  value: Buffer;
  headers?: Map<string, string>;
}

type Compression = keyof typeof compressionsAlgorithms;

/** The bytes before the records in a v2 record batch (baseOffset … recordCount). */
const BATCH_HEADER = 61;
/** Where the CRC-covered part starts (attributes), and the CRC itself. */
const CRC_FROM = 21;
const CRC_AT = 17;
const MAX_SEQUENCE = 0x7fffffff;
/** The first size of the batches' buffer, and the largest kept from one request to the next. */
const ARENA_BYTES = 1 << 20;
const ARENA_KEEP_BYTES = 4 << 20;

/** The highest Produce version both sides support, if it is one whose format this file writes (9 to 11). */
export async function produceVersion(producer: Producer<Buffer, Buffer, string, string>): Promise<number | undefined> {
  const apis = await producer.listApis();
  const produce = apis.find((a) => a.name === 'Produce');
  if (produce === undefined) return undefined;
  const v = Math.min(produce.maxVersion, 11);
  return v >= 9 && v >= produce.minVersion ? v : undefined;
}

interface Group {
  readonly topic: string;
  readonly partition: number;
  readonly messages: OutMessage[];
}

/** One partition's record batch of a request, kept whole for a retry. */
interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly count: number;
  readonly bytes: Buffer;
}

export interface BatchProducerOptions {
  acks: number;
  idempotent: boolean;
  compression: string;
  /** How long the broker may wait for the replicas (the client's `timeout`, 5 s by default). */
  timeoutMs: number;
  /** Retries of a request with the same producer and sequences (the client's `retries`, `retryDelay`). */
  retries: number;
  retryDelay: number;
}

export class BatchProducer {
  /** `topic:partition` → the first sequence of the next batch. */
  private readonly sequences = new Map<string, number>();
  private readonly roundRobin = new Map<string, number>();
  /**
   * The bytes of a request's batches, reused by the next request (a fresh megabyte per request cost more
   * than writing it: the pages are new). Free again once `send` returned: the connection copies the batches
   * into its request buffer, and a retry happens inside `send`.
   */
  private arena: Buffer = Buffer.allocUnsafe(0);
  private arenaAt = 0;
  private sending = false;
  private readonly alloc = (n: number): Buffer => {
    if (this.arenaAt + n > this.arena.length) {
      this.arena = Buffer.allocUnsafe(Math.max(n, ARENA_BYTES, Math.min(this.arena.length * 2, ARENA_KEEP_BYTES)));
      this.arenaAt = 0;
    }
    const b = this.arena.subarray(this.arenaAt, this.arenaAt + n);
    this.arenaAt += n;
    return b;
  };

  constructor(
    private readonly producer: Producer<Buffer, Buffer, string, string>,
    private readonly version: number,
    private readonly opts: BatchProducerOptions,
  ) {}

  /**
   * Sends the messages (one batch per partition, one request per leader); resolves once all are acknowledged.
   * One send at a time (the destination awaits each): a second would overwrite the first's batches.
   */
  async send(messages: readonly OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.sending) throw new Error('kafka: BatchProducer.send called while a send is in progress');
    this.sending = true;
    try {
      await this.sendAll(messages);
    } finally {
      this.sending = false;
    }
  }

  private async sendAll(messages: readonly OutMessage[]): Promise<void> {
    const producer = this.producer;
    let producerId = -1n;
    let producerEpoch = 0;
    if (this.opts.idempotent) {
      if (producer.producerId === undefined) await producer.initIdempotentProducer({});
      producerId = producer.producerId ?? -1n;
      producerEpoch = producer.producerEpoch ?? 0;
    }
    const topics: string[] = [];
    for (const m of messages) if (!topics.includes(m.topic)) topics.push(m.topic);
    let metadata = await producer.metadata({ topics, autocreateTopics: true });
    const groups = this.partitioned(messages, metadata);
    const timestamp = BigInt(Date.now());
    if (this.arena.length > ARENA_KEEP_BYTES) this.arena = Buffer.allocUnsafe(0);
    this.arenaAt = 0;
    let pending: Batch[] = [];
    for (const group of groups) {
      const sequence = this.opts.idempotent ? (this.sequences.get(`${group.topic}:${group.partition}`) ?? 0) : 0;
      pending.push({
        topic: group.topic,
        partition: group.partition,
        count: group.messages.length,
        bytes: recordBatch(
          group.messages,
          timestamp,
          producerId,
          producerEpoch,
          sequence,
          this.opts.compression,
          this.alloc,
        ),
      });
    }
    for (let attempt = 0; ; attempt++) {
      const byLeader = new Map<number, Batch[]>();
      for (const b of pending) {
        const leader = metadata.topics.get(b.topic)?.partitions[b.partition]?.leader ?? -1;
        const list = byLeader.get(leader) ?? [];
        list.push(b);
        byLeader.set(leader, list);
      }
      const sent = [...byLeader].map(([leader, batches]) => this.request(metadata, leader, batches));
      const outcomes = await Promise.allSettled(sent);
      const failed: Batch[] = [];
      let error: unknown;
      let i = 0;
      for (const batches of byLeader.values()) {
        const o = outcomes[i++] as PromiseSettledResult<void>;
        if (o.status === 'fulfilled') {
          for (const b of batches) this.acknowledged(b);
        } else {
          error ??= o.reason;
          failed.push(...batches);
        }
      }
      if (failed.length === 0) return;
      if (attempt >= this.opts.retries || !canRetry(error) || producer.closed) throw error;
      await new Promise((r) => setTimeout(r, this.opts.retryDelay));
      producer.clearMetadata();
      metadata = await producer.metadata({ topics, autocreateTopics: true });
      pending = failed;
    }
  }

  /** The messages grouped by partition, in their order; the partitions chosen as the client chooses them. */
  private partitioned(messages: readonly OutMessage[], metadata: ClusterMetadata): Group[] {
    const groups: Group[] = [];
    const byTopic = new Map<string, (Group | undefined)[]>();
    let lastTopic: string | undefined;
    let slots: (Group | undefined)[] = [];
    for (const m of messages) {
      if (m.topic !== lastTopic) {
        lastTopic = m.topic;
        let s = byTopic.get(m.topic);
        if (s === undefined) {
          const t = metadata.topics.get(m.topic);
          if (t === undefined) throw new Error(`kafka: no metadata for topic "${m.topic}"`);
          byTopic.set(m.topic, (s = new Array<Group | undefined>(t.partitionsCount).fill(undefined)));
        }
        slots = s;
      }
      let partition: number;
      if (m.key !== undefined) {
        partition = murmur2(m.key) % slots.length;
      } else {
        const n = this.roundRobin.get(m.topic) ?? 0;
        this.roundRobin.set(m.topic, n + 1);
        partition = n % slots.length;
      }
      let g = slots[partition];
      if (g === undefined) groups.push((slots[partition] = g = { topic: m.topic, partition, messages: [] }));
      g.messages.push(m);
    }
    return groups;
  }

  private acknowledged(b: Batch): void {
    if (!this.opts.idempotent) return;
    const key = `${b.topic}:${b.partition}`;
    const s = (this.sequences.get(key) ?? 0) + b.count;
    this.sequences.set(key, s > MAX_SEQUENCE ? s - MAX_SEQUENCE - 1 : s);
  }

  /** One Produce request to a leader with its partitions' batches. */
  private async request(metadata: ClusterMetadata, leader: number, batches: readonly Batch[]): Promise<void> {
    const broker = metadata.brokers.get(leader);
    if (broker === undefined) throw new LeaderUnknownError(batches[0]?.topic ?? '', batches[0]?.partition ?? -1);
    const connection: Connection = await this.producer.connections.get(broker);
    const writer = produceRequest(this.opts.acks, this.opts.timeoutMs, batches);
    await new Promise<void>((resolve, reject) => {
      connection.send(
        0,
        this.version,
        () => writer,
        produceV11.parseResponse,
        true,
        true,
        (err) => (err === null || err === undefined ? resolve() : reject(err)),
      );
    });
  }
}

/** A partition without a leader (moving): the request is tried again with fresh metadata. */
class LeaderUnknownError extends Error {
  readonly canRetry = true;
  constructor(topic: string, partition: number) {
    super(`kafka: no leader known for ${topic}:${partition}`);
  }
}

/** Whether the client would retry: no error in the tree says it cannot. */
function canRetry(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 6) return true;
  const e = err as { canRetry?: boolean; errors?: unknown[]; cause?: unknown };
  if (e.canRetry === false) return false;
  if (Array.isArray(e.errors) && !e.errors.every((x) => canRetry(x, depth + 1))) return false;
  return e.cause === undefined || canRetry(e.cause, depth + 1);
}

/**
 * Produce request v9–v11 after the header: transactional_id null, acks, timeout, then per topic its
 * partitions' record batches (compact arrays and strings, empty tagged fields). The batches are chunks of
 * the writer: the connection joins the request once.
 */
export function produceRequest(acks: number, timeoutMs: number, batches: readonly Batch[]): Writer {
  const byTopic = new Map<string, Batch[]>();
  for (const b of batches) {
    const list = byTopic.get(b.topic) ?? [];
    list.push(b);
    byTopic.set(b.topic, list);
  }
  const writer = Writer.create();
  const out = writer.dynamicBuffer;
  let head = new Cursor(Buffer.allocUnsafe(16));
  head
    .uvarint(0)
    .int16(acks)
    .int32(timeoutMs)
    .uvarint(byTopic.size + 1);
  for (const [topic, list] of byTopic) {
    const name = Buffer.from(topic, 'utf8');
    head = head.ensure(name.length + 24);
    head
      .uvarint(name.length + 1)
      .bytes(name)
      .uvarint(list.length + 1);
    for (const b of list) {
      head.int32(b.partition).uvarint(b.bytes.length + 1);
      out.append(head.done());
      out.append(b.bytes);
      head = new Cursor(Buffer.allocUnsafe(name.length + 24));
      head.uvarint(0); // the partition's tagged fields
    }
    head.uvarint(0); // the topic's tagged fields
  }
  head.uvarint(0); // the request's tagged fields
  out.append(head.done());
  if (acks === ProduceAcks.NO_RESPONSE) writer.context.noResponse = true;
  return writer;
}

/** One record batch (magic 2) of a partition's messages; compressed when `compression` is not none. */
export function recordBatch(
  messages: readonly OutMessage[],
  timestamp: bigint,
  producerId: bigint,
  producerEpoch: number,
  sequence: number,
  compression: string,
  alloc: (n: number) => Buffer = (n) => Buffer.allocUnsafe(n),
): Buffer {
  const headerBytes = messages.some((m) => m.headers !== undefined && m.headers.size > 0)
    ? messages.map((m) => encodedHeaders(m.headers))
    : undefined;
  const sizes = new Array<number>(messages.length);
  let recordsBytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as OutMessage;
    const keyLen = m.key === undefined ? -1 : m.key.length;
    const h = headerBytes?.[i];
    const body =
      1 + // attributes
      1 + // timestampDelta 0
      varintSize(i) +
      varintSize(keyLen) +
      (keyLen > 0 ? keyLen : 0) +
      varintSize(m.value.length) +
      m.value.length +
      (h === undefined ? 1 : h.length);
    sizes[i] = body;
    recordsBytes += varintSize(body) + body;
  }
  const algorithm = compressionsAlgorithms[compression as Compression];
  const compressed = algorithm !== undefined && algorithm.bitmask !== 0;
  const records = new Cursor(alloc((compressed ? 0 : BATCH_HEADER) + recordsBytes));
  if (!compressed) records.at = BATCH_HEADER;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as OutMessage;
    records
      .varint(sizes[i] as number)
      .int8(0)
      .int8(0)
      .varint(i);
    if (m.key === undefined) records.varint(-1);
    else records.varint(m.key.length).bytes(m.key);
    records.varint(m.value.length).bytes(m.value);
    const h = headerBytes?.[i];
    if (h === undefined) records.int8(0);
    else records.bytes(h);
  }
  let batch: Buffer;
  if (compressed) {
    const body = algorithm.compressSync(records.buf);
    batch = alloc(BATCH_HEADER + body.length);
    body.copy(batch, BATCH_HEADER);
  } else {
    batch = records.buf;
  }
  const c = new Cursor(batch);
  c.int64(0n)
    .int32(batch.length - 12)
    .int32(0) // partitionLeaderEpoch
    .int8(2) // magic
    .int32(0) // the CRC, below
    .int16(compressed ? algorithm.bitmask : 0)
    .int32(messages.length - 1)
    .int64(timestamp)
    .int64(timestamp)
    .int64(producerId)
    .int16(producerEpoch)
    .int32(sequence)
    .int32(messages.length);
  const covered = Writer.create().dynamicBuffer.append(batch.subarray(CRC_FROM));
  batch.writeUInt32BE(crc32c(covered), CRC_AT);
  return batch;
}

/** A record's headers: their count, then each key and value, as varint-length bytes. */
function encodedHeaders(headers: Map<string, string> | undefined): Buffer {
  if (headers === undefined || headers.size === 0) return Buffer.from([0]);
  const parts: Buffer[] = [];
  let size = varintSize(headers.size);
  for (const [k, v] of headers) {
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    parts.push(kb, vb);
    size += varintSize(kb.length) + kb.length + varintSize(vb.length) + vb.length;
  }
  const c = new Cursor(Buffer.allocUnsafe(size));
  c.varint(headers.size);
  for (const p of parts) c.varint(p.length).bytes(p);
  return c.buf;
}

/** Bytes of a zigzag varint. */
function varintSize(n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

/** Kafka's murmur2 (Utils.murmur2) of the key, as an unsigned 32-bit number (the client's `murmur2(key) >>> 0`). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const len4 = length & ~3;
  for (let i = 0; i < len4; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[len4 + 2] as number) << 16;
  if (rest >= 2) h ^= (data[len4 + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[len4] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h >>> 0;
}

/** A write position in a Buffer of a known size. */
class Cursor {
  at = 0;
  constructor(public buf: Buffer) {}

  /** This cursor with room for `n` more bytes (a new one, holding what was written, when it had not). */
  ensure(n: number): Cursor {
    if (this.at + n <= this.buf.length) return this;
    const c = new Cursor(Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n)));
    this.buf.copy(c.buf, 0, 0, this.at);
    c.at = this.at;
    return c;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  int8(v: number): this {
    this.buf[this.at++] = v;
    return this;
  }

  int16(v: number): this {
    this.at = this.buf.writeInt16BE(v, this.at);
    return this;
  }

  int32(v: number): this {
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }

  int64(v: bigint): this {
    this.at = this.buf.writeBigInt64BE(v, this.at);
    return this;
  }

  uvarint(v: number): this {
    while (v >= 0x80) {
      this.buf[this.at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.at++] = v;
    return this;
  }

  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  bytes(b: Uint8Array): this {
    if (b.length < 64) {
      for (let i = 0; i < b.length; i++) this.buf[this.at + i] = b[i] as number;
    } else {
      this.buf.set(b, this.at);
    }
    this.at += b.length;
    return this;
  }
}
