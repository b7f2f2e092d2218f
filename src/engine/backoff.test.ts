/** RecoveryBackoff: Conduit's pipelines.error-recovery.* (reference §3.6), with injected clock and randomness. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecoveryBackoff } from './backoff.js';
import type { RecoveryConfig } from './types.js';

const CFG: RecoveryConfig = {
  minDelay: 1_000,
  maxDelay: 10_000,
  backoffFactor: 2,
  maxRetries: -1,
  maxRetriesWindow: 300_000,
};

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function delays(b: RecoveryBackoff, n: number): Array<number | undefined> {
  return Array.from({ length: n }, () => b.next());
}

describe('RecoveryBackoff', () => {
  it('grows by the factor from min-delay and is capped at max-delay (1s, 2s, 4s, 8s, 10s, 10s)', () => {
    const b = new RecoveryBackoff(CFG, clock().now, () => 1);
    assert.deepEqual(delays(b, 6), [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('uses the configured factor', () => {
    const b = new RecoveryBackoff({ ...CFG, minDelay: 100, backoffFactor: 3 }, clock().now, () => 1);
    assert.deepEqual(delays(b, 5), [100, 300, 900, 2_700, 8_100]);
  });

  it('jitters within [max(min-delay, base/2), base]', () => {
    // The lowest draw: half the base, but never below the minimum delay.
    assert.deepEqual(
      delays(new RecoveryBackoff(CFG, clock().now, () => 0), 6),
      [1_000, 1_000, 2_000, 4_000, 5_000, 5_000],
    );
    assert.deepEqual(delays(new RecoveryBackoff(CFG, clock().now, () => 0.5), 5), [1_000, 1_500, 3_000, 6_000, 7_500]);
    // Any draw stays in bounds.
    for (const r of [0, 0.001, 0.25, 0.5, 0.75, 0.999]) {
      const b = new RecoveryBackoff(CFG, clock().now, () => r);
      for (let n = 0; n < 8; n++) {
        const base = Math.min(CFG.maxDelay, CFG.minDelay * 2 ** n);
        const d = b.next();
        assert.ok(d !== undefined);
        assert.ok(d >= Math.max(CFG.minDelay, base / 2) && d <= base, `attempt ${n}, random ${r}: ${d} ms`);
      }
    }
  });

  it('with max-retries N allows N attempts within the window, then none', () => {
    const c = clock();
    const b = new RecoveryBackoff({ ...CFG, maxRetries: 3 }, c.now, () => 1);
    assert.deepEqual(delays(b, 4), [1_000, 2_000, 4_000, undefined]);
    assert.equal(b.recentAttempts, 3);
    c.advance(60_000);
    assert.equal(b.next(), undefined, 'still within the window');
  });

  it('forgets an attempt max-retries-window after its delay', () => {
    const c = clock();
    const b = new RecoveryBackoff({ ...CFG, maxRetries: 2, maxRetriesWindow: 60_000 }, c.now, () => 1);
    assert.deepEqual(delays(b, 3), [1_000, 2_000, undefined]);
    // The first attempt ran at +1s: it is forgotten at +61s, not a moment before.
    c.advance(60_999);
    assert.equal(b.recentAttempts, 2);
    assert.equal(b.next(), undefined);
    c.advance(1);
    assert.equal(b.recentAttempts, 1);
    // One attempt is remembered, so the delay goes on from the second step.
    assert.equal(b.next(), 2_000);
    assert.equal(b.next(), undefined);
    // Once every attempt is forgotten, the delays start again from min-delay.
    c.advance(200_000);
    assert.equal(b.recentAttempts, 0);
    assert.deepEqual(delays(b, 2), [1_000, 2_000]);
  });

  it('max-retries 0 disables recovery', () => {
    const b = new RecoveryBackoff({ ...CFG, maxRetries: 0 }, clock().now, () => 1);
    assert.equal(b.next(), undefined);
    assert.equal(b.next(), undefined);
    assert.equal(b.recentAttempts, 0);
  });

  it('max-retries -1 retries forever, at max-delay', () => {
    const b = new RecoveryBackoff({ ...CFG, maxRetries: -1 }, clock().now, () => 1);
    const all = delays(b, 1_000);
    assert.ok(all.every((d) => d !== undefined));
    assert.equal(all[999], CFG.maxDelay);
    assert.equal(b.recentAttempts, 1_000);
  });

  it('reset forgets every attempt', () => {
    const b = new RecoveryBackoff({ ...CFG, maxRetries: 2 }, clock().now, () => 1);
    assert.deepEqual(delays(b, 3), [1_000, 2_000, undefined]);
    b.reset();
    assert.equal(b.recentAttempts, 0);
    assert.equal(b.next(), 1_000);
  });
});
