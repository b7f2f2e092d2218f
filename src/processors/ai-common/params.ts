/**
 * The parameters the AI processors share, declared once: Cohere's
 * `backoffRetry.*` and OpenAI's retry knobs (names, defaults and descriptions
 * as Conduit declares them), plus the two we add to each (where the API is,
 * and how long one request may take), and the readers that turn them into a
 * client.
 */
import type { Config, ParamSpec } from '../../sdk/params.js';
import type { ProcessorContext } from '../../sdk/processor.js';
import { configError } from '../util.js';
import { ApiClient, exponentialBackoff, jitteredBackoff, type Stopper } from './client.js';

/** Cohere's `apiKey` and `backoffRetry.*`, with our `baseURL` and `request.timeout`. */
export function cohereParams(timeoutDefault: string): Record<string, ParamSpec> {
  return {
    apiKey: {
      type: 'string',
      required: true,
      secret: true,
      description: 'APIKey is the API key for Cohere api calls.',
    },
    'backoffRetry.count': {
      type: 'float',
      default: '0',
      greaterThan: -1,
      description: 'Maximum number of retries for an individual record when backing off following an error.',
    },
    'backoffRetry.factor': {
      type: 'float',
      default: '2',
      greaterThan: 0,
      description: 'The multiplying factor for each increment step.',
    },
    'backoffRetry.min': {
      type: 'duration',
      default: '100ms',
      description: 'The minimum waiting time before retrying.',
    },
    'backoffRetry.max': { type: 'duration', default: '5s', description: 'The maximum waiting time before retrying.' },
    baseURL: {
      type: 'string',
      default: 'https://api.cohere.com',
      regex: '^https?://',
      description:
        "Where Cohere's API is (requests go to `<baseURL>/v2/…`). Not a Conduit parameter: Conduit always calls " +
        'https://api.cohere.com.',
    },
    'request.timeout': {
      type: 'duration',
      default: timeoutDefault,
      greaterThan: -1,
      description:
        'How long one request (sending it and reading the response) may take before it is abandoned and counted ' +
        'as a retryable error; 0 waits forever. Not a Conduit parameter: Conduit waits forever.',
    },
  };
}

/** OpenAI's `api_key` and retry knobs, with our `base_url` and `request_timeout`. */
export function openAiParams(timeoutDefault: string): Record<string, ParamSpec> {
  return {
    api_key: { type: 'string', required: true, secret: true, description: 'APIKey is the OpenAI API key.' },
    max_retries: {
      type: 'int',
      default: '3',
      greaterThan: -1,
      description: 'MaxRetries is the maximum number of retries for API calls. Defaults to 3.',
    },
    initial_backoff: {
      type: 'int',
      default: '1000',
      greaterThan: -1,
      description: 'InitialBackoff is the initial backoff duration in milliseconds. Defaults to 1000ms (1s).',
    },
    max_backoff: {
      type: 'int',
      default: '30000',
      greaterThan: -1,
      description: 'MaxBackoff is the maximum backoff duration in milliseconds. Defaults to 30000ms (30s).',
    },
    backoff_factor: {
      type: 'float',
      default: '2.0',
      greaterThan: 0,
      description: 'BackoffFactor is the factor by which the backoff increases. Defaults to 2.0',
    },
    base_url: {
      type: 'string',
      default: 'https://api.openai.com/v1',
      regex: '^https?://',
      description:
        "Where OpenAI's API is (requests go to `<base_url>/embeddings` and `<base_url>/chat/completions`), e.g. an " +
        'OpenAI-compatible server. Not a Conduit parameter: Conduit always calls https://api.openai.com/v1.',
    },
    request_timeout: {
      type: 'duration',
      default: timeoutDefault,
      greaterThan: -1,
      description:
        'How long one request (sending it and reading the response) may take before it is abandoned and counted ' +
        'as a retryable error; 0 waits forever. Not a Conduit parameter.',
    },
  };
}

/** The `message` of Cohere's error body. */
function cohereErrorText(body: unknown): string | undefined {
  const m = (body as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : undefined;
}

/** The `error.message` of OpenAI's error body. */
function openAiErrorText(body: unknown): string | undefined {
  const m = (body as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof m === 'string' ? m : undefined;
}

/** The base URL without a trailing slash, checked once. */
export function baseUrl(ctx: ProcessorContext, key: string, text: string): string {
  try {
    const u = new URL(text);
    if (u.username !== '' || u.password !== '') throw new Error('credentials in the URL are not supported');
  } catch (e) {
    throw configError(ctx, key, (e as Error).message, 'use an absolute http:// or https:// URL');
  }
  return text.replace(/\/+$/, '');
}

export function cohereClient(config: Config, ctx: ProcessorContext, stop: Stopper): ApiClient {
  const apiKey = config.string('apiKey');
  return new ApiClient(
    {
      headers: { Authorization: `Bearer ${apiKey}` },
      timeoutMs: config.duration('request.timeout'),
      timeoutParam: 'request.timeout',
      retry: exponentialBackoff(
        // Conduit retries while the attempt number (0, 1, …) is below the count.
        Math.ceil(config.float('backoffRetry.count')),
        config.duration('backoffRetry.min'),
        config.duration('backoffRetry.max'),
        config.float('backoffRetry.factor'),
      ),
      secrets: [apiKey],
      logger: ctx.logger,
      errorText: cohereErrorText,
    },
    stop.signal,
  );
}

export function openAiClient(config: Config, ctx: ProcessorContext, stop: Stopper): ApiClient {
  const apiKey = config.string('api_key');
  return new ApiClient(
    {
      headers: { Authorization: `Bearer ${apiKey}` },
      timeoutMs: config.duration('request_timeout'),
      timeoutParam: 'request_timeout',
      retry: jitteredBackoff(
        config.int('max_retries'),
        config.int('initial_backoff'),
        config.int('max_backoff'),
        config.float('backoff_factor'),
      ),
      secrets: [apiKey],
      logger: ctx.logger,
      errorText: openAiErrorText,
    },
    stop.signal,
  );
}
