/**
 * The s3 source: a snapshot of the objects under `prefix` (ListObjectsV2, in key order), then CDC by
 * listing every object version (ListObjectVersions) each `pollingPeriod`.
 *
 * The snapshot takes the objects last modified before it started (`s` in the position), CDC every
 * change from then on, so each change is emitted by exactly one of them. CDC emits changes in the
 * order (LastModified, key, version id) and remembers the last one emitted; listings report
 * LastModified to the second, so a change is only taken once its second is over and another second
 * has passed on the server's clock (SETTLE_MS), when every upload stamped with it is visible. Objects
 * are fetched a few at a time (FETCH_WINDOW) in order; an object larger than `fileChunkSize` is read
 * by one GET (ranged from the chunk to resume at) whose body is consumed a chunk at a time, one record
 * per chunk, so it is never whole in memory: the stream is read only as far as the fetch window asks.
 */
import {
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  type DeleteMarkerEntry,
  type ObjectVersion,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { Code } from '../../errors/codes.js';
import type { Logger } from '../../log/logger.js';
import type { OpenCDCRecord, Operation } from '../../opencdc/record.js';
import type { ConnectorContext, Source } from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';
import { delay } from '../util.js';
import { isGoneOrChanged, s3Error, s3Settings, S3Connection } from './client.js';
import { compareChange, decodePosition, encodePosition, type Position } from './position.js';

/** A change is settled when its LastModified second ended at least a second ago on the server. */
export const SETTLE_MS = 2000;
/** Objects (or chunks) fetched concurrently, in order. */
const FETCH_WINDOW = 8;
/** Changes one poll queues at most; the rest come with the next poll. */
const MAX_PENDING = 10_000;
/** A read returns once it holds this many payload bytes. */
const READ_BYTES = 4 << 20;

/** One object (or one chunk of one), or a delete, to be turned into a record. */
interface Item {
  readonly op: Operation;
  readonly key: string;
  /** The version to fetch; undefined when the bucket is not versioned or in the snapshot. */
  readonly versionId: string | undefined;
  readonly etag: string;
  readonly lastModified: number;
  readonly size: number;
  /** 1-based chunk index and count; 1 of 1 for a whole object. */
  readonly index: number;
  readonly count: number;
  readonly start: number;
  readonly end: number;
  readonly position: Buffer;
  /** The body all chunks of a chunked object are read from. */
  readonly stream: ObjectStream | undefined;
}

interface Fetched {
  readonly item: Item;
  /** Undefined when the object changed or went away after it was listed: the change that did it follows. */
  readonly body: Buffer | undefined;
  readonly contentType: string;
}

interface InFlight {
  readonly item: Item;
  readonly result: Promise<{ ok: true; value: Fetched } | { ok: false; error: unknown }>;
  settled: boolean;
}

interface Change {
  readonly t: number;
  readonly k: string;
  readonly v: string;
  readonly op: Operation;
  readonly etag: string;
  readonly size: number;
}

export interface S3SourceOptions {
  /** Keys per listing page (S3's most and default is 1000); tests use small pages to restart mid-listing. */
  readonly pageSize?: number;
}

export class S3Source implements Source {
  private readonly pageSize: number | undefined;
  private conn: S3Connection | undefined;
  private bucket = '';
  private prefix = '';
  private pollMs = 1000;
  private chunkSize = 1 << 20;
  private logger: Logger | undefined;

  private mode: 'snapshot' | 'cdc' = 'snapshot';
  /** Snapshot start (server ms); undefined until the first listing answered. */
  private snapshotStart: number | undefined;
  private snapshotAfter = '';
  private snapshotToken: string | undefined;
  /** The last change queued in CDC (emitted changes are at or before it). */
  private cursor = { t: 0, k: '', v: '' };
  private nextPollAt = 0;

  private queue: Item[] = [];
  private inflight: InFlight[] = [];
  private readonly teardownAbort = new AbortController();

  constructor(opts: S3SourceOptions = {}) {
    this.pageSize = opts.pageSize;
  }

  configure(config: Config, ctx: ConnectorContext): void {
    const s = s3Settings(config);
    this.bucket = s.bucket;
    this.prefix = config.string('prefix');
    this.pollMs = config.duration('pollingPeriod');
    this.chunkSize = config.int('fileChunkSize');
    this.logger = ctx.logger;
    this.conn = new S3Connection(s);
  }

  async open(position: Uint8Array | null): Promise<void> {
    const conn = this.connection();
    const p = position === null || position.length === 0 ? undefined : decodePosition(position);
    try {
      await conn.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: this.teardownAbort.signal,
      });
    } catch (err) {
      throw s3Error(Code.ConnectorOpenFailed, 'HeadBucket', this.bucket, err);
    }
    if (p === undefined) return;
    if (p.m === 's') {
      this.mode = 'snapshot';
      this.snapshotStart = p.s;
      this.snapshotAfter = p.k;
    } else {
      this.mode = 'cdc';
      this.cursor = { t: p.t, k: p.k, v: p.v };
    }
    this.resumeChunks(p);
  }

  async read(max: number, signal: AbortSignal): Promise<OpenCDCRecord[]> {
    const out: OpenCDCRecord[] = [];
    let bytes = 0;
    for (;;) {
      if (signal.aborted || this.teardownAbort.signal.aborted) return out;
      this.fill();
      const head = this.inflight[0];
      if (head !== undefined) {
        if (out.length > 0 && !head.settled) return out;
        const res = await raceAbort(head.result, signal);
        if (res === undefined) return out; // aborted: the fetch stays queued for the next read
        this.inflight.shift();
        if (!res.ok) throw s3Error(Code.ConnectorReadFailed, `GetObject ${head.item.key}`, this.bucket, res.error);
        const r = this.toRecord(res.value);
        if (r !== undefined) {
          out.push(r);
          bytes += res.value.body?.length ?? 0;
          if (out.length >= max || bytes >= READ_BYTES) return out;
        }
        continue;
      }
      if (out.length > 0) return out;
      try {
        if (this.mode === 'snapshot') await this.listSnapshotPage(signal);
        else await this.poll(signal);
      } catch (err) {
        if (signal.aborted) return out;
        throw s3Error(
          Code.ConnectorReadFailed,
          this.mode === 'snapshot' ? 'ListObjectsV2' : 'ListObjectVersions',
          this.bucket,
          err,
        );
      }
    }
  }

  async ack(_positions: readonly Uint8Array[]): Promise<void> {
    // Reading changes nothing in the bucket; the position alone says where to resume.
  }

  async teardown(): Promise<void> {
    this.teardownAbort.abort();
    for (const i of [...this.queue, ...this.inflight.map((f) => f.item)]) i.stream?.destroy();
    const pending = this.inflight.map((f) => f.result);
    this.inflight = [];
    this.queue = [];
    await Promise.all(pending);
    this.conn?.destroy();
    this.conn = undefined;
  }

  private connection(): S3Connection {
    if (this.conn === undefined) throw new Error('s3: source used before configure or after teardown');
    return this.conn;
  }

  /** A position inside a chunked object: queue its remaining chunks first. */
  private resumeChunks(p: Position): void {
    if (p.i >= p.n || p.o === undefined || p.z === undefined) return;
    const op = p.op ?? (p.m === 's' ? 'snapshot' : 'create');
    if (p.m === 's') this.queue.push(...this.chunks('s', op, p.k, undefined, p.e, p.t, p.z, p.s, p.i, p.o));
    else {
      const versionId = p.v === 'null' ? undefined : p.v;
      this.queue.push(...this.chunks('c', op, p.k, versionId, p.e, p.t, p.z, 0, p.i, p.o, p.v));
    }
  }

  /** Starts fetches until the window is full. */
  private fill(): void {
    while (this.inflight.length < FETCH_WINDOW && this.queue.length > 0) {
      const item = this.queue.shift() as Item;
      const f: InFlight = {
        item,
        settled: false,
        result: this.fetch(item).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      };
      void f.result.then(() => (f.settled = true));
      this.inflight.push(f);
    }
  }

  private async fetch(item: Item): Promise<Fetched> {
    if (item.op === 'delete') return { item, body: undefined, contentType: '' };
    if (item.stream !== undefined) {
      try {
        const body = await item.stream.read(item.end - item.start);
        return { item, body, contentType: item.stream.contentType };
      } finally {
        if (item.index === item.count) item.stream.destroy();
      }
    }
    const conn = this.connection();
    try {
      const res = await conn.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: item.key,
          ...(item.versionId === undefined ? { IfMatch: item.etag } : { VersionId: item.versionId }),
        }),
        { abortSignal: this.teardownAbort.signal },
      );
      const bytes = res.Body === undefined ? new Uint8Array(0) : await res.Body.transformToByteArray();
      return {
        item,
        body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        contentType: res.ContentType ?? '',
      };
    } catch (err) {
      if (isGoneOrChanged(err)) {
        this.logger?.debug('s3: object changed or removed after it was listed; its newer change follows', {
          key: item.key,
        });
        return { item, body: undefined, contentType: '' };
      }
      throw err;
    }
  }

  private toRecord(f: Fetched): OpenCDCRecord | undefined {
    const { item } = f;
    if (item.op !== 'delete' && f.body === undefined) return undefined;
    const metadata: Record<string, string> = {
      'opencdc.createdAt': `${item.lastModified}000000`,
      'opencdc.file.name': item.key,
      's3.lastModified': new Date(item.lastModified).toISOString(),
    };
    if (item.versionId !== undefined) metadata['s3.versionId'] = item.versionId;
    if (item.op !== 'delete') {
      metadata['opencdc.file.size'] = String(item.size);
      metadata['s3.size'] = String(item.size);
      metadata['s3.etag'] = item.etag;
      metadata['s3.contentType'] = f.contentType;
      if (item.count > 1) {
        metadata['opencdc.file.chunked'] = 'true';
        metadata['opencdc.file.chunk.index'] = String(item.index);
        metadata['opencdc.file.chunk.count'] = String(item.count);
      }
    }
    return {
      position: item.position,
      operation: item.op,
      metadata,
      key: Buffer.from(item.key, 'utf8'),
      payload: { before: null, after: item.op === 'delete' ? null : (f.body as Buffer) },
    };
  }

  /** One ListObjectsV2 page of the snapshot; at its end, CDC takes over from the snapshot start. */
  private async listSnapshotPage(signal: AbortSignal): Promise<void> {
    const conn = this.connection();
    const res = await conn.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        ...(this.prefix === '' ? {} : { Prefix: this.prefix }),
        ...(this.snapshotToken !== undefined
          ? { ContinuationToken: this.snapshotToken }
          : this.snapshotAfter === ''
            ? {}
            : { StartAfter: this.snapshotAfter }),
        ...(this.pageSize === undefined ? {} : { MaxKeys: this.pageSize }),
      }),
      { abortSignal: signal },
    );
    // A new snapshot starts a second before the server's clock, so that CDC also sees objects stamped
    // just before the listing that become visible only after it.
    const start = (this.snapshotStart ??= conn.lastServerDate() - 1000);
    for (const o of res.Contents ?? []) {
      const key = o.Key;
      if (key === undefined) continue;
      this.snapshotAfter = key;
      const lm = o.LastModified?.getTime() ?? 0;
      if (lm >= start) continue; // changed since the snapshot started: CDC emits it
      this.queue.push(...this.chunks('s', 'snapshot', key, undefined, o.ETag ?? '', lm, o.Size ?? 0, start, 0, 0));
    }
    if (res.IsTruncated === true && res.NextContinuationToken !== undefined) {
      this.snapshotToken = res.NextContinuationToken;
      return;
    }
    this.logger?.info('s3: snapshot listed; capturing changes from now on', { bucket: this.bucket });
    this.mode = 'cdc';
    this.cursor = { t: start, k: '', v: '' };
    this.snapshotToken = undefined;
  }

  /** Lists every version and queues the settled changes after the cursor, oldest first. */
  private async poll(signal: AbortSignal): Promise<void> {
    const wait = this.nextPollAt - Date.now();
    if (wait > 0) {
      await delay(wait, signal);
      if (signal.aborted) return;
    }
    this.nextPollAt = Date.now() + this.pollMs;
    const conn = this.connection();
    let candidates: Change[] = [];
    let horizon: number | undefined;
    let group: (ObjectVersion | DeleteMarkerEntry)[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    const finish = () => {
      const c = horizon === undefined ? undefined : this.change(group, horizon);
      if (c !== undefined) candidates.push(c);
      group = [];
    };
    for (;;) {
      const res = await conn.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          ...(this.prefix === '' ? {} : { Prefix: this.prefix }),
          ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
          ...(this.pageSize === undefined ? {} : { MaxKeys: this.pageSize }),
        }),
        { abortSignal: signal },
      );
      horizon ??= conn.lastServerDate() - SETTLE_MS;
      for (const e of mergeVersions(res.Versions ?? [], res.DeleteMarkers ?? [])) {
        if (group.length > 0 && group[0]?.Key !== e.Key) finish();
        group.push(e);
      }
      if (candidates.length > 2 * MAX_PENDING) candidates = smallest(candidates, MAX_PENDING);
      if (res.IsTruncated !== true) break;
      keyMarker = res.NextKeyMarker;
      versionMarker = res.NextVersionIdMarker;
    }
    finish();
    for (const c of smallest(candidates, MAX_PENDING)) {
      const versionId = c.v === 'null' ? undefined : c.v;
      this.queue.push(
        ...this.chunks('c', c.op, c.k, versionId, c.etag, c.t, c.op === 'delete' ? 0 : c.size, 0, 0, 0, c.v),
      );
      this.cursor = { t: c.t, k: c.k, v: c.v };
    }
  }

  /** The change one key's versions (newest first) show, if it is settled and after the cursor. */
  private change(versions: readonly (ObjectVersion | DeleteMarkerEntry)[], horizon: number): Change | undefined {
    const latest = versions.find((v) => v.IsLatest === true);
    if (latest?.Key === undefined) return undefined;
    const t = latest.LastModified?.getTime() ?? 0;
    if (t > horizon) return undefined;
    const v = latest.VersionId ?? 'null';
    const k = latest.Key;
    if (compareChange({ t, k, v }, this.cursor) <= 0) return undefined;
    const previous = versions.find((x) => x !== latest);
    const isVersion = (x: ObjectVersion | DeleteMarkerEntry | undefined) => x !== undefined && 'ETag' in x;
    if (!isVersion(latest)) {
      // A delete marker over nothing (or over another marker) deletes nothing.
      if (!isVersion(previous)) return undefined;
      return { t, k, v, op: 'delete', etag: '', size: 0 };
    }
    const ver = latest as ObjectVersion;
    return { t, k, v, op: isVersion(previous) ? 'update' : 'create', etag: ver.ETag ?? '', size: ver.Size ?? 0 };
  }

  private objectStream(
    key: string,
    versionId: string | undefined,
    etag: string,
    from: number,
    size: number,
  ): ObjectStream {
    return new ObjectStream(async () => {
      try {
        const res = await this.connection().client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: key,
            ...(versionId === undefined ? { IfMatch: etag } : { VersionId: versionId }),
            Range: `bytes=${from}-${size - 1}`,
          }),
          { abortSignal: this.teardownAbort.signal },
        );
        return { body: res.Body as Readable, contentType: res.ContentType ?? '' };
      } catch (err) {
        if (isGoneOrChanged(err)) return undefined;
        throw err;
      }
    });
  }

  /**
   * The items of one object: a whole object, or its chunks from `fromIndex + 1` at byte `fromOffset`.
   * `cdcVersion` is the version id in CDC positions ('null' for an unversioned bucket).
   */
  private chunks(
    mode: 's' | 'c',
    op: Operation,
    key: string,
    versionId: string | undefined,
    etag: string,
    lastModified: number,
    size: number,
    snapshotStart: number,
    fromIndex: number,
    fromOffset: number,
    cdcVersion = versionId ?? 'null',
  ): Item[] {
    const chunked = op !== 'delete' && size > this.chunkSize;
    const count = chunked ? fromIndex + Math.ceil((size - fromOffset) / this.chunkSize) : 1;
    const out: Item[] = [];
    let start = fromOffset;
    const stream = chunked ? this.objectStream(key, versionId, etag, fromOffset, size) : undefined;
    for (let index = fromIndex + 1; index <= count; index++) {
      const end = chunked ? Math.min(size, start + this.chunkSize) : size;
      const pos: Position =
        mode === 's'
          ? { m: 's', s: snapshotStart, t: lastModified, k: key, i: index, n: count, e: etag }
          : { m: 'c', t: lastModified, k: key, v: cdcVersion, i: index, n: count, e: etag };
      const withOffsets = index < count ? { ...pos, o: end, z: size, op } : pos;
      out.push({
        op,
        key,
        versionId,
        etag,
        lastModified,
        size,
        index,
        count,
        start,
        end,
        position: encodePosition(withOffsets),
        stream,
      });
      start = end;
    }
    return out;
  }
}

