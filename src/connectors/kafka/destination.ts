/**
 * The kafka destination: one message per record. The key is the record key
 * (raw bytes as they are, structured data as JSON), the value is the record
 * formatted by `sdk.record.format`, the topic comes from the `topic` template.
 *
 * A write resolves only when the brokers acknowledged every message (with
 * `acks=all`, every in-sync replica), so the source is acknowledged only for
 * what Kafka durably holds. One produce request is in flight at a time, which
 * keeps the order of the records per partition (with the idempotent producer,
 * the broker rejects duplicates of a retried request too). While the brokers
 * are unreachable a write keeps retrying, with a fresh producer, until
 * `deliveryTimeout` (0: until it succeeds or the pipeline stops); a retried
 * request may have been written before: at-least-once.
 */
import zlib from 'node:zlib';
import { Producer, ProduceAcks } from '@platformatic/kafka';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { encodeValue, type ByteSink } from '../../opencdc/json.js';
import { type Data, type OpenCDCRecord } from '../../opencdc/record.js';
import type { Destination, DestinationContext, RecordFormatter, WriteOutcome } from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';
import { byteWriterOf, type RecordByteWriter } from '../../sdk/formats.js';
import { compileTemplate, type Template } from '../../template/index.js';
import { paramError } from '../util.js';
import { clientOptions, describe, forceClose, isRetryable, type KafkaClientOptions } from './client.js';
import { BatchProducer, produceVersion, type OutMessage } from './produce.js';

type Message = OutMessage;

/** Per-message overhead of the record batch format, for the size estimate. */
const MESSAGE_OVERHEAD = 64;
const MAX_BACKOFF_MS = 2000;
/** How long the leader may wait for the in-sync replicas of a produce request (the client's default). */
const PRODUCE_TIMEOUT_MS = 5000;
/** The first size of a write's value buffer (it grows by doubling; the bytes written keep their place). */
const VALUE_BUFFER_BYTES = 256 << 10;
/** A value buffer up to this size is kept for the next write; a larger one (a burst of big records) is dropped. */
const VALUE_BUFFER_KEEP_BYTES = 4 << 20;

const ACKS_VALUE = { none: ProduceAcks.NO_RESPONSE, one: ProduceAcks.LEADER, all: ProduceAcks.ALL } as const;

export class KafkaDestination implements Destination {
  private opts!: KafkaClientOptions;
  private topic!: Template;
  private acks: 'none' | 'one' | 'all' = 'all';
  private compression = 'snappy';
  private batchBytes = 1_000_012;
  private deliveryTimeout = 0;
  private headers = false;
  private format: RecordFormatter = () => '';
  /** The format's byte writer, when it has one (opencdc/json): values are encoded straight into a chunk buffer. */
  private writeInto: RecordByteWriter | undefined;
  private logger: Logger = silentLogger;
  private producer: Producer<Buffer, Buffer, string, string> | undefined;
  /** The record batches written here and sent on the producer's connections (produce.ts), when the brokers speak Produce v9+. */
  private batcher: BatchProducer | undefined;
  /** The Produce version the batcher writes; undefined: the client's `send` (brokers before Kafka 2.8). */
  private produceVersion: number | undefined;
  /** The value buffer of the last write that completed, reused by the next: no producer holds its bytes any more. */
  private spareValues: Buffer | undefined;
  private closed = false;
  private lastWarn = 0;

