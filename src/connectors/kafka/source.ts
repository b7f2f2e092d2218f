/**
 * The kafka source. One fetch loop serves two modes:
 *
 * - With `groupID`, the source is a member of the consumer group: the group
 *   decides which partitions it reads, and the offsets of acknowledged records
 *   (and only those, in order per partition) are committed to the group, at
 *   most `commitOffsetsDelay` late or every `commitOffsetsSize` records. A
 *   partition newly assigned starts at the group's committed offset. After a
 *   rebalance, records of a partition that moved may be read again by its new
 *   owner (at-least-once), never skipped.
 * - Without `groupID`, the source reads every partition of its topics itself
 *   and commits nothing; each record's position holds the next offset of every
 *   partition (the frontier), so the pipeline's checkpoint alone resumes it
 *   exactly.
 *
 * Fetches never outrun `read`: one fetch is in flight at most, and only when
 * the buffer is empty, so memory is bounded by the fetch size. A fetch that
 * fails for a retryable reason (a broker restarting, a leader moving) is tried
 * again with backoff; the read loop never stalls on one.
 */
import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { MetadataKey } from '../../opencdc/metadata.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { ConnectorContext, Source, SourceProgress } from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';
import { delay } from '../util.js';
import { clientOptions, describe, forceClose, hasApiError, isRetryable, type KafkaClientOptions } from './client.js';
import { decodePosition, encodeGroupPosition, frontierPositions, type Position } from './position.js';

/** Metadata key prefix of the message headers. */
export const HEADER_PREFIX = 'kafka.header.';

const IS_CONTROL = 0b100000;
const FETCH_WAIT_MS = 500;
/**
 * Bytes one fetch asks for, in all and per partition (a record batch larger than that still comes whole).
 * Every record of a fetch lives until the pipeline has written the last of them, so a large fetch outlives
 * two scavenges and is promoted to V8's old generation, with the response Buffers its values are views of.
 * With 1 MiB per partition (about 2,000 records of 1.5 KB from three partitions), bench/kafka.bench.ts
 * consume ran 44 mark-compacts per 500,000 records; with 256 KiB, 8, at higher records/s and lower RSS.
 */
const FETCH_MAX_BYTES = 1 << 20;
const PARTITION_MAX_BYTES = 256 << 10;
const MAX_BACKOFF_MS = 2000;

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read. */
  next: bigint;
  /** The partition's high watermark at the last fetch (undefined before one). */
  end?: bigint;
}

type KafkaConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

export class KafkaSource implements Source {
  private opts!: KafkaClientOptions;
  private topics: string[] = [];
  private groupId = '';
  private readFromBeginning = false;
  private commitDelay = 5000;
  private commitSize = 1000;
  private retryJoin = true;
  private logger: Logger = silentLogger;
  private connectorId = '';

  private consumer: KafkaConsumer | undefined;
  private readonly parts = new Map<string, PartitionState>();
  private buffered: OpenCDCRecord[] = [];
  private bufferedAt = 0;
  private fetching: Promise<void> | undefined;
  private failure: Error | undefined;
  private backoffMs = 0;
  private retryAt = 0;
  private lastWarn = 0;

  // Group mode.
  private appliedAssignments: unknown = undefined;
  private needsJoin = false;
  private hint: Position | undefined;
  private readonly toCommit = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private uncommitted = 0;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private closed = false;

  configure(config: Config, ctx: ConnectorContext): void {
    this.opts = clientOptions(config);
    this.topics = [...new Set(config.list('topics'))];
    this.groupId = config.string('groupID');
    this.readFromBeginning = config.bool('readFromBeginning');
    this.commitDelay = config.duration('commitOffsetsDelay');
    this.commitSize = config.int('commitOffsetsSize');
    this.retryJoin = config.bool('retryGroupJoinErrors');
    this.logger = ctx.logger;
    this.connectorId = ctx.connectorId;
  }

