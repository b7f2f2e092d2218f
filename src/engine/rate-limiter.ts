import { delay } from '../sdk/abort.js';

/** A token bucket for sdk.rate.perSecond / sdk.rate.burst on destinations. */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Waits until n records may be written. */
  async take(n: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      const need = Math.min(n, this.burst);
      if (this.tokens >= need) {
        this.tokens -= n;
        return;
      }
      if (signal.aborted) return;
      const waitMs = ((need - this.tokens) / this.perSecond) * 1000;
      await delay(waitMs, signal);
    }
  }
}
