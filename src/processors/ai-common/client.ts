/**
 * The HTTP client the AI processors share: one JSON POST, bounded by a
 * per-request timeout and the processor's stop signal, retried with backoff
 * when another attempt may succeed (a network error, a timeout, status 429 or
 * 5xx), never for any other 4xx. Error messages name the endpoint, the status
 * and the vendor's own message, and never hold the API key.
 */
import type { Logger } from '../../log/logger.js';
import { delay } from '../../sdk/abort.js';
import type { ProcessorContext } from '../../sdk/processor.js';
import { backoffDelay } from '../util.js';

/** How many times to retry and how long to wait before each retry. */
export interface RetryPolicy {
  /** Retries after the first attempt (so `retries + 1` attempts at most). */
  readonly retries: number;
  /** The wait before retry number `retry` (0-based), in milliseconds. */
  delayMs(retry: number): number;
}

/**
 * Conduit's `backoffRetry.*` (jpillora/backoff without jitter): min × factor^n,
 * capped at max.
 */
export function exponentialBackoff(retries: number, minMs: number, maxMs: number, factor: number): RetryPolicy {
  return { retries, delayMs: (n) => backoffDelay(n, { minMs, maxMs, factor }) };
}

/**
 * Conduit's OpenAI knobs (jpillora/backoff with jitter): a random wait between
 * min and min × factor^n, capped at max.
 */
export function jitteredBackoff(
  retries: number,
  minMs: number,
  maxMs: number,
  factor: number,
  random: () => number = Math.random,
): RetryPolicy {
  return {
    retries,
    delayMs: (n) => {
      const top = backoffDelay(n, { minMs, maxMs, factor });
      const min = Math.min(minMs > 0 ? minMs : 100, top);
      return min + random() * (top - min);
    },
  };
}

/** Why a call failed. `retryable` tells whether another attempt might succeed. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** Request headers (authorization included); never shown. */
  readonly headers: Readonly<Record<string, string>>;
  /** One attempt (request and response body) may take this long; 0 waits forever. */
  readonly timeoutMs: number;
  /** The parameter that sets the timeout, named in the timeout message. */
  readonly timeoutParam: string;
  readonly retry: RetryPolicy;
  /** Values scrubbed from every message (the API key). */
  readonly secrets: readonly string[];
  readonly logger?: Logger;
  /** The vendor's error text in an error response body, if it has one. */
  readonly errorText?: (body: unknown) => string | undefined;
}

/** The processor's stop signal: aborted by teardown, and by the engine's signal when the context carries one. */
export class Stopper {
  private readonly ac = new AbortController();

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Follows the engine's signal (a failed or killed run). */
  follow(ctx: ProcessorContext): void {
    const signal = ctx.signal;
    if (signal === undefined) return;
    if (signal.aborted) this.ac.abort();
    else signal.addEventListener('abort', () => this.ac.abort(), { once: true });
  }

  stop(): void {
    this.ac.abort();
  }
}

export class ApiClient {
  constructor(
    private readonly opts: ApiClientOptions,
    private readonly stop: AbortSignal,
  ) {}

  /**
   * POSTs `body` as JSON to `url` and returns the parsed JSON response,
   * retrying as the policy allows.
   *
   * @throws ApiError after the last attempt, or at once for an error no retry can fix.
   */
  async postJson(url: string, body: unknown): Promise<unknown> {
    const payload = JSON.stringify(body);
    const what = `POST ${url}`;
    for (let attempt = 0; ; attempt++) {
      let err: ApiError;
      try {
        return await this.attempt(url, payload);
      } catch (e) {
        err = e instanceof ApiError ? e : new ApiError(this.scrub(message(e)), false);
      }
      const tries = attempt === 0 ? '' : ` (after ${attempt + 1} attempts)`;
      if (this.stop.aborted) throw new ApiError(`${what}: ${err.message}; the pipeline is stopping`, false, err.status);
      if (!err.retryable || attempt >= this.opts.retry.retries) {
        throw new ApiError(`${what}: ${err.message}${tries}`, err.retryable, err.status);
      }
      const waitMs = this.opts.retry.delayMs(attempt);
      this.opts.logger?.debug('retrying API request', {
        url,
        attempt: attempt + 1,
        retries: this.opts.retry.retries,
        waitMs: Math.round(waitMs),
        error: err.message,
      });
      await delay(waitMs, this.stop);
      if (this.stop.aborted) throw new ApiError(`${what}: ${err.message}; the pipeline is stopping`, false, err.status);
    }
  }

  private async attempt(url: string, payload: string): Promise<unknown> {
    if (this.stop.aborted) throw new ApiError('the pipeline is stopping', false);
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.stop.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    const timer =
      this.opts.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            ac.abort();
          }, this.opts.timeoutMs)
        : undefined;
    let status: number;
    let statusText: string;
    let text: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...this.opts.headers },
        body: payload,
        signal: ac.signal,
      });
      status = res.status;
      statusText = res.statusText;
      text = await res.text();
    } catch (e) {
      if (this.stop.aborted) throw new ApiError('the request was abandoned: the pipeline is stopping', false);
      if (timedOut) {
        throw new ApiError(
          `no response within ${this.opts.timeoutMs} ms (${this.opts.timeoutParam}); a slow server may need a larger value`,
          true,
        );
      }
      throw new ApiError(this.scrub(networkMessage(e)), true);
    } finally {
      clearTimeout(timer);
      this.stop.removeEventListener('abort', onStop);
    }
    let parsed: unknown;
    let parseError: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch (e) {
      parseError = e;
    }
    if (status >= 200 && status < 300) {
      if (parseError !== undefined || parsed === undefined) {
        throw new ApiError(
          `status ${status}: the response is not JSON (body: ${preview(this.scrub(text))})`,
          false,
          status,
        );
      }
      return parsed;
    }
    const vendor = parsed === undefined ? undefined : this.opts.errorText?.(parsed);
    const detail = vendor !== undefined && vendor !== '' ? vendor : `body: ${preview(text)}`;
    const retryable = status === 429 || status >= 500;
    throw new ApiError(
      this.scrub(`status ${status}${statusText === '' ? '' : ` ${statusText}`}: ${detail}`),
      retryable,
      status,
    );
  }

  /** Removes the API key (and the masked forms vendors echo back) from a message. */
  private scrub(text: string): string {
    let out = text;
    for (const s of this.opts.secrets) {
      if (s.length === 0) continue;
      out = out.split(s).join('***');
    }
    // OpenAI echoes part of a wrong key: "Incorrect API key provided: sk-ab****wxyz."
    return out.replace(/(API key provided: )\S+?(?=[.\s]|$)/gi, '$1***');
  }
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** fetch says "fetch failed" and puts the reason (ECONNREFUSED …) in the cause. */
function networkMessage(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  const detail = cause instanceof Error ? cause.message : undefined;
  return `request failed: ${message(e)}${detail === undefined || detail === message(e) ? '' : ` (${detail})`}`;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
