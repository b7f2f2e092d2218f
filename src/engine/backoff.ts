/**
 * Recovery backoff: exponential with jitter, capped, with attempts forgotten
 * `maxRetriesWindow` after they were made (Conduit's pipelines.error-recovery.*).
 */
import type { RecoveryConfig } from './types.js';

export class RecoveryBackoff {
  private attempts: number[] = [];

  constructor(
    private readonly cfg: RecoveryConfig,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Attempts still inside the window. */
  get recentAttempts(): number {
    this.prune();
    return this.attempts.length;
  }

  /**
   * The delay before the next attempt, in milliseconds, or undefined when no
   * attempt is allowed any more (retries exhausted within the window, or recovery off).
   */
  next(): number | undefined {
    this.prune();
    const n = this.attempts.length;
    if (this.cfg.maxRetries === 0) return undefined;
    if (this.cfg.maxRetries > 0 && n >= this.cfg.maxRetries) return undefined;
    const base = Math.min(this.cfg.maxDelay, this.cfg.minDelay * Math.pow(this.cfg.backoffFactor, n));
    // Jitter within [base/2, base], never below the minimum delay.
    const delay = Math.max(Math.min(this.cfg.minDelay, base), base / 2 + (this.random() * base) / 2);
    this.attempts.push(this.now() + delay);
    return Math.round(delay);
  }

  reset(): void {
    this.attempts = [];
  }

  private prune(): void {
    const cutoff = this.now() - this.cfg.maxRetriesWindow;
    this.attempts = this.attempts.filter((t) => t > cutoff);
  }
}