  async open(position: Uint8Array | null): Promise<void> {
    const pos = position === null ? undefined : decodePosition(position);
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...this.opts,
      // The client needs a group id even for fetching alone; it is never joined then.
      groupId: this.groupId === '' ? `conduit-unjoined-${this.connectorId}` : this.groupId,
      autocommit: false,
      autocreateTopics: false,
      maxWaitTime: FETCH_WAIT_MS,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
      sessionTimeout: 10000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 10000,
    });
    this.consumer = consumer;
    consumer.on('error', (err: unknown) => {
      // A failed rejoin after the client's own retries: join again from the read loop.
      this.needsJoin = true;
      this.warn('kafka: the consumer group membership failed; joining again', err);
    });
    try {
      if (this.groupId === '') {
        await this.assignAll(pos?.offsets);
      } else {
        this.hint = pos;
        for (const t of this.topics) consumer.topics.track(t);
        await this.join();
      }
    } catch (err) {
      if (err instanceof ConduitError) throw err;
      throw new ConduitError(Code.ConnectorOpenFailed, `kafka: cannot open the source: ${describe(err)}`, {
        cause: err,
        retryable: isRetryable(err),
        configPath: '/servers',
        suggestion: 'check that the brokers are reachable, the topics exist and the credentials are right',
      });
    }
  }

  async read(max: number, signal: AbortSignal): Promise<OpenCDCRecord[]> {
    while (this.buffered.length === this.bufferedAt) {
      if (this.failure !== undefined) throw this.failure;
      if (signal.aborted) return [];
      const wait = this.retryAt - Date.now();
      if (wait > 0) {
        await delay(wait, signal).catch(() => undefined);
        continue;
      }
      this.fetching ??= this.fetchOnce().finally(() => (this.fetching = undefined));
      await settledOrAborted(this.fetching, signal);
    }
    const out = this.buffered.slice(this.bufferedAt, this.bufferedAt + max);
    this.bufferedAt += out.length;
    if (this.bufferedAt === this.buffered.length) {
      this.buffered = [];
      this.bufferedAt = 0;
    }
    return out;
  }

  /**
   * lagRecords: records in the partitions this source holds that it has not handed to the engine yet:
   * each partition's high watermark at its last fetch less its next offset, plus what is fetched and
   * buffered here (records handed out and not yet acknowledged are the engine's in-flight count).
   */
  progress(): SourceProgress {
    let lag = BigInt(this.buffered.length - this.bufferedAt);
    let known = false;
    for (const st of this.parts.values()) {
      if (st.end === undefined) continue;
      known = true;
      if (st.end > st.next) lag += st.end - st.next;
    }
    return known ? { lagRecords: Number(lag) } : {};
  }

  async ack(positions: readonly Uint8Array[]): Promise<void> {
    if (this.groupId === '' || positions.length === 0) return;
    for (const p of positions) {
      const pos = decodePosition(p);
      const key = `${pos.topic}:${pos.partition}`;
      const offset = BigInt(pos.offset) + 1n;
      const prev = this.toCommit.get(key);
      if (prev === undefined || prev.offset < offset) {
        this.toCommit.set(key, { topic: pos.topic, partition: pos.partition, offset });
      }
    }
    this.uncommitted += positions.length;
    if (this.uncommitted >= this.commitSize || this.commitDelay === 0) {
      await this.commit();
    } else if (this.commitTimer === undefined) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        this.commit().catch((err: unknown) => this.warn('kafka: committing offsets failed', err));
      }, this.commitDelay);
      this.commitTimer.unref();
    }
  }

  async teardown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer === undefined) return;
    if (this.groupId !== '' && this.toCommit.size > 0) {
      await withTimeout(this.commit(consumer), 3000).catch((err: unknown) =>
        this.warn('kafka: committing offsets at teardown failed; they are read again after a restart', err),
      );
    }
    // close(true) leaves the group without waiting for in-flight requests.
    await withTimeout(forceClose(consumer), 5000).catch(() => undefined);
  }

  /** Commits the acknowledged offsets of the partitions this member holds; failures stay queued. */
  private async commit(consumer = this.consumer): Promise<void> {
    if (this.committing !== undefined) await this.committing.catch(() => undefined);
    if (consumer === undefined || this.toCommit.size === 0) return;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    const held = new Set<string>();
    for (const a of consumer.assignments ?? []) for (const p of a.partitions) held.add(`${a.topic}:${p}`);
    const batch = [...this.toCommit.entries()].filter(([k]) => held.has(k));
    this.toCommit.clear();
    this.uncommitted = 0;
    if (batch.length === 0) return;
    const offsets = batch.map(([, v]) => ({ ...v, leaderEpoch: -1 }));
    this.committing = consumer.commit({ offsets }).then(
      () => undefined,
      (err: unknown) => {
        if (isRetryable(err)) {
          // Keep them for the next commit, unless newer ones came meanwhile.
          for (const [k, v] of batch) {
            const now = this.toCommit.get(k);
            if (now === undefined || now.offset < v.offset) this.toCommit.set(k, v);
          }
        }
        throw new ConduitError(Code.ConnectorAckFailed, `kafka: committing offsets failed: ${describe(err)}`, {
          cause: err,
        });
      },
    );
    try {
      await this.committing;
    } catch (err) {
      // Not fatal: the records are delivered; a later commit (or a re-read after a restart) covers them.
      this.warn('kafka: committing offsets failed; trying again with the next ack', err);
    } finally {
      this.committing = undefined;
    }
  }

  /** Standalone mode: every partition of the topics, from the frontier or the configured start. */
  private async assignAll(frontier: Readonly<Record<string, string>> | undefined): Promise<void> {
    const consumer = this.consumer as KafkaConsumer;
    const metadata = await consumer.metadata({ topics: this.topics });
    const missing: { topic: string; partition: number }[] = [];
    for (const topic of this.topics) {
      const t = metadata.topics.get(topic);
      if (t === undefined) throw unknownTopic(topic);
      for (let p = 0; p < t.partitionsCount; p++) {
        const key = `${topic}:${p}`;
        const stored = frontier?.[key];
        if (stored !== undefined) this.parts.set(key, { topic, partition: p, next: BigInt(stored) });
        else missing.push({ topic, partition: p });
      }
    }
    await this.startAtDefault(missing);
  }

  private async startAtDefault(list: readonly { topic: string; partition: number }[]): Promise<void> {
    if (list.length === 0) return;
    const consumer = this.consumer as KafkaConsumer;
    const topics = [...new Set(list.map((x) => x.topic))];
    const offsets = await consumer.listOffsets({
      topics,
      timestamp: this.readFromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
    });
    for (const { topic, partition } of list) {
      const o = offsets.get(topic)?.[partition];
      if (o === undefined) throw unknownTopic(topic);
      this.parts.set(`${topic}:${partition}`, { topic, partition, next: o });
    }
  }

  private async join(): Promise<void> {
    const consumer = this.consumer as KafkaConsumer;
    for (;;) {
      try {
        await consumer.joinGroup({ sessionTimeout: 10000, heartbeatInterval: 1000, rebalanceTimeout: 10000 });
        this.needsJoin = false;
        await this.syncAssignments();
        return;
      } catch (err) {
        if (!this.retryJoin || !isRetryable(err) || this.closed) throw err;
        this.warn('kafka: joining the consumer group failed; trying again', err);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Group mode: follows the group's assignment; a new partition starts at its committed offset. */
  private async syncAssignments(): Promise<void> {
    const consumer = this.consumer as KafkaConsumer;
    const assignments = consumer.assignments ?? [];
    if (assignments === this.appliedAssignments) return;
    const now = new Set<string>();
    const added: { topic: string; partition: number }[] = [];
    for (const a of assignments) {
      for (const p of a.partitions) {
        const key = `${a.topic}:${p}`;
        now.add(key);
        if (!this.parts.has(key)) added.push({ topic: a.topic, partition: p });
      }
    }
    for (const key of this.parts.keys()) if (!now.has(key)) this.parts.delete(key);
    if (added.length > 0) {
      const byTopic = new Map<string, number[]>();
      for (const { topic, partition } of added) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
      const commits = await consumer.listCommittedOffsets({
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      });
      const fallback: { topic: string; partition: number }[] = [];
      for (const { topic, partition } of added) {
        let next = commits.get(topic)?.[partition] ?? -1n;
        const hint = this.hint;
        // The pipeline's own checkpoint is ahead when commits lagged (commitOffsetsDelay, a crash).
        if (hint !== undefined && hint.topic === topic && hint.partition === partition) {
          const after = BigInt(hint.offset) + 1n;
          if (after > next) next = after;
        }
        if (next >= 0n) this.parts.set(`${topic}:${partition}`, { topic, partition, next });
        else fallback.push({ topic, partition });
      }
      await this.startAtDefault(fallback);
    }
    this.appliedAssignments = assignments;
    if (added.length > 0 || now.size !== this.parts.size) {
      this.logger.info('kafka: partitions assigned', { group: this.groupId, partitions: [...now].join(',') });
    }
  }

  /** One fetch round: records of every held partition, from their leaders. Never throws. */
  private async fetchOnce(): Promise<void> {
    const consumer = this.consumer;
    if (consumer === undefined) return;
    try {
      if (this.groupId !== '') {
        if (this.needsJoin) await this.join();
        await this.syncAssignments();
      }
      if (this.parts.size === 0) {
        // A group member without partitions: wait for a rebalance.
        this.retryAt = Date.now() + 200;
        return;
      }
      const metadata = await consumer.metadata({ topics: this.topics });
      const requests = new Map<number, { topicId: string; partitions: FetchPartition[] }[]>();
      const topicNames = new Map<string, string>();
      const asked = new Map<string, bigint>();
      for (const st of this.parts.values()) {
        const t = metadata.topics.get(st.topic);
        const leader = t?.partitions[st.partition]?.leader;
        if (t === undefined || leader === undefined || leader < 0) continue;
        topicNames.set(t.id, st.topic);
        asked.set(`${st.topic}:${st.partition}`, st.next);
        const list = requests.get(leader) ?? [];
        requests.set(leader, list);
        let entry = list.find((x) => x.topicId === t.id);
        if (entry === undefined) list.push((entry = { topicId: t.id, partitions: [] }));
        entry.partitions.push({
          partition: st.partition,
          fetchOffset: st.next,
          partitionMaxBytes: PARTITION_MAX_BYTES,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        });
      }
      if (requests.size === 0) {
        consumer.clearMetadata();
        this.retryAt = Date.now() + 200;
        return;
      }
      const responses = await Promise.all(
        [...requests].map(([node, topics]) =>
          consumer.fetch({ node, topics, maxWaitTime: FETCH_WAIT_MS, minBytes: 1, maxBytes: FETCH_MAX_BYTES }),
        ),
      );
      if (this.closed) return;
      for (const response of responses) {
        for (const tr of response.responses) {
          const topic = topicNames.get(tr.topicId);
          if (topic === undefined) continue;
          for (const pr of tr.partitions) {
            this.take(topic, pr.partitionIndex, pr.records, asked);
            const st = this.parts.get(`${topic}:${pr.partitionIndex}`);
            if (st !== undefined && pr.highWatermark >= 0n) st.end = pr.highWatermark;
          }
        }
      }
      this.backoffMs = 0;
    } catch (err) {
      if (this.closed) return;
      if (hasApiError(err, 'OFFSET_OUT_OF_RANGE')) {
        await this.clampOffsets().catch((e: unknown) => this.warn('kafka: cannot look up the partition bounds', e));
        return;
      }
      if (!isRetryable(err)) {
        this.failure = new ConduitError(Code.ConnectorReadFailed, `kafka: reading failed: ${describe(err)}`, {
          cause: err,
          retryable: false,
        });
        return;
      }
      consumer.clearMetadata();
      this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(100, this.backoffMs * 2));
      this.retryAt = Date.now() + this.backoffMs;
      this.warn('kafka: fetching failed; trying again', err);
    }
  }

  /** Turns one partition's fetched batches into records, from the offset asked on. */
  private take(
    topic: string,
    partition: number,
    batches: readonly FetchedBatch[] | undefined,
    asked: ReadonlyMap<string, bigint>,
  ): void {
    const key = `${topic}:${partition}`;
    const st = this.parts.get(key);
    // Revoked meanwhile, or moved by another round: drop, it is fetched again from its state.
    if (st === undefined || batches === undefined || asked.get(key) !== st.next) return;
    const groupId = this.groupId;
    // Without a group every position holds the whole frontier; only this partition's offset moves meanwhile.
    const frontier = groupId === '' ? frontierPositions(topic, partition, this.parts.values()) : undefined;
    for (const batch of batches) {
      const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
      if ((batch.attributes & IS_CONTROL) === 0) {
        for (const r of batch.records) {
          const offset = batch.firstOffset + BigInt(r.offsetDelta);
          if (offset < st.next) continue;
          st.next = offset + 1n;
          const position =
            frontier === undefined ? encodeGroupPosition(groupId, topic, partition, offset) : frontier(offset, st.next);
          this.buffered.push(this.toRecord(topic, batch.firstTimestamp + r.timestampDelta, r, position));
        }
      }
      if (last + 1n > st.next) st.next = last + 1n;
    }
  }

  private toRecord(topic: string, timestamp: bigint, r: FetchedRecord, position: Uint8Array): OpenCDCRecord {
    const metadata: Record<string, string> = {
      [MetadataKey.Collection]: topic,
      [MetadataKey.CreatedAt]: (timestamp * 1_000_000n).toString(),
    };
    for (const [k, v] of r.headers) {
      if (k === null) continue;
      metadata[HEADER_PREFIX + k.toString('utf8')] = v === null ? '' : v.toString('utf8');
    }
    return {
      position,
      operation: 'create',
      metadata,
      key: r.key,
      payload: { before: null, after: r.value },
    };
  }

  /** After OFFSET_OUT_OF_RANGE: moves each partition into what the broker still has. */
  private async clampOffsets(): Promise<void> {
    const consumer = this.consumer as KafkaConsumer;
    const topics = [...new Set([...this.parts.values()].map((p) => p.topic))];
    const [earliest, latest] = await Promise.all([
      consumer.listOffsets({ topics, timestamp: ListOffsetTimestamps.EARLIEST }),
      consumer.listOffsets({ topics, timestamp: ListOffsetTimestamps.LATEST }),
    ]);
    for (const st of this.parts.values()) {
      const lo = earliest.get(st.topic)?.[st.partition];
      const hi = latest.get(st.topic)?.[st.partition];
      if (lo !== undefined && st.next < lo) {
        this.logger.warn('kafka: messages were deleted before they were read (retention); going on from the oldest', {
          topic: st.topic,
          partition: st.partition,
          from: st.next.toString(),
          to: lo.toString(),
        });
        st.next = lo;
      } else if (hi !== undefined && st.next > hi) {
        st.next = hi;
      }
    }
  }

  /** Warns at most once a second (a broker restart would repeat the same line). */
  private warn(message: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn < 1000) return;
    this.lastWarn = now;
    this.logger.warn(message, { error: describe(err) });
  }
}

interface FetchPartition {
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
}

interface FetchedRecord {
  offsetDelta: number;
  timestampDelta: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: [Buffer | null, Buffer | null][];
}

interface FetchedBatch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  firstTimestamp: bigint;
  attributes: number;
  records: FetchedRecord[];
}

function unknownTopic(topic: string): ConduitError {
  return new ConduitError(Code.ConnectorOpenFailed, `kafka: topic "${topic}" does not exist`, {
    configPath: '/topics',
    retryable: true,
    suggestion: 'create the topic, or correct its name',
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Waits for `p` to settle or `signal` to abort, whichever is first, leaving no listener behind. */
function settledOrAborted(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    p.then(done, done);
  });
}
