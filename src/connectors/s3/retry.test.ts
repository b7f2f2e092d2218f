/**
 * The s3 connector through a proxy that fails chosen requests: throttling (503 SlowDown) and server
 * errors (500) are retried without losing or repeating anything; a refusal (403) fails at once with
 * an error that names the bucket and never the secret key.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ConduitError } from '../../errors/conduit-error.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import { assertDrained, configuredDestination, configuredSource, readN } from '../../sdk/conformance.js';
import { PART_SIZE } from './destination.js';
import { s3Plugin } from './index.js';
import { bodyOf, destroyClients, FaultProxy, freshBucket, listKeys, s3Env } from './testing.js';

const proxies: FaultProxy[] = [];
after(async () => {
  destroyClients();
  for (const p of proxies) await p.close();
});

async function proxy(): Promise<FaultProxy> {
  const p = await FaultProxy.start((await s3Env()).endpoint);
  proxies.push(p);
  return p;
}

/** A secret the server does not check (moto accepts any), distinctive enough to find in any text. */
const SECRET = `SeCrEt-${randomBytes(12).toString('hex')}`;

/** A fresh bucket, and connector settings that reach it through a new fault proxy with SECRET as the key. */
async function proxiedBucket(versioned = true) {
  const b = await freshBucket(versioned);
  const p = await proxy();
  const { pollingPeriod: _unused, ...aws } = b.settings;
  const settings = { ...aws, 'aws.url': p.url, 'aws.secretAccessKey': SECRET };
  return { ...b, proxy: p, settings, sourceSettings: { ...settings, pollingPeriod: '100ms' } };
}

const rec = (batch: number, i: number): OpenCDCRecord => ({
  position: Buffer.from(`b${batch}-r${i}`),
  operation: 'create',
  metadata: { batch: String(batch) },
  key: Buffer.from(`k${i}`),
  payload: { before: null, after: Buffer.from(`batch ${batch} record ${i}`) },
});

/** The positions in one object of newline-delimited OpenCDC JSON, in order. */
function positionsIn(body: Buffer): string[] {
  return body
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Buffer.from((JSON.parse(l) as { position: string }).position, 'base64').toString('utf8'));
}

/** Fails when the text shows the secret key. */
function assertNoSecret(err: unknown): void {
  const texts = [
    String(err),
    (err as Error).stack ?? '',
    inspect(err, { depth: 8, showHidden: true }),
    JSON.stringify(err),
    err instanceof ConduitError ? err.format() : '',
  ];
  for (const t of texts) assert.ok(!t.includes(SECRET), `the secret key shows in: ${t.slice(0, 2000)}`);
}

const CDC_WAIT = 20_000;

