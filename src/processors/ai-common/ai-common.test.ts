/**
 * The AI processors' shared pieces: backoff policies, xxHash64 (known
 * vectors), and the client's classification of failures against a fake.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ApiClient, ApiError, exponentialBackoff, jitteredBackoff } from './client.js';
import { closeAllFakes, startOpenAiFake } from './fakes.js';
import { xxhash64 } from './zstd.js';

after(closeAllFakes);

describe('ai-common', () => {
  it("Cohere's backoff: min × factor^n capped at max, no jitter", () => {
    const b = exponentialBackoff(5, 100, 1000, 2);
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => b.delayMs(n)),
      [100, 200, 400, 800, 1000],
    );
  });

  it("OpenAI's backoff: jittered between min and min × factor^n, capped at max", () => {
    const low = jitteredBackoff(3, 1000, 30_000, 2, () => 0);
    const high = jitteredBackoff(3, 1000, 30_000, 2, () => 0.999999);
    assert.deepEqual(
      [0, 1, 2].map((n) => low.delayMs(n)),
      [1000, 1000, 1000],
    );
    assert.deepEqual(
      [0, 1, 2, 10].map((n) => Math.round(high.delayMs(n))),
      [1000, 2000, 4000, 30_000],
    );
  });

  it('xxHash64 matches the reference vectors', () => {
    assert.equal(xxhash64(Buffer.from('')).toString(16), 'ef46db3751d8e999');
    assert.equal(xxhash64(Buffer.from('a')).toString(16), 'd24ec4f1a98c6e5b');
    assert.equal(xxhash64(Buffer.from('abc')).toString(16), '44bc2cf5ad770999');
  });

  it('marks 429 and 5xx retryable, other 4xx not, and counts attempts', async () => {
    const fake = await startOpenAiFake({ apiKey: 'k-123456' });
    const client = (retries: number) =>
      new ApiClient(
        {
          headers: { Authorization: 'Bearer k-123456' },
          timeoutMs: 1000,
          timeoutParam: 't',
          retry: { retries, delayMs: () => 0 },
          secrets: ['k-123456'],
        },
        new AbortController().signal,
      );
    const url = `${fake.url}/v1/embeddings`;
    const body = { model: 'm', input: ['x'] };
    for (const [status, retryable] of [
      [429, true],
      [500, true],
      [503, true],
      [400, false],
      [403, false],
    ] as const) {
      fake.failNext({ status });
      const err = await client(0)
        .postJson(url, body)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof ApiError, `status ${status}`);
      assert.equal(err.retryable, retryable, `status ${status}`);
      assert.equal(err.status, status);
    }
    fake.failNext({ status: 500 }, { status: 500 });
    assert.ok(await client(2).postJson(url, body));
    const gone = await startOpenAiFake();
    await gone.close();
    const refused = await client(3)
      .postJson(`${gone.url}/v1/embeddings`, body)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.match((refused as Error).message, /request failed: fetch failed \(.*ECONNREFUSED.*\) \(after 4 attempts\)$/);
  });
});
