import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { silentLogger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Source } from '../../sdk/connector.js';
import {
  assertDrained,
  buildConfig,
  configuredDestination,
  configuredSource,
  destinationConformance,
  readN,
  sourceConformance,
} from '../../sdk/conformance.js';
import { sourceSpecs } from '../../sdk/sdk-params.js';
import { waitFor } from '../../sdk/testing.js';
import { s3Plugin } from './index.js';
import { S3Source } from './source.js';
import { sourceParams } from './spec.js';
import { bodyOf, destroyClients, freshBucket, listKeys } from './testing.js';

// A full collection on demand, to measure what is held rather than what is not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

after(destroyClients);

const keyOf = (r: OpenCDCRecord) => Buffer.from(r.key as Uint8Array).toString('utf8');
const body = (r: OpenCDCRecord) => Buffer.from(r.payload.after as Uint8Array).toString('utf8');
const CDC_WAIT = 15_000; // changes are taken once their LastModified second is settled (about 2-3 s)

// ---------------------------------------------------------------------------------------------

sourceConformance({
  plugin: s3Plugin,
  timeoutMs: CDC_WAIT,
  fixture: async () => {
    const { s3, bucket, settings } = await freshBucket();
    let n = 0;
    return {
      settings: { ...settings, prefix: 'in/' },
      produce: async (count) => {
        const keys: string[] = [];
        for (let i = 0; i < count; i++) {
          const key = `in/obj-${String(n++).padStart(6, '0')}`;
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `payload of ${key}` }));
          keys.push(key);
        }
        // Outside the prefix: never read.
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `other/${n}`, Body: 'x' }));
        return keys;
      },
    };
  },
  identify: keyOf,
  invalid: [{ settings: { 'aws.bucket': 'no-such-bucket-conduit' }, param: 'aws.bucket' }],
});

destinationConformance({
  plugin: s3Plugin,
  fixture: async () => {
    const { s3, bucket, settings } = await freshBucket();
    const { pollingPeriod: _unused, ...aws } = settings;
    return {
      settings: { ...aws, format: 'json', prefix: 'out/' },
      readBack: async () => {
        const parts: Buffer[] = [];
        for (const key of await listKeys(s3, bucket, 'out/')) parts.push(await bodyOf(s3, bucket, key));
        return Buffer.concat(parts);
      },
    };
  },
  invalid: [
    { settings: { format: 'csv' }, param: 'format' },
    { settings: { 'aws.bucket': 'no-such-bucket-conduit' }, param: 'aws.bucket' },
  ],
});

