/**
 * The s3 destination: every batch the engine hands to `write` becomes one object, newline-delimited
 * records (`format: json`, each formatted by `sdk.record.format`) or one Parquet file
 * (`format: parquet`). `write` resolves only once the object is stored, so nothing is acknowledged
 * before it is durable. Object names sort by time and cannot collide: a UTC timestamp, a counter,
 * random bits, and a conditional write (If-None-Match: *) that refuses to replace an existing object.
 * Bodies above MULTIPART_THRESHOLD go up as a multipart upload.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import type { ByteSink } from '../../opencdc/json.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Destination, DestinationContext, RecordFormatter, WriteOutcome } from '../../sdk/connector.js';
import { byteWriterOf, type RecordByteWriter } from '../../sdk/formats.js';
import type { Config } from '../../sdk/params.js';
import { httpStatus, s3Error, s3ErrorName, s3Settings, S3Connection } from './client.js';
import { recordsToParquet } from './parquet.js';

/** Bodies larger than this are uploaded in parts. */
export const MULTIPART_THRESHOLD = 16 << 20;
/** Part size of a multipart upload (S3's minimum is 5 MiB for every part but the last). */
export const PART_SIZE = 8 << 20;

const SHA256 = 'x-amz-content-sha256';
const CONTENT_TYPES = { json: 'application/x-ndjson', parquet: 'application/vnd.apache.parquet' } as const;

let lastStamp = '';
let counter = 0;

/**
 * `<prefix><yyyyMMddTHHmmss.SSSZ>-<counter>-<random>.<ext>`: names from one process sort in the
 * order they were made (the counter breaks ties within a millisecond and survives a clock step back).
 */
export function objectName(prefix: string, ext: string, now = new Date()): string {
  let stamp = now.toISOString().replace(/[-:]/g, '');
  if (stamp < lastStamp) stamp = lastStamp;
  if (stamp === lastStamp) counter++;
  else counter = 0;
  lastStamp = stamp;
  return `${prefix}${stamp}-${String(counter).padStart(6, '0')}-${randomBytes(6).toString('hex')}.${ext}`;
}

export class S3Destination implements Destination {
  private conn: S3Connection | undefined;
  private bucket = '';
  private prefix = '';
  private format: 'json' | 'parquet' = 'json';
  private formatter: RecordFormatter = () => '';
  private writeInto: RecordByteWriter | undefined;
  /** Where a batch is encoded; its buffer is the last one used (its length, the size to start a new one at). */
  private sink: ByteSink = { buf: Buffer.allocUnsafe(1 << 20), off: 0 };
  /** Encoding buffers whose object is stored: the next batches encode into them (no allocation, no copy). */
  private readonly spare: Buffer[] = [];
  /** The SHA-256 of each body being stored (see payloadHash). */
  private readonly hashes = new WeakMap<object, string>();

  configure(config: Config, ctx: DestinationContext): void {
    const s = s3Settings(config);
    this.bucket = s.bucket;
    this.prefix = config.string('prefix');
    this.format = config.string('format') === 'parquet' ? 'parquet' : 'json';
    this.formatter = ctx.format;
    this.writeInto = byteWriterOf(ctx.format);
    this.conn = new S3Connection(s);
    // The signer signs the x-amz-content-sha256 it finds instead of hashing the body itself; S3 still
    // refuses a body that does not match it.
    this.conn.client.middlewareStack.add(
      (next) => (args) => {
        const body = (args.input as { Body?: unknown }).Body;
        const sha256 = typeof body === 'object' && body !== null ? this.hashes.get(body) : undefined;
        if (sha256 !== undefined) (args.request as { headers: Record<string, string> }).headers[SHA256] = sha256;
        return next(args);
      },
      { step: 'build', name: 'conduitPayloadHash' },
    );
  }

  async open(): Promise<void> {
    try {
      await this.connection().client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      throw s3Error(Code.ConnectorOpenFailed, 'HeadBucket', this.bucket, err);
    }
  }

  /**
   * Two: the engine hands over the next batch while the last one is being stored, and it is encoded
   * meanwhile. The objects are still stored one after the other, in the order given (so their names sort in
   * that order too), and none after one that failed.
   */
  readonly writesInFlight = 2;
  /** The last store begun: the next one starts when it has succeeded. */
  private storing: Promise<void> = Promise.resolve();

  async write(records: readonly OpenCDCRecord[]): Promise<WriteOutcome | undefined> {
    if (records.length === 0) return undefined;
    if (this.format === 'parquet') {
      const { body, outcomes, written } = this.encodeParquet(records);
      if (written > 0) await this.storeInOrder(body);
      return outcomes;
    }
    // The batch is encoded into a buffer of its own, which the SDK holds until the object is stored (a
    // retry sends it again); then it serves a later batch.
    const sink = this.sink;
    sink.buf = this.spare.pop() ?? Buffer.allocUnsafe(sink.buf.length);
    const { outcomes, written } = this.encodeJson(records);
    const whole = sink.buf;
    try {
      if (written > 0) await this.storeInOrder(whole.subarray(0, sink.off));
    } finally {
      if (this.spare.length < this.writesInFlight) this.spare.push(whole);
    }
    return outcomes;
  }

  /** Stores the body once every object handed over before it is stored. */
  private storeInOrder(body: Buffer): Promise<void> {
    const stored = this.storing.then(() => this.store(body));
    this.storing = stored;
    return stored;
  }

