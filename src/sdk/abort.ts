/**
 * Abortable waits for connectors and the engine. They use a timer and the abort
 * signal, never a busy loop, and remove their listener when they finish, so
 * waiting many times on one long-lived signal leaks nothing.
 */

/** Resolves after `ms` milliseconds, or at once when `signal` aborts (never rejects). */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when `signal` aborts. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
