import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { RateLimiter } from '../engine/rate-limiter.js';
import { delay } from './abort.js';

describe('abortable waits', () => {
  it('leave no listener on a long-lived signal after their timer fires', async () => {
    const signal = new AbortController().signal;
    for (let i = 0; i < 50; i++) await delay(0, signal);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  it('return at once when the signal aborts', { timeout: 5_000 }, async () => {
    const ac = new AbortController();
    const waiting = delay(60_000, ac.signal);
    ac.abort();
    await waiting; // would outlast the test's timeout if the abort were ignored
  });

  it('the rate limiter waits many times on the pipeline signal without leaking listeners', async () => {
    const signal = new AbortController().signal;
    const limiter = new RateLimiter(10_000, 1);
    for (let i = 0; i < 30; i++) await limiter.take(1, signal);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });
});