  async teardown(): Promise<void> {
    this.conn?.destroy();
    this.conn = undefined;
  }

  private connection(): S3Connection {
    if (this.conn === undefined) throw new Error('s3: destination used before configure or after teardown');
    return this.conn;
  }

  /** Encodes the records into the sink, from its start. */
  private encodeJson(records: readonly OpenCDCRecord[]): {
    outcomes: (Error | undefined)[] | undefined;
    written: number;
  } {
    const sink = this.sink;
    sink.off = 0;
    let outcomes: (Error | undefined)[] | undefined;
    let written = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as OpenCDCRecord;
      const start = sink.off;
      try {
        if (this.writeInto !== undefined) this.writeInto(record, sink);
        else this.append(this.formatter(record));
      } catch (err) {
        sink.off = start;
        outcomes ??= new Array<Error | undefined>(records.length).fill(undefined);
        outcomes[i] = err instanceof Error ? err : new Error(String(err));
        continue;
      }
      this.reserve(1);
      sink.buf[sink.off++] = 0x0a;
      written++;
    }
    return { outcomes, written };
  }

  private encodeParquet(records: readonly OpenCDCRecord[]): {
    body: Buffer;
    outcomes: (Error | undefined)[] | undefined;
    written: number;
  } {
    const { bytes, outcomes, written } = recordsToParquet(records);
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), outcomes, written };
  }

  private append(formatted: string | Uint8Array): void {
    const sink = this.sink;
    if (typeof formatted === 'string') {
      this.reserve(formatted.length * 3);
      sink.off += sink.buf.write(formatted, sink.off, 'utf8');
    } else {
      this.reserve(formatted.byteLength);
      sink.buf.set(formatted, sink.off);
      sink.off += formatted.byteLength;
    }
  }

  private reserve(bytes: number): void {
    const { buf, off } = this.sink;
    if (off + bytes <= buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, off + bytes));
    buf.copy(bigger, 0, 0, off);
    this.sink.buf = bigger;
  }

  /** Stores the body under a new name; a name that exists already (412) is replaced by another. */
  private async store(body: Buffer): Promise<void> {
    const sha256 = body.length > MULTIPART_THRESHOLD ? '' : await payloadHash(body);
    for (let attempt = 1; ; attempt++) {
      const key = objectName(this.prefix, this.format);
      try {
        if (body.length > MULTIPART_THRESHOLD) await this.multipart(key, body);
        else {
          this.hashes.set(body, sha256);
          await this.connection().client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              Body: body,
              ContentType: CONTENT_TYPES[this.format],
              IfNoneMatch: '*',
            }),
          );
        }
        return;
      } catch (err) {
        const taken = s3ErrorName(err) === 'PreconditionFailed' || httpStatus(err) === 412;
        // A retried PUT that finds the name taken: the attempt before was stored, only its answer was lost.
        if (taken && attempts(err) > 1 && (await this.holds(key, body))) return;
        if (taken && attempt < 3) continue;
        if (err instanceof ConduitError) throw err;
        throw s3Error(Code.ConnectorWriteFailed, `writing ${key}`, this.bucket, err);
      }
    }
  }

  /** Whether the object at `key` is `body` as this destination stores it (by its ETag). */
  private async holds(key: string, body: Buffer): Promise<boolean> {
    try {
      const head = await this.connection().client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ETag === etagOf(body);
    } catch {
      return false; // not known: the batch is stored again under another name
    }
  }

  private async multipart(key: string, body: Buffer): Promise<void> {
    const client = this.connection().client;
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: CONTENT_TYPES[this.format] }),
    );
    if (UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    try {
      const parts: { PartNumber: number; ETag: string | undefined }[] = [];
      for (let off = 0, n = 1; off < body.length; off += PART_SIZE, n++) {
        const part = body.subarray(off, Math.min(body.length, off + PART_SIZE));
        this.hashes.set(part, await payloadHash(part));
        const res = await client.send(
          new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId, PartNumber: n, Body: part }),
        );
        parts.push({ PartNumber: n, ETag: res.ETag });
      }
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: parts },
          IfNoneMatch: '*',
        }),
      );
    } catch (err) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }
}

/**
 * The body's SHA-256 (hex) for the request's signature, computed on libuv's thread pool (WebCrypto's digest)
 * rather than by the SDK's signer on the event loop: ~1 ms per MB the pipeline's thread keeps.
 */
async function payloadHash(body: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', body)).toString('hex');
}

/**
 * The ETag S3 gives the body as `store` uploads it: the MD5 of a single PUT, or for a multipart
 * upload the MD5 of its parts' MD5s and the part count. (Objects encrypted with SSE-KMS or SSE-C
 * have other ETags: they never match, and a batch whose answer was lost is stored again.)
 */
export function etagOf(body: Buffer): string {
  if (body.length <= MULTIPART_THRESHOLD) return `"${createHash('md5').update(body).digest('hex')}"`;
  const parts: Buffer[] = [];
  for (let off = 0; off < body.length; off += PART_SIZE) {
    parts.push(
      createHash('md5')
        .update(body.subarray(off, off + PART_SIZE))
        .digest(),
    );
  }
  return `"${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}"`;
}

/** The attempts the SDK made for the failed request (1 when it did not retry). */
function attempts(err: unknown): number {
  return (err as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts ?? 1;
}