describe('s3 source', () => {
  it('detects creates, overwrites and deletes (versioned bucket)', async () => {
    const { s3, bucket, settings } = await freshBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'a1', ContentType: 'text/plain' }));
    // Older than the snapshot start (a second before the first listing): wait until that is so.
    await waitFor(async () => (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents !== undefined);
    const src = await configuredSource(s3Plugin, settings);
    try {
      await src.open(null);
      const [snap] = await readN(src, 1, CDC_WAIT);
      assert.equal(keyOf(snap as OpenCDCRecord), 'a');
      assert.match((snap as OpenCDCRecord).operation, /^(snapshot|create)$/);
      assert.equal(body(snap as OpenCDCRecord), 'a1');
      assert.equal((snap as OpenCDCRecord).metadata['s3.contentType'], 'text/plain');
      assert.equal((snap as OpenCDCRecord).metadata['s3.size'], '2');
      assert.match((snap as OpenCDCRecord).metadata['s3.etag'] ?? '', /^"[0-9a-f]{32}"$/);
      assert.ok(Date.parse((snap as OpenCDCRecord).metadata['s3.lastModified'] ?? '') > 0);

      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: 'b1' }));
      const [created] = await readN(src, 1, CDC_WAIT);
      assert.deepEqual(
        [created?.operation, keyOf(created as OpenCDCRecord), body(created as OpenCDCRecord)],
        ['create', 'b', 'b1'],
      );
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'a2' }));
      const [updated] = await readN(src, 1, CDC_WAIT);
      assert.deepEqual(
        [updated?.operation, keyOf(updated as OpenCDCRecord), body(updated as OpenCDCRecord)],
        ['update', 'a', 'a2'],
      );
      assert.ok(updated?.metadata['s3.versionId'], 'a versioned change names its version');
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a' }));
      const [deleted] = await readN(src, 1, CDC_WAIT);
      assert.deepEqual([deleted?.operation, keyOf(deleted as OpenCDCRecord)], ['delete', 'a']);
      assert.deepEqual(deleted?.payload, { before: null, after: null });
      await assertDrained(src, 300);
    } finally {
      await src.teardown();
    }
  });

  it('without versioning, sees new and overwritten objects as creates and misses deletes', async () => {
    const { s3, bucket, settings } = await freshBucket(false);
    const src = await configuredSource(s3Plugin, settings);
    try {
      await src.open(null);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: '1' }));
      const [first] = await readN(src, 1, CDC_WAIT);
      assert.deepEqual([first?.operation, body(first as OpenCDCRecord)], ['create', '1']);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: '2' }));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'x' }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'y', Body: '3' }));
      const [next] = await readN(src, 1, CDC_WAIT);
      assert.deepEqual([next?.operation, keyOf(next as OpenCDCRecord)], ['create', 'y']);
    } finally {
      await src.teardown();
    }
  });

  const pagedSource = async (settings: Record<string, string>) => {
    const s = new S3Source({ pageSize: 7 });
    s.configure(buildConfig(sourceSpecs(sourceParams), settings), {
      connectorId: 'p:s3',
      pipelineId: 'p',
      logger: silentLogger,
    });
    return s;
  };

  it('restarts in the middle of a snapshot listing with no gap and no repeat', async () => {
    const { s3, bucket, settings } = await freshBucket();
    const keys = Array.from({ length: 40 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))));
    const opened: Source[] = [];
    try {
      const a = await pagedSource(settings);
      opened.push(a);
      await a.open(null);
      const head = await readN(a, 17, CDC_WAIT);
      await a.teardown(); // a crash: nothing acked
      const b = await pagedSource(settings);
      opened.push(b);
      await b.open((head.at(-1) as OpenCDCRecord).position);
      const tail = await readN(b, 23, CDC_WAIT);
      assert.deepEqual([...head, ...tail].map(keyOf).sort(), keys);
      assert.equal(new Set([...head, ...tail].map(keyOf)).size, 40);
      await assertDrained(b, 300);
    } finally {
      for (const s of opened) await s.teardown().catch(() => undefined);
    }
  });

  it('restarts in the middle of a version listing (CDC) with no gap and no repeat', async () => {
    const { s3, bucket, settings } = await freshBucket();
    const a = await pagedSource(settings);
    const opened: Source[] = [a];
    try {
      await a.open(null);
      await assertDrained(a, 50); // the (empty) snapshot is done: what follows is CDC
      const keys = Array.from({ length: 30 }, (_, i) => `c/${String(i).padStart(3, '0')}`);
      for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
      const head = await readN(a, 11, CDC_WAIT);
      assert.ok(head.every((r) => r.operation === 'create'));
      await a.teardown();
      const b = await pagedSource(settings);
      opened.push(b);
      await b.open((head.at(-1) as OpenCDCRecord).position);
      const tail = await readN(b, 19, CDC_WAIT);
      assert.deepEqual([...head, ...tail].map(keyOf), keys);
      await assertDrained(b, 300);
    } finally {
      for (const s of opened) await s.teardown().catch(() => undefined);
    }
  });

  it('streams a 200 MB object in chunks with flat memory, and resumes inside it', async () => {
    const { s3, bucket, settings } = await freshBucket();
    const size = 200 * 1024 * 1024;
    const part = 8 * 1024 * 1024;
    const seed = randomBytes(part);
    // Each part differs (its number in the first bytes), so a chunk read from the wrong place shows.
    const partBytes = (n: number) => {
      const b = Buffer.from(seed);
      b.writeUInt32BE(n, 0);
      return b;
    };
    const expected = createHash('sha256');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big.bin' }));
    const parts = [];
    for (let n = 1; n <= size / part; n++) {
      const b = partBytes(n);
      expected.update(b);
      const res = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: 'big.bin', UploadId, PartNumber: n, Body: b }),
      );
      parts.push({ PartNumber: n, ETag: res.ETag });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'big.bin',
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    const want = expected.digest('hex');

    // What the source holds (about 32 MiB: the chunks it has read ahead), not the garbage it left: measured
    // after a full collection every 10 chunks.
    gc();
    const base = process.memoryUsage();
    let peak = 0;
    const sample = () => {
      gc();
      const m = process.memoryUsage();
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - (base.heapUsed + base.arrayBuffers));
    };
    const got = createHash('sha256');
    const src = await configuredSource(s3Plugin, settings);
    let resumeAt: Uint8Array | undefined;
    try {
      await src.open(null);
      let count = 0;
      while (count < 200) {
        const batch = await readN(src, 1, CDC_WAIT);
        for (const r of batch) {
          count++;
          assert.equal(r.metadata['opencdc.file.chunked'], 'true');
          assert.equal(r.metadata['opencdc.file.chunk.index'], String(count));
          assert.equal(r.metadata['opencdc.file.chunk.count'], '200');
          got.update(r.payload.after as Uint8Array);
          if (count === 150) resumeAt = r.position;
          if (count % 10 === 0) sample();
        }
      }
      await assertDrained(src, 100);
    } finally {
      await src.teardown();
    }
    assert.equal(got.digest('hex'), want, 'the chunks put together are the object');
    assert.ok(peak < 48 * 1024 * 1024, `memory grew by ${(peak / 1048576).toFixed(1)} MiB while streaming 200 MiB`);

    // A crash after chunk 150: the next run starts at chunk 151.
    const again = await configuredSource(s3Plugin, settings);
    try {
      await again.open(resumeAt as Uint8Array);
      const [next] = await readN(again, 1, CDC_WAIT);
      assert.equal(next?.metadata['opencdc.file.chunk.index'], '151');
      const offset = 150 * 1024 * 1024;
      const expectedChunk = partBytes(Math.floor(offset / part) + 1).subarray(
        offset % part,
        (offset % part) + 1024 * 1024,
      );
      assert.ok(Buffer.from(next?.payload.after as Uint8Array).equals(expectedChunk));
    } finally {
      await again.teardown();
    }
  });

  it('rejects a position it did not write', async () => {
    const { settings } = await freshBucket();
    const src = await configuredSource(s3Plugin, settings);
    await assert.rejects(src.open(Buffer.from('key_s123')), /not one this connector wrote/);
    await src.teardown();
  });
});