/** Reads an object's bytes from `from` on, a piece at a time, through one ranged GET opened on first use. */
class ObjectStream {
  contentType = '';
  private body: Readable | undefined;
  private iter: AsyncIterator<Uint8Array> | undefined;
  private leftover: Buffer | undefined;
  private gone = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly openBody: () => Promise<{ body: Readable; contentType: string } | undefined>) {}

  /** The next `n` bytes, in call order; undefined when the object changed or went away. */
  read(n: number): Promise<Buffer | undefined> {
    const p = this.chain.then(() => this.readNow(n));
    this.chain = p.catch(() => undefined);
    return p;
  }

  destroy(): void {
    this.gone = true;
    this.body?.destroy();
    this.body = undefined;
  }

  private async readNow(n: number): Promise<Buffer | undefined> {
    if (this.gone) return undefined;
    if (this.iter === undefined) {
      const opened = await this.openBody();
      if (opened === undefined || this.gone) {
        opened?.body.destroy();
        this.gone = true;
        return undefined;
      }
      this.body = opened.body;
      this.contentType = opened.contentType;
      this.iter = opened.body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      let piece = this.leftover;
      this.leftover = undefined;
      if (piece === undefined) {
        const { value, done } = await this.iter.next();
        if (done === true) throw new Error(`the object ended ${n - off} bytes early`);
        piece = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
      const take = Math.min(n - off, piece.length);
      piece.copy(out, off, 0, take);
      off += take;
      if (take < piece.length) this.leftover = piece.subarray(take);
    }
    return out;
  }
}

/** One page's versions and delete markers, by key, newest first within a key (S3's own order). */
function mergeVersions(
  versions: readonly ObjectVersion[],
  markers: readonly DeleteMarkerEntry[],
): (ObjectVersion | DeleteMarkerEntry)[] {
  if (markers.length === 0) return [...versions];
  const all: (ObjectVersion | DeleteMarkerEntry)[] = [...versions, ...markers];
  return all.sort((a, b) => {
    const ka = a.Key ?? '';
    const kb = b.Key ?? '';
    if (ka !== kb) return ka < kb ? -1 : 1;
    if (a.IsLatest !== b.IsLatest) return a.IsLatest === true ? -1 : 1;
    return (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0);
  });
}

function smallest(changes: Change[], n: number): Change[] {
  changes.sort(compareChange);
  return changes.length > n ? changes.slice(0, n) : changes;
}

/** The promise's value, or undefined as soon as the signal aborts. */
async function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