  configure(config: Config, ctx: DestinationContext): void {
    this.opts = clientOptions(config);
    try {
      this.topic = compileTemplate(config.string('topic'), { name: 'topic' });
    } catch (err) {
      throw paramError('topic', (err as Error).message, 'write a topic name or a Go template');
    }
    if (this.topic.isConstant && this.topic.source.trim() === '') {
      throw paramError('topic', 'the topic is empty', 'name a topic, or leave the default template');
    }
    this.acks = config.string('acks') as 'none' | 'one' | 'all';
    this.compression = config.string('compression');
    if (
      this.compression === 'zstd' &&
      typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync !== 'function'
    ) {
      throw paramError(
        'compression',
        `zstd needs Node.js 22.15 or later (this is ${process.version})`,
        'use lz4 or snappy, or a newer Node.js',
      );
    }
    this.batchBytes = config.int('batchBytes');
    this.deliveryTimeout = config.duration('deliveryTimeout');
    this.headers = config.bool('headers.metadata');
    this.format = ctx.format;
    this.writeInto = byteWriterOf(ctx.format);
    this.logger = ctx.logger;
  }

  async open(): Promise<void> {
    const producer = this.newProducer();
    try {
      // Fails now, not at the first write, when the brokers cannot be reached or refuse the credentials.
      await producer.metadata({ topics: [] });
      this.produceVersion = await produceVersion(producer);
    } catch (err) {
      await producer.close().catch(() => undefined);
      throw new ConduitError(Code.ConnectorOpenFailed, `kafka: cannot connect to the brokers: ${describe(err)}`, {
        cause: err,
        retryable: isRetryable(err),
        configPath: '/servers',
        suggestion: 'check that the brokers are reachable and the TLS and SASL settings are right',
      });
    }
    this.producer = producer;
    this.batcher = this.batcherOf(producer);
  }

