/**
 * Test helpers: wait on a condition with a deadline instead of sleeping.
 *
 * @example
 *   await waitFor(() => lines().length === 3, { timeoutMs: 2000, message: 'three lines written' });
 */

export interface WaitForOptions {
  /** Give up after this long (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Says what was awaited, for the failure message. */
  readonly message?: string;
  /** How often to check the condition (default 5 ms). */
  readonly intervalMs?: number;
}

/**
 * Resolves with the condition's first truthy value; rejects when the deadline
 * passes first. The condition may be async; an error it throws fails at once.
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  opts: WaitForOptions = {},
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.message ?? 'a condition'}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 5));
  }
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs`, and tells whether the
 * deadline was hit.
 */
export async function withDeadline<T>(
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<{ value: T; timedOut: boolean }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const value = await fn(ac.signal);
    return { value, timedOut: ac.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}