describe('s3 destination', () => {
  it('writes parquet files that a parquet reader reads back as the records', async () => {
    const { s3, bucket, settings } = await freshBucket();
    const { pollingPeriod: _unused, ...aws } = settings;
    const dst = await configuredDestination(s3Plugin, { ...aws, format: 'parquet', prefix: 'pq/' });
    const records: OpenCDCRecord[] = Array.from({ length: 50 }, (_, i) => ({
      position: Buffer.from(`p${i}`),
      operation: i % 5 === 0 ? 'update' : 'create',
      metadata: { 'opencdc.collection': 'users', n: String(i) },
      key: { id: i },
      payload: {
        before: i % 5 === 0 ? { id: i, name: 'old' } : null,
        after: {
          id: i,
          name: `user-${i}`,
          // Few distinct strings (a dictionary column) and varied non-ASCII ones (plain UTF-8).
          city: i % 2 === 0 ? 'Zürich' : 'Köln',
          note: `naïve ☃ ${'𝄞'.repeat(i % 3)} ${i}`,
          score: i + 0.5,
          active: i % 2 === 0,
          ...(i % 3 === 0 ? { tags: ['a', 'b'] } : {}),
          ...(i % 7 === 0 ? { blob: Buffer.from([1, 2, i]) } : {}),
        },
      },
    }));
    try {
      await dst.open();
      assert.equal(await dst.write(records.slice(0, 20)), undefined);
      assert.equal(await dst.write(records.slice(20)), undefined);
    } finally {
      await dst.teardown();
    }
    const keys = await listKeys(s3, bucket, 'pq/');
    assert.equal(keys.length, 2, 'one object per batch');
    assert.ok(
      keys.every((k) => /^pq\/\d{8}T\d{6}\.\d{3}Z-\d{6}-[0-9a-f]{12}\.parquet$/.test(k)),
      keys.join(),
    );
    const rows: Record<string, unknown>[] = [];
    for (const key of keys) {
      const bytes = await bodyOf(s3, bucket, key);
      const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      rows.push(...((await parquetReadObjects({ file: ab as ArrayBuffer, utf8: false })) as Record<string, unknown>[]));
    }
    assert.equal(rows.length, 50);
    rows.forEach((row, i) => {
      const r = records[i] as OpenCDCRecord;
      const a = r.payload.after as Record<string, unknown>;
      assert.equal(Buffer.from(row['opencdc_position'] as Uint8Array).toString(), `p${i}`);
      assert.equal(row['opencdc_operation'], r.operation);
      assert.deepEqual(row['opencdc_metadata'], r.metadata);
      assert.deepEqual(row['opencdc_key'], { id: i });
      assert.deepEqual(row['opencdc_before'], r.payload.before);
      assert.equal(row['id'], BigInt(i));
      assert.equal(row['name'], a['name']);
      assert.equal(row['city'], a['city']);
      assert.equal(row['note'], a['note']);
      assert.equal(row['score'], a['score']);
      assert.equal(row['active'], a['active']);
      assert.deepEqual(row['tags'] ?? null, a['tags'] ?? null);
      const blob = row['blob'] as Uint8Array | null | undefined;
      if (a['blob'] === undefined) assert.ok(blob === null || blob === undefined);
      else assert.deepEqual([...(blob as Uint8Array)], [...(a['blob'] as Uint8Array)]);
    });
  });

  it('uploads a batch larger than the multipart threshold in parts', async () => {
    const { s3, bucket, settings } = await freshBucket(false);
    const { pollingPeriod: _unused, ...aws } = settings;
    const dst = await configuredDestination(s3Plugin, { ...aws, format: 'json' });
    const big = 'z'.repeat(64 * 1024);
    const records: OpenCDCRecord[] = Array.from({ length: 300 }, (_, i) => ({
      position: Buffer.from(String(i)),
      operation: 'create',
      metadata: {},
      key: null,
      payload: { before: null, after: Buffer.from(`${i}:${big}`) },
    }));
    try {
      await dst.open();
      assert.equal(await dst.write(records), undefined);
    } finally {
      await dst.teardown();
    }
    const [key] = await listKeys(s3, bucket, '');
    const text = (await bodyOf(s3, bucket, key as string)).toString('utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 300);
    assert.ok(text.length > 16 * 1024 * 1024);
  });
});