  async write(records: readonly OpenCDCRecord[]): Promise<WriteOutcome | undefined> {
    if (this.producer === undefined) {
      throw new ConduitError(Code.ConnectorWriteFailed, 'kafka: write before open', { retryable: false });
    }
    let outcomes: (Error | undefined)[] | undefined;
    const fail = (i: number, err: Error) => {
      outcomes ??= new Array<Error | undefined>(records.length).fill(undefined);
      outcomes[i] = err;
    };
    let chunk: Message[] = [];
    let chunkBytes = 0;
    // The values of a write are encoded one after the other into one buffer; each message's value is a view of
    // its bytes. The buffer of the last write is reused once that write has returned (every message sent and
    // acknowledged): one allocation less per write, where a fresh buffer per write kept the external memory
    // churning. A write that threw, or replaced its producer, keeps no buffer: a producer being closed may still
    // hold views of it.
    const reuse = this.writeInto === undefined ? undefined : this.spareValues;
    this.spareValues = undefined;
    const producer = this.producer;
    const sink: ByteSink = {
      buf: reuse ?? Buffer.allocUnsafe(this.writeInto === undefined ? 0 : VALUE_BUFFER_BYTES),
      off: 0,
    };
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as OpenCDCRecord;
      let message: Message;
      let size: number;
      try {
        ({ message, size } = this.toMessage(record, sink));
      } catch (err) {
        fail(i, err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (size > this.batchBytes) {
        fail(
          i,
          new ConduitError(
            Code.ConnectorWriteFailed,
            `kafka: the record is about ${size} bytes, more than batchBytes (${this.batchBytes})`,
            { retryable: false, configPath: '/batchBytes', suggestion: 'raise batchBytes (and the broker limit)' },
          ),
        );
        continue;
      }
      if (chunkBytes + size > this.batchBytes && chunk.length > 0) {
        await this.send(chunk);
        chunk = [];
        chunkBytes = 0;
      }
      chunk.push(message);
      chunkBytes += size;
    }
    if (chunk.length > 0) await this.send(chunk);
    if (this.writeInto !== undefined && this.producer === producer && sink.buf.length <= VALUE_BUFFER_KEEP_BYTES) {
      this.spareValues = sink.buf;
    }
    return outcomes;
  }

  async teardown(): Promise<void> {
    this.closed = true;
    const producer = this.producer;
    this.producer = undefined;
    this.batcher = undefined;
    if (producer !== undefined) await forceClose(producer).catch(() => undefined);
  }

  private batcherOf(producer: Producer<Buffer, Buffer, string, string>): BatchProducer | undefined {
    if (this.produceVersion === undefined) return undefined;
    return new BatchProducer(producer, this.produceVersion, {
      acks: ACKS_VALUE[this.acks],
      idempotent: this.acks === 'all',
      compression: this.compression,
      timeoutMs: PRODUCE_TIMEOUT_MS,
      retries: this.opts.retries,
      retryDelay: this.opts.retryDelay,
    });
  }

  private newProducer(): Producer<Buffer, Buffer, string, string> {
    return new Producer<Buffer, Buffer, string, string>({
      ...this.opts,
      acks: ACKS_VALUE[this.acks],
      idempotent: this.acks === 'all',
      compression: this.compression as 'none',
      timeout: PRODUCE_TIMEOUT_MS,
      autocreateTopics: true,
      serializers: { headerKey: stringToBuffer, headerValue: stringToBuffer },
    });
  }

  private toMessage(record: OpenCDCRecord, sink: ByteSink): { message: Message; size: number } {
    const topic = this.topic.execute(record).trim();
    if (topic === '') {
      throw new ConduitError(Code.ConnectorWriteFailed, 'kafka: the topic template gave an empty topic', {
        retryable: false,
        configPath: '/topic',
        suggestion: 'set opencdc.collection on the records, or name a topic',
      });
    }
    let value: Buffer;
    if (this.writeInto !== undefined) {
      const from = sink.off;
      this.writeInto(record, sink);
      value = sink.buf.subarray(from, sink.off);
    } else {
      const formatted = this.format(record);
      value = typeof formatted === 'string' ? Buffer.from(formatted, 'utf8') : toBuffer(formatted);
    }
    const key = keyBytes(record.key);
    let size = MESSAGE_OVERHEAD + value.length + (key?.length ?? 0);
    const message: Message = { topic, value };
    if (key !== undefined) message.key = key;
    if (this.headers) {
      const headers = new Map<string, string>();
      for (const [k, v] of Object.entries(record.metadata)) {
        headers.set(k, v);
        size += k.length + v.length * 3 + 8;
      }
      message.headers = headers;
    }
    return { message, size };
  }

  /** Sends one chunk; resolves once the brokers acknowledged it, retrying what can be retried. */
  private async send(messages: Message[]): Promise<void> {
    const deadline = this.deliveryTimeout > 0 ? Date.now() + this.deliveryTimeout : Infinity;
    let backoff = 100;
    for (;;) {
      const producer = this.producer;
      const batcher = this.batcher;
      if (producer === undefined || this.closed) {
        throw new ConduitError(Code.ConnectorWriteFailed, 'kafka: the destination was closed during a write');
      }
      try {
        if (batcher !== undefined) await batcher.send(messages);
        else await producer.send({ messages });
        return;
      } catch (err) {
        const retry = isRetryable(err) && Date.now() + backoff < deadline && !this.closed;
        if (!retry) {
          throw new ConduitError(Code.ConnectorWriteFailed, `kafka: producing failed: ${describe(err)}`, {
            cause: err,
            retryable: isRetryable(err),
          });
        }
        this.warn('kafka: producing failed; trying again', err);
        // A fresh producer: an idempotent one that lost track of its sequence numbers would be refused.
        this.producer = this.newProducer();
        this.batcher = this.batcherOf(this.producer);
        void forceClose(producer).catch(() => undefined);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
    }
  }

  private warn(message: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn < 1000) return;
    this.lastWarn = now;
    this.logger.warn(message, { error: describe(err) });
  }
}

function stringToBuffer(s: string | undefined): Buffer | undefined {
  return s === undefined ? undefined : Buffer.from(s, 'utf8');
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function keyBytes(key: Data): Buffer | undefined {
  if (key === null) return undefined;
  if (key instanceof Uint8Array) return toBuffer(key);
  return Buffer.from(encodeValue(key), 'utf8');
}