describe('s3 destination retries', () => {
  it('writes every batch exactly once through throttling and lost answers', async () => {
    const { s3, bucket, proxy: p, settings } = await proxiedBucket(false);
    // PutObject #1 and #2 are refused (SlowDown, the server never sees them); #3 is stored; #5 and #6
    // are carried out by the server but their answers are lost (the retry of #5 finds its own object).
    p.fail({ op: 'PutObject', from: 1, times: 2, status: 503, code: 'SlowDown' });
    p.fail({ op: 'PutObject', from: 5, times: 2, status: 500, code: 'InternalError', afterServer: true });
    const dst = await configuredDestination(s3Plugin, { ...settings, format: 'json', prefix: 'out/' });
    const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: 25 }, (_, i) => rec(b, i)));
    try {
      await dst.open();
      for (const batch of batches) assert.equal(await dst.write(batch), undefined);
    } finally {
      await dst.teardown();
    }
    assert.equal(p.count('failed', 'PutObject'), 4, 'every injected failure happened');
    const keys = await listKeys(s3, bucket, 'out/');
    const stored = await Promise.all(keys.map(async (k) => positionsIn(await bodyOf(s3, bucket, k))));
    assert.deepEqual(
      stored.map((positions) => positions[0]),
      batches.map((b) => `b${b[0]?.metadata['batch']}-r0`),
      'one object per batch, in order',
    );
    assert.deepEqual(
      stored,
      batches.map((b) => b.map((r) => Buffer.from(r.position).toString())),
      'each object holds its batch',
    );
  });

  it('uploads a multipart body exactly once through throttling and lost answers', async () => {
    const { s3, bucket, proxy: p, settings } = await proxiedBucket(false);
    p.fail({ op: 'CreateMultipartUpload', times: 1, status: 503, code: 'SlowDown' });
    p.fail({ op: 'UploadPart', from: 1, times: 1, status: 503, code: 'SlowDown' });
    p.fail({ op: 'UploadPart', from: 3, times: 1, status: 500, code: 'InternalError', afterServer: true });
    // The server completes the upload but the answer is lost; the retry is refused as S3 refuses a
    // conditional write over an existing object.
    p.fail({ op: 'CompleteMultipartUpload', times: 1, status: 500, code: 'InternalError', afterServer: true });
    p.fail({ op: 'CompleteMultipartUpload', from: 2, times: 1, status: 412, code: 'PreconditionFailed' });
    const dst = await configuredDestination(s3Plugin, { ...settings, format: 'json' });
    const big = 'z'.repeat(64 * 1024);
    const records: OpenCDCRecord[] = Array.from({ length: 300 }, (_, i) => ({
      ...rec(0, i),
      payload: { before: null, after: Buffer.from(`${i}:${big}`) },
    }));
    try {
      await dst.open();
      assert.equal(await dst.write(records), undefined);
    } finally {
      await dst.teardown();
    }
    assert.equal(p.count('failed', 'UploadPart'), 2);
    assert.equal(p.count('failed', 'CompleteMultipartUpload'), 2);
    const keys = await listKeys(s3, bucket, '');
    assert.equal(keys.length, 1, `one object, not ${keys.join(', ')}`);
    const body = await bodyOf(s3, bucket, keys[0] as string);
    assert.deepEqual(
      positionsIn(body),
      records.map((r) => Buffer.from(r.position).toString()),
    );
    // Each part is signed with its own SHA-256 (computed off the event loop), as the object as a whole is.
    const lastPart = body.subarray(Math.floor((body.length - 1) / PART_SIZE) * PART_SIZE);
    const sent = p.lastHeaders.get('UploadPart') ?? {};
    assert.equal(sent['x-amz-content-sha256'], createHash('sha256').update(lastPart).digest('hex'));
  });

  it('with writes outstanding, stores them in the order given and none after one that failed', async () => {
    const { s3, bucket, proxy: p, settings } = await proxiedBucket(false);
    p.fail({ op: 'PutObject', times: 1, status: 403, code: 'AccessDenied' });
    const dst = await configuredDestination(s3Plugin, { ...settings, format: 'json', prefix: 'out/' });
    assert.equal(dst.writesInFlight, 2);
    const batches = Array.from({ length: 5 }, (_, b) => Array.from({ length: 10 - b }, (_, i) => rec(b, i)));
    try {
      await dst.open();
      // The engine hands over the next batch before the last one is stored.
      const refused = [dst.write(batches[0] ?? []), dst.write(batches[1] ?? [])];
      const outcomes = await Promise.allSettled(refused);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['rejected', 'rejected'],
      );
      assert.equal(p.count('seen', 'PutObject'), 1, 'the batch after the refused one was not sent');
      assert.deepEqual(await listKeys(s3, bucket, 'out/'), []);
    } finally {
      await dst.teardown();
    }
    // A fresh destination (the engine makes one when it restarts the pipeline): all of them, in order.
    const again = await configuredDestination(s3Plugin, { ...settings, format: 'json', prefix: 'out/' });
    try {
      await again.open();
      // Three at once, each in a buffer of its own; then two after them, in buffers the first ones used.
      const results = await Promise.all(batches.slice(0, 3).map((b) => again.write(b)));
      for (const b of batches.slice(3)) results.push(await again.write(b));
      assert.deepEqual(
        results,
        batches.map(() => undefined),
      );
    } finally {
      await again.teardown();
    }
    const keys = await listKeys(s3, bucket, 'out/');
    const stored = await Promise.all(keys.map(async (k) => positionsIn(await bodyOf(s3, bucket, k))));
    assert.deepEqual(
      stored,
      batches.map((b) => b.map((r) => Buffer.from(r.position).toString())),
      'one object per batch, their names in the order given',
    );
  });

  it("signs each object's SHA-256, so S3 checks the body (and sends no CRC32 besides)", async () => {
    const { s3, bucket, proxy: p, settings } = await proxiedBucket(false);
    const dst = await configuredDestination(s3Plugin, { ...settings, format: 'json' });
    try {
      await dst.open();
      assert.equal(await dst.write([rec(0, 0), rec(0, 1)]), undefined);
    } finally {
      await dst.teardown();
    }
    const [key] = await listKeys(s3, bucket, '');
    const body = await bodyOf(s3, bucket, key as string);
    const headers = p.lastHeaders.get('PutObject') ?? {};
    assert.equal(headers['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(headers['x-amz-checksum-crc32'], undefined);
  });

  it('fails at open on a refused HeadBucket, naming the bucket and not the secret key, without retrying', async () => {
    const { bucket, proxy: p, settings } = await proxiedBucket(false);
    p.fail({ op: 'HeadBucket', times: Infinity, status: 403, code: 'AccessDenied' });
    const dst = await configuredDestination(s3Plugin, { ...settings, format: 'json' });
    try {
      const err = await dst.open().then(
        () => assert.fail('open succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConduitError, String(err));
      assert.equal(err.code, 'connector.open_failed');
      assert.equal(err.retryable, false);
      assert.equal(err.configPath, '/aws.accessKeyId');
      assert.match(err.message, new RegExp(`access denied to bucket "${bucket}"`));
      assertNoSecret(err);
      assert.equal(p.count('seen', 'HeadBucket'), 1, 'a refusal is not retried');
    } finally {
      await dst.teardown();
    }
  });

  it('fails a write the server refuses (403), naming the bucket and not the secret key, without retrying', async () => {
    const { s3, bucket, proxy: p, settings } = await proxiedBucket(false);
    p.fail({ op: 'PutObject', times: Infinity, status: 403, code: 'AccessDenied' });
    const dst = await configuredDestination(s3Plugin, { ...settings, format: 'json' });
    try {
      await dst.open();
      const err = await dst.write([rec(0, 0)]).then(
        () => assert.fail('write succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConduitError, String(err));
      assert.equal(err.code, 'connector.write_failed');
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`access denied to bucket "${bucket}".*AccessDenied`));
      assertNoSecret(err);
      assert.equal(p.count('seen', 'PutObject'), 1, 'a refusal is not retried');
    } finally {
      await dst.teardown();
    }
    assert.deepEqual(await listKeys(s3, bucket, ''), []);
  });
});

describe('s3 source retries', () => {
  it('reads every object exactly once through throttled and failing listings and GETs', async () => {
    const { s3, bucket, proxy: p, sourceSettings } = await proxiedBucket();
    const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
    const first = Array.from({ length: 20 }, (_, i) => `a/${String(i).padStart(3, '0')}`);
    for (const k of first) await put(k);
    p.fail({ op: 'ListObjectsV2', times: 2, status: 503, code: 'SlowDown' });
    p.fail({ op: 'GetObject', from: 1, times: 3, status: 503, code: 'SlowDown' });
    p.fail({ op: 'GetObject', from: 6, times: 2, status: 500, code: 'InternalError', afterServer: true });
    const src = await configuredSource(s3Plugin, sourceSettings);
    const got: OpenCDCRecord[] = [];
    try {
      await src.open(null);
      got.push(...(await readN(src, first.length, CDC_WAIT)));
      assert.equal(p.count('failed', 'ListObjectsV2'), 2);
      assert.equal(p.count('failed', 'GetObject'), 5);
      // Then CDC (the objects above came by the snapshot or by CDC, depending on the second they were
      // stored in), through failing listings and GETs again.
      const more = Array.from({ length: 5 }, (_, i) => `b/${i}`);
      for (const k of more) await put(k);
      const polls = p.count('seen', 'ListObjectVersions');
      p.fail({ op: 'ListObjectVersions', from: polls + 1, times: 1, status: 503, code: 'SlowDown' });
      p.fail({ op: 'ListObjectVersions', from: polls + 2, times: 1, status: 500, code: 'InternalError' });
      p.fail({ op: 'GetObject', from: p.count('seen', 'GetObject') + 1, times: 2, status: 500, code: 'InternalError' });
      got.push(...(await readN(src, more.length, CDC_WAIT)));
      await assertDrained(src, 500);
      const keys = got.map((r) => Buffer.from(r.key as Uint8Array).toString());
      assert.deepEqual(keys, [...first, ...more]);
      for (const r of got) {
        const key = Buffer.from(r.key as Uint8Array).toString();
        assert.equal(Buffer.from(r.payload.after as Uint8Array).toString(), `body of ${key}`);
      }
      assert.equal(p.count('failed', 'GetObject'), 7);
      assert.equal(p.count('failed', 'ListObjectVersions'), 2);
    } finally {
      await src.teardown();
    }
  });

  it('fails a refused listing (403), naming the bucket and not the secret key', async () => {
    const { bucket, proxy: p, sourceSettings } = await proxiedBucket();
    p.fail({ op: 'ListObjectsV2', times: Infinity, status: 403, code: 'AccessDenied' });
    const src = await configuredSource(s3Plugin, sourceSettings);
    try {
      await src.open(null);
      const err = await readN(src, 1, 5000).then(
        () => assert.fail('read succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConduitError, String(err));
      assert.equal(err.code, 'connector.read_failed');
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(`access denied to bucket "${bucket}" \\(ListObjectsV2\\)`));
      assertNoSecret(err);
      assert.equal(p.count('seen', 'ListObjectsV2'), 1, 'a refusal is not retried');
    } finally {
      await src.teardown();
    }
  });
});
